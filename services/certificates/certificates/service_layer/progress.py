"""Training progress as certificates counts it, per regency and per kecamatan: certificates
issued (valid now), revoked, re-issued, and completions awaiting their certificate. Also the
progress gauges from the same counts."""
from __future__ import annotations

from typing import Any

from bimtek_shared.contracts.caller import Caller, require_role
from bimtek_shared.contracts.progress import FIGURES, READERS, scope_of, tally, units_of
from bimtek_shared.observability import metrics

from .unit_of_work import CertificatesUnitOfWork

SERVICE = "certificates"


def get_progress(uow: CertificatesUnitOfWork, caller: Caller | None, regency: str | None) -> dict[str, Any]:
    scope = scope_of(require_role(caller, READERS), regency)
    with uow:
        return {"service": SERVICE, "regency": scope, "regencies": count_progress(uow, scope)}


def refresh_progress_gauges(uow: CertificatesUnitOfWork) -> None:
    with uow:
        regencies = count_progress(uow, None)
    metrics.set_progress(SERVICE, regencies)


def count_progress(uow: CertificatesUnitOfWork, regency: str | None) -> list[dict[str, Any]]:
    figures = uow.progress.certificate_figures(regency)
    districts = uow.progress.cooperative_districts(regency)
    regencies = [regency] if regency else uow.progress.known_regencies()
    return tally(units_of(figures, districts), FIGURES[SERVICE], regencies)
