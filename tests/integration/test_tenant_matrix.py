"""Tenant isolation, route by route: nobody outside regency A reads, lists or changes A's data.

The routes come from the gateway's own route table, so a route added later is checked without
anyone remembering to: it must be classified in ROUTES (how it treats another regency's callers),
and each of its path parameters must have a value (PATH_VALUES), or these tests fail and say so.

Regency A is Jombang (35.17, where the session's operator works); its data is made through the
API. The outsiders are every role of Sidoarjo (35.15) with tokens minted by the gateway's own
issue function and the stack's signing key, a Sidoarjo check-in phone, and a cooperative operator
of another cooperative inside Jombang itself.
"""
from __future__ import annotations

import io
import secrets
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from fastapi.routing import APIRoute, iter_route_contexts

from bimtek_gateway.app import create_app
from bimtek_gateway.identity import Role, SubjectKind, issue_access_token
from bimtek_gateway.settings import GatewaySettings
from bimtek_shared.contracts.envelope import new_event
from tests.integration.harness import REGENCY, System, participant_body, wait_until

pytestmark = pytest.mark.integration

REGENCY_A = REGENCY  # Kabupaten Jombang
REGENCY_B = "35.15"  # Kabupaten Sidoarjo
API = "/api/v1"
REFUSED = {403, 404, 422}
NEXT_WEEK = (date.today() + timedelta(days=7)).isoformat()


# --------------------------------------------------------------------------- regency A's data


@dataclass
class TenantA:
    cooperative_id: str
    participant_id: str  # a member of that cooperative
    job_id: str
    user_id: str
    device_token_id: str
    other_cooperative_id: str  # A's second cooperative: its operator is one of the outsiders
    # A's programme with a published plan: its venue, its preview and one of its sessions; and the
    # province's resource person it booked.
    programme_id: str = ""
    venue_id: str = ""
    preview_id: str = ""
    session_id: str = ""
    resource_person_id: str = ""
    session_day: str = ""  # the first day of that session
    qr: str = ""  # the QR code of A's participant's invitation
    certificate_id: str = ""  # the certificate of A's participant for that programme
    certificate_public_id: str = ""  # the random part of its public verification address
    ids: set[str] = field(default_factory=set)  # every id of A's objects, for the lists

    def snapshot(self, system: System) -> dict[str, Any]:
        """A's data as counts and rows: compared before and after the outsiders' writes."""
        return {
            "cooperatives": system.query("registration", "SELECT id, name, version, contact_phone FROM cooperatives "
                                         "WHERE regency = %s ORDER BY id", (REGENCY_A,)),
            "participants": system.query("registration", "SELECT id, full_name, position, cooperative_id FROM "
                                         "participants WHERE regency = %s ORDER BY id", (REGENCY_A,)),
            "jobs": system.query("registration", "SELECT id, status, total FROM jobs WHERE regency = %s ORDER BY id",
                                 (REGENCY_A,)),
            "users": system.query("gateway", "SELECT id, username, role, regency, active FROM users "
                                  "WHERE regency = %s ORDER BY id", (REGENCY_A,)),
            "device_tokens": system.query("gateway", "SELECT id, label, revoked_at FROM device_tokens "
                                          "WHERE regency = %s ORDER BY id", (REGENCY_A,)),
            "certificates": system.query("certificates", "SELECT id, status, version FROM certificates "
                                         "WHERE regency = %s ORDER BY id", (REGENCY_A,)),
            "programmes": system.query("scheduling", "SELECT id, title, version FROM programmes WHERE regency = %s "
                                       "ORDER BY id", (REGENCY_A,)),
            "venues": system.query("scheduling", "SELECT id, name, capacity, version FROM venues WHERE regency = %s "
                                   "ORDER BY id", (REGENCY_A,)),
            # Only A's own matrix programme: other tests' published Jombang plans re-plan on their own.
            "plans": system.query("scheduling", "SELECT id, status, revision FROM plans WHERE programme_id = %s "
                                  "ORDER BY id", (self.programme_id,)),
            "sessions": system.query("scheduling", "SELECT id, days, venue_id, locked, version FROM sessions "
                                     "WHERE programme_id = %s ORDER BY id", (self.programme_id,)),
            "pins": system.query("scheduling", "SELECT cooperative_id, session_id FROM pins WHERE programme_id = %s "
                                 "ORDER BY cooperative_id", (self.programme_id,)),
            "resource_person": system.query("scheduling", "SELECT id, name, version FROM resource_persons "
                                            "WHERE id = %s", (self.resource_person_id,)),
            "attendance": system.query("scheduling", "SELECT session_id, participant_id, day, present FROM attendance "
                                       "WHERE session_id IN (SELECT id FROM sessions WHERE programme_id = %s) "
                                       "ORDER BY 1, 2, 3", (self.programme_id,)),
            "closures": system.query("scheduling", "SELECT session_id FROM session_closures WHERE programme_id = %s",
                                     (self.programme_id,)),
        }


# --------------------------------------------------------------------------- how each route is checked

# read: one of A's objects by id; list: a page of items; write: aimed at A's objects or naming A;
# statistics: a regency's figures, for the caller's own regency or the one named;
# reference: official data shared by every tenant; credentials: takes no bearer token at all;
# check_in: for check-in phones only, answered scan by scan (another regency's phone gets A's scans
# back refused, people get 403).
# archive: a ZIP of certificates, scoped by query parameters to one of A's cooperatives, sessions
# or kecamatan (outsiders get a refusal or an archive without entries).
READ, LIST, WRITE, STATISTICS, REFERENCE, CREDENTIALS, CHECK_IN, ARCHIVE = (
    "read", "list", "write", "statistics", "reference", "credentials", "check_in", "archive")


@dataclass(frozen=True)
class Check:
    kind: str
    body: Callable[[TenantA], dict[str, Any]] | None = None  # writes: a valid body aimed at A
    path_values: dict[str, str] = field(default_factory=dict)  # where a name means something else here
    why: str = ""


def _participant_in_a(_: TenantA) -> dict[str, Any]:
    return participant_body(regency=REGENCY_A)


def _import_into_a(_: TenantA) -> dict[str, Any]:
    return {"regency": REGENCY_A, "rows": [participant_body()]}


def _user_in_a(_: TenantA) -> dict[str, Any]:
    return {"username": f"matrix.{secrets.token_hex(4)}", "password": secrets.token_urlsafe(18),
            "role": "operator", "regency": REGENCY_A}


def _cooperative_in_a(_: TenantA) -> dict[str, Any]:
    return {"regency": REGENCY_A, "villages": [f"{REGENCY_A}.09.2003"]}


def _device_in_a(_: TenantA) -> dict[str, Any]:
    return {"label": "HP presensi uji", "regency": REGENCY_A, "valid_until": NEXT_WEEK}


# A's matrix programme is taught by a person of its own, on a topic nobody else teaches, in a month
# no other test plans: it books nothing another test's plan needs.
MATRIX_TOPIC = f"Uji matriks tenant {secrets.token_hex(3)}"
MATRIX_MONTH = [{"start": "2027-03-01", "end": "2027-03-31"}]


def _programme_in_a(_: TenantA) -> dict[str, Any]:
    return {"regency": REGENCY_A, "title": "Bimtek uji matriks", "topics": [{"topic": MATRIX_TOPIC, "hours": 8}],
            "days_per_session": 1, "window_start": "2027-03-01", "window_end": "2027-03-31", "min_attendance_days": 1}


def _venue_in_a(_: TenantA) -> dict[str, Any]:
    return {"regency": REGENCY_A, "name": "Aula uji matriks", "capacity": 5000, "available": MATRIX_MONTH}


ROUTES: dict[tuple[str, str], Check] = {
    ("POST", f"{API}/auth/token"): Check(CREDENTIALS, why="sign in: no bearer yet"),
    ("POST", f"{API}/auth/participant-token"): Check(CREDENTIALS, why="sign in: no bearer yet"),
    ("POST", f"{API}/auth/refresh"): Check(CREDENTIALS, why="the refresh token in the body is the credential"),
    ("POST", f"{API}/auth/logout"): Check(CREDENTIALS, why="the refresh token in the body is the credential"),
    ("GET", f"{API}/participants"): Check(LIST),
    ("POST", f"{API}/participants"): Check(WRITE, body=_participant_in_a),
    ("GET", f"{API}/participants/{{participant_id}}"): Check(READ),
    ("PATCH", f"{API}/participants/{{participant_id}}"): Check(WRITE, body=lambda a: {"full_name": "Nama Diubah"}),
    ("POST", f"{API}/participants/{{participant_id}}/withdrawal"): Check(WRITE, body=lambda a: {"reason": "resigned"}),
    ("POST", f"{API}/participants/{{participant_id}}/substitution"): Check(WRITE, body=lambda a: {
        key: value for key, value in participant_body().items() if key in ("nik", "full_name", "sex", "birth_date")}),
    ("POST", f"{API}/participants/{{participant_id}}/nik-reveal"): Check(
        WRITE, body=lambda a: {"purpose": "uji matriks tenant"}, why="a POST so the NIK stays out of URLs"),
    ("GET", f"{API}/participants/{{participant_id}}/export"): Check(READ),
    ("POST", f"{API}/participants/{{participant_id}}/erasure"): Check(WRITE),
    ("GET", f"{API}/audit-log"): Check(LIST),
    ("GET", f"{API}/participant-imports"): Check(LIST),
    ("POST", f"{API}/participant-imports"): Check(WRITE, body=_import_into_a),
    ("GET", f"{API}/participant-imports/{{job_id}}"): Check(READ),
    ("GET", f"{API}/participant-imports/template.{{file_format}}"): Check(
        REFERENCE, path_values={"file_format": "xlsx"}, why="the empty import template, no tenant's data"),
    ("GET", f"{API}/users"): Check(LIST),
    ("POST", f"{API}/users"): Check(WRITE, body=_user_in_a),
    ("GET", f"{API}/users/{{user_id}}"): Check(READ),
    ("PATCH", f"{API}/users/{{user_id}}"): Check(WRITE, body=lambda a: {"active": False, "role": "trainer"}),
    ("DELETE", f"{API}/users/{{user_id}}"): Check(WRITE),
    ("GET", f"{API}/device-tokens"): Check(LIST),
    ("POST", f"{API}/device-tokens"): Check(WRITE, body=_device_in_a),
    ("DELETE", f"{API}/device-tokens/{{token_id}}"): Check(WRITE),
    ("GET", f"{API}/cooperatives"): Check(LIST),
    ("POST", f"{API}/cooperatives"): Check(WRITE, body=_cooperative_in_a),
    ("GET", f"{API}/cooperatives/statistics"): Check(STATISTICS),
    ("GET", f"{API}/progress"): Check(STATISTICS),
    ("GET", f"{API}/cooperatives/{{cooperative_id}}"): Check(READ),
    ("PATCH", f"{API}/cooperatives/{{cooperative_id}}"): Check(
        WRITE, body=lambda a: {"contact_phone": "0812-0000-0000", "villages": [f"{REGENCY_A}.09.2007"]}),
    ("GET", f"{API}/programmes"): Check(LIST),
    ("POST", f"{API}/programmes"): Check(WRITE, body=_programme_in_a),
    ("GET", f"{API}/programmes/{{programme_id}}"): Check(READ),
    ("PATCH", f"{API}/programmes/{{programme_id}}"): Check(WRITE, body=lambda a: {"title": "Diubah orang luar"}),
    ("POST", f"{API}/programmes/{{programme_id}}/plan-previews"): Check(WRITE),
    ("GET", f"{API}/programmes/{{programme_id}}/plan-previews/{{preview_id}}"): Check(READ),
    ("GET", f"{API}/programmes/{{programme_id}}/plan"): Check(READ),
    ("POST", f"{API}/programmes/{{programme_id}}/plan"): Check(WRITE, body=lambda a: {"preview_id": a.preview_id}),
    ("POST", f"{API}/programmes/{{programme_id}}/plan/revisions"): Check(WRITE),
    ("POST", f"{API}/plan-previews"): Check(WRITE, body=lambda a: {"programme_ids": [a.programme_id]}),
    ("POST", f"{API}/plan-publications"): Check(WRITE, body=lambda a: {"preview_ids": [a.preview_id]}),
    ("GET", f"{API}/venues"): Check(LIST),
    ("POST", f"{API}/venues"): Check(WRITE, body=_venue_in_a),
    ("GET", f"{API}/venues/{{venue_id}}"): Check(READ),
    ("PATCH", f"{API}/venues/{{venue_id}}"): Check(WRITE, body=lambda a: {"capacity": 1, "available": []}),
    ("GET", f"{API}/resource-persons"): Check(
        REFERENCE, why="provincial staff shared by every regency: every regency's planners read them"),
    ("GET", f"{API}/resource-persons/{{resource_person_id}}"): Check(
        REFERENCE, why="provincial staff shared by every regency"),
    # No body: only a province administrator manages them, so every caller here is refused by role.
    ("POST", f"{API}/resource-persons"): Check(WRITE, why="province administrators only"),
    ("PATCH", f"{API}/resource-persons/{{resource_person_id}}"): Check(WRITE, why="province administrators only"),
    ("GET", f"{API}/sessions"): Check(LIST),
    ("GET", f"{API}/sessions/{{session_id}}"): Check(READ),
    ("PUT", f"{API}/sessions/{{session_id}}/lock"): Check(WRITE),
    ("DELETE", f"{API}/sessions/{{session_id}}/lock"): Check(WRITE),
    ("PUT", f"{API}/cooperatives/{{cooperative_id}}/session"): Check(
        WRITE, body=lambda a: {"session_id": a.session_id}),
    ("GET", f"{API}/participants/{{participant_id}}/invitation"): Check(READ),
    ("GET", f"{API}/participants/{{participant_id}}/invitation.pdf"): Check(READ),
    ("POST", f"{API}/check-ins"): Check(CHECK_IN, body=lambda a: {"scans": [
        {"nonce": uuid.uuid4().hex, "qr": a.qr, "scanned_at": f"{a.session_day}T08:00:00+07:00",
         "session_id": a.session_id}]}),
    ("GET", f"{API}/sessions/{{session_id}}/attendance"): Check(READ),
    ("PUT", f"{API}/sessions/{{session_id}}/attendance/{{participant_id}}"): Check(
        WRITE, body=lambda a: {"day": a.session_day, "present": True, "reason": "uji matriks"}),
    ("GET", f"{API}/sessions/{{session_id}}/attendance-sheet.pdf"): Check(READ),
    ("POST", f"{API}/sessions/{{session_id}}/closure"): Check(WRITE),
    ("GET", f"{API}/certificates"): Check(LIST),
    ("GET", f"{API}/certificates/{{certificate_id}}"): Check(READ),
    ("POST", f"{API}/certificates/{{certificate_id}}/revocation"): Check(
        WRITE, body=lambda a: {"reason": "uji matriks tenant"}),
    ("GET", f"{API}/certificates/{{certificate_id}}/document"): Check(READ),
    ("GET", f"{API}/certificate-archives"): Check(
        ARCHIVE, why="a ZIP of A's cooperative, session or kecamatan: refused, or without a single entry"),
    ("GET", f"{API}/sessions/{{session_id}}/certificates.pdf"): Check(READ),
    # Public verification: no bearer at all; whoever holds a certificate's random address may see it.
    ("GET", f"{API}/public/certificates/{{public_id}}"): Check(CREDENTIALS, why="public: the address is the key"),
    ("GET", f"{API}/public/certificates/{{public_id}}/page"): Check(CREDENTIALS, why="public: the address is the key"),
    ("GET", f"{API}/public/certificate-keys"): Check(CREDENTIALS, why="public keys, published for everyone"),
    ("GET", f"{API}/regions/regencies"): Check(REFERENCE, why="official region names and codes, no tenant's data"),
    ("GET", f"{API}/regions/regencies/{{code}}/districts"): Check(REFERENCE, why="official region names and codes"),
    ("GET", f"{API}/regions/districts/{{code}}/villages"): Check(
        REFERENCE, path_values={"code": f"{REGENCY_A}.09"}, why="official region names and codes"),
}

# Path parameters by name: the ids of A's objects (or A's own region codes).
PATH_VALUES: dict[str, Callable[[TenantA], str]] = {
    "cooperative_id": lambda a: a.cooperative_id,
    "participant_id": lambda a: a.participant_id,
    "job_id": lambda a: a.job_id,
    "user_id": lambda a: a.user_id,
    "token_id": lambda a: a.device_token_id,
    "programme_id": lambda a: a.programme_id,
    "preview_id": lambda a: a.preview_id,
    "venue_id": lambda a: a.venue_id,
    "session_id": lambda a: a.session_id,
    "resource_person_id": lambda a: a.resource_person_id,
    "code": lambda a: REGENCY_A,
    "certificate_id": lambda a: a.certificate_id,
    "public_id": lambda a: a.certificate_public_id,
}

# Fields a client must never set, whatever the resource: the server decides them.
SERVER_DECIDED = ["id", "status", "registered_at", "participant_code", "created_at", "requested_by", "issued_by",
                  "created_by", "owner", "regency"]


def api_routes() -> list[tuple[str, str, APIRoute]]:
    """(method, path template, route) of every API route the gateway serves."""
    app = create_app(GatewaySettings())
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path.startswith(API + "/"):
            found += [(method, context.path, route) for method in sorted(route.methods)]
    return found


def check_of(method: str, path: str) -> Check:
    check = ROUTES.get((method, path))
    if check is None:
        pytest.fail(f"{method} {path} is not in the tenant matrix: add it to ROUTES in {__file__} "
                    "with how it must treat callers of another regency (read, list, write, statistics, reference, "
                    "credentials)")
    return check


def url_for(method: str, path: str, route: APIRoute, a: TenantA) -> str:
    check = check_of(method, path)
    values = {}
    for parameter in route.dependant.path_params:
        if parameter.name in check.path_values:
            values[parameter.name] = check.path_values[parameter.name]
        elif parameter.name in PATH_VALUES:
            values[parameter.name] = PATH_VALUES[parameter.name](a)
        else:
            pytest.fail(f"{method} {path}: the tenant matrix has no value for path parameter "
                        f"'{parameter.name}': teach it in PATH_VALUES (an id of one of regency A's objects)")
    return path.format(**values)


# --------------------------------------------------------------------------- callers


@dataclass(frozen=True)
class Outsider:
    name: str
    headers: dict[str, str]
    regency: str = REGENCY_B


def mint(settings: GatewaySettings, role: Role, regency: str, cooperative: str | None = None) -> dict[str, str]:
    kind = SubjectKind.PARTICIPANT if role is Role.PARTICIPANT else SubjectKind.USER
    token, _ = issue_access_token(settings, user_id=str(uuid.uuid4()), role=role.value, regency=regency,
                                  kind=kind, cooperative=cooperative)
    return {"Authorization": f"Bearer {token}"}


def changed(settings: GatewaySettings, **changes: Any) -> GatewaySettings:
    """Settings with other values, unvalidated (an expired lifetime), and no key cached from before."""
    return GatewaySettings.model_construct(**{**settings.model_dump(), **changes})


@pytest.fixture(scope="module")
def settings(system: System) -> GatewaySettings:
    return system.gateway_settings()


@pytest.fixture(scope="module")
def tenant_a(system: System, settings: GatewaySettings) -> TenantA:
    operator = system.api  # the session's operator of regency A
    admin = mint(settings, Role.REGENCY_ADMIN, REGENCY_A)

    # Villages no cooperative serves yet (other tests of the session register cooperatives too).
    free = [code for (code,) in system.query(
        "registration", "SELECT v.code FROM villages v JOIN districts d ON d.code = v.district_code "
        "WHERE d.regency_code = %s AND NOT EXISTS (SELECT 1 FROM cooperative_villages c WHERE c.village_code = v.code) "
        "ORDER BY v.code DESC LIMIT 2", (REGENCY_A,))]
    cooperatives = [operator.post(f"{API}/cooperatives", json={"villages": [village]}) for village in free]
    assert all(c.status_code == 201 for c in cooperatives), [c.text for c in cooperatives]
    ids = [c.json()["id"] for c in cooperatives]
    if len(ids) < 2:  # a whole-regency import (test_bulk_import) serves every village: take two of its cooperatives
        ids += [str(row[0]) for row in system.query(
            "registration", "SELECT id FROM cooperatives WHERE regency = %s ORDER BY id LIMIT %s",
            (REGENCY_A, 2 - len(ids)))]
    cooperative, other_cooperative = ids
    participant = operator.post(f"{API}/participants", json=participant_body(cooperative_id=cooperative))
    assert participant.status_code == 201, participant.text
    job = operator.post(f"{API}/participant-imports", json={"rows": [participant_body(), participant_body()]})
    assert job.status_code == 202, job.text
    user = operator.post(f"{API}/users", json=_user_in_a(None), headers=admin)  # type: ignore[arg-type]
    assert user.status_code == 201, user.text
    device = operator.post(f"{API}/device-tokens", json=_device_in_a(None))  # type: ignore[arg-type]
    assert device.status_code == 201, device.text

    job_id = job.json()["id"]

    def finished() -> dict[str, Any] | None:
        answer = operator.get(f"{API}/participant-imports/{job_id}").json()
        return answer if answer["status"] in ("succeeded", "failed") else None

    # Done before anything is counted: its rows are A's data too.
    outcome = wait_until(finished, timeout=60, message="regency A's bulk registration did not finish")
    a = TenantA(cooperative_id=cooperative, participant_id=participant.json()["id"], job_id=job_id,
                user_id=user.json()["id"], device_token_id=device.json()["id"], other_cooperative_id=other_cooperative)
    _plan_in_a(system, settings, a)
    a.certificate_id, a.certificate_public_id = _certificate_in_a(system, a)
    a.ids = {a.cooperative_id, a.participant_id, a.job_id, a.user_id, a.device_token_id, a.programme_id, a.venue_id,
             a.session_id, a.certificate_id}
    a.ids |= {row[0] for row in system.query("registration", "SELECT participant_id::text FROM import_rows "
                                             "WHERE job_id = %s AND participant_id IS NOT NULL", (job_id,))}
    assert outcome["done"] == 2, outcome
    return a


def _certificate_in_a(system: System, a: TenantA) -> tuple[str, str]:
    """A's participant completes A's programme (announced as scheduling announces it when the
    session closes, without waiting for its days) and certificates issues the certificate."""
    system.publish_as("scheduling", [new_event("participant.completed", {
        "participant_id": a.participant_id, "session_id": a.session_id, "programme_id": a.programme_id,
        "programme_title": "Bimtek uji matriks", "session_days": [a.session_day], "days_attended": 1,
        "min_attendance_days": 1, "jp_total": 8, "completed_at": datetime.now(timezone.utc).isoformat()},
        regency=REGENCY_A, correlation_id="tenant-matrix")])
    rows = wait_until(lambda: system.query("certificates", "SELECT id::text, public_id FROM certificates "
                                           "WHERE participant_id = %s AND programme_id = %s",
                                           (a.participant_id, a.programme_id)),
                      timeout=60, message="certificates never issued regency A's certificate")
    return rows[0]


def _plan_in_a(system: System, settings: GatewaySettings, a: TenantA) -> None:
    """A's programme, venue and published plan (its participant's team seated), and the resource person."""
    operator = system.api
    person = operator.post(f"{API}/resource-persons", headers=mint(settings, Role.PROVINCE_ADMIN, "*"), json={
        "name": "Narasumber uji matriks", "topics": [MATRIX_TOPIC], "available": MATRIX_MONTH})
    programme = operator.post(f"{API}/programmes", json=_programme_in_a(a))
    venue = operator.post(f"{API}/venues", json=_venue_in_a(a))
    assert all(answer.status_code == 201 for answer in (person, programme, venue)), \
        [answer.text for answer in (person, programme, venue)]
    a.resource_person_id, a.programme_id, a.venue_id = (answer.json()["id"] for answer in (person, programme, venue))
    wait_until(lambda: system.count("scheduling", "participants p JOIN cooperatives c USING (cooperative_id)",
                                    "p.participant_id = %s", (a.participant_id,)), timeout=60,
               message="scheduling never learnt of regency A's participant and cooperative")
    preview = operator.post(f"{API}/programmes/{a.programme_id}/plan-previews", timeout=30)
    assert preview.status_code == 201, preview.text
    a.preview_id = preview.json()["id"]
    plan = operator.post(f"{API}/programmes/{a.programme_id}/plan", json={"preview_id": a.preview_id}, timeout=30)
    assert plan.status_code == 200 and plan.json()["sessions"], plan.text
    a.session_id = plan.json()["sessions"][0]["id"]
    a.session_day = plan.json()["sessions"][0]["days"][0]
    invitations = operator.get(f"{API}/participants/{a.participant_id}/invitation")
    assert invitations.status_code == 200, invitations.text
    a.qr = next(i["qr"] for i in invitations.json()["invitations"] if i["programme"]["id"] == a.programme_id)


@pytest.fixture(scope="module")
def outsiders(system: System, settings: GatewaySettings, tenant_a: TenantA) -> list[Outsider]:
    callers = [Outsider(f"{role.value} of {REGENCY_B}", mint(settings, role, REGENCY_B, cooperative=(
        str(uuid.uuid4()) if role in (Role.COOPERATIVE_OPERATOR, Role.PARTICIPANT) else None)))
        for role in (Role.REGENCY_ADMIN, Role.OPERATOR, Role.TRAINER, Role.COOPERATIVE_OPERATOR, Role.PARTICIPANT)]
    callers.append(Outsider(f"cooperative_operator of another cooperative in {REGENCY_A}",
                            mint(settings, Role.COOPERATIVE_OPERATOR, REGENCY_A,
                                 cooperative=tenant_a.other_cooperative_id), regency=REGENCY_A))
    phone = system.api.post(f"{API}/device-tokens", headers=mint(settings, Role.OPERATOR, REGENCY_B),
                            json={"label": "HP presensi Sidoarjo", "valid_until": NEXT_WEEK})
    assert phone.status_code == 201, phone.text
    callers.append(Outsider(f"check-in phone of {REGENCY_B}", {"Authorization": f"Bearer {phone.json()['token']}"}))
    return callers


# --------------------------------------------------------------------------- the tests


def test_every_api_route_is_classified_and_its_path_parameters_known() -> None:
    routes = api_routes()
    placeholder = TenantA(cooperative_id="c", participant_id="p", job_id="j", user_id="u", device_token_id="d",
                          other_cooperative_id="o", programme_id="g", venue_id="v", preview_id="w", session_id="s",
                          resource_person_id="r")
    for method, path, route in routes:
        url_for(method, path, route, placeholder)
    stale = set(ROUTES) - {(method, path) for method, path, _ in routes}
    assert not stale, f"ROUTES lists routes the gateway no longer has: {sorted(stale)}"


def test_write_bodies_forbid_fields_they_do_not_define() -> None:
    """Mass assignment is refused by the schema (extra="forbid"), never silently ignored."""
    for method, path, route in api_routes():
        model = route.body_field.field_info.annotation if route.body_field is not None else None
        if model is not None:
            assert model.model_config.get("extra") == "forbid", f"{method} {path}: {model.__name__} must forbid extras"


def test_outsiders_neither_read_list_nor_change_regency_a(
    running_system: System, tenant_a: TenantA, outsiders: list[Outsider]
) -> None:
    system = running_system
    before = tenant_a.snapshot(system)
    failures: list[str] = []
    for method, path, route in api_routes():
        check = check_of(method, path)
        if check.kind == CREDENTIALS:
            continue
        url = url_for(method, path, route, tenant_a)
        for outsider in outsiders:
            failures += verdicts(system.api, check, method, url, outsider, tenant_a)
    assert not failures, "\n".join(failures)
    assert tenant_a.snapshot(system) == before, "an outsider's request changed regency A's data"


def test_the_matrix_notices_an_insider(running_system: System, tenant_a: TenantA, settings: GatewaySettings) -> None:
    """The same checks, with regency A's own people posing as outsiders (its administrator, and the
    operator who made A's data), must flag every read and every list of A's objects: the matrix can fail."""
    insiders = [Outsider(f"regency_admin of {REGENCY_A}", mint(settings, Role.REGENCY_ADMIN, REGENCY_A), REGENCY_A),
                Outsider(f"operator of {REGENCY_A}", {"Authorization": running_system.api.headers["Authorization"]},
                         REGENCY_A)]
    for method, path, route in api_routes():
        check = check_of(method, path)
        if check.kind in (READ, LIST, STATISTICS):
            url = url_for(method, path, route, tenant_a)
            assert any(verdicts(running_system.api, check, method, url, insider, tenant_a) for insider in insiders), \
                f"{method} {url}: not flagged for regency A's own people"


def verdicts(api: httpx.Client, check: Check, method: str, url: str, outsider: Outsider, a: TenantA) -> list[str]:
    """What went wrong when ``outsider`` sent this request (nothing, ideally)."""
    who = f"{method} {url} as {outsider.name}"
    if check.kind == READ:
        answer = api.request(method, url, headers=outsider.headers)
        return [] if answer.status_code in (403, 404) else [f"{who}: {answer.status_code}, want 403 or 404"]
    if check.kind == WRITE:
        body = check.body(a) if check.body else None
        answer = api.request(method, url, headers=outsider.headers, json=body)
        return [] if answer.status_code in REFUSED else [f"{who}: {answer.status_code}, want 403, 404 or 422"]
    if check.kind == LIST:
        problems = []
        for params in ({"limit": 200}, {"limit": 200, "regency": REGENCY_A}):
            seen = list_everything(api, url, params, outsider.headers)
            if isinstance(seen, int):
                if seen not in REFUSED:
                    problems.append(f"{who} {params}: {seen}, want 200 without A's items, or 403/422")
                continue
            # Nothing of A's (nor about one of A's objects, as an audit record is); and, for another
            # regency's callers, nothing of regency A at all.
            leaked = [item for item in seen if item.get("id") in a.ids or item.get("participant_id") in a.ids
                      or (outsider.regency != REGENCY_A and item.get("regency") == REGENCY_A)]
            if leaked:
                problems.append(f"{who} {params}: lists {len(leaked)} of regency A's items")
        return problems
    if check.kind == STATISTICS:
        problems = []
        for params in ({}, {"regency": REGENCY_A}):
            answer = api.request(method, url, params=params, headers=outsider.headers)
            if answer.status_code == 200 and answer.json().get("regency") == REGENCY_A:
                problems.append(f"{who} {params}: regency A's figures")
            elif answer.status_code not in REFUSED | {200}:
                problems.append(f"{who} {params}: {answer.status_code}, want 200 for its own regency, or 403/422")
        return problems
    if check.kind == ARCHIVE:
        problems = []
        for params in ({"cooperative_id": a.cooperative_id}, {"session_id": a.session_id},
                       {"district": f"{REGENCY_A}.09"}):
            answer = api.request(method, url, params=params, headers=outsider.headers)
            if answer.status_code == 200:
                if entries := zipfile.ZipFile(io.BytesIO(answer.content)).namelist():
                    problems.append(f"{who} {params}: an archive of {len(entries)} of regency A's certificates")
            elif answer.status_code not in REFUSED:
                problems.append(f"{who} {params}: {answer.status_code}, want a ZIP without entries, or 403/404/422")
        return problems
    if check.kind == REFERENCE:
        answer = api.request(method, url, headers=outsider.headers)
        return [] if answer.status_code < 500 else [f"{who}: {answer.status_code}"]
    if check.kind == CHECK_IN:
        answer = api.request(method, url, headers=outsider.headers, json=check.body(a))
        if answer.status_code in REFUSED:
            return []
        counted = [r["result"] for r in answer.json().get("results", []) if r["result"] != "out_of_scope"] \
            if answer.status_code == 200 else [answer.status_code]
        return [f"{who}: {counted}, want 403 or every scan out_of_scope"] if counted else []
    return [f"{who}: unknown kind {check.kind}"]


def list_everything(api: httpx.Client, url: str, params: dict[str, Any], headers: dict[str, str]) -> list[dict] | int:
    """Every item of a list, page after page; the status code if it is refused."""
    items: list[dict] = []
    cursor = None
    for _ in range(100):
        answer = api.get(url, params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        if answer.status_code != 200:
            return answer.status_code
        page = answer.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError(f"{url}: more than 100 pages")


def test_every_protected_route_answers_401_without_a_valid_token(
    running_system: System, tenant_a: TenantA, settings: GatewaySettings
) -> None:
    stranger_key = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    forged = mint(changed(settings, jwt_private_key=stranger_key.decode()), Role.PROVINCE_ADMIN, "*")
    expired = mint(changed(settings, access_token_minutes=-5), Role.PROVINCE_ADMIN, "*")
    failures = []
    for method, path, route in api_routes():
        check = check_of(method, path)
        if check.kind == CREDENTIALS:
            continue
        url = url_for(method, path, route, tenant_a)
        body = check.body(tenant_a) if check.body else None
        for name, headers in (("no token", {}), ("a token signed by another key", forged),
                              ("an expired token", expired)):
            answer = running_system.api.request(method, url, json=body, headers={"Authorization": "", **headers})
            if answer.status_code != 401:
                failures.append(f"{method} {url} with {name}: {answer.status_code}, want 401")
    assert not failures, "\n".join(failures)


def test_server_decided_fields_cannot_be_sent(running_system: System, tenant_a: TenantA,
                                              settings: GatewaySettings) -> None:
    """Regency A's own administrator, sending A's own valid bodies plus a field the server decides:
    refused with 422 naming that field (a field a body does define, like a write's target
    regency, is checked by the matrix above instead)."""
    admin = mint(settings, Role.REGENCY_ADMIN, REGENCY_A)
    before = tenant_a.snapshot(running_system)
    failures = []
    for method, path, route in api_routes():
        check = check_of(method, path)
        if check.kind != WRITE or check.body is None:
            continue
        url = url_for(method, path, route, tenant_a)
        defined = _body_fields(route)
        for name in [name for name in SERVER_DECIDED if name not in defined]:
            answer = running_system.api.request(method, url, headers=admin,
                                                json={**check.body(tenant_a), name: _value_for(name)})
            fields = [error.get("field") for error in answer.json().get("errors", [])]
            if answer.status_code != 422 or name not in fields:
                failures.append(f"{method} {url} with '{name}': {answer.status_code} {fields}, want 422 naming it")
    assert not failures, "\n".join(failures)
    assert tenant_a.snapshot(running_system) == before


def test_import_rows_cannot_name_a_regency(running_system: System, settings: GatewaySettings) -> None:
    """A bulk registration's rows all go to its regency: a row naming another is refused at once."""
    outsider = mint(settings, Role.OPERATOR, REGENCY_B)
    answer = running_system.api.post(f"{API}/participant-imports", headers=outsider,
                                     json={"rows": [participant_body(regency=REGENCY_A)]})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "validation_failed"


def _body_fields(route: APIRoute) -> set[str]:
    """The fields a route's JSON body defines: from its body model, or, for a route that reads its
    body itself (JSON or a file upload), from the JSON schema it declares in the OpenAPI."""
    if route.body_field is not None:
        return set(route.body_field.field_info.annotation.model_fields)
    schema = route.openapi_extra["requestBody"]["content"]["application/json"]["schema"]
    return set(schema["properties"])


def _value_for(name: str) -> Any:
    return {"id": str(uuid.uuid4()), "status": "succeeded", "registered_at": "2020-01-01T00:00:00Z",
            "participant_code": "AAAA2222", "created_at": "2020-01-01T00:00:00Z", "regency": REGENCY_B,
            }.get(name, str(uuid.uuid4()))

