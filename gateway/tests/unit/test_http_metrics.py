"""HTTP metrics label each request by its route template, also when middleware answers before routing."""
import uuid

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY, generate_latest

from bimtek_gateway.app import create_app
from bimtek_gateway.middleware import RequestContextMiddleware, send_problem
from bimtek_gateway.settings import GatewaySettings

TEMPLATE = "/api/v1/participants/{participant_id}"


def requests_counted(route: str, method: str, status: int, service: str = "gateway") -> float:
    labels = {"service": service, "route": route, "method": method, "status": str(status)}
    return REGISTRY.get_sample_value("bimtek_http_requests_total", labels) or 0.0


def seconds_counted(route: str, method: str) -> float:
    labels = {"service": "gateway", "route": route, "method": method}
    return REGISTRY.get_sample_value("bimtek_http_request_duration_seconds_count", labels) or 0.0


class LimitEverythingUnder:
    """Answers 429 for one path prefix before the router runs, as the rate limiter does."""

    def __init__(self, app, prefix: str) -> None:
        self.app, self.prefix = app, prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            await send_problem(scope, send, "rate_limited", {"Retry-After": "1"}, retry_after=1)
            return
        await self.app(scope, receive, send)


def small_app() -> TestClient:
    app = FastAPI()
    participants = APIRouter(prefix="/api/v1/participants")

    @participants.get("/{participant_id}")
    async def get_participant(participant_id: str) -> dict:
        return {"id": participant_id}

    limited = APIRouter(prefix="/api/v1/limited")

    @limited.post("/{thing_id}")
    async def never_reached(thing_id: str) -> dict:
        return {}

    app.include_router(participants)
    app.include_router(limited)
    app.add_middleware(LimitEverythingUnder, prefix="/api/v1/limited/")
    app.add_middleware(RequestContextMiddleware)
    return TestClient(app, raise_server_exceptions=False)


def test_a_routed_request_is_counted_and_timed_under_its_template_never_its_path():
    client = small_app()
    participant_id = str(uuid.uuid4())
    before, timed_before = requests_counted(TEMPLATE, "GET", 200), seconds_counted(TEMPLATE, "GET")
    assert client.get(f"/api/v1/participants/{participant_id}").status_code == 200
    assert requests_counted(TEMPLATE, "GET", 200) == before + 1
    assert seconds_counted(TEMPLATE, "GET") == timed_before + 1
    assert participant_id.encode() not in generate_latest(REGISTRY)


def test_a_request_answered_before_routing_keeps_its_route_template():
    client = small_app()
    template = "/api/v1/limited/{thing_id}"
    before = requests_counted(template, "POST", 429)
    assert client.post(f"/api/v1/limited/{uuid.uuid4()}").status_code == 429
    assert requests_counted(template, "POST", 429) == before + 1


def test_a_path_no_route_serves_is_unmatched_and_a_wrong_method_keeps_the_template():
    client = small_app()
    unmatched, not_allowed = requests_counted("unmatched", "GET", 404), requests_counted(TEMPLATE, "DELETE", 405)
    assert client.get(f"/wp-admin/{uuid.uuid4()}/setup.php").status_code == 404
    assert client.delete(f"/api/v1/participants/{uuid.uuid4()}").status_code == 405
    assert requests_counted("unmatched", "GET", 404) == unmatched + 1
    assert requests_counted(TEMPLATE, "DELETE", 405) == not_allowed + 1


def test_the_real_application_labels_a_413_by_its_route():
    # BodySizeLimitMiddleware answers before the router (as the rate limiter and idempotent
    # replays do): the request is still the participants route's, not "unmatched".
    client = TestClient(create_app(GatewaySettings()), raise_server_exceptions=False)
    before = requests_counted("/api/v1/participants", "POST", 413)
    response = client.post("/api/v1/participants", content=b"x" * 2_000_000,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert requests_counted("/api/v1/participants", "POST", 413) == before + 1
