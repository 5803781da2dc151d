"""Idempotency-Key: a write sent again (a flaky mobile network, a double tap) gets the first answer
back instead of running twice.

Every POST, PUT, PATCH and DELETE under /api/v1 takes an optional ``Idempotency-Key`` header: 1 to
255 printable ASCII characters, a new random one (a UUID, say) per intended write and the same one
on each retry of it. Recommended, not required: a write without the header simply runs.

- Keys are scoped per principal (``middleware.principal_of``: the signed-in user, or the device
  token). A write without a valid credential is not recorded and runs as if it had no key (the
  route then answers 401 unless it is open to all). ``/api/v1/auth/*`` is never recorded: sign-in
  and token refresh come before there is a principal, and their answers hold tokens.
- The first request inserts its record ``in_flight`` (INSERT .. ON CONFLICT: of two racing
  requests exactly one wins), runs, and stores status, replayable headers (Content-Type, Location,
  Content-Language) and body as ``completed`` before the client has the end of the answer.
- A retry with the same key and the same request (method, path with query, SHA-256 of the body)
  gets the stored answer unchanged, with ``Idempotent-Replayed: true``. The same key with another
  request: 422 ``idempotency_key_reused``. While the first still runs: 409
  ``idempotency_request_in_flight`` with ``Retry-After``.
- Records live IDEMPOTENCY_TTL_SECONDS (a day). Expired ones count as absent (a new request may
  take the key over) and are deleted by ``housekeeping.purge_expired_periodically``, which every
  replica runs in its lifespan.
- A replica that dies mid-request leaves its record ``in_flight``; the claim lapses at
  ``locked_until`` (IDEMPOTENCY_LOCK_SECONDS), then a retry of the same request takes it over.
  ``locked_until`` is also the claim's fencing token: a holder that overran its claim cannot
  overwrite or delete its successor's record.
- The gateway's database unreachable: 503 with Retry-After. Running the write unprotected could
  do twice what the client asked to have done once; the retry will do it.
- The body is read once, hashed chunk by chunk (a large chunk in a thread, off the event loop), and
  the same chunks are handed on to the route.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Interval, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .db import idempotency_keys
from .middleware import buffer_body, principal_of, replay_body, send_problem
from .settings import GatewaySettings

log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/api/v1/"
UNRECORDED_PREFIXES = ("/api/v1/auth/",)
REPLAYED_HEADERS = frozenset({b"content-type", b"location", b"content-language"})
MAX_STORED_BODY_BYTES = 1_048_576  # write answers are small; a larger one is not kept
IN_FLIGHT_RETRY_AFTER_SECONDS = 1
HASH_IN_THREAD_BYTES = 256 * 1024  # hashlib lets go of the GIL; smaller chunks are not worth a thread
IN_FLIGHT, COMPLETED = "in_flight", "completed"
_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")
_MAX_PATH = idempotency_keys.c.path.type.length


def applies_to(method: str, path: str) -> bool:
    """Whether a request (or a route template) takes an Idempotency-Key."""
    return method in WRITE_METHODS and path.startswith(API_PREFIX) and not path.startswith(UNRECORDED_PREFIXES)


def request_key(principal: str, key: str) -> str:
    """What services see of an Idempotency-Key: scoped to its principal, and not the key itself."""
    return hashlib.sha256(f"{principal}\n{key}".encode()).hexdigest()[:32]


def is_valid_key(key: str) -> bool:
    return _VALID_KEY.fullmatch(key) is not None


@dataclass(frozen=True)
class Fingerprint:
    method: str
    path: str
    body_sha256: bytes


@dataclass(frozen=True)
class Claimed:
    locked_until: datetime  # also the claim's fencing token


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: list[list[str]]
    body: bytes


@dataclass(frozen=True)
class Refused:
    problem: str  # idempotency_key_reused or idempotency_request_in_flight


# The statements, built once (a write's only costs are then its values). Each runs alone, committing
# by itself: one statement needs no BEGIN and COMMIT around it.
_record = idempotency_keys.c
_new = pg_insert(idempotency_keys).excluded
_CLAIM = pg_insert(idempotency_keys).values(
    principal=bindparam("the_principal"), key=bindparam("the_key"), method=bindparam("the_method"),
    path=bindparam("the_path"), request_sha256=bindparam("the_sha256"), state=IN_FLIGHT,
    locked_until=func.now() + bindparam("lock_for", type_=Interval()),
    expires_at=func.now() + bindparam("keep_for", type_=Interval()),
).on_conflict_do_update(
    index_elements=[_record.principal, _record.key],
    set_={"method": _new.method, "path": _new.path, "request_sha256": _new.request_sha256, "state": IN_FLIGHT,
          "locked_until": _new.locked_until, "response_status": None, "response_headers": None,
          "response_body": None, "created_at": func.now(), "expires_at": _new.expires_at},
    # Only an expired record, or the lapsed claim of a holder that died running this very request.
    where=or_(_record.expires_at <= func.now(),
              and_(_record.state == IN_FLIGHT, _record.locked_until <= func.now(), _record.method == _new.method,
                   _record.path == _new.path, _record.request_sha256 == _new.request_sha256)),
).returning(_record.locked_until)
_EXISTING = select(
    _record.method, _record.path, _record.request_sha256, _record.state, _record.response_status,
    _record.response_headers, _record.response_body,
).where(_record.principal == bindparam("the_principal"), _record.key == bindparam("the_key"),
        _record.expires_at > func.now())
_HOLDER = and_(_record.principal == bindparam("the_principal"), _record.key == bindparam("the_key"),
               _record.state == IN_FLIGHT, _record.locked_until == bindparam("claimed_until"))
_COMPLETE = update(idempotency_keys).where(_HOLDER).values(
    state=COMPLETED, locked_until=None, response_status=bindparam("the_status"),
    response_headers=bindparam("the_headers", type_=idempotency_keys.c.response_headers.type),
    response_body=bindparam("the_body"))
_RELEASE = delete(idempotency_keys).where(_HOLDER)


async def _run_alone(sessions: async_sessionmaker, statement: Any, values: dict[str, Any]) -> Any:
    async with sessions() as session:
        connection = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        return await connection.execute(statement, values)


async def claim(sessions: async_sessionmaker, principal: str, key: str, fingerprint: Fingerprint, *,
                ttl_seconds: float, lock_seconds: float) -> Claimed | StoredResponse | Refused:
    """Take the key for this request, or say what became of the request that has it."""
    record = {"the_principal": principal, "the_key": key}
    for _ in range(3):  # the record we lost to may vanish (a 5xx releases it) before we read it
        locked_until = (await _run_alone(sessions, _CLAIM, {
            **record, "the_method": fingerprint.method, "the_path": fingerprint.path,
            "the_sha256": fingerprint.body_sha256, "lock_for": timedelta(seconds=lock_seconds),
            "keep_for": timedelta(seconds=ttl_seconds)})).scalar_one_or_none()
        if locked_until is not None:
            return Claimed(locked_until)
        existing = (await _run_alone(sessions, _EXISTING, record)).first()
        if existing is None:
            continue
        if (existing.method, existing.path, existing.request_sha256) != (
                fingerprint.method, fingerprint.path, fingerprint.body_sha256):
            return Refused("idempotency_key_reused")
        if existing.state == COMPLETED:
            return StoredResponse(existing.response_status, existing.response_headers, existing.response_body)
        return Refused("idempotency_request_in_flight")
    return Refused("idempotency_request_in_flight")


async def complete(sessions: async_sessionmaker, principal: str, key: str, claimed: Claimed,
                   response: StoredResponse) -> bool:
    """Store the answer; False if our claim had lapsed and another request has the key now."""
    result = await _run_alone(sessions, _COMPLETE, {
        "the_principal": principal, "the_key": key, "claimed_until": claimed.locked_until,
        "the_status": response.status, "the_headers": response.headers, "the_body": response.body})
    return result.rowcount == 1


async def release(sessions: async_sessionmaker, principal: str, key: str, claimed: Claimed) -> None:
    """Forget the claim, so that a retry runs the request again."""
    await _run_alone(sessions, _RELEASE, {"the_principal": principal, "the_key": key,
                                          "claimed_until": claimed.locked_until})


def worth_storing(status: int, headers: list[tuple[bytes, bytes]]) -> bool:
    # A 5xx (a service down or too slow) is not stored: the client retries to have the write run,
    # and the retry should run it. A 4xx is: the same request would get the same answer. But not a
    # 401, which means the credential did not prove the principal the record would be filed under,
    # nor an answer marked no-store (it holds a secret, such as a new token).
    if status >= 500 or status == 401:
        return False
    cache_control = b",".join(value for name, value in headers if name.lower() == b"cache-control")
    return b"no-store" not in cache_control.lower()


@dataclass
class _Answer:
    """What the route answered, as far as it is to be stored."""

    status: int = 0
    headers: list[list[str]] = field(default_factory=list)
    body: list[bytes] = field(default_factory=list)
    size: int = 0
    storable: bool = False
    settled: bool = False  # stored or released

    def start(self, message: Message) -> None:
        self.status = message["status"]
        raw = message.get("headers", [])
        self.storable = worth_storing(self.status, raw)
        self.headers = [[name.decode("latin-1").lower(), value.decode("latin-1")]
                        for name, value in raw if name.lower() in REPLAYED_HEADERS]

    def add(self, chunk: bytes) -> None:
        if not self.storable:
            return
        self.size += len(chunk)
        if self.size > MAX_STORED_BODY_BYTES:
            self.storable, self.body = False, []
        else:
            self.body.append(chunk)


class IdempotencyMiddleware:
    """The ``Idempotency-Key`` contract (see the module's docstring) for every write under /api/v1.
    The record store is ``app.state.sessions`` (made in the lifespan)."""

    def __init__(self, app: ASGIApp, settings: GatewaySettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not applies_to(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        keys = [value for name, value in scope["headers"] if name == IDEMPOTENCY_HEADER.lower().encode()]
        if not keys:
            await self.app(scope, receive, send)
            return
        key = keys[0].decode("latin-1").strip()
        if len(keys) > 1 or not is_valid_key(key):
            await send_problem(scope, send, "idempotency_key_invalid")
            return
        principal = principal_of(scope, self.settings)
        if principal is None:
            await self.app(scope, receive, send)
            return

        digest = hashlib.sha256()

        async def hash_chunk(chunk: bytes) -> None:
            if len(chunk) >= HASH_IN_THREAD_BYTES:
                await asyncio.to_thread(digest.update, chunk)
            else:
                digest.update(chunk)

        chunks = await buffer_body(receive, hash_chunk)
        if chunks is None:
            return
        fingerprint = Fingerprint(scope["method"], _path_of(scope), digest.digest())
        sessions: async_sessionmaker = scope["app"].state.sessions
        try:
            outcome = await claim(sessions, principal, key, fingerprint,
                                  ttl_seconds=self.settings.idempotency_ttl_seconds,
                                  lock_seconds=self.settings.idempotency_lock_seconds)
        except (SQLAlchemyError, OSError) as exc:
            log.error("idempotency records unavailable (%s)", type(exc).__name__)
            await send_problem(scope, send, "service_unavailable", {"Retry-After": "5"}, service="gateway")
            return
        if isinstance(outcome, StoredResponse):
            await _replay(send, outcome)
        elif isinstance(outcome, Refused):
            in_flight = outcome.problem == "idempotency_request_in_flight"
            headers = {"Retry-After": str(IN_FLIGHT_RETRY_AFTER_SECONDS)} if in_flight else None
            await send_problem(scope, send, outcome.problem, headers)
        else:
            await self._run(scope, replay_body(chunks, receive), send, principal, key, outcome)

    async def _run(self, scope: Scope, receive: Receive, send: Send, principal: str, key: str,
                   claimed: Claimed) -> None:
        sessions: async_sessionmaker = scope["app"].state.sessions
        answer = _Answer()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer.start(message)
            elif message["type"] == "http.response.body":
                answer.add(message.get("body", b""))
                if not message.get("more_body", False):
                    # Stored before the client has the whole answer, so its next retry finds it.
                    answer.settled = True
                    await self._settle(sessions, principal, key, claimed, answer)
            await send(message)

        # Services derive the ids of what this write creates from it (Caller.new_id): a retry after
        # an answer that never arrived (a 504, a crash here) finds the first attempt's record.
        scope.setdefault("state", {})["request_key"] = request_key(principal, key)
        try:
            await self.app(scope, receive, capture)
        finally:
            if not answer.settled:  # the route raised, or the client left before the answer ended
                await self._release(sessions, principal, key, claimed)

    async def _settle(self, sessions: async_sessionmaker, principal: str, key: str, claimed: Claimed,
                      answer: _Answer) -> None:
        if not answer.storable:
            await self._release(sessions, principal, key, claimed)
            return
        stored = StoredResponse(answer.status, answer.headers, b"".join(answer.body))
        try:
            if not await complete(sessions, principal, key, claimed, stored):
                log.warning("an idempotency claim lapsed before its answer was stored "
                            "(IDEMPOTENCY_LOCK_SECONDS too short?)")
        except (SQLAlchemyError, OSError) as exc:
            # The write happened; its record stays in flight until the claim lapses, then a retry runs again.
            log.error("storing an idempotent answer failed (%s)", type(exc).__name__)

    async def _release(self, sessions: async_sessionmaker, principal: str, key: str, claimed: Claimed) -> None:
        try:
            await release(sessions, principal, key, claimed)
        except (SQLAlchemyError, OSError) as exc:
            log.error("releasing an idempotency claim failed (%s); it lapses by itself", type(exc).__name__)


def _path_of(scope: Scope) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    return (scope["path"] + (f"?{query}" if query else ""))[:_MAX_PATH]


async def _replay(send: Send, stored: StoredResponse) -> None:
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in stored.headers]
    headers += [(b"content-length", str(len(stored.body)).encode()), (REPLAYED_HEADER.lower().encode(), b"true")]
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})
