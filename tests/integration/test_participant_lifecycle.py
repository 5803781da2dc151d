"""A participant's life and their personal data through the gateway, across all three services:
a substitution chain A -> B -> C, a withdrawal, a NIK reveal, an erasure that reaches scheduling and
certificates, the audit trail, and no NIK in any event the registration service ever emitted."""
from __future__ import annotations

import json
import re
import secrets
import uuid
from typing import Any

import pytest

from bimtek_gateway.identity import Role, issue_access_token
from tests.integration.harness import REGENCY, System, participant_body, wait_until

pytestmark = pytest.mark.integration

API = "/api/v1"
# A NIK standing alone (as a JSON string or number); not a run of digits inside a hex id, which a
# random correlation id holds now and then.
SIXTEEN_DIGITS = re.compile(r"(?<![0-9A-Za-z])\d{16}(?![0-9A-Za-z])")


@pytest.fixture(scope="module")
def admin(system: System) -> dict[str, str]:
    """A regency administrator of the session's regency, with a token minted as the gateway does."""
    token, _ = issue_access_token(system.gateway_settings(), user_id=str(uuid.uuid4()), role=Role.REGENCY_ADMIN.value,
                                  regency=REGENCY)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def cooperative(system: System) -> str:
    [village] = [code for (code,) in system.query(
        "registration", "SELECT v.code FROM villages v JOIN districts d ON d.code = v.district_code "
        "WHERE d.regency_code = %s AND NOT EXISTS (SELECT 1 FROM cooperative_villages c WHERE c.village_code = v.code) "
        "ORDER BY v.code LIMIT 1", (REGENCY,))]
    created = system.api.post(f"{API}/cooperatives", json={"villages": [village]})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def identity() -> dict[str, str]:
    return {key: value for key, value in participant_body().items() if key in ("nik", "full_name", "sex", "birth_date")}


def scheduling_row(system: System, pid: str) -> tuple | None:
    rows = system.query("scheduling", "SELECT status, version FROM participants WHERE participant_id = %s", (pid,))
    return rows[0] if rows else None


def roster_row(system: System, pid: str) -> tuple | None:
    rows = system.query("certificates", "SELECT full_name, position, status, version FROM roster "
                        "WHERE participant_id = %s", (pid,))
    return rows[0] if rows else None


def counts(system: System) -> dict[str, Any]:
    """The regency's participants as each service counts them (by position group where it keeps one)."""
    return {
        "registration": system.query("registration", "SELECT position_group, count(*) FROM participants "
                                     "WHERE regency = %s GROUP BY 1 ORDER BY 1", (REGENCY,)),
        "scheduling": system.query("scheduling", "SELECT position_group, count(*) FROM participants "
                                   "WHERE regency = %s GROUP BY 1 ORDER BY 1", (REGENCY,)),
        "certificates": system.query("certificates", "SELECT position_group, count(*) FROM roster "
                                     "WHERE regency = %s GROUP BY 1 ORDER BY 1", (REGENCY,)),
    }


def test_a_substitution_chain_a_withdrawal_and_an_erasure_across_the_services(
    running_system: System, admin: dict[str, str], cooperative: str
) -> None:
    system, api = running_system, running_system.api
    people = [identity() for _ in range(3)]
    niks = [person["nik"] for person in people]

    created = api.post(f"{API}/participants", json={**people[0], "position": "bendahara", "cooperative_id": cooperative,
                                                    "phone": "0812-3300-1234"})
    assert created.status_code == 201, created.text
    a = created.json()["id"]
    first = api.post(f"{API}/participants/{a}/substitution", json=people[1])
    assert first.status_code == 201, first.text
    b = first.json()["replacement"]["id"]
    second = api.post(f"{API}/participants/{b}/substitution", json=people[2])
    assert second.status_code == 201, second.text
    c = second.json()["replacement"]["id"]

    assert first.json()["replaced"]["replaced_by"] == b and first.json()["replacement"]["replaces"] == a
    answers = {pid: api.get(f"{API}/participants/{pid}") for pid in (a, b, c)}
    assert all(answer.status_code == 200 for answer in answers.values()), [x.text for x in answers.values()]
    chain = {pid: answer.json()["participant"] for pid, answer in answers.items()}
    assert [(chain[p]["replaces"], chain[p]["replaced_by"], chain[p]["status"]) for p in (a, b, c)] == [
        (None, b, "withdrawn"), (a, c, "withdrawn"), (b, None, "active")]
    assert {(chain[p]["cooperative_id"], chain[p]["position"]) for p in (a, b, c)} == {(cooperative, "bendahara")}
    again = api.post(f"{API}/participants/{a}/substitution", json=identity())
    assert again.status_code == 409 and again.json()["code"] == "participant_not_active"
    taken = api.post(f"{API}/participants", json={**identity(), "position": "bendahara", "cooperative_id": cooperative})
    assert taken.status_code == 409 and taken.json()["code"] == "position_taken"

    # Scheduling and certificates learn of all three from the events alone.
    wait_until(lambda: [scheduling_row(system, p) for p in (a, b, c)] == [
        ("withdrawn", 2), ("withdrawn", 2), ("waiting", 1)], timeout=30,
        message=lambda: f"scheduling: {[scheduling_row(system, p) for p in (a, b, c)]}")
    wait_until(lambda: [roster_row(system, p) for p in (a, b, c)] == [
        (people[0]["full_name"], "bendahara", "withdrawn", 2), (people[1]["full_name"], "bendahara", "withdrawn", 2),
        (people[2]["full_name"], "bendahara", "active", 1)], timeout=30,
        message=lambda: f"certificates: {[roster_row(system, p) for p in (a, b, c)]}")
    wait_until(lambda: system.query("scheduling", "SELECT replaced_participant_id::text, replacement_participant_id::text "
                                    "FROM substitutions WHERE replaced_participant_id::text = ANY(%s) ORDER BY 1",
                                    ([a, b],)) == sorted([(a, b), (b, c)]), timeout=30)

    # A withdrawal, seen by scheduling.
    withdrawn = api.post(f"{API}/participants/{c}/withdrawal", json={"reason": "resigned"})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn", withdrawn.text
    wait_until(lambda: api.get(f"{API}/participants/{c}").json()["scheduling"]["status"] == "withdrawn", timeout=30)

    # A reveal: administrators only, with a reason, in the body only, never stored for a replay.
    refused = api.post(f"{API}/participants/{b}/nik-reveal", json={"purpose": "Verifikasi surat tugas"})
    assert refused.status_code == 403
    key = f"reveal-{secrets.token_hex(6)}"
    revealed = api.post(f"{API}/participants/{b}/nik-reveal", json={"purpose": "Verifikasi surat tugas"},
                        headers={**admin, "Idempotency-Key": key})
    assert revealed.status_code == 200 and revealed.json()["nik"] == niks[1]
    assert revealed.headers["cache-control"] == "no-store"
    assert system.query("gateway", "SELECT count(*) FROM idempotency_keys WHERE key = %s AND response_body IS NOT NULL",
                        (key,)) == [(0,)]

    # An erasure: gone from registration at once, from scheduling and certificates by its event.
    before = counts(system)
    erased = api.post(f"{API}/participants/{a}/erasure", headers=admin)
    assert erased.status_code == 200, erased.text
    assert erased.json()["status"] == "erased" and erased.json()["full_name"] is None
    [stored] = system.query("registration", "SELECT participant_code, nik_ciphertext, nik_lookup, nik_masked, full_name, "
                            "sex, birth_date, phone, position, position_group, cooperative_id::text FROM participants "
                            "WHERE id = %s", (a,))
    assert stored == (None, None, None, None, "", None, None, None, None, "pengurus", cooperative)
    wait_until(lambda: roster_row(system, a) == (None, None, "erased", 3) and scheduling_row(system, a) == ("erased", 3),
               timeout=30, message=lambda: f"{roster_row(system, a)}, {scheduling_row(system, a)}")
    assert counts(system) == before  # what counts stays
    assert api.post(f"{API}/participants/{a}/nik-reveal", json={"purpose": "Verifikasi surat tugas"},
                    headers=admin).json()["code"] == "participant_erased"
    back = api.post(f"{API}/participants", json={**people[0], "position": "anggota_pengurus"})
    assert back.status_code == 201, back.text  # the erased NIK may register again

    # The audit trail says who did what to whom, newest first, without a NIK or a name.
    trail = []
    for pid in (a, b, c):
        cursor = None
        while True:
            page = api.get(f"{API}/audit-log", params={"limit": 5, "participant_id": pid,
                                                        **({"cursor": cursor} if cursor else {})}, headers=admin)
            assert page.status_code == 200, page.text
            trail += page.json()["items"]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
    about = {(r["action"], r["participant_id"]) for r in trail}
    assert {("register", a), ("substitute", a), ("register", b), ("substitute", b), ("register", c),
            ("withdraw", c), ("read", a), ("reveal_nik", b), ("erase", a)} <= about
    [reveal] = [r for r in trail if r["action"] == "reveal_nik" and r["participant_id"] == b]
    assert reveal["purpose"] == "Verifikasi surat tugas" and reveal["actor_role"] == "regency_admin"
    assert api.get(f"{API}/audit-log").status_code == 403  # the operator may not read it
    text = json.dumps(trail)
    assert not any(nik in text for nik in niks) and not any(p["full_name"] in text for p in people)


def test_no_nik_in_any_outbox_payload(running_system: System) -> None:
    """Every event the registration service still holds, whatever test of the session caused it."""
    envelopes = [json.dumps(envelope) for (envelope,) in running_system.query("registration",
                                                                             "SELECT envelope FROM outbox")]
    assert envelopes
    assert [e for e in envelopes if SIXTEEN_DIGITS.search(e)] == []
