"""Certificates as PDFs: one, a batch for a ZIP archive, or a session's merged printable file.

Nothing is stored: a certificate renders in about 8 ms of one core (bench/), so a regency's
2,448 take some 10 s of two cores and a PDF is made when it is asked for, in ``CpuPool`` worker
processes, in batches. A province's 68,000 would be 3 GB of bytea to keep in step with every
re-issue, revocation and erasure; rendered on demand they always show the certificate as it is.

The gateway streams archives: it pages through ``list_certificates`` and asks for a batch of PDFs
at a time (``render_certificates``), so neither side holds more than a batch. The names a
certificate prints that this service does not own (the cooperative, its desa and kecamatan, the
regency, the venue) are kept from registration's and scheduling's events (``places.py``); the
signatories are configured per regency (``CERTIFICATE_SIGNATORIES``).
"""
from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from bimtek_shared.contracts.caller import Caller, require_role
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.ids import parse_id

from ..adapters.pdf import render_certificates, render_session_document
from ..domain.certificates import CertificateStatus
from ..domain.document import CertificateDocument, Signatory
from .issuing import document_for
from .places import printed_places

if TYPE_CHECKING:
    from .unit_of_work import CertificatesUnitOfWork

STAFF = {"province_admin", "regency_admin", "operator"}
COOPERATIVE_OPERATOR, PARTICIPANT = "cooperative_operator", "participant"
MAX_PAGE, MAX_BATCH = 500, 50
CpuRun = Callable[..., Any]


def parse_signatories(spec: str | None) -> dict[str, tuple[Signatory, ...]]:
    """``CERTIFICATE_SIGNATORIES``: JSON, regency code (or ``*`` for any other) to one to three
    ``{"name", "title", "employee_number"?}``, printed left to right."""
    signatories: dict[str, tuple[Signatory, ...]] = {}
    for regency, people in json.loads(spec or "{}").items():
        if not 1 <= len(people) <= 3:
            raise ValueError(f"CERTIFICATE_SIGNATORIES[{regency!r}]: one to three signatories")
        signatories[regency] = tuple(Signatory(person["name"], person["title"], person.get("employee_number"))
                                     for person in people)
    return signatories


def _require_reader(caller: Caller | None) -> Caller:
    return require_role(caller, STAFF | {COOPERATIVE_OPERATOR, PARTICIPANT})


def _may_read(caller: Caller, row: Mapping[str, Any]) -> bool:
    if caller.role == COOPERATIVE_OPERATOR:
        return caller.cooperative is not None and str(row["cooperative_id"]) == caller.cooperative
    if caller.role == PARTICIPANT:
        return str(row["participant_id"]) == caller.user
    return True  # staff: the query is already limited to their regency


def _printable(row: Mapping[str, Any]) -> bool:
    return row["status"] == CertificateStatus.VALID.value and row["printed_name"] is not None


def list_certificates(uow: CertificatesUnitOfWork, caller: Caller | None, query: Mapping[str, Any]) -> dict[str, Any]:
    """A page of the certificates of one cooperative, one session or just one certificate
    (``after``: the last id of the previous page), printable ones only unless ``printable_only``
    is false. A cooperative operator gets only their own cooperative's, a participant only their
    own; anything else is simply not in the answer."""
    caller = _require_reader(caller)
    scope = {key: parse_id(query[key], "certificate_not_found")
             for key in ("cooperative_id", "session_id", "certificate_id") if query.get(key)}
    if len(scope) != 1:
        raise DomainError("validation_failed")
    if caller.role == COOPERATIVE_OPERATOR:
        own = parse_id(caller.cooperative or "", "certificate_not_found")
        if scope.get("cooperative_id", own) != own:
            return {"items": [], "next_after": None}
        scope["cooperative_id"] = own
    if caller.role == PARTICIPANT:
        scope["participant_id"] = parse_id(caller.user, "certificate_not_found")
    limit = max(1, min(int(query.get("limit") or MAX_PAGE), MAX_PAGE))
    after = parse_id(query["after"], "certificate_not_found") if query.get("after") else None
    with uow:
        rows = uow.downloads.page(regency=caller.regency_scope, **scope,
                                  printable_only=query.get("printable_only", True) is not False,
                                  after=after, limit=limit)
    items = [{"id": str(row["id"]), "number": row["number"],
              "cooperative_id": str(row["cooperative_id"]) if row["cooperative_id"] else None,
              "session_id": str(row["session_id"])} for row in rows]
    return {"items": items, "next_after": items[-1]["id"] if len(items) == limit else None}


def _documents(uow: CertificatesUnitOfWork, rows: list[Mapping[str, Any]],
               signatories: Mapping[str, tuple[Signatory, ...]]) -> list[CertificateDocument]:
    return [document_for(uow, row, places, signatories.get(row["regency"]) or signatories.get("*") or ())
            for row, places in zip(rows, printed_places(uow, rows))]


def render_certificate_files(uow: CertificatesUnitOfWork, caller: Caller | None, cpu_run: CpuRun,
                             signatories: Mapping[str, tuple[Signatory, ...]],
                             certificate_ids: list[str]) -> dict[str, Any]:
    """Up to 50 certificates as PDFs, rendered in one trip to a worker process. Those the caller
    may not read are answered as not found; those not printable (revoked, superseded by a
    re-issue, the person erased) as such, with their status."""
    caller = _require_reader(caller)
    if not 1 <= len(certificate_ids) <= MAX_BATCH:
        raise DomainError("validation_failed")
    ids = [parse_id(cid, "certificate_not_found") for cid in certificate_ids]
    with uow:
        rows = [row for row in uow.downloads.rows(ids, regency=caller.regency_scope) if _may_read(caller, row)]
        printable = [row for row in rows if _printable(row)]
        documents = _documents(uow, printable, signatories)
    pdfs = cpu_run(render_certificates, documents) if documents else []
    answered = {row["id"]: row for row in rows}
    rendered = {row["id"]: pdf for row, pdf in zip(printable, pdfs)}
    files = []
    for cid in ids:
        row = answered.get(cid)
        if row is None:
            files.append({"id": str(cid), "status": "not_found"})
        elif rendered.get(cid) is None:
            files.append({"id": str(cid), "number": row["number"], "status": "not_printable",
                          "certificate_status": "erased" if row["printed_name"] is None else row["status"]})
        else:
            files.append({"id": str(cid), "number": row["number"], "status": "rendered",
                          "content_base64": base64.b64encode(rendered[cid]).decode("ascii")})
    return {"files": files}


def render_session_file(uow: CertificatesUnitOfWork, caller: Caller | None, cpu_run: CpuRun,
                        signatories: Mapping[str, tuple[Signatory, ...]], session_id: str) -> dict[str, Any]:
    """A session's printable certificates in one PDF, a page each, for its regency's staff."""
    caller = require_role(caller, STAFF)
    sid = parse_id(session_id, "certificate_not_found")
    rows: list[dict[str, Any]] = []
    after: uuid.UUID | None = None
    with uow:
        while True:
            page = uow.downloads.page(regency=caller.regency_scope, session_id=sid, after=after, limit=MAX_PAGE)
            rows += uow.downloads.rows([row["id"] for row in page], regency=caller.regency_scope)
            if len(page) < MAX_PAGE:
                break
            after = page[-1]["id"]
        documents = _documents(uow, rows, signatories)
    content = cpu_run(render_session_document, documents)
    return {"pages": len(documents), "content_base64": base64.b64encode(content).decode("ascii")}
