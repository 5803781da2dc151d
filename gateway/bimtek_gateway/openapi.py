"""What FastAPI cannot see in the route table, added to the OpenAPI document: the middleware's
manners (Idempotency-Key on writes, rate limits, body limits) and the problem+json error bodies.

Generated from the routes each time the document is built, so routes added later are covered."""
from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from bimtek_shared.contracts.errors import ERRORS, message_for

from .dependencies import get_device_services, get_services, get_services_before_sign_in
from .idempotency import IDEMPOTENCY_HEADER, REPLAYED_HEADER, WRITE_METHODS, applies_to
from .problems import PROBLEM_JSON
from .rate_limits import IMPORTS_PATH, Rule, rules_from
from .settings import GatewaySettings

PROBLEM_REF = "#/components/schemas/Problem"
IDEMPOTENCY_PARAMETER_REF = "#/components/parameters/IdempotencyKey"
EXAMPLE_REQUEST_ID = "5f0c2a9d4e7b41c8a3d6e9f1b2c4d6e8"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An error, as RFC 9457 problem details (`application/problem+json`). `detail` is in Bahasa "
                   "Indonesia, or in English when `Accept-Language` prefers `en`; `code` is stable and meant "
                   "for programs.",
    "required": ["type", "title", "status", "detail", "code", "request_id"],
    "properties": {
        "type": {"type": "string", "description": "`urn:bimtek:problem:<code>`"},
        "title": {"type": "string", "description": "A short summary, in English"},
        "status": {"type": "integer", "description": "The HTTP status"},
        "detail": {"type": "string", "description": "What went wrong, for a person, in the caller's language"},
        "instance": {"type": "string", "description": "The path of the request"},
        "code": {"type": "string", "enum": sorted(ERRORS)},
        "request_id": {"type": "string", "description": "The request's X-Request-ID"},
        "errors": {
            "type": "array",
            "description": "For `validation_failed`: the fields at fault (never their values)",
            "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}},
        },
    },
}

IDEMPOTENCY_PARAMETER: dict[str, Any] = {
    "name": IDEMPOTENCY_HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Recommended on every write: a new random value (a UUID, say) per intended write, the same one on each "
        "retry of it. Within 24 hours a retry with the same key and the same request (method, path, body) gets "
        f"the first answer back unchanged, with `{REPLAYED_HEADER}: true`, instead of running again; the same "
        "key with another request is refused with 422 `idempotency_key_reused`, and a retry while the first "
        "is still running with 409 `idempotency_request_in_flight`. Keys are per user or device. Answers "
        "with a 5xx status are not kept, so retrying those runs the request again. Without the header the "
        "request simply runs."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7E]+$"},
    "example": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
}

RETRY_AFTER_HEADER = {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}
RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": {"description": "Requests allowed per period by the tightest limit that applies",
                          "schema": {"type": "integer"}},
    "X-RateLimit-Remaining": {"description": "Requests left now", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {"description": "Seconds until the allowance is full again", "schema": {"type": "integer"}},
}
SUBJECT = {"ip": "client IP address", "account": "username or participant code", "user": "user"}


def install_openapi(app: FastAPI, settings: GatewaySettings) -> None:
    """Make ``app.openapi()`` (and so /openapi.json and /docs) document the API's manners."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document_manners(generate(), settings, operations_calling_services(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def operations_calling_services(app: FastAPI) -> set[tuple[str, str]]:
    """(METHOD, path) of the routes that call a service over RPC (they depend on the services
    dependency): those may answer 503 or 504 when the service is down or slow."""
    def calls(dependant: Dependant) -> bool:
        return dependant.call in (get_services, get_services_before_sign_in, get_device_services) or any(
            calls(sub) for sub in dependant.dependencies)

    return {(method, context.path) for context in iter_route_contexts(app.routes)
            if isinstance(context.original_route, APIRoute) and calls(context.original_route.dependant)
            for method in context.original_route.methods}


def document_manners(document: dict[str, Any], settings: GatewaySettings,
                     calling_services: Collection[tuple[str, str]] = ()) -> None:
    rules = rules_from(settings)
    components = document.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    components.setdefault("parameters", {})["IdempotencyKey"] = IDEMPOTENCY_PARAMETER
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                body_limit = settings.max_import_bytes if path.startswith(IMPORTS_PATH) else settings.max_body_bytes
                _document_refusals(path, method.upper(), operation, (method.upper(), path) in calling_services)
                _document_operation(path, method.upper(), operation, rules, body_limit)
    _drop_unused_schemas(document, ("HTTPValidationError", "ValidationError"))


def _document_operation(path: str, method: str, operation: dict[str, Any], rules: tuple[Rule, ...],
                        body_limit: int) -> None:
    responses = operation["responses"]
    # FastAPI documents its own validation error body; ours is a problem.
    if "422" in responses:
        responses["422"] = _problem_response("Invalid request", path, ["validation_failed"])
    if method in WRITE_METHODS:
        responses.setdefault("413", _problem_response(f"Request body over {body_limit} bytes", path,
                                                      ["payload_too_large"], limit=body_limit))
    if applies_to(method, path):
        operation.setdefault("parameters", []).append({"$ref": IDEMPOTENCY_PARAMETER_REF})
        for status, answer in responses.items():
            if status.startswith("2"):
                answer.setdefault("headers", {})[REPLAYED_HEADER] = {
                    "description": "`true` when this is the stored answer to an earlier request with the same "
                                   f"{IDEMPOTENCY_HEADER}", "schema": {"type": "boolean"}}
        responses["400"] = _problem_response(f"Malformed {IDEMPOTENCY_HEADER}", path, ["idempotency_key_invalid"])
        responses["409"] = _merge(responses.get("409"), _problem_response(
            "The request with this Idempotency-Key is still running", path, ["idempotency_request_in_flight"],
            headers={"Retry-After": RETRY_AFTER_HEADER}))
        responses["422"] = _problem_response(
            "Invalid request, or an Idempotency-Key already used for another request", path,
            ["validation_failed", "idempotency_key_reused"])
    limits = [rule for rule in rules if rule.matches(method, path)]
    if limits or applies_to(method, path):
        detail = "; ".join(f"{rule.rate} per {SUBJECT[rule.per]}" for rule in limits)
        responses["429"] = _problem_response(
            f"Too many requests ({detail})" if detail else "Too many requests", path, ["rate_limited"],
            headers={"Retry-After": RETRY_AFTER_HEADER, **RATE_LIMIT_HEADERS}, retry_after=30)
    for answer in responses.values():
        answer.setdefault("headers", {}).setdefault(
            "X-Request-ID", {"description": "The request's id (yours, if you sent a well-formed "
                             "X-Request-ID), in every log line and service call it caused",
                             "schema": {"type": "string"}})


def _document_refusals(path: str, method: str, operation: dict[str, Any], calls_services: bool) -> None:
    """The answers any route of its kind may give, whatever it does: a protected one refuses a
    missing or invalid token (401) and a caller whose role or scope does not allow it (403); one
    naming an object by id answers 404 when there is none the caller may see; one that calls a
    service answers 503 (no instance running) or 504 (no answer in time). A route whose body names
    objects by id declares its own 404. A route's own
    documentation of the same status keeps its examples beside these."""
    responses = operation["responses"]
    added: dict[str, dict[str, Any]] = {}
    if "401" in responses and not operation.get("security"):  # a sign-in refusing its credentials
        added["401"] = _problem_response("", path, ["invalid_credentials", "invalid_refresh_token"])  # its words
    if operation.get("security"):
        added["401"] = _problem_response("No valid access token (or device token)", path, ["unauthenticated"])
        added["403"] = _problem_response("The caller's role, regency or cooperative does not allow this", path,
                                         ["forbidden", "role_out_of_scope", "regency_out_of_scope"])
    if "{" in path or "404" in responses:  # an id in the path, or ids in the body the route names
        added["404"] = _problem_response("Nothing of that id the caller may see", path, ["not_found"])
    if path.startswith("/api/v1/participants/{participant_id}") and method in WRITE_METHODS:
        added["410"] = _problem_response("The participant's personal data was erased", path, ["participant_erased"])
    if calls_services:
        added["503"] = _problem_response("A service it needs has no instance running", path, ["service_unavailable"],
                                         headers={"Retry-After": RETRY_AFTER_HEADER}, service="registration")
        added["504"] = _problem_response("A service it needs did not answer in time", path, ["service_timeout"],
                                         service="registration")
    for status, answer in added.items():
        responses[status] = _merge(responses.get(status), answer)


def problem_example(code: str, instance: str, **params: Any) -> dict[str, Any]:
    params.setdefault("request_id", EXAMPLE_REQUEST_ID)
    return {
        "type": f"urn:bimtek:problem:{code}",
        "title": message_for(code, "en", **params).split(":")[0].rstrip("."),
        "status": ERRORS[code].status,
        "detail": message_for(code, "id", **params),
        "instance": instance,
        "code": code,
        "request_id": EXAMPLE_REQUEST_ID,
    }


def _problem_response(description: str, path: str, codes: list[str], headers: dict[str, Any] | None = None,
                      **params: Any) -> dict[str, Any]:
    examples = {code: {"summary": code, "value": problem_example(code, path, **params)} for code in codes}
    answer: dict[str, Any] = {"description": description,
                              "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}, "examples": examples}}}
    if headers:
        answer["headers"] = headers
    return answer


def _merge(existing: dict[str, Any] | None, added: dict[str, Any]) -> dict[str, Any]:
    """A status a route documents itself (a domain conflict, say) keeps its examples next to ours."""
    if not existing:
        return added
    content = existing.setdefault("content", {}).setdefault(PROBLEM_JSON, {"schema": {"$ref": PROBLEM_REF}})
    content.setdefault("examples", {}).update(added["content"][PROBLEM_JSON]["examples"])
    existing.setdefault("headers", {}).update(added.get("headers", {}))
    existing["description"] = "; or: ".join(filter(None, [existing.get("description"), added["description"]]))
    return existing


def _drop_unused_schemas(document: dict[str, Any], names: tuple[str, ...]) -> None:
    schemas = document["components"]["schemas"]
    for name in names:
        if name in schemas:
            held = schemas.pop(name)
            if f'"#/components/schemas/{name}"' in json.dumps(document):
                schemas[name] = held
