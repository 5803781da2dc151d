"""The chaos run: the whole training lifecycle driven through the gateway while a fault injector
SIGKILLs every unit, crashes RabbitMQ and PostgreSQL and stalls a service; then the invariants
across all services, checked in their databases, and the figures written to ``var/chaos/``.

- ``Workload``: per regency, a bulk import of its teams (a CSV of the synthetic people of the
  chosen kecamatan), the programme (its own topic and resource person, a venue), preview and
  publish, every participant's invitation, check-in uploads (a seeded tenth stays away), and every
  session closed, so ``participant.completed`` issues certificates. Every call goes through
  ``RetryingApi``: a write carries an Idempotency-Key and is sent again with the same key after a
  fault, as a careful client does.
- ``FaultInjector``: a seeded schedule (the seed is printed and reported) of every fault kind at
  least once, at random moments while the workload runs; ``Supervisor`` restarts a unit that died
  on its own (as systemd or Kubernetes would) and records it.
- ``check_invariants``: nothing lost, nothing doubled, in figures.

Used by ``tests/integration/test_chaos.py`` (a reduced run in ``make test``, the province-scale
one by ``make chaos``); private PostgreSQL and RabbitMQ only, never the machine's shared servers.
"""
from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg2
from kombu import Connection

from bimtek_shared.messaging.topology import all_consumer_queues
from bimtek_shared.ops.dead_letters import list_dead_letters, replay
from bimtek_shared.ops.local_stack import UNITS
from tests.integration.harness import System
from tests.support import synthetic
from tests.support.servers import PrivatePostgres, PrivateRabbitMQ

API = "/api/v1"
JAKARTA = ZoneInfo("Asia/Jakarta")
REPORT_DIR = Path(__file__).resolve().parents[2] / "var" / "chaos"
SERVICES = ("registration", "scheduling", "certificates")
UNIT_NAMES = tuple(unit.name for unit in UNITS)
FAULT_KINDS = (*(f"sigkill:{unit}" for unit in UNIT_NAMES), "restart:rabbitmq", "restart:postgres", "stall:service")
# One-day sessions, as Jombang ran them; a window in the past, so sessions may be closed at once.
WINDOW = ("2025-07-01", "2025-12-19")
# Answers a fault explains: the client sends the same request again, with the same key.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
IN_FLIGHT = "idempotency_request_in_flight"
# The chaos stack's retry delays: a failed event is tried again over about five seconds, longer
# than a PostgreSQL crash and restart takes here (production's are longer still).
RETRY_DELAYS_MS = (500, 1500, 3000)
# Errors a fault explains: a dead letter failing with one of these was a casualty of an outage.
OUTAGE_ERRORS = ("OperationalError", "Connection refused", "connection", "timeout", "AMQP")


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class ChaosPlan:
    label: str  # names the report file
    seed: int
    regencies: tuple[str, ...]
    districts_per_regency: int | None  # the first N kecamatan of each regency; None: all of them
    venue_capacity: int = 250
    absent_share: float = 0.1  # participants never scanned, so not completing
    fault_gap_seconds: tuple[float, float] = (0.5, 3.0)
    repeat_faults: bool = False  # after each kind once, keep injecting until the workload is done
    parallel_regencies: int = 1
    quiescence_timeout: float = 90.0
    workload_timeout: float = 600.0


def province_regencies(count: int) -> tuple[str, ...]:
    """The first ``count`` regencies of Jawa Timur by code, Jombang always among them."""
    codes = sorted({village.district.rsplit(".", 1)[0] for village in synthetic.villages()})
    chosen = [synthetic.JOMBANG] + [code for code in codes if code != synthetic.JOMBANG]
    return tuple(chosen[:max(1, count)])


# --------------------------------------------------------------------------- figures


@dataclass
class Figures:
    """What happened, for the report; thread-safe counters."""

    faults: list[dict[str, Any]] = field(default_factory=list)
    unexpected_exits: list[dict[str, Any]] = field(default_factory=list)
    client: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.client[name] += n

    def fault(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.faults.append(record)

    def unexpected(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.unexpected_exits.append(record)


# --------------------------------------------------------------------------- the client


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: str
    regency: str


class RetryingApi:
    """The gateway's API as a careful client calls it through faults.

    A write carries an Idempotency-Key, a new one per intended write; whatever failed because of a
    fault (no connection, 5xx, 429, or 409 ``idempotency_request_in_flight`` while a killed
    gateway's claim lapses) is sent again unchanged, with the same key, after ``Retry-After`` or a
    short pause. Tokens are minted with the gateway's key per principal (tests do the same) and
    minted again on a 401 or before they expire.
    """

    def __init__(self, system: System, figures: Figures, deadline: float) -> None:
        self._system = system
        self._settings = system.gateway_settings()
        self._figures = figures
        self._deadline = deadline
        self._tokens: dict[Principal, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._http = httpx.Client(base_url=system.stack.gateway_url, timeout=15,
                                  limits=httpx.Limits(max_connections=16))

    def close(self) -> None:
        self._http.close()

    def _bearer(self, principal: Principal, fresh: bool = False) -> str:
        from bimtek_gateway.identity import issue_access_token

        with self._lock:
            token, minted = self._tokens.get(principal, ("", 0.0))
            if fresh or not token or time.monotonic() - minted > 600:
                token, _ = issue_access_token(self._settings, user_id=principal.user_id, role=principal.role,
                                              regency=principal.regency)
                self._tokens[principal] = (token, time.monotonic())
            return token

    def call(self, principal: Principal | str, method: str, path: str, *, json_body: Any = None,
             content: bytes | None = None, content_type: str | None = None, params: dict[str, Any] | None = None,
             expect: Iterable[int] = (200, 201, 202)) -> httpx.Response:
        """``principal`` is a user, or a device token's secret. Returns the first answer in ``expect``;
        raises on any other answer no fault explains."""
        expect = tuple(expect)
        headers: dict[str, str] = {}
        if method != "GET":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        if content_type:
            headers["Content-Type"] = content_type
        fresh_token = False
        attempt = 0
        while True:
            attempt += 1
            if isinstance(principal, Principal):
                headers["Authorization"] = f"Bearer {self._bearer(principal, fresh_token)}"
            else:
                headers["Authorization"] = f"Bearer {principal}"
            fresh_token = False
            try:
                answer = self._http.request(method, path, json=json_body, content=content, params=params,
                                            headers=headers)
            except httpx.TransportError as error:
                self._figures.count(f"retried_{type(error).__name__}")
                self._pause(attempt, None, f"{method} {path}: {error!r}")
                continue
            if answer.headers.get("Idempotent-Replayed") == "true":
                self._figures.count("replayed_answers")
            code = _problem_code(answer) if answer.status_code >= 400 else ""
            # Before `expect`: a caller expecting a 409 of its own means another conflict than this.
            in_flight = answer.status_code == 409 and code == IN_FLIGHT
            if answer.status_code in expect and not in_flight:
                self._figures.count("requests")
                return answer
            if answer.status_code == 401 and isinstance(principal, Principal):
                fresh_token = True
                self._figures.count("retried_401")
            elif answer.status_code in RETRYABLE_STATUSES or in_flight:
                self._figures.count(f"retried_{answer.status_code}{'_' + code if code else ''}")
            else:
                raise AssertionError(f"{method} {path}: {answer.status_code} {answer.text[:500]}")
            self._pause(attempt, answer.headers.get("Retry-After"), f"{method} {path}: {answer.status_code} {code}")

    def _pause(self, attempt: int, retry_after: str | None, what: str) -> None:
        if time.monotonic() > self._deadline:
            raise TimeoutError(f"still failing when the workload's time ran out: {what}")
        try:
            wait = float(retry_after) if retry_after else min(0.2 * attempt, 2.0)
        except ValueError:
            wait = 1.0
        time.sleep(min(wait, 2.0))


def _problem_code(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""


# --------------------------------------------------------------------------- databases


class Databases:
    """Reads the units' databases directly, through PostgreSQL restarts (a query retries until the
    server is back)."""

    def __init__(self, system: System) -> None:
        self._system = system

    def query(self, unit: str, sql: str, params: Any = None, timeout: float = 60.0) -> list[tuple]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self._system.query(unit, sql, params)
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def value(self, unit: str, sql: str, params: Any = None) -> int:
        return int(self.query(unit, sql, params)[0][0])


# --------------------------------------------------------------------------- the workload


@dataclass
class RegencyOutcome:
    """What the workload did in one regency: what the invariants expect."""

    regency: str
    rows: int = 0
    import_job: str = ""
    programme_id: str = ""
    venue_ids: list[str] = field(default_factory=list)
    resource_person_ids: list[str] = field(default_factory=list)
    participants: list[str] = field(default_factory=list)
    sessions: dict[str, list[str]] = field(default_factory=dict)  # session -> days
    scanned: set[str] = field(default_factory=set)  # participants with a recorded scan
    completed: set[str] = field(default_factory=set)  # as the closures answered
    not_completed: set[str] = field(default_factory=set)
    duplicate_scans_sent: int = 0


class Workload:
    """The lifecycle of each regency of the plan, through the gateway."""

    def __init__(self, plan: ChaosPlan, system: System, api: RetryingApi, db: Databases, figures: Figures) -> None:
        self.plan, self.system, self.api, self.db, self.figures = plan, system, api, db, figures
        self.province_admin = Principal(str(uuid.uuid5(uuid.NAMESPACE_URL, "chaos/province")), "province_admin", "*")
        self.outcomes = {regency: RegencyOutcome(regency) for regency in plan.regencies}

    def run(self) -> dict[str, RegencyOutcome]:
        with ThreadPoolExecutor(self.plan.parallel_regencies) as pool:
            for finished in pool.map(self._regency, self.plan.regencies):
                assert finished
        return self.outcomes

    def operator(self, regency: str) -> Principal:
        return Principal(str(uuid.uuid5(uuid.NAMESPACE_URL, f"chaos/operator/{regency}")), "operator", regency)

    def _regency(self, regency: str) -> bool:
        outcome = self.outcomes[regency]
        rng = random.Random(f"{self.plan.seed}/{regency}")
        self._import(outcome)
        self._wait_scheduling_knows(outcome)
        self._plan(outcome)
        qrs = self._invitations(outcome)
        self._check_in(outcome, qrs, rng)
        self._close(outcome)
        return True

    # -- registration ----------------------------------------------------------------------
    def rows_of(self, regency: str) -> list[dict[str, object]]:
        rows = synthetic.team_rows(regency, seed=self.plan.seed)
        if self.plan.districts_per_regency is not None:
            districts = sorted({row["kode_desa"].rsplit(".", 1)[0] for row in rows})[:self.plan.districts_per_regency]
            rows = [row for row in rows if row["kode_desa"].rsplit(".", 1)[0] in districts]
        return rows

    def _import(self, outcome: RegencyOutcome) -> None:
        rows = self.rows_of(outcome.regency)
        outcome.rows = len(rows)
        # Encoded once: a retry must send the very same bytes (the key is bound to the body's hash).
        upload = httpx.Request("POST", "http://x", files={"file": ("peserta.csv", synthetic.to_csv(rows), "text/csv")})
        body = upload.read()
        operator = self.operator(outcome.regency)
        answer = self.api.call(operator, "POST", f"{API}/participant-imports", content=body,
                               content_type=upload.headers["Content-Type"])
        location = answer.headers["location"]
        outcome.import_job = answer.json()["id"]
        while True:
            job = self.api.call(operator, "GET", location).json()
            if job["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.5)
        assert job["status"] == "succeeded" and job["done"] == len(rows), \
            f"import in {outcome.regency}: {job['status']}, {job['done']}/{len(rows)}, errors {job.get('errors', [])[:3]}"

    def _wait_scheduling_knows(self, outcome: RegencyOutcome) -> None:
        def caught_up() -> bool:
            want = self.db.value("registration", "SELECT count(*) FROM participants WHERE regency = %s",
                                 (outcome.regency,))
            have = self.db.value(
                "scheduling", "SELECT count(*) FROM participants p JOIN cooperatives c USING (cooperative_id) "
                              "WHERE c.regency = %s AND p.status = 'waiting'", (outcome.regency,))
            return want == outcome.rows == have

        _wait(caught_up, self.plan.workload_timeout, f"scheduling never learnt of {outcome.regency}")

    # -- planning --------------------------------------------------------------------------
    def _plan(self, outcome: RegencyOutcome) -> None:
        regency, operator = outcome.regency, self.operator(outcome.regency)
        topic = f"Tata kelola KDMP {regency} (uji ketahanan {self.plan.seed})"
        available = [{"start": WINDOW[0], "end": WINDOW[1]}]
        person = self.api.call(self.province_admin, "POST", f"{API}/resource-persons", json_body={
            "name": f"Widyaiswara {regency}", "topics": [topic], "available": available}, expect=(201,)).json()
        outcome.resource_person_ids.append(person["id"])
        venue = self.api.call(operator, "POST", f"{API}/venues", json_body={
            "name": f"Aula Bimtek {regency}", "capacity": self.plan.venue_capacity, "available": available},
            expect=(201,)).json()
        outcome.venue_ids.append(venue["id"])
        programme = self.api.call(operator, "POST", f"{API}/programmes", json_body={
            "title": f"Bimtek Pengurus dan Pengawas KDMP {regency}", "topics": [{"topic": topic, "hours": 8}],
            "days_per_session": 1, "window_start": WINDOW[0], "window_end": WINDOW[1], "min_attendance_days": 1},
            expect=(201,)).json()
        outcome.programme_id = programme["id"]
        while True:
            preview = self.api.call(operator, "POST", f"{API}/programmes/{programme['id']}/plan-previews",
                                    expect=(201,)).json()
            published = self.api.call(operator, "POST", f"{API}/programmes/{programme['id']}/plan",
                                      json_body={"preview_id": preview["id"]}, expect=(200, 409))
            if published.status_code == 200:
                break
            # Something changed since the preview (a late event): preview again.
            assert _problem_code(published) == "plan_preview_outdated", published.text
            self.figures.count("previews_outdated")
        plan = published.json()
        assert not plan.get("unplaced"), f"{regency}: unplaced {plan['unplaced'][:3]}"
        outcome.sessions = {s["id"]: s["days"] for s in plan["sessions"]}

    def _participants(self, outcome: RegencyOutcome) -> list[str]:
        ids, cursor = [], None
        while True:
            params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            page = self.api.call(self.operator(outcome.regency), "GET", f"{API}/participants", params=params).json()
            ids += [item["id"] for item in page["items"]]
            if not (cursor := page["next_cursor"]):
                return ids

    def _invitations(self, outcome: RegencyOutcome) -> dict[str, list[tuple[str, str]]]:
        """Each session's (participant, QR) pairs, from every participant's invitation."""
        outcome.participants = self._participants(outcome)
        assert len(outcome.participants) == outcome.rows, (len(outcome.participants), outcome.rows)
        operator = self.operator(outcome.regency)

        def invitation(person: str) -> tuple[str, str, str]:
            found = self.api.call(operator, "GET", f"{API}/participants/{person}/invitation").json()["invitations"]
            mine = [i for i in found if i["programme"]["id"] == outcome.programme_id]
            assert len(mine) == 1, (person, found)
            return mine[0]["session"]["id"], person, mine[0]["qr"]

        by_session: dict[str, list[tuple[str, str]]] = {session: [] for session in outcome.sessions}
        with ThreadPoolExecutor(4) as pool:
            for session, person, qr in pool.map(invitation, outcome.participants):
                by_session[session].append((person, qr))
        return by_session

    # -- attendance and closing ------------------------------------------------------------
    def _check_in(self, outcome: RegencyOutcome, qrs: dict[str, list[tuple[str, str]]], rng: random.Random) -> None:
        operator = self.operator(outcome.regency)
        for session, seated in qrs.items():
            phone = self.api.call(operator, "POST", f"{API}/device-tokens", json_body={
                "label": "HP presensi uji ketahanan", "session_id": session}, expect=(201,)).json()["token"]
            day = date.fromisoformat(outcome.sessions[session][0])
            scans, people = [], {}
            for person, qr in seated:
                if rng.random() < self.plan.absent_share:
                    continue
                moment = datetime.combine(day, clock(7, rng.randrange(60)), JAKARTA)
                nonce = str(uuid.UUID(int=rng.getrandbits(128)))
                scans.append({"nonce": nonce, "qr": qr, "scanned_at": moment.isoformat()})
                people[nonce] = person
            for start in range(0, len(scans), 500):
                batch = scans[start:start + 500]
                results = self.api.call(phone, "POST", f"{API}/check-ins", json_body={"scans": batch}).json()["results"]
                for result in results:
                    # A retry after a lost answer runs again and finds its scans: `duplicate` of `recorded`.
                    first = result["first_result"] if result["result"] == "duplicate" else result["result"]
                    assert first == "recorded", result
                    outcome.scanned.add(people[result["nonce"]])
            if scans:
                # The phone uploads its first scans once more (it never saw the answer): counted once.
                again = scans[:20]
                results = self.api.call(phone, "POST", f"{API}/check-ins", json_body={"scans": again}).json()
                assert {r["result"] for r in results["results"]} == {"duplicate"}, results
                outcome.duplicate_scans_sent += len(again)

    def _close(self, outcome: RegencyOutcome) -> None:
        operator = self.operator(outcome.regency)
        for session in outcome.sessions:
            closed = self.api.call(operator, "POST", f"{API}/sessions/{session}/closure").json()
            outcome.completed |= {c["participant_id"] for c in closed["completed"]}
            outcome.not_completed |= {c["participant_id"] for c in closed["not_completed"]}


# --------------------------------------------------------------------------- faults


class Supervisor(threading.Thread):
    """Restarts a unit that died on its own (not by the injector's hand) and records it, as a
    process supervisor would."""

    def __init__(self, system: System, figures: Figures) -> None:
        super().__init__(name="chaos-supervisor", daemon=True)
        self.system, self.figures = system, figures
        self.faulting: set[str] = set()  # units the injector is killing or stalling right now
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            for unit in UNIT_NAMES:
                with self.lock:
                    if unit in self.faulting or self.system.stack.pid(unit) is not None:
                        continue
                    self.figures.unexpected({"unit": unit, "at": time.time(),
                                             "log_tail": _exception_lines(self.system.stack.log_tail(unit, 80))})
                    self.system.stack.start(unit)


class FaultInjector(threading.Thread):
    """Injects every kind in ``FAULT_KINDS`` at least once, in a seeded order at seeded moments.

    A SIGKILLed unit is brought back in the background (after a moment down), so the next fault
    may come while it starts; a server crash or a stall waits until every unit is back, since a
    unit starting without its broker exits and would count as a death of its own."""

    def __init__(self, plan: ChaosPlan, system: System, rabbitmq: PrivateRabbitMQ, postgres: PrivatePostgres,
                 supervisor: Supervisor, figures: Figures, workload_done: threading.Event) -> None:
        super().__init__(name="chaos-faults", daemon=True)
        self.plan, self.system, self.rabbitmq, self.postgres = plan, system, rabbitmq, postgres
        self.supervisor, self.figures, self.workload_done = supervisor, figures, workload_done
        self.rng = random.Random(plan.seed)
        self.failure: BaseException | None = None
        self.started_at = time.monotonic()
        self._restarts: dict[str, threading.Thread] = {}

    def schedule(self) -> Iterable[str]:
        kinds = list(FAULT_KINDS)
        self.rng.shuffle(kinds)
        yield from kinds
        while self.plan.repeat_faults and not self.workload_done.is_set():
            yield self.rng.choice(FAULT_KINDS)

    def run(self) -> None:
        try:
            for kind in self.schedule():
                time.sleep(self.rng.uniform(*self.plan.fault_gap_seconds))
                self.inject(kind)
            self._await_restarts()
        except BaseException as error:  # noqa: BLE001 - reported by the run
            self.failure = error

    def inject(self, kind: str) -> None:
        action, _, target = kind.partition(":")
        self._await_restarts(target if action == "sigkill" else None)
        began = time.monotonic()
        record: dict[str, Any] = {"kind": kind, "at_s": round(began - self.started_at, 2),
                                  "during_workload": not self.workload_done.is_set()}
        if action == "sigkill":
            down = self.rng.uniform(0.0, 0.5)
            self._faulting(target, True)
            self.system.stack.kill(target)
            self._restarts[target] = threading.Thread(target=self._bring_back, args=(target, down, began, record),
                                                      name=f"chaos-restart-{target}", daemon=True)
            self._restarts[target].start()
            return
        if action == "stall":
            unit = self.rng.choice(SERVICES)
            seconds = self.rng.uniform(2.0, 5.0)
            self._faulting(unit, True)
            try:
                pid = self.system.stack.pid(unit)
                os.kill(pid, signal.SIGSTOP)
                try:
                    time.sleep(seconds)
                finally:
                    os.kill(pid, signal.SIGCONT)
            finally:
                self._faulting(unit, False)
            record.update(unit=unit, stalled_s=round(seconds, 2))
        else:
            server = self.rabbitmq if target == "rabbitmq" else self.postgres
            server.kill()  # a crash, not a polite shutdown
            time.sleep(self.rng.uniform(0.0, 0.5))
            server.start()
        self.figures.fault({**record, "recovered_after_s": round(time.monotonic() - began, 2)})

    def _bring_back(self, unit: str, down: float, began: float, record: dict[str, Any]) -> None:
        try:
            time.sleep(down)
            self.system.restart(unit)
            self.figures.fault({**record, "recovered_after_s": round(time.monotonic() - began, 2)})
        except BaseException as error:  # noqa: BLE001 - reported by the run
            self.failure = error
        finally:
            self._faulting(unit, False)

    def _await_restarts(self, unit: str | None = None) -> None:
        """Until the unit (None: every unit) killed earlier is back."""
        for name, thread in list(self._restarts.items()):
            if unit is None or name == unit:
                thread.join(120)
        if self.failure is not None:
            raise self.failure

    def _faulting(self, unit: str, on: bool) -> None:
        with self.supervisor.lock:
            (self.supervisor.faulting.add if on else self.supervisor.faulting.discard)(unit)


# --------------------------------------------------------------------------- quiescence and invariants


def unfinished_business(system: System, db: Databases) -> dict[str, int]:
    """Events still unpublished per outbox and messages still queued for a consumer (main and retry
    queues); all zeros once the system has settled."""
    left = {f"outbox_unpublished:{unit}": db.value(unit, "SELECT count(*) FROM outbox WHERE published_at IS NULL")
            for unit in SERVICES}
    delays = tuple(json.loads(system.stack.extra_env["RETRY_DELAYS_MS"]))
    with Connection(system.stack.amqp_uri) as conn:
        for queues in all_consumer_queues(delays):
            for queue in (queues.main, *queues.retries):
                channel = conn.channel()
                try:
                    _, depth, _ = channel.queue_declare(queue.name, passive=True)
                except Exception:  # noqa: BLE001 - a queue never declared holds nothing
                    depth = 0
                finally:
                    if channel.is_open:
                        channel.close()
                if depth:
                    left[f"queued:{queue.name}"] = int(depth)
    return {name: n for name, n in left.items() if n}


def settle(system: System, db: Databases, outcomes: dict[str, RegencyOutcome], timeout: float) -> float:
    """Wait until nothing is left in flight and every completion holds its certificate, noted back in
    scheduling; returns how long it took."""
    started = time.monotonic()
    completed = sorted(p for o in outcomes.values() for p in o.completed)

    def settled() -> bool:
        if unfinished_business(system, db):
            return False
        certified = db.value("certificates", "SELECT count(DISTINCT participant_id) FROM certificates "
                                             "WHERE participant_id = ANY(%s::uuid[]) AND status = 'valid'", (completed,))
        noted = db.value("scheduling", "SELECT count(*) FROM session_outcomes WHERE complete "
                                       "AND certificate_number IS NOT NULL AND participant_id = ANY(%s::uuid[])",
                         (completed,))
        return certified == noted == len(completed)

    _wait(settled, timeout, lambda: f"not settled: {unfinished_business(system, db)}", interval=0.5)
    return time.monotonic() - started


def handled_again(db: Databases, dead_letters: list[dict[str, Any]], timeout: float) -> float:
    """Wait until each replayed dead letter was handled by its consumer; returns how long it took."""
    started = time.monotonic()
    for letter in dead_letters:
        # evt-<producer>-<event>--<service>.<method>.dead: the consumer is <service>.<method>.
        consumer = letter["queue"].removesuffix(".dead").rpartition("--")[2]
        service = consumer.partition(".")[0]
        _wait(lambda: db.value(service, "SELECT count(*) FROM processed_events WHERE event_id = %s AND consumer = %s",
                               (letter["event_id"], consumer)) == 1,
              timeout, f"the replayed {letter['event_type']} {letter['event_id']} was never handled by {consumer}")
    return time.monotonic() - started


def check_invariants(system: System, db: Databases, outcomes: dict[str, RegencyOutcome]) -> dict[str, Any]:
    """Every invariant as (lost, doubled) counts, with examples of what broke."""
    checks: dict[str, dict[str, Any]] = {}

    def check(name: str, lost: Iterable[Any] = (), doubled: Iterable[Any] = ()) -> None:
        lost, doubled = list(lost), list(doubled)
        checks[name] = {"lost": len(lost), "doubled": len(doubled),
                        "examples": [str(x) for x in (lost + doubled)[:5]]}

    def ids(unit: str, sql: str, params: Any = None) -> Counter:
        return Counter(str(row[0]) for row in db.query(unit, sql, params))

    for regency, outcome in outcomes.items():
        registered = ids("registration", "SELECT id FROM participants WHERE regency = %s", (regency,))
        check(f"{regency}: each imported row registered once", lost=range(max(0, outcome.rows - len(registered))),
              doubled=range(max(0, len(registered) - outcome.rows)))
        known = ids("scheduling", "SELECT participant_id FROM participants WHERE regency = %s", (regency,))
        check(f"{regency}: every registered participant known to scheduling",
              lost=set(registered) - set(known), doubled=set(known) - set(registered))
        roster = ids("certificates", "SELECT participant_id FROM roster WHERE regency = %s", (regency,))
        check(f"{regency}: every registered participant on certificates' roster",
              lost=set(registered) - set(roster), doubled=set(roster) - set(registered))
        seated = ids("scheduling", "SELECT participant_id FROM assignments WHERE programme_id = %s",
                     (outcome.programme_id,))
        check(f"{regency}: every registered participant seated once", lost=set(registered) - set(seated),
              doubled=[p for p, n in seated.items() if n > 1] + list(set(seated) - set(registered)))
        seats = ids("certificates", "SELECT participant_id FROM seats WHERE programme_id = %s", (outcome.programme_id,))
        check(f"{regency}: certificates knows every seat", lost=set(seated) - set(seats),
              doubled=set(seats) - set(seated))
        present = ids("scheduling", "SELECT participant_id FROM attendance WHERE session_id = ANY(%s::uuid[]) "
                                    "AND present", (list(outcome.sessions),))
        check(f"{regency}: every recorded scan counted once", lost=outcome.scanned - set(present),
              doubled=[p for p, n in present.items() if n > 1] + list(set(present) - outcome.scanned))
        noted = ids("certificates", "SELECT participant_id FROM attendance_days WHERE session_id = ANY(%s::uuid[]) "
                                    "AND present", (list(outcome.sessions),))
        check(f"{regency}: certificates noted every attendance", lost=set(present) - set(noted),
              doubled=[p for p, n in noted.items() if n > 1] + list(set(noted) - set(present)))
        check(f"{regency}: the closures completed exactly those present",
              lost=outcome.scanned - outcome.completed, doubled=outcome.completed - outcome.scanned)
        announced = ids("scheduling", "SELECT envelope->'payload'->>'participant_id' FROM outbox "
                                      "WHERE event_type = 'participant.completed' "
                                      "AND envelope->'payload'->>'programme_id' = %s", (outcome.programme_id,))
        check(f"{regency}: one participant.completed per completion", lost=outcome.completed - set(announced),
              doubled=[p for p, n in announced.items() if n > 1] + list(set(announced) - outcome.completed))
        recorded = ids("certificates", "SELECT participant_id FROM completions WHERE programme_id = %s",
                       (outcome.programme_id,))
        check(f"{regency}: certificates recorded every completion", lost=outcome.completed - set(recorded),
              doubled=set(recorded) - outcome.completed)
        valid = ids("certificates", "SELECT participant_id FROM certificates WHERE programme_id = %s "
                                    "AND status = 'valid'", (outcome.programme_id,))
        # One certificate is one number: a correction (a later version of the same number, the
        # earlier superseded) is not a second one. It happens under faults when a completion
        # reaches certificates before the person's roster entry: the name is printed when it comes.
        numbered = ids("certificates", "SELECT DISTINCT participant_id, number FROM certificates "
                                       "WHERE programme_id = %s", (outcome.programme_id,))
        check(f"{regency}: every completed participant holds exactly one valid certificate",
              lost=outcome.completed - set(valid),
              doubled=[p for p, n in valid.items() if n > 1] + [p for p, n in numbered.items() if n > 1]
              + list(set(numbered) - outcome.completed))
        # Numbered per regency and year; each regency here has the one programme of this run.
        sequences = sorted(row[0] for row in db.query(
            "certificates", "SELECT sequence FROM certificates WHERE regency = %s AND version = 1", (regency,)))
        numbers = {(str(p), n) for p, n in db.query("certificates", "SELECT participant_id, number FROM certificates "
                                                    "WHERE programme_id = %s", (outcome.programme_id,))}
        told = {(str(p), n) for p, n in db.query("scheduling", "SELECT participant_id, certificate_number FROM "
                                                 "session_outcomes WHERE programme_id = %s AND complete",
                                                 (outcome.programme_id,))}
        check(f"{regency}: scheduling knows each certificate's number", lost=numbers - told, doubled=told - numbers)
        check(f"{regency}: certificate numbers 1..n without gaps or repeats",
              lost=sorted(set(range(1, len(sequences) + 1)) - set(sequences)),
              doubled=[s for s, n in Counter(sequences).items() if n > 1])
        for table, name_column in (("venues", "name"), ("programmes", "title")):
            made = db.value("scheduling", f"SELECT count(*) FROM {table} WHERE regency = %s", (regency,))
            check(f"{regency}: one {table[:-1]} per intended write", lost=range(max(0, 1 - made)),
                  doubled=range(max(0, made - 1)))
        persons = db.value("scheduling", "SELECT count(*) FROM resource_persons WHERE name = %s",
                           (f"Widyaiswara {regency}",))
        check(f"{regency}: one resource person per intended write", lost=range(max(0, 1 - persons)),
              doubled=range(max(0, persons - 1)))
    doubled_niks = db.query("registration", "SELECT nik_lookup FROM participants WHERE nik_lookup IS NOT NULL "
                                            "GROUP BY 1 HAVING count(*) > 1")
    check("no NIK registered twice", doubled=doubled_niks)
    for unit in SERVICES:
        check(f"{unit}: outbox fully published", lost=db.query(
            unit, "SELECT event_id FROM outbox WHERE published_at IS NULL"))
        check(f"{unit}: each event handled once per consumer", doubled=db.query(
            unit, "SELECT event_id, consumer FROM processed_events GROUP BY 1, 2 HAVING count(*) > 1"))
    return checks


def event_figures(db: Databases) -> dict[str, Any]:
    published = {unit: db.value(unit, "SELECT count(*) FROM outbox") for unit in SERVICES}
    processed = {unit: db.value(unit, "SELECT count(*) FROM processed_events") for unit in SERVICES}
    return {"published": published, "published_total": sum(published.values()),
            "processed": processed, "processed_total": sum(processed.values())}


# --------------------------------------------------------------------------- the run


@dataclass
class ChaosResult:
    report: dict[str, Any]
    path: Path

    @property
    def lost(self) -> int:
        return int(self.report["lost"])

    @property
    def doubled(self) -> int:
        return int(self.report["doubled"])


def run_chaos(plan: ChaosPlan, system: System, rabbitmq: PrivateRabbitMQ, postgres: PrivatePostgres) -> ChaosResult:
    """The workload under faults, the wait for quiescence, the invariants; the report written."""
    print(f"chaos run {plan.label!r}: seed {plan.seed} (CHAOS_SEED={plan.seed} repeats it), "
          f"regencies {','.join(plan.regencies)}", flush=True)
    figures = Figures()
    db = Databases(system)
    started = time.monotonic()
    api = RetryingApi(system, figures, deadline=started + plan.workload_timeout)
    supervisor = Supervisor(system, figures)
    workload_done = threading.Event()
    injector = FaultInjector(plan, system, rabbitmq, postgres, supervisor, figures, workload_done)
    workload = Workload(plan, system, api, db, figures)
    supervisor.start()
    injector.start()
    try:
        outcomes = workload.run()
        workload_seconds = time.monotonic() - started
    finally:
        workload_done.set()
        injector.join(plan.workload_timeout)
        api.close()
    assert injector.failure is None, f"the fault injector failed: {injector.failure!r}"
    try:
        system.ensure_running()
        settle_seconds = settle(system, db, outcomes, plan.quiescence_timeout)
        # Events dead-lettered by an outage (each try failed while a server was down) go back as an
        # operator sends them back (`bimtek-ops dlq replay`); the system settles again.
        dead_letters = [{**vars(letter), "explained": _explained(letter.error)}
                        for letter in list_dead_letters(system.stack.amqp_uri)]
        replayed = replay(system.stack.amqp_uri) if dead_letters else 0
        if replayed:
            settle_seconds += handled_again(db, dead_letters, plan.quiescence_timeout)
            settle_seconds += settle(system, db, outcomes, plan.quiescence_timeout)
    finally:
        supervisor.stopping.set()
        supervisor.join(5)
    left_dead = [vars(letter) for letter in list_dead_letters(system.stack.amqp_uri)]
    checks = check_invariants(system, db, outcomes)
    lost = sum(c["lost"] for c in checks.values())
    doubled = sum(c["doubled"] for c in checks.values())
    report = {
        "label": plan.label,
        "seed": plan.seed,
        "finished_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "regencies": list(plan.regencies),
        "districts_per_regency": plan.districts_per_regency,
        "participants": sum(o.rows for o in outcomes.values()),
        "sessions": sum(len(o.sessions) for o in outcomes.values()),
        "completed": sum(len(o.completed) for o in outcomes.values()),
        "not_completed": sum(len(o.not_completed) for o in outcomes.values()),
        "duplicate_scans_sent": sum(o.duplicate_scans_sent for o in outcomes.values()),
        "faults_by_kind": dict(sorted(Counter(f["kind"] for f in figures.faults).items())),
        "faults": sorted(figures.faults, key=lambda f: f["at_s"]),
        "unexpected_exits": figures.unexpected_exits,
        "client": dict(sorted(figures.client.items())),
        "events": event_figures(db),
        "dead_letters": dead_letters,
        "dead_letters_replayed": replayed,
        "dead_letters_left": left_dead,
        "lost": lost,
        "doubled": doubled,
        "invariants": checks,
        "seconds": {"workload": round(workload_seconds, 1), "settle": round(settle_seconds, 1),
                    "total": round(time.monotonic() - started, 1)},
    }
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    path = REPORT_DIR / f"{plan.label}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    path.with_suffix(".md").write_text(markdown(report))
    print(summary(report), flush=True)
    return ChaosResult(report, path)


def markdown(report: dict[str, Any]) -> str:
    """The report as docs/reliability.md quotes it."""
    events, seconds = report["events"], report["seconds"]
    lines = [
        f"## Chaos run `{report['label']}` (seed {report['seed']}, {report['finished_at']})",
        "",
        f"{report['participants']:,} participants of {', '.join(report['regencies'])} imported, "
        f"{report['sessions']} sessions planned and closed, {report['completed']:,} completions "
        f"({report['not_completed']} stayed away); {report['duplicate_scans_sent']} scans uploaded twice. "
        f"Workload {seconds['workload']} s, settled {seconds['settle']} s later.",
        "",
        "| fault | injected |",
        "| --- | ---: |",
        *(f"| {kind} | {n} |" for kind, n in report["faults_by_kind"].items()),
        "",
        f"- events published {events['published_total']:,} ({events['published']}), processed "
        f"{events['processed_total']:,} ({events['processed']})",
        f"- client retries through faults: {report['client']}",
        f"- units that died on their own: {len(report['unexpected_exits'])}",
        f"- dead letters: {len(report['dead_letters'])} "
        f"({'; '.join(str(d['explained']) for d in report['dead_letters']) or 'none'}), "
        f"replayed {report['dead_letters_replayed']}, left {len(report['dead_letters_left'])}",
        f"- **lost {report['lost']}, doubled {report['doubled']}** over {len(report['invariants'])} invariants",
        "",
    ]
    return "\n".join(lines)


def summary(report: dict[str, Any]) -> str:
    events = report["events"]
    return (f"chaos {report['label']} (seed {report['seed']}): {report['participants']} participants, "
            f"{report['sessions']} sessions, {report['completed']} certificates expected; faults "
            f"{report['faults_by_kind']}; unexpected exits {len(report['unexpected_exits'])}; events published "
            f"{events['published_total']}, processed {events['processed_total']}; client {report['client']}; "
            f"dead letters {len(report['dead_letters'])} (replayed {report['dead_letters_replayed']}, "
            f"left {len(report['dead_letters_left'])}); lost {report['lost']}, doubled {report['doubled']}; "
            f"seconds {report['seconds']}")


# --------------------------------------------------------------------------- helpers


def _wait(predicate: Callable[[], bool], timeout: float, message: str | Callable[[], str], interval: float = 0.3) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout:.0f}s: {message() if callable(message) else message}")
        time.sleep(interval)


def _explained(error: str | None) -> str | None:
    """Why an event was dead-lettered, when an outage explains it; None when nothing does."""
    if error and any(sign in error for sign in OUTAGE_ERRORS):
        return f"every try failed during a server outage: {error.splitlines()[0][:200]}"
    return None


def _exception_lines(log: str) -> list[str]:
    """The log's error lines without the traceback bodies (ids and codes only are logged)."""
    return [line for line in log.splitlines() if "Error" in line or "error" in line or "Exception" in line][-8:]
