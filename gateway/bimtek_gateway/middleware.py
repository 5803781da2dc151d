"""ASGI middleware: request ids, body size limits and HTTP metrics, for every route alike."""
from __future__ import annotations

import json
import re
import time
import uuid

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bimtek_shared.contracts.errors import message_for
from bimtek_shared.observability.metrics import LATENCY_BUCKETS

REQUEST_ID_HEADER = "x-request-id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{8,64}$")

HTTP_REQUESTS = Counter(
    "bimtek_http_requests_total",
    "HTTP requests answered, by route template, method and status.",
    ["service", "route", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "bimtek_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["service", "route", "method"],
    buckets=LATENCY_BUCKETS,
)


class RequestContextMiddleware:
    """Gives each request an id (the client's X-Request-ID if well-formed), returns it in the
    response, and counts and times the request under its route template (never the raw path,
    which may hold ids)."""

    def __init__(self, app: ASGIApp, service: str = "gateway") -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope["method"]
            HTTP_REQUESTS.labels(self.service, template, method, str(status)).inc()
            HTTP_SECONDS.labels(self.service, template, method).observe(time.perf_counter() - started)


class BodySizeLimitMiddleware:
    """Answers 413 for bodies over the limit, whether announced by Content-Length or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger_limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger_limits = larger_limits or {}  # path prefix -> limit, for bulk endpoints

    def limit_for(self, path: str) -> int:
        return next((limit for prefix, limit in self.larger_limits.items() if path.startswith(prefix)),
                    self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, send, limit)
            return
        received = 0
        answered = False  # by us (413) or by the app

        async def limited_receive() -> Message:
            nonlocal received, answered
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not answered:
                    # Answer now, and tell the app the client left: frameworks turn exceptions
                    # raised while reading the body into their own 400.
                    answered = True
                    await self._too_large(scope, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                if answered:
                    return
                answered = True
            elif message["type"] == "http.response.body" and received > limit:
                return  # the 413 already went out; drop what the app says after
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if received <= limit:
                raise

    async def _too_large(self, scope: Scope, send: Send, limit: int) -> None:
        accept_language = dict(scope["headers"]).get(b"accept-language", b"").decode("latin-1").lower()
        language = "en" if accept_language.startswith("en") else "id"
        body = json.dumps({
            "type": "urn:bimtek:problem:payload_too_large",
            "title": "The request body is too large",
            "status": 413,
            "detail": message_for("payload_too_large", language, limit=limit),
            "code": "payload_too_large",
            "request_id": scope.get("state", {}).get("request_id", ""),
        }).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/problem+json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
