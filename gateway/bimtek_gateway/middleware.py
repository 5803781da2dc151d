"""ASGI middleware: request ids, body size limits, CORS and HTTP metrics, for every route alike; and
the helpers the other middleware (idempotency.py, rate_limits.py) share: who sent a request, its
body read once and handed on, a problem answered before any route runs."""
from __future__ import annotations

import re
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.routing import iter_route_contexts
from prometheus_client import Counter, Histogram
from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bimtek_shared.observability.metrics import LATENCY_BUCKETS

from .identity import InvalidToken, is_device_token, token_digest, verify_access_token
from .problems import problem_response
from .settings import GatewaySettings

REQUEST_ID_HEADER = "x-request-id"
# What a browser on an allowed origin may send and read (the rest stays hidden from its scripts).
CORS_ALLOWED_HEADERS = ["Authorization", "Content-Type", "Accept-Language", "Idempotency-Key", "X-Request-ID"]
CORS_EXPOSED_HEADERS = ["X-Request-ID", "Retry-After", "Location", "Content-Language", "Idempotent-Replayed",
                        "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]
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


UNMATCHED_ROUTE = "unmatched"  # the label of a path no route serves (bounded: never the raw path)


class RequestContextMiddleware:
    """Gives each request an id (the client's X-Request-ID if well-formed), returns it in the
    response, and counts and times the request under its route template (never the raw path,
    which may hold ids)."""

    def __init__(self, app: ASGIApp, service: str = "gateway") -> None:
        self.app = app
        self.service = service
        self._route_table: list[Any] | None = None  # the application's routes, flattened, built once

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
            template = self.route_template(scope)
            method = scope["method"]
            HTTP_REQUESTS.labels(self.service, template, method, str(status)).inc()
            HTTP_SECONDS.labels(self.service, template, method).observe(time.perf_counter() - started)

    def route_template(self, scope: Scope) -> str:
        """The template of the route serving this path ("/api/v1/participants/{participant_id}"), or
        "unmatched". The router notes its route in the scope, but a request answered before routing
        (a 429, a 413, an idempotent replay) never reached it, so its route is looked up here."""
        route = scope.get("route")
        if route is not None:
            return getattr(route, "path", UNMATCHED_ROUTE)
        if self._route_table is None:
            app = scope.get("app")
            self._route_table = list(iter_route_contexts(app.routes)) if app is not None else []
        partial = None
        for candidate in self._route_table:
            match, _ = candidate.matches(scope)
            if match is Match.FULL:
                return candidate.path
            if match is Match.PARTIAL and partial is None:
                partial = candidate.path  # the path exists, for another method (the router answers 405)
        return partial or UNMATCHED_ROUTE


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
        await send_problem(scope, send, "payload_too_large", limit=limit)


def cors_options(origins: list[str]) -> dict[str, Any]:
    """CORSMiddleware's arguments: only the listed origins, no cookies (clients send bearer tokens)."""
    return {"allow_origins": origins, "allow_credentials": False, "allow_methods": ["*"],
            "allow_headers": CORS_ALLOWED_HEADERS, "expose_headers": CORS_EXPOSED_HEADERS, "max_age": 600}


async def send_problem(scope: Scope, send: Send, code: str, headers: dict[str, str] | None = None,
                       **params: Any) -> None:
    """Answer with the problem for ``code`` from middleware, where no exception handler runs."""
    response = problem_response(Request(scope), code, headers, **params)
    await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def principal_of(scope: Scope, settings: GatewaySettings) -> str | None:
    """Who sent the request, from its Authorization header: ``user:<id>`` or ``participant:<id>`` for
    a valid access token, ``device:<SHA-256 of the token>`` for a device token (the digest names the
    phone without keeping its secret; the route checks the token itself), None for anything else.
    Worked out once per request; verifying an access token takes a fraction of a millisecond."""
    state = scope.setdefault("state", {})
    if "principal" not in state:
        state["principal"] = _principal(scope, settings)
    return state["principal"]


def _principal(scope: Scope, settings: GatewaySettings) -> str | None:
    authorization = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        return None
    if is_device_token(credential):
        return f"device:{token_digest(credential).hex()}"
    try:
        claims = verify_access_token(settings, credential)
    except InvalidToken:
        return None
    principal = f"{claims['kind']}:{claims['sub']}"
    return principal if len(principal) <= 80 else None  # the records' column; our ids are UUIDs


async def buffer_body(receive: Receive, on_chunk: Callable[[bytes], Awaitable[None]] | None = None
                      ) -> deque[bytes] | None:
    """The request body's chunks as they came (never joined: an import may be 16 MB), or None if the
    client left first (as BodySizeLimitMiddleware says when it has answered 413)."""
    chunks: deque[bytes] = deque()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        if chunk:
            chunks.append(chunk)
            if on_chunk is not None:
                await on_chunk(chunk)
        if not message.get("more_body", False):
            return chunks


def replay_body(chunks: deque[bytes], receive: Receive) -> Receive:
    """A ``receive`` that hands the app the buffered chunks, letting go of each as the app takes it,
    and then the real ``receive`` (the app may wait for the client to disconnect)."""
    finished = False

    async def replayed() -> Message:
        nonlocal finished
        if finished:
            return await receive()
        chunk = chunks.popleft() if chunks else b""
        finished = not chunks
        return {"type": "http.request", "body": chunk, "more_body": not finished}

    return replayed
