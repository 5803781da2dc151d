"""Participant lists through the API: pages stay stable while participants are being registered,
cursors are opaque and bound to their sort, and no personal data can go into a list's URL."""
from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator

import httpx
import pytest

from bimtek_gateway.identity import Role, issue_access_token
from tests.integration.harness import System, participant_body

pytestmark = pytest.mark.integration

# A regency of its own, so the counts below are this module's alone.
REGENCY = "35.16"  # Kabupaten Mojokerto
LIST = "/api/v1/participants"
PAGE = 4


@pytest.fixture(scope="module")
def registrar(system: System) -> Iterator[httpx.Client]:
    token, _ = issue_access_token(system.gateway_settings(), user_id=str(uuid.uuid4()), role=Role.REGENCY_ADMIN.value,
                                  regency=REGENCY)
    client = httpx.Client(base_url=system.stack.gateway_url, timeout=15,
                          headers={"Authorization": f"Bearer {token}"})
    yield client
    client.close()


def register(client: httpx.Client, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        answer = client.post(LIST, json=participant_body())
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    return ids


@pytest.mark.parametrize("sort", ["registered_at", "-registered_at", "full_name", "-full_name"])
def test_paging_while_others_register_shows_everyone_once(running_system: System, registrar: httpx.Client,
                                                          sort: str) -> None:
    register(registrar, 3 * PAGE)
    present = set(everyone(registrar, sort))

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        answer = registrar.get(LIST, params={"sort": sort, "limit": PAGE, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert len(page["items"]) <= PAGE and page["limit"] == PAGE
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        pages += 1
        if pages <= 5:
            register(registrar, 2)  # between two page fetches: lands before or after the cursor

    assert len(seen) == len(set(seen)), "an item came twice"
    assert present <= set(seen), f"{len(present - set(seen))} participants present at the start were skipped"
    assert pages >= 3


def everyone(client: httpx.Client, sort: str) -> list[str]:
    ids, cursor = [], None
    while True:
        page = client.get(LIST, params={"sort": sort, "limit": 200, **({"cursor": cursor} if cursor else {})}).json()
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


def test_a_cursor_is_opaque_and_bound_to_its_sort(running_system: System, registrar: httpx.Client) -> None:
    register(registrar, PAGE + 1)
    first = registrar.get(LIST, params={"sort": "full_name", "limit": PAGE})
    assert first.status_code == 200, first.text
    cursor = first.json()["next_cursor"]
    names = [item["full_name"] for item in first.json()["items"]]

    assert not any(name.encode() in base64.urlsafe_b64decode(cursor + "==") for name in names)
    assert all("*" in item["nik_masked"] for item in first.json()["items"])

    for sort in ("-full_name", "registered_at"):
        refused = registrar.get(LIST, params={"sort": sort, "cursor": cursor})
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "invalid_cursor"
    english = registrar.get(LIST, params={"sort": "full_name", "cursor": "bm90LWEtY3Vyc29y"},
                            headers={"Accept-Language": "en"})
    assert english.status_code == 422 and english.json()["code"] == "invalid_cursor"
    assert english.json()["detail"].startswith("The page cursor is invalid")


@pytest.mark.parametrize("param", ["nik", "full_name", "name", "phone", "q", "search", "participant_code"])
def test_no_personal_data_goes_into_a_list_url(running_system: System, registrar: httpx.Client, param: str) -> None:
    answer = registrar.get(LIST, params={param: "3517094107850002"})

    assert answer.status_code == 422, answer.text
    assert [error["field"] for error in answer.json()["errors"]] == [f"query.{param}"]


def test_limits_and_sorts_are_whitelisted(running_system: System, registrar: httpx.Client) -> None:
    for params in ({"limit": 0}, {"limit": 201}, {"sort": "nik"}, {"sort": "birth_date"},
                   {"registered_since": "2026-01-01"}):  # a time without its zone is ambiguous
        answer = registrar.get(LIST, params=params)
        assert answer.status_code == 422, (params, answer.text)
    assert registrar.get(LIST, params={"limit": 200}).status_code == 200
