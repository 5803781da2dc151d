"""Participants sign in with the code on their invitation and their date of birth.

The registration service runs for real (its own process, its own fresh database) on a private
RabbitMQ: the service's RPC queue has a fixed name, and a stack on the shared broker could
otherwise answer in its place.
"""
from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bimtek_gateway.app import create_app
from bimtek_gateway.identity import Role
from bimtek_shared.ops.local_stack import UNITS, LocalStack
from gateway.tests.integration.identity_fixtures import (  # noqa: F401 - fixtures
    JOMBANG, POSTGRES_URL, REPO_ROOT, add_user, claims, create_database, drop_database, gateway_database_url,
    gateway_settings, headers_of,
)
from tests.integration.harness import participant_body
from tests.support.databases import migrate
from tests.support.fixtures import private_rabbitmq  # noqa: F401 - fixture
from tests.support.servers import PrivateRabbitMQ, free_port

pytestmark = pytest.mark.integration

@pytest.fixture(scope="module")
def registration_service(private_rabbitmq: PrivateRabbitMQ, tmp_path_factory: pytest.TempPathFactory
                         ) -> Iterator[LocalStack]:
    prefix = f"bimtek_gw_signin_{uuid.uuid4().hex[:12]}"
    stack = LocalStack(state_dir=Path(tmp_path_factory.mktemp("stack")), amqp_uri=private_rabbitmq.amqp_uri,
                       postgres_url=POSTGRES_URL, database_prefix=prefix,
                       ports={unit.name: free_port() for unit in UNITS},
                       extra_env={"ENVIRONMENT": "development", "LOG_LEVEL": "INFO"})
    database = f"{prefix}_registration"
    create_database(database)
    try:
        migrate(REPO_ROOT / "services" / "registration", stack.database_url("registration"))
        stack.setup_broker()
        stack.start("registration")
        stack.wait_ready("registration")
        yield stack
    finally:
        stack.stop("registration")
        drop_database(database)


@pytest.fixture(scope="module")
def settings(gateway_database_url, private_rabbitmq):
    return gateway_settings(gateway_database_url, amqp_uri=private_rabbitmq.amqp_uri)


@pytest.fixture(scope="module")
def client(settings, registration_service) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def operator(client, gateway_database_url) -> dict[str, str]:
    return headers_of(client, add_user(gateway_database_url, Role.OPERATOR, JOMBANG))


@pytest.fixture(scope="module")
def participant(client, operator) -> dict:
    """Registered through the gateway, as an operator does."""
    response = client.post("/api/v1/participants", json=participant_body(), headers=operator)
    assert response.status_code == 201, response.text
    return response.json()


def sign_in(client, participant_code: str, birth_date: str):
    return client.post("/api/v1/auth/participant-token",
                       json={"participant_code": participant_code, "birth_date": birth_date})


def test_a_participant_signs_in_with_code_and_date_of_birth(client, settings, participant):
    response = sign_in(client, participant["participant_code"], participant["birth_date"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    pair = response.json()
    token = claims(settings, pair["access_token"])
    assert token["sub"] == participant["id"]
    assert (token["kind"], token["role"], token["regency"]) == ("participant", "participant", JOMBANG)
    assert "coop" not in token  # registered without a cooperative
    assert pair["refresh_token"].startswith("bkr_")


def test_the_code_may_be_typed_in_any_case_with_spaces(client, participant):
    code = participant["participant_code"]
    typed = f" {code[:4].lower()} {code[4:].lower()} "
    assert sign_in(client, typed, participant["birth_date"]).status_code == 200


def test_an_unknown_code_and_a_wrong_date_get_the_same_answer_in_similar_time(client, participant):
    wrong_date = "1901-02-03"
    unknown_code = "ZZZZ2222" if participant["participant_code"] != "ZZZZ2222" else "YYYY3333"

    def attempt(code: str, birth_date: str) -> tuple[float, int, dict]:
        started = time.perf_counter()
        response = sign_in(client, code, birth_date)
        return time.perf_counter() - started, response.status_code, response.json()

    wrong = [attempt(participant["participant_code"], wrong_date) for _ in range(15)]
    unknown = [attempt(unknown_code, participant["birth_date"]) for _ in range(15)]
    for _, status, body in wrong + unknown:
        assert status == 401 and body["code"] == "invalid_credentials"
    assert {body["detail"] for _, _, body in wrong + unknown} == {wrong[0][2]["detail"]}
    wrong_median = statistics.median(seconds for seconds, _, _ in wrong)
    unknown_median = statistics.median(seconds for seconds, _, _ in unknown)
    # Both do one indexed lookup and one comparison; only scheduling noise may tell them apart.
    assert abs(wrong_median - unknown_median) < max(0.02, 0.5 * max(wrong_median, unknown_median))


def test_a_participants_session_rotates_like_anyone_elses(client, settings, participant):
    pair = sign_in(client, participant["participant_code"], participant["birth_date"]).json()
    renewed = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert renewed.status_code == 200
    assert claims(settings, renewed.json()["access_token"])["sub"] == participant["id"]
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401


def test_a_participant_may_not_register_participants(client, participant):
    pair = sign_in(client, participant["participant_code"], participant["birth_date"]).json()
    refused = client.post("/api/v1/participants", json=participant_body(),
                          headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert refused.status_code == 403


def test_code_and_date_travel_in_the_body_only(client, participant):
    in_the_url = client.post("/api/v1/auth/participant-token",
                             params={"participant_code": participant["participant_code"],
                                     "birth_date": participant["birth_date"]})
    assert in_the_url.status_code == 422
    assert sign_in(client, participant["participant_code"], "not-a-date").status_code == 422


def test_a_participant_reads_only_themselves(client, operator, participant):
    other = client.post("/api/v1/participants", json=participant_body(), headers=operator)
    assert other.status_code == 201, other.text
    pair = sign_in(client, participant["participant_code"], participant["birth_date"]).json()
    as_participant = {"Authorization": f"Bearer {pair['access_token']}"}

    own = client.get(f"/api/v1/participants/{participant['id']}", headers=as_participant)
    assert own.status_code == 200, own.text
    assert own.json()["participant"]["id"] == participant["id"]
    # A neighbour in the same regency: the same answer as for nobody.
    someone_else = client.get(f"/api/v1/participants/{other.json()['id']}", headers=as_participant)
    assert someone_else.status_code == 404 and someone_else.json()["code"] == "participant_not_found"
    assert client.get("/api/v1/participants", headers=as_participant).status_code == 403
