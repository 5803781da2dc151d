"""Phase ``planner`` of bench/run.py: the automatic session planner, a pure function timed in this
process (the service runs it in a ``CpuPool`` worker process, off the eventlet hub; no stack needed).

- Kabupaten Jombang (35.17): its 306 villages, a cooperative each with a team of 8 (2,448 people),
  one hall of 250 seats, 2 resource persons who each cover half the curriculum (so every session
  needs both), October 2025. Median of many runs; target well under a second.
- Jawa Timur: all 8,494 villages x 8 (67,952 people), 38 regencies with a 250-seat hall each, 12
  resource persons shared by the province (4 cover the whole curriculum, 8 half of it), January to
  June 2026, national holidays and cuti bersama from ``scheduling.adapters.calendar``. Median of 3;
  target under 10 seconds.
- A re-plan of the province after changes (late members, late cooperatives, withdrawals, a hall
  lost for a day in five regencies): time, and how many cooperatives moved against how many the
  changes touched.
- Baseline, same problems, same run: one cooperative at a time in code order into the first
  session of its regency with room, then regency after regency each session on the earliest day
  with the hall free and the first free persons (by id) covering the topics.

Figures (1) to (4) of both come from ``scheduling.domain.planner.measure``.
"""
from __future__ import annotations

import csv
import time
import uuid
from dataclasses import replace
from datetime import date, timedelta
from statistics import median
from typing import Any, Callable

from common import REPO_ROOT, CpuMeter, loadavg
from scheduling.adapters.calendar import non_working_days
from scheduling.domain.planner import measure, plan, session_id
from scheduling.domain.planning import (
    PlannedSession,
    PlanningProblem,
    Previous,
    Programme,
    ResourcePerson,
    Team,
    Venue,
)

REGIONS = REPO_ROOT / "services" / "registration" / "registration" / "reference_data" / "regions" / "35"
TARGETS_S = {"regency": 1.0, "province": 10.0}
NS = uuid.UUID("0b1e5c4a-7d0e-4c1e-9a55-000000000035")
TOPICS = ("Kelembagaan dan tata kelola", "Manajemen usaha", "Akuntansi dan laporan keuangan", "Digitalisasi")


def _days(start: date, end: date) -> frozenset[date]:
    return frozenset(start + timedelta(days=i) for i in range((end - start).days + 1))


def _villages(regency: str | None) -> list[dict[str, str]]:
    with open(REGIONS / "villages.csv", newline="") as f:
        return [row for row in csv.DictReader(f) if regency is None or row["district_code"].startswith(regency + ".")]


def problem_for(regency: str | None) -> PlanningProblem:
    """``regency`` "35.17": Jombang as above; None: the whole province."""
    start, end = (date(2025, 10, 1), date(2025, 10, 31)) if regency else (date(2026, 1, 1), date(2026, 6, 30))
    window = _days(start, end)
    teams = tuple(Team(uuid.uuid5(NS, v["code"]), v["district_code"][:5], v["district_code"], 8,
                       f"Koperasi Desa Merah Putih {v['name']}") for v in _villages(regency))
    regencies = sorted({t.regency for t in teams})
    curriculum = tuple((topic, 4) for topic in TOPICS)
    programmes = tuple(Programme(uuid.uuid5(NS, f"programme {r}"), r, "Bimtek Pengurus KDMP", curriculum, 1,
                                 start, end, 1) for r in regencies)
    venues = tuple(Venue(uuid.uuid5(NS, f"hall {r}"), r, f"Pendopo {r}", 250, window) for r in regencies)
    halves = (frozenset(TOPICS[:2]), frozenset(TOPICS[2:]))
    if regency:
        persons = tuple(ResourcePerson(uuid.uuid5(NS, f"person {i}"), f"Narasumber {i + 1}", halves[i], window)
                        for i in range(2))
    else:
        persons = tuple(ResourcePerson(uuid.uuid5(NS, f"person {i}"), f"Narasumber {i + 1}",
                                       frozenset(TOPICS) if i < 4 else halves[i % 2], window) for i in range(12))
    return PlanningProblem(programmes, teams, venues, persons, non_working_days(start, end))


def naive_plan(problem: PlanningProblem) -> tuple[tuple[PlannedSession, ...], int]:
    """The baseline: (sessions, cooperatives left unplaced)."""
    venue_of = {v.regency: v for v in sorted(problem.venues, key=lambda v: (-v.capacity, v.id))}
    bins: dict[str, list[list[Team]]] = {}
    for team in sorted(problem.teams, key=lambda t: (t.regency, t.district, t.name)):
        sessions = bins.setdefault(team.regency, [])
        capacity = venue_of[team.regency].capacity
        room = next((s for s in sessions if sum(t.participants for t in s) + team.participants <= capacity), None)
        if room is None:
            sessions.append(room := [])
        room.append(team)
    busy: set[tuple[uuid.UUID, date]] = set(problem.booked)
    persons = sorted(problem.resource_persons, key=lambda p: p.id)
    planned, unplaced = [], 0
    for programme in sorted(problem.programmes, key=lambda p: p.regency):
        needed, venue = {t for t, _ in programme.topics}, venue_of[programme.regency]
        day, number = programme.window_start, 0
        for teams in bins.get(programme.regency, []):
            while day <= programme.window_end:
                if day.weekday() < 5 and day not in problem.non_working_days and day in venue.available:
                    chosen, covered = [], set()
                    for p in persons:
                        if day in p.available and (p.id, day) not in busy and p.topics - covered:
                            chosen.append(p.id)
                            covered |= p.topics
                        if needed <= covered:
                            break
                    if needed <= covered:
                        break
                day += timedelta(days=1)
            if day > programme.window_end:
                unplaced += len(teams)
                continue
            busy.update((p, day) for p in chosen)
            number += 1
            planned.append(PlannedSession(session_id(programme.id, number), programme.id, programme.regency, number,
                                          (day,), venue.id, tuple(chosen), tuple(t.cooperative_id for t in teams),
                                          sum(t.participants for t in teams)))
            day += timedelta(days=1)
    return tuple(planned), unplaced


def changed_province(problem: PlanningProblem, published) -> tuple[PlanningProblem, set[uuid.UUID]]:
    """About 1 % of the province's cooperatives change: every 100th team gains a late member, every
    100th (offset 50) withdraws, 85 late cooperatives arrive in existing kecamatan, and the hall of
    five regencies is lost on the day of its third session. Returns the problem and who is touched."""
    teams = list(problem.teams)
    touched: set[uuid.UUID] = set()
    for k in range(0, len(teams), 100):
        teams[k] = replace(teams[k], participants=teams[k].participants + 1)
        touched.add(teams[k].cooperative_id)
    gone = {teams[k].cooperative_id for k in range(50, len(teams), 100)}
    touched |= gone
    late = [Team(uuid.uuid5(NS, f"late {k}"), teams[k].regency, teams[k].district, 8, f"Koperasi baru {k}")
            for k in range(25, len(teams), 100)]
    kept = tuple(t for t in teams if t.cooperative_id not in gone) + tuple(late)
    lost: dict[uuid.UUID, date] = {}
    with_three = sorted({s.regency for s in published.sessions if s.number == 3})
    for regency in with_three[::len(with_three) // 5][:5]:
        third = next(s for s in published.sessions if s.regency == regency and s.number == 3)
        lost[third.venue_id] = third.days[0]
        touched |= set(third.cooperative_ids)
    venues = tuple(replace(v, available=v.available - {lost[v.id]}) if v.id in lost else v for v in problem.venues)
    return replace(problem, teams=kept, venues=venues, previous=Previous(published.sessions)), touched


def _summary(figures: dict[str, Any], start: date) -> dict[str, Any]:
    return {
        "sessions": sum(f.sessions for f in figures.values()),
        "sessions_lower_bound": sum(f.sessions_lower_bound for f in figures.values()),
        "regencies_above_lower_bound": sum(1 for f in figures.values() if f.sessions > f.sessions_lower_bound),
        "districts_split": sum(f.districts_split for f in figures.values()),
        "shared_sessions_with_non_neighbours": sum(f.shared_sessions_with_non_neighbours for f in figures.values()),
        "finish": max((f.finish for f in figures.values() if f.finish), default=None),
        # how long a regency waits for its last session, on average: fairness between regencies
        "mean_finish_day": round(sum((f.finish - start).days for f in figures.values() if f.finish)
                                 / max(1, sum(1 for f in figures.values() if f.finish)), 1),
    }


def _timed(fn: Callable[[], Any], runs: int, label: str, wait_for_quiet: Callable[[str], float]) -> dict[str, Any]:
    wall, cpu, busy, result = [], [], [], None
    for run in range(runs):
        if run == 0 or runs <= 3:
            wait_for_quiet(f"planner: {label} run {run + 1}")
        meter = CpuMeter({"bench": []}).start()
        cpu0, t0 = time.process_time(), time.perf_counter()
        result = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - cpu0)
        busy.append(meter.stop()["machine_busy_pct"])
    return {"runs": runs, "median_s": round(median(wall), 4), "min_s": round(min(wall), 4),
            "max_s": round(max(wall), 4), "median_cpu_s": round(median(cpu), 4),
            "machine_busy_pct_median": round(median(busy), 1), "result": result}


def run_phase(*, quick: bool, wait_for_quiet: Callable[[str], float]) -> dict[str, Any]:
    out: dict[str, Any] = {"targets_s": TARGETS_S, "load_start": loadavg()}
    for scope, regency, runs in (("regency", "35.17", 10 if quick else 50), ("province", None, 1 if quick else 3)):
        problem = problem_for(regency)
        start = problem.programmes[0].window_start
        ours = _timed(lambda: plan(problem), runs, f"{scope} plan", wait_for_quiet)
        naive = _timed(lambda: naive_plan(problem), runs, f"{scope} baseline", wait_for_quiet)
        result, (naive_sessions, naive_unplaced) = ours.pop("result"), naive.pop("result")
        out[scope] = {
            "teams": len(problem.teams), "participants": sum(t.participants for t in problem.teams),
            "regencies": len(problem.programmes), "resource_persons": len(problem.resource_persons),
            "window": [problem.programmes[0].window_start.isoformat(), problem.programmes[0].window_end.isoformat()],
            "planner": {**ours, **_summary(result.figures, start), "unplaced": len(result.unplaced)},
            "baseline": {**naive, **_summary(measure(problem, naive_sessions), start), "unplaced": naive_unplaced},
        }
        print(f"   {scope}: planner {ours['median_s']} s (cpu {ours['median_cpu_s']} s), "
              f"{_summary(result.figures, start)}; baseline {naive['median_s']} s, "
              f"{_summary(measure(problem, naive_sessions), start)}", flush=True)
        if scope == "province":
            changed, touched = changed_province(problem, result)
            again = _timed(lambda: plan(changed), runs, "province re-plan", wait_for_quiet)
            replanned = again.pop("result")
            out["province_replan"] = {**again, **_summary(replanned.figures, start), "moved": len(replanned.moved),
                                      "touched": len(touched), "moved_not_touched": len(set(replanned.moved) - touched),
                                      "unplaced": len(replanned.unplaced)}
            print(f"   province re-plan: {again['median_s']} s, moved {len(replanned.moved)} "
                  f"(touched {len(touched)})", flush=True)
    out["load_end"] = loadavg()
    return out


def verdicts(res: dict[str, Any]) -> list[str]:
    lines = []
    for scope, label in (("regency", "a regency (Jombang)"), ("province", "the province (Jawa Timur)")):
        if r := res.get(scope):
            v, target = r["planner"]["median_s"], TARGETS_S[scope]
            lines.append(f"Planning {label} in under {target:g} s: median {v} s -> {'MET' if v < target else 'NOT MET'}")
    return lines


def render(res: dict[str, Any]) -> list[str]:
    out = ["## The session planner (phase `planner`)", "",
           "A pure function timed in the benchmark's process (wall and CPU time of `plan()`, inputs built "
           "beforehand). Baseline: one cooperative at a time in code order, first session with room, dates "
           "regency after regency. Figures: (1) sessions / lower bound, (2) kecamatan split, (3) sessions "
           "mixing non-neighbours (no neighbour list: code order), (4) finish.", "",
           "| problem | planner | median s (min-max) | CPU s | sessions / lower bound | kecamatan split | "
           "mixing non-neighbours | finish (last regency) | mean regency finish, day | unplaced | machine busy |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |"]
    for scope in ("regency", "province"):
        if not (r := res.get(scope)):
            continue
        name = (f"{'Jombang' if scope == 'regency' else 'Jawa Timur'}: {r['teams']:,} cooperatives, "
                f"{r['participants']:,} people, {r['regencies']} hall(s) of 250, {r['resource_persons']} persons")
        for who in ("planner", "baseline"):
            x = r[who]
            out.append(f"| {name if who == 'planner' else ''} | {who} ({x['runs']} runs) | **{x['median_s']}** "
                       f"({x['min_s']}-{x['max_s']}) | {x['median_cpu_s']} | {x['sessions']} / "
                       f"{x['sessions_lower_bound']} | {x['districts_split']} | "
                       f"{x['shared_sessions_with_non_neighbours']} | {x['finish']} | {x['mean_finish_day']} | "
                       f"{x['unplaced']} | "
                       f"{x['machine_busy_pct_median']} % |")
    if r := res.get("province_replan"):
        out += ["", f"Re-plan of the province after about 1 % changes (late members, withdrawals, late "
                    f"cooperatives, a hall lost for a day in five regencies): median **{r['median_s']} s** "
                    f"(CPU {r['median_cpu_s']} s); {r['moved']} cooperatives moved, "
                    f"{r['moved'] - r['moved_not_touched']} of them among the {r['touched']} the changes touched, "
                    f"{r['moved_not_touched']} others; sessions "
                    f"{r['sessions']}, kecamatan split {r['districts_split']}, finish {r['finish']}, "
                    f"unplaced {r['unplaced']}."]
    out += ["", f"Load average before {res.get('load_start')}, after {res.get('load_end')}.", ""]
    return out
