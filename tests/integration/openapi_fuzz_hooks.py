"""Schemathesis hooks for test_openapi_fuzz.py (loaded by the CLI through SCHEMATHESIS_HOOKS).

What the schema cannot say, said once here, each with its reason; every other failure fails the run.
"""
from __future__ import annotations

import json
import os
import uuid
from typing import Any

import schemathesis
from schemathesis.openapi.checks import EnsureResourceAvailability, RejectedPositiveData

from bimtek_gateway.nul_characters import NUL_MESSAGE

IDEMPOTENCY_KEY = "Idempotency-Key"
# A schema-valid request these refuse breaks a rule of the domain, not of the schema: a cursor is
# opaque (only one this API handed out is good), an archive takes exactly one scope, a village
# must lie in the caller's regency, a NIK's region digits must exist, a date must be a session day...
# `validation_failed` is not among them: a schema-valid request refused as invalid is a schema
# that promises more than the gateway accepts.
DOMAIN_REJECTIONS = {422, 409, 410}
NUL_REFUSED = {"field": "body", "message": NUL_MESSAGE}
TIMEOUTS_LOG = os.environ.get("FUZZ_TIMEOUTS_LOG")


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """A fresh Idempotency-Key for every well-formed one: the generator repeats the documented
    example, and one key sent with another request is rightly refused (422 idempotency_key_reused).
    Malformed keys stay as generated (400 idempotency_key_invalid is what they test)."""
    headers = case.headers or {}
    key = headers.get(IDEMPOTENCY_KEY)
    if isinstance(key, str) and 0 < len(key) <= 255 and key.isascii() and key.isprintable():
        headers[IDEMPOTENCY_KEY] = uuid.uuid4().hex


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """False drops the failure (it is the domain speaking, not a broken contract)."""
    code = _problem_code(response)
    if response.status_code == 504 and code == "service_timeout" and TIMEOUTS_LOG:
        # The test stack gives a service 2 s (RPC_TIMEOUT_SECONDS): a planner or PDF renderer on a
        # busy machine may take longer, and 504 is its documented answer. Counted, not hidden: the
        # test fails if more than a few answers are timeouts.
        with open(TIMEOUTS_LOG, "a") as log:
            log.write(f"{case.operation.label}\n")
        return False
    if isinstance(failure, RejectedPositiveData):
        if response.status_code in DOMAIN_REJECTIONS and code not in (None, "validation_failed"):
            return False
        # Text may not hold U+0000 (gateway/bimtek_gateway/nul_characters.py): one rule for every
        # string of every body, stated there rather than as a pattern on each field.
        if code == "validation_failed" and _errors(response) == [NUL_REFUSED]:
            return False
        # A stateful step whose link found nothing to carry sends the literal "None" as an id.
        if code == "validation_failed" and "None" in (case.path_parameters or {}).values():
            return False
    if isinstance(failure, EnsureResourceAvailability) and code == "plan_not_found":
        return False  # a new programme exists; its plan does not until one is published
    return True


@schemathesis.check
def protected_operations_refuse_anonymous_calls(ctx: Any, response: Any, case: Any) -> bool | None:
    """A call without the run's valid token (none at all, an empty or a made-up one) to an operation
    that declares a security requirement is refused before any of its work: 401, or a refusal by
    a middleware that runs first (a malformed Idempotency-Key 400, a body over the limit 413, a
    rate limit 429, a body that is no JSON 422). Never an answer only a signed-in caller may get
    (2xx, 3xx, 403, 404, 409, 410)."""
    if not case.operation.definition.raw.get("security"):
        return None
    token = os.environ.get("FUZZ_ACCESS_TOKEN", "")
    sent = {name.lower(): value for name, value in (response.request.headers or {}).items()}
    if token and sent.get("authorization") == f"Bearer {token}":
        return None
    if response.status_code < 400 or response.status_code in (403, 404, 409, 410):
        raise AssertionError(f"{case.operation.label} answered {response.status_code} to a call without "
                             "credentials: want 401")
    return None


def _problem(response: Any) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except (ValueError, TypeError):
        return {}
    return body if isinstance(body, dict) else {}


def _problem_code(response: Any) -> str | None:
    return _problem(response).get("code")


def _errors(response: Any) -> list[dict[str, Any]]:
    return _problem(response).get("errors") or []
