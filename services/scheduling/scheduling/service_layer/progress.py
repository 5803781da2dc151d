"""Training progress as scheduling counts it, per regency and per kecamatan: participants
scheduled (seated in a published plan), checked in (present on at least one day) and completed;
and the sessions still to come. Also the progress gauges from the same counts."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bimtek_shared.contracts.caller import Caller, require_role
from bimtek_shared.contracts.progress import FIGURES, READERS, scope_of, tally, units_of
from bimtek_shared.observability import metrics

from .unit_of_work import SchedulingUnitOfWork

SERVICE = "scheduling"
JAKARTA = ZoneInfo("Asia/Jakarta")
UPCOMING_SESSIONS = 20  # shown on the dashboard: the soonest ones


def get_progress(uow: SchedulingUnitOfWork, caller: Caller | None, regency: str | None) -> dict[str, Any]:
    scope = scope_of(require_role(caller, READERS), regency)
    today = datetime.now(JAKARTA).date()
    with uow:
        regencies = count_progress(uow, scope)
        upcoming = uow.progress.sessions_from(scope, today, UPCOMING_SESSIONS)
    return {"service": SERVICE, "regency": scope, "regencies": regencies, "upcoming_sessions": [{
        "id": str(row["id"]), "regency": row["regency"], "number": row["number"],
        "days": [day.isoformat() for day in row["days"]], "venue": row["venue"], "capacity": row["capacity"],
        "seats_taken": row["participants"], "districts": row["districts"]} for row in upcoming]}


def refresh_progress_gauges(uow: SchedulingUnitOfWork) -> None:
    with uow:
        regencies = count_progress(uow, None)
    metrics.set_progress(SERVICE, regencies)


def count_progress(uow: SchedulingUnitOfWork, regency: str | None) -> list[dict[str, Any]]:
    figures = uow.progress.participant_figures(regency)
    districts = uow.progress.cooperative_districts(regency)
    regencies = [regency] if regency else uow.progress.known_regencies()
    return tally(units_of(figures, districts), FIGURES[SERVICE], regencies)
