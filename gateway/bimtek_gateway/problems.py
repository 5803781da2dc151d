"""Errors as RFC 9457 problem details, in Bahasa Indonesia unless the caller asks for English."""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from bimtek_shared.contracts.errors import ERRORS, DomainError, message_for

from .rpc import RemoteError, ServiceTimeout, ServiceUnavailable

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
DOMAIN_ERROR_TYPE = "DomainError"


class Problem(Exception):
    """Raise anywhere in the gateway to answer with the problem for ``code``."""

    def __init__(self, code: str, *, headers: dict[str, str] | None = None, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params
        self.headers = headers or {}


def language_of(request: Request) -> str:
    """'en' when English is the caller's first choice; Bahasa Indonesia otherwise."""
    header = request.headers.get("accept-language", "")
    best, best_q = "id", -1.0
    for part in header.split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        lang = tag.strip().lower()[:2]
        if lang in ("id", "en") and weight > best_q:
            best, best_q = lang, weight
    return best


def problem_response(request: Request, code: str, headers: dict[str, str] | None = None, **params: Any) -> JSONResponse:
    spec = ERRORS.get(code, ERRORS["internal_error"])
    language = language_of(request)
    request_id = getattr(request.state, "request_id", "")
    params.setdefault("request_id", request_id)
    errors = params.pop("errors", None)
    body: dict[str, Any] = {
        "type": f"urn:bimtek:problem:{code}",
        "title": message_for(code, "en", **params).split(":")[0].rstrip("."),
        "status": spec.status,
        "detail": message_for(code, language, **params),
        "instance": request.url.path,
        "code": code,
        "request_id": request_id,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=spec.status, media_type=PROBLEM_JSON,
                        headers={"Content-Language": language, **(headers or {})})


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc.code, exc.headers, **exc.params)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        # Raised by the shared contracts inside the gateway itself (a garbled cursor, ...).
        return problem_response(request, exc.code, **(exc.params or {}))

    @app.exception_handler(ServiceUnavailable)
    async def _unavailable(request: Request, exc: ServiceUnavailable) -> JSONResponse:
        return problem_response(request, "service_unavailable", {"Retry-After": "5"}, service=exc.service)

    @app.exception_handler(ServiceTimeout)
    async def _timeout(request: Request, exc: ServiceTimeout) -> JSONResponse:
        return problem_response(request, "service_timeout", service=exc.service)

    @app.exception_handler(RemoteError)
    async def _remote(request: Request, exc: RemoteError) -> JSONResponse:
        if exc.exc_type == DOMAIN_ERROR_TYPE and exc.exc_args and exc.exc_args[0] in ERRORS:
            params = exc.exc_args[1] if len(exc.exc_args) > 1 and isinstance(exc.exc_args[1], dict) else {}
            return problem_response(request, exc.exc_args[0], **params)
        # Only the type: a remote message could carry personal data into the gateway's logs.
        log.error("unexpected %s from a service (request %s)", exc.exc_type,
                  getattr(request.state, "request_id", ""))
        return problem_response(request, "internal_error")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
            for e in exc.errors()
        ]
        return problem_response(request, "validation_failed", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # A body the framework could not parse (not UTF-8, a form over its limits): invalid data,
            # answered like invalid JSON is; the detail is the framework's own words, never the body.
            return problem_response(request, "validation_failed",
                                    errors=[{"field": "body", "message": str(exc.detail)}])
        code = {401: "unauthenticated", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 413: "payload_too_large"}.get(exc.status_code)
        if code is None:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, media_type=PROBLEM_JSON)
        return problem_response(request, code, dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled %s (request %s)", type(exc).__name__, getattr(request.state, "request_id", ""))
        return problem_response(request, "internal_error")
