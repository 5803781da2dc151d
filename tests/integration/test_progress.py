"""Training progress end to end, on the whole stack: Kabupaten Jember (35.09, which no other test
touches) gets two cooperatives (one serving villages of two kecamatan), participants (one
withdrawn, one without a cooperative), a past programme whose session is attended by hand, closed
and certified (one certificate revoked, one re-issued after a name correction) and a future
programme. ``GET /api/v1/progress`` must equal what the list APIs show, kecamatan by kecamatan;
and the dashboard page, signed into in a real headless chromium, must show the API's numbers."""
from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from typing import Any

import httpx
import pytest

from bimtek_gateway.identity import Role
from tests.integration.harness import System, participant_body, wait_until
from tests.support.chromium import Chromium

pytestmark = pytest.mark.integration

API = "/api/v1"
JEMBER = "35.09"
TOPIC = f"Kemajuan Bimtek uji {uuid.uuid4().hex[:6]}"  # taught by this module's own resource person only
AUGUST_2025 = {"start": "2025-08-01", "end": "2025-08-31"}
JUNE_2027 = {"start": "2027-06-01", "end": "2027-06-30"}


def bearer(system: System, role: Role, regency: str = JEMBER) -> dict[str, str]:
    return system.bearer(role, regency)


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def every(api: httpx.Client, path: str, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, page after page."""
    items, cursor = [], None
    while True:
        page = ok(api.get(f"{API}/{path}", headers=headers, params={**params, "limit": 200,
                                                                     **({"cursor": cursor} if cursor else {})}))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


class Jember:
    """The regency's data, made through the API as its staff would."""

    def __init__(self, system: System) -> None:
        self.system = system
        api = system.api
        self.operator = bearer(system, Role.OPERATOR)
        self.admin = bearer(system, Role.REGENCY_ADMIN)
        # The first free village of three kecamatan: cooperative A serves one, B the other two.
        villages = [code for (code,) in system.query(
            "registration", "SELECT DISTINCT ON (v.district_code) v.code FROM villages v JOIN districts d "
            "ON d.code = v.district_code WHERE d.regency_code = %s AND v.retired_at IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM cooperative_villages c WHERE c.village_code = v.code) ORDER BY v.district_code, v.code "
            "LIMIT 3", (JEMBER,))]
        assert len(villages) == 3
        self.cooperatives = [
            ok(api.post(f"{API}/cooperatives", headers=self.operator, json={"villages": villages[:1]}), 201)["id"],
            ok(api.post(f"{API}/cooperatives", headers=self.operator, json={"villages": villages[1:]}), 201)["id"]]
        a, b = self.cooperatives

        def register(position: str, cooperative: str | None) -> str:
            body = participant_body(position=position, **({"cooperative_id": cooperative} if cooperative else {}))
            return ok(api.post(f"{API}/participants", headers=self.operator, json=body), 201)["id"]

        self.team_a = [register(position, a) for position in ("ketua", "sekretaris", "bendahara", "anggota_pengurus")]
        self.team_b = [register(position, b) for position in ("ketua", "bendahara")]
        self.loner = register("anggota_pengurus", None)
        ok(api.post(f"{API}/participants/{self.team_a[3]}/withdrawal", headers=self.operator,
                    json={"reason": "resigned"}))
        seated = self.team_a[:3] + self.team_b
        wait_until(lambda: system.count(
            "scheduling", "participants p JOIN cooperatives c USING (cooperative_id)",
            "p.participant_id::text = ANY(%s)", (seated,)) == 5
            and system.count("scheduling", "participants", "participant_id = %s AND status = 'withdrawn'",
                             (self.team_a[3],)) == 1, 60, message="scheduling never learnt of Jember")

        ok(api.post(f"{API}/resource-persons", headers=bearer(system, Role.PROVINCE_ADMIN, "*"), json={
            "name": "Drs. Bambang Hariyanto", "topics": [TOPIC], "available": [AUGUST_2025, JUNE_2027]}), 201)
        ok(api.post(f"{API}/venues", headers=self.operator, json={
            "name": "Aula PB Sudirman", "capacity": 10, "available": [AUGUST_2025, JUNE_2027]}), 201)
        self.past, self.future = (self.publish(window) for window in (AUGUST_2025, JUNE_2027))

        # The past session: three present by hand, then closed; certificates follow.
        session = self.past["sessions"][0]
        assert len(self.past["sessions"]) == 1
        for person in self.team_a[:2] + self.team_b[:1]:
            ok(api.put(f"{API}/sessions/{session['id']}/attendance/{person}", headers=self.operator,
                       json={"day": session["days"][0], "present": True, "reason": "daftar hadir kertas"}))
        ok(api.post(f"{API}/sessions/{session['id']}/closure", headers=self.operator))
        wait_until(lambda: system.count("certificates", "certificates", "regency = %s", (JEMBER,)) == 3, 60,
                   message="certificates never issued Jember's three")
        certificate_of = {c["participant_id"]: c["id"] for c in every(api, "certificates", self.operator)}
        ok(api.post(f"{API}/certificates/{certificate_of[self.team_a[1]]}/revocation", headers=self.admin,
                    json={"reason": "data kehadiran keliru"}))
        ok(api.patch(f"{API}/participants/{self.team_b[0]}", headers=self.operator,
                     json={"full_name": "Siti Rahayu Ningsih"}))
        wait_until(lambda: system.count("certificates", "certificates", "regency = %s AND status = 'superseded'",
                                        (JEMBER,)) == 1, 60, message="the corrected name was never re-issued")

    def publish(self, window: dict[str, str]) -> dict[str, Any]:
        api = self.system.api
        programme = ok(api.post(f"{API}/programmes", headers=self.operator, json={
            "title": f"Bimtek KDMP Jember {window['start'][:4]}", "topics": [{"topic": TOPIC, "hours": 8}],
            "days_per_session": 1, "window_start": window["start"], "window_end": window["end"],
            "min_attendance_days": 1}), 201)
        path = f"{API}/programmes/{programme['id']}"
        # The planner runs in a worker process; on a busy machine it can outlast the stack's 2 s RPC
        # timeout (504). Asking again is safe: a preview changes nothing, and a publication that
        # did happen shows as the programme's plan.
        preview = wait_until(lambda: (answer := api.post(f"{path}/plan-previews", headers=self.operator,
                                                         timeout=30)).status_code != 504 and ok(answer, 201),
                             timeout=60, interval=1, message="no plan preview")
        published = api.post(f"{path}/plan", headers=self.operator, json={"preview_id": preview["id"]}, timeout=30)
        if published.status_code == 504:
            published = wait_until(lambda: (answer := api.get(f"{path}/plan", headers=self.operator)).status_code
                                   == 200 and answer, timeout=30, message="the plan was never published")
        return ok(published)


@pytest.fixture(scope="module")
def jember(system: System) -> Jember:
    system.ensure_running()
    return Jember(system)


def expected_from_list_apis(system: System, headers: dict[str, str]) -> dict[str, dict[str, int]]:
    """Per kecamatan and "total": every figure as the list APIs show it."""
    api = system.api
    statistics = ok(api.get(f"{API}/cooperatives/statistics", headers=headers))
    districts_of = {c["id"]: c["districts"] for c in every(api, "cooperatives", headers)}
    figures: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in statistics["districts"]:
        figures[row["code"]].update(villages=row["villages"], villages_with_cooperative=row["villages_with_cooperative"],
                                    cooperatives_registered=row["cooperatives"])
    figures["total"].update(villages=statistics["totals"]["villages"], cooperatives_registered=len(districts_of),
                            villages_with_cooperative=statistics["totals"]["villages_with_cooperative"])

    def count(figure: str, cooperative: str | None, times: int = 1) -> None:
        figures["total"][figure] += times
        for code in districts_of.get(cooperative, []) if cooperative else []:
            figures[code][figure] += times

    people = {p["id"]: p.get("cooperative_id") for p in every(api, "participants", headers)}
    for person in every(api, "participants", headers, status="active"):
        count("participants_registered", person.get("cooperative_id"))
    seated, present, completed = set(), set(), set()
    for session in every(api, "sessions", headers):
        for person in ok(api.get(f"{API}/sessions/{session['id']}/attendance", headers=headers))["participants"]:
            seated.add(person["participant_id"])
            if person["days_attended"]:
                present.add(person["participant_id"])
            if person["complete"]:
                completed.add(person["participant_id"])
    for figure, who in (("participants_scheduled", seated), ("participants_checked_in", present),
                        ("participants_completed", completed)):
        for person in who:
            count(figure, people[person])
    certificates = every(api, "certificates", headers)
    for certificate in certificates:
        figure = {"valid": "certificates_issued", "revoked": "certificates_revoked",
                  "superseded": "certificates_reissued"}[certificate["status"]]
        count(figure, certificate["cooperative_id"])
    for person in completed - {c["participant_id"] for c in certificates}:
        count("certificates_awaiting_issue", people[person])
    return figures


def test_progress_equals_what_the_list_apis_show_kecamatan_by_kecamatan(running_system: System, jember: Jember):
    trainer = bearer(running_system, Role.TRAINER)
    progress = ok(running_system.api.get(f"{API}/progress", headers=trainer))
    assert progress["regency"] == JEMBER and progress["name"] and progress["problems"] == []
    expected = expected_from_list_apis(running_system, jember.operator)  # trainers may not list participants
    assert [area["code"] for area in progress["areas"]] == sorted(code for code in expected if code != "total")
    for area in progress["areas"]:
        for column, value in expected[area["code"]].items():
            assert area[column] == value, (area["code"], column, area[column], value)
        assert all(value is not None for value in area.values())
    for column in progress["totals"]:
        assert progress["totals"][column] == expected["total"][column], (column, progress["totals"][column])
    # What the story above made, as a cross-check of the list APIs themselves.
    assert {column: progress["totals"][column] for column in (
        "cooperatives_registered", "participants_registered", "participants_scheduled", "participants_checked_in",
        "participants_completed", "certificates_issued", "certificates_revoked", "certificates_reissued",
        "certificates_awaiting_issue")} == {
        "cooperatives_registered": 2, "participants_registered": 6, "participants_scheduled": 5,
        "participants_checked_in": 3, "participants_completed": 3, "certificates_issued": 2,
        "certificates_revoked": 1, "certificates_reissued": 1, "certificates_awaiting_issue": 0}
    # Cooperative B serves two kecamatan: in both rows, once in the totals.
    b_rows = [area for area in progress["areas"] if area["participants_registered"] == 2]
    assert len(b_rows) == 2 and all(area["participants_completed"] == 1 for area in b_rows)
    upcoming = [session for session in progress["upcoming_sessions"] if session["id"] in
                {s["id"] for s in jember.future["sessions"]}]
    assert len(upcoming) == len(jember.future["sessions"]) and sum(s["seats_taken"] for s in upcoming) == 5
    assert all(district["name"] for session in upcoming for district in session["districts"])
    assert not {s["id"] for s in jember.past["sessions"]} & {s["id"] for s in progress["upcoming_sessions"]}


def test_the_province_sees_every_regency_and_others_only_their_own(running_system: System, jember: Jember):
    api = running_system.api
    province = ok(api.get(f"{API}/progress", headers=bearer(running_system, Role.PROVINCE_ADMIN, "*")))
    assert province["regency"] is None and province["area_level"] == "regency"
    assert len(province["areas"]) == 38  # every regency of Jawa Timur, counted or not
    own = ok(api.get(f"{API}/progress", headers=jember.operator))
    row = next(area for area in province["areas"] if area["code"] == JEMBER)
    assert {column: row[column] for column in own["totals"]} == own["totals"]
    for column, total in province["totals"].items():
        assert total == sum(area[column] for area in province["areas"]), column
    outsider = api.get(f"{API}/progress", params={"regency": JEMBER}, headers=bearer(running_system, Role.OPERATOR,
                                                                                       "35.15"))
    assert outsider.status_code == 403 and outsider.json()["code"] == "regency_out_of_scope"


def test_with_scheduling_down_its_columns_are_null_and_the_rest_is_answered(running_system: System, jember: Jember):
    running_system.stack.stop("scheduling")
    try:
        answer = running_system.api.get(f"{API}/progress", headers={**jember.operator, "Accept-Language": "en"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert [(note["service"], note["code"]) for note in body["problems"]] == [("scheduling", "service_unavailable")]
        assert "scheduling" in body["problems"][0]["detail"] and body["upcoming_sessions"] is None
        assert body["totals"]["participants_scheduled"] is None and body["totals"]["participants_registered"] == 6
        assert body["totals"]["certificates_issued"] == 2
    finally:
        running_system.restart("scheduling")


def test_the_dashboard_in_a_real_browser_shows_the_apis_numbers(running_system: System, jember: Jember):
    """An official of Jember signs in on the page (the form, as a person would) and reads it."""
    api = running_system.api
    password = secrets.token_urlsafe(18)
    username = f"dasbor.{secrets.token_hex(3)}"
    ok(api.post(f"{API}/users", headers=jember.admin, json={
        "username": username, "password": password, "role": "trainer", "regency": JEMBER}), 201)
    expected = ok(api.get(f"{API}/progress", headers=jember.operator))
    with Chromium() as browser:
        browser.open(f"{running_system.stack.gateway_url}/dashboard/{JEMBER}")
        assert browser.evaluate("document.documentElement.lang") == "id"
        browser.wait_for("!document.getElementById('sign-in').hidden")
        browser.evaluate(f"""(() => {{ const form = document.getElementById('sign-in');
            form.username.value = {username!r}; form.password.value = {password!r}; form.requestSubmit(); }})()""")
        browser.wait_for("document.getElementById('progress').dataset.loaded === 'true'")
        shown = browser.evaluate("""[...document.querySelectorAll('#areas tbody tr, #areas tfoot tr')].map(row => ({
            code: row.dataset.code, name: row.querySelector('th').textContent,
            cells: Object.fromEntries([...row.querySelectorAll('td')].map(td => [td.dataset.column, td.textContent]))}))""")
        stored = browser.evaluate("Object.keys(sessionStorage).sort().join(',')")
        page_text = browser.evaluate("document.body.innerText")
        bars = browser.evaluate("document.querySelectorAll('#chart svg rect').length")
    assert stored == "bimtek.access_token,bimtek.refresh_token"
    rows = {row["code"]: row for row in shown}
    assert set(rows) == {area["code"] for area in expected["areas"]} | {"total"}
    for area in [*expected["areas"], {**expected["totals"], "code": "total"}]:
        for column, text in rows[area["code"]]["cells"].items():
            assert int(text.replace(".", "")) == area[column], (area["code"], column, text)
    assert all(rows[area["code"]]["name"] == area["name"] for area in expected["areas"])
    assert expected["name"] in page_text and "Sesi mendatang" in page_text
    assert bars >= len(expected["areas"]) * 3  # three series per kecamatan (zero-width bars included)
    assert "Peserta Uji" not in page_text  # no personal data: figures only (participant_body's names)
