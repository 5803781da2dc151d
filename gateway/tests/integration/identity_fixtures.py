"""What the gateway's identity tests share: a fresh gateway database, the app with its lifespan
running, and users to act as. Real PostgreSQL (the shared server, a uniquely named database per
test module, dropped afterwards) and real RabbitMQ; no mocks.

Test modules import the fixtures they use from here.
"""
from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest
from fastapi.testclient import TestClient

from bimtek_gateway.app import create_app
from bimtek_gateway.db import make_engine, make_sessionmaker
from bimtek_gateway.identity import Role, create_user, verify_access_token
from bimtek_gateway.settings import GatewaySettings
from tests.support.databases import migrated_database

POSTGRES_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
AMQP_URI = os.environ.get("GATEWAY_TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
REPO_ROOT = Path(__file__).resolve().parents[3]
JOMBANG, KEDIRI = "35.17", "35.06"


# -- databases ---------------------------------------------------------------------------------
def _admin(statement: str) -> None:
    connection = psycopg2.connect(f"{POSTGRES_URL}/postgres")
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def create_database(name: str) -> str:
    _admin(f'CREATE DATABASE "{name}"')
    return f"{POSTGRES_URL}/{name}"


def drop_database(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def gateway_database_url() -> Iterator[str]:
    with migrated_database(REPO_ROOT / "gateway", "gw_identity", POSTGRES_URL) as url:
        yield url


def sql(database_url: str, statement: str, *params: object) -> list[tuple]:
    """For what a test must arrange or inspect underneath the API (an expiry in the past, a digest)."""
    connection = psycopg2.connect(database_url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


# -- the app -----------------------------------------------------------------------------------
def gateway_settings(database_url: str, amqp_uri: str = AMQP_URI) -> GatewaySettings:
    # Sign-in rate limits out of the way: these tests sign in more often than a person would.
    return GatewaySettings(database_url=database_url, amqp_uri=amqp_uri, rpc_timeout_seconds=5,
                           rate_limit_sign_in_per_ip="100000/minute",
                           rate_limit_sign_in_per_account="100000/minute")


@pytest.fixture(scope="module")
def settings(gateway_database_url: str) -> GatewaySettings:
    return gateway_settings(gateway_database_url)


@pytest.fixture(scope="module")
def client(settings: GatewaySettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


# -- people ------------------------------------------------------------------------------------
@dataclass
class Account:
    id: str
    username: str
    password: str
    role: str
    regency: str


def add_user(database_url: str, role: Role, regency: str | None = None,
             cooperative_id: uuid.UUID | None = None) -> Account:
    """A user made the way ``bimtek-gateway create-user`` makes one (the function it calls)."""
    username, password = f"{role.value.replace('_', '.')}.{secrets.token_hex(4)}", secrets.token_urlsafe(18)

    async def create() -> uuid.UUID:
        engine = make_engine(GatewaySettings(database_url=database_url).async_database_url, pool_size=1)
        try:
            return await create_user(make_sessionmaker(engine), username=username, password=password, role=role,
                                     regency=regency, cooperative_id=cooperative_id)
        finally:
            await engine.dispose()

    user_id = asyncio.run(create())
    return Account(str(user_id), username, password, role.value, "*" if role is Role.PROVINCE_ADMIN else regency)


def sign_in(client: TestClient, account: Account) -> dict:
    response = client.post("/api/v1/auth/token", json={"username": account.username, "password": account.password})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def headers_of(client: TestClient, account: Account) -> dict[str, str]:
    return bearer(sign_in(client, account)["access_token"])


def claims(settings: GatewaySettings, access_token: str) -> dict:
    return verify_access_token(settings, access_token)
