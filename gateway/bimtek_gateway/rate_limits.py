"""Rate limits, shared by every gateway replica through Redis.

- Sign-in (``/api/v1/auth/*``): per client IP, and per account (the ``username`` or ``participant_code``
  of a sign-in body: a birth date is quickly guessed, so a participant code needs the limit most);
  bulk registrations (``POST /api/v1/participant-imports``): per user; public verification
  (``/api/v1/public/*``): per IP. The rates are settings (``RATE_LIMIT_*``, "10/minute").
- Algorithm: GCRA in one Lua script, so a check is atomic across replicas and costs one round trip;
  the clock is Redis's own (``TIME``), so replicas whose clocks differ still agree.
- Over the limit: 429 problem ``rate_limited`` with ``Retry-After``; every limited route's answers
  carry ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` (seconds until the allowance is full).
- Redis unreachable: the request goes through (fail open). Sign-in and registration must keep working
  for the regencies when a cache is down; the passwords stay argon2-hashed and the routes still
  check everything else. Each such request counts in ``bimtek_rate_limit_checks_total{outcome=
  "unavailable"}``, a warning is logged at most once a minute, and Redis is not asked again for a few
  seconds, so an outage costs no request a timeout.
- Keys hold SHA-256 digests of the subject (never a username or address in clear) and are named after
  the gateway's database, so replicas of one deployment share them and two deployments (or test
  stacks) on one Redis never do. A key lives only as long as its allowance takes to refill.
- The client IP is the socket's peer, or, when that peer is one of ``TRUSTED_PROXIES``, the address
  in ``X-Forwarded-For`` just before the first trusted proxy from the right: what our own proxy saw.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Literal
from urllib.parse import parse_qs

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .middleware import buffer_body, principal_of, replay_body, send_problem
from .settings import GatewaySettings

log = logging.getLogger(__name__)

SIGN_IN_PREFIX = "/api/v1/auth/"
IMPORTS_PATH = "/api/v1/participant-imports"
PUBLIC_PREFIX = "/api/v1/public/"
ACCOUNT_FIELDS = ("username", "participant_code")  # of a sign-in body, JSON or form
PERIOD_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
REDIS_TIMEOUT_SECONDS = 0.25
REDIS_PAUSE_AFTER_FAILURE_SECONDS = 5.0
WARNING_INTERVAL_SECONDS = 60.0

RATE_LIMIT_CHECKS = Counter(
    "bimtek_rate_limit_checks_total",
    "Rate limit checks, by rule and outcome (allowed, limited, unavailable: Redis could not be asked).",
    ["service", "rule", "outcome"],
)

# KEYS[1]: the subject's key. ARGV[1]: milliseconds between two requests at the steady rate;
# ARGV[2]: the burst (the count per period). Stores the theoretical arrival time (TAT) in ms.
# Returns {allowed (0/1), retry after ms, remaining, ms until the allowance is full again}.
# Numbers go back to Redis through string.format: Lua would print a 13-digit float in exponent form.
GCRA_SCRIPT = """
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local period = interval * burst
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local allowed_from = new_tat - period
if now < allowed_from then
  return {0, allowed_from - now, 0, tat - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', string.format('%.0f', new_tat - now))
return {1, 0, math.floor((period - (new_tat - now)) / interval), new_tat - now}
"""


@dataclass(frozen=True)
class Rate:
    count: int
    period_seconds: int

    @classmethod
    def parse(cls, text: str) -> "Rate":
        """``"10/minute"``; the settings' pattern has checked the form already."""
        count, _, unit = text.partition("/")
        return cls(int(count), PERIOD_SECONDS[unit])

    @property
    def interval_ms(self) -> int:
        return math.ceil(self.period_seconds * 1000 / self.count)

    def __str__(self) -> str:
        unit = next(name for name, seconds in PERIOD_SECONDS.items() if seconds == self.period_seconds)
        return f"{self.count}/{unit}"


@dataclass(frozen=True)
class Rule:
    name: str  # in Redis keys and the metric's label
    path: str
    whole_subtree: bool  # the path and everything under it, or the path alone
    methods: frozenset[str] | None  # None: every method
    per: Literal["ip", "account", "user"]
    rate: Rate

    def matches(self, method: str, path: str) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        return path.startswith(self.path) if self.whole_subtree else path.rstrip("/") == self.path


def rules_from(settings: GatewaySettings) -> tuple[Rule, ...]:
    return (
        Rule("sign_in_ip", SIGN_IN_PREFIX, True, None, "ip", Rate.parse(settings.rate_limit_sign_in_per_ip)),
        Rule("sign_in_account", SIGN_IN_PREFIX, True, frozenset({"POST"}), "account",
             Rate.parse(settings.rate_limit_sign_in_per_account)),
        Rule("imports", IMPORTS_PATH, False, frozenset({"POST"}), "user",
             Rate.parse(settings.rate_limit_imports_per_user)),
        Rule("public", PUBLIC_PREFIX, True, None, "ip", Rate.parse(settings.rate_limit_public_per_ip)),
    )


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_seconds: int
    limit: int
    remaining: int
    reset_seconds: int


class RedisUnavailable(Exception):
    pass


class RateLimiter:
    """Asks Redis whether a subject may make one more request under a rule."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self.redis = redis
        self.namespace = namespace
        self._script = redis.register_script(GCRA_SCRIPT)
        self._paused_until = 0.0  # after a failure, Redis is left alone for a moment
        self._warned_at = -math.inf

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> "RateLimiter":
        redis = Redis.from_url(settings.redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                               socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
        return cls(redis, namespace=settings.database_url.rsplit("/", 1)[-1])

    def key(self, rule: Rule, subject: str) -> str:
        # With the rate in the key, a changed limit starts afresh instead of reading another rate's state.
        digest = hashlib.sha256(subject.encode()).hexdigest()
        return f"ratelimit:{self.namespace}:{rule.name}:{rule.rate}:{digest}"

    async def check(self, rule: Rule, subject: str) -> Verdict:
        """Raises RedisUnavailable (after counting and maybe logging it) if Redis cannot answer."""
        if time.monotonic() < self._paused_until:
            RATE_LIMIT_CHECKS.labels("gateway", rule.name, "unavailable").inc()
            raise RedisUnavailable
        try:
            allowed, retry_after_ms, remaining, reset_ms = await self._script(
                keys=[self.key(rule, subject)], args=[rule.rate.interval_ms, rule.rate.count])
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)
            RATE_LIMIT_CHECKS.labels("gateway", rule.name, "unavailable").inc()
            raise RedisUnavailable from None
        RATE_LIMIT_CHECKS.labels("gateway", rule.name, "allowed" if allowed else "limited").inc()
        return Verdict(bool(allowed), math.ceil(int(retry_after_ms) / 1000), rule.rate.count,
                       int(remaining), math.ceil(int(reset_ms) / 1000))

    def _failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._paused_until = now + REDIS_PAUSE_AFTER_FAILURE_SECONDS
        if now - self._warned_at >= WARNING_INTERVAL_SECONDS:
            self._warned_at = now
            log.warning("rate limits not enforced: Redis unreachable (%s); requests go through",
                        type(exc).__name__)

    async def close(self) -> None:
        await self.redis.aclose()


def client_ip(scope: Scope, trusted_proxies: tuple[IPv4Network | IPv6Network, ...]) -> str:
    peer = (scope.get("client") or ("", 0))[0]
    if not trusted_proxies or not _is_trusted(peer, trusted_proxies):
        return peer
    forwarded = b",".join(value for name, value in scope["headers"] if name == b"x-forwarded-for")
    hops = [hop.strip() for hop in forwarded.decode("latin-1").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted_proxies):
            return hop
    return hops[0] if hops else peer


def _is_trusted(address: str, trusted_proxies: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted_proxies)


def account_in(body: bytes, content_type: str) -> str | None:
    """The account a sign-in body names (``username:<name>``, case-folded), or None."""
    try:
        if content_type.startswith("application/x-www-form-urlencoded"):
            fields = {name: values[0] for name, values in parse_qs(body.decode("utf-8")).items()}
        else:
            fields = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # nested 10,000 deep: no account named
        return None
    if not isinstance(fields, dict):
        return None
    for name in ACCOUNT_FIELDS:
        value = fields.get(name)
        if isinstance(value, str) and value.strip():
            return f"{name}:{value.strip().casefold()}"
    return None


class RateLimitMiddleware:
    """Answers 429 before the route runs when a rule's allowance is used up. The limiter lives in
    ``app.state.rate_limiter`` (made in the lifespan)."""

    def __init__(self, app: ASGIApp, settings: GatewaySettings) -> None:
        self.app = app
        self.settings = settings
        self.rules = rules_from(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rules = [rule for rule in self.rules if rule.matches(scope["method"], scope["path"])]
        if not rules:
            await self.app(scope, receive, send)
            return
        account = None
        if any(rule.per == "account" for rule in rules):
            chunks = await buffer_body(receive)
            if chunks is None:
                return
            content_type = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1").lower()
            account = account_in(b"".join(chunks), content_type)  # sign-in bodies are small
            receive = replay_body(chunks, receive)
        verdicts = await self._check(scope, rules, account)
        denied = [verdict for verdict in verdicts if not verdict.allowed]
        if denied:
            retry_after = max(max(verdict.retry_after_seconds for verdict in denied), 1)
            headers = {"Retry-After": str(retry_after), **_limit_headers(denied)}
            await send_problem(scope, send, "rate_limited", headers, retry_after=retry_after)
            return
        if not verdicts:
            await self.app(scope, receive, send)
            return
        extra = [(name.lower().encode(), value.encode()) for name, value in _limit_headers(verdicts).items()]

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_limits)

    async def _check(self, scope: Scope, rules: list[Rule], account: str | None) -> list[Verdict]:
        limiter: RateLimiter = scope["app"].state.rate_limiter
        ip = client_ip(scope, self.settings.trusted_proxy_networks)
        verdicts = []
        for rule in rules:
            if rule.per == "ip":
                subject = ip
            elif rule.per == "account":
                if account is None:
                    continue
                subject = account
            else:  # per user; a request without a valid credential is limited by its address
                subject = principal_of(scope, self.settings) or f"ip:{ip}"
            try:
                verdicts.append(await limiter.check(rule, subject))
            except RedisUnavailable:
                return []  # fail open (see the module's docstring)
        return verdicts


def _limit_headers(verdicts: list[Verdict]) -> dict[str, str]:
    """The tightest of the rules that applied."""
    tightest = min(verdicts, key=lambda verdict: (verdict.remaining, -verdict.reset_seconds))
    return {"X-RateLimit-Limit": str(tightest.limit), "X-RateLimit-Remaining": str(tightest.remaining),
            "X-RateLimit-Reset": str(tightest.reset_seconds)}
