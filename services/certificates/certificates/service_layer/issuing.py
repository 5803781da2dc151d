"""Issuing, re-issuing, revoking and verifying certificates.

Issuing happens in the transaction that records a ``participant.completed``: only a completion
that was new there (``CompletionRepository.add_completions``) gets a certificate, so redeliveries,
duplicate events and concurrent workers issue exactly one per participant and programme (the
unique (participant, programme, version) constraint backs it). The numbers come from a counter
row per regency and year, moved on in the same transaction.
"""
from __future__ import annotations

import secrets
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from bimtek_shared.contracts.caller import Caller, require_caller, require_role
from bimtek_shared.contracts.envelope import new_event
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.ids import parse_id
from bimtek_shared.contracts.pagination import SortOrder, decode_cursor, page_of

from ..adapters.signing import CertificateSigner, Signature, verify_signature
from ..domain.certificates import (
    CertificateFacts, CertificateStatus, build_document, format_number, issue_year, verification_url,
)
from ..domain.document import CertificateDocument, Signatory
from ..domain.model import RosterEntry, RosterStatus
from .places import places_now, printed_places

if TYPE_CHECKING:
    from .unit_of_work import CertificatesUnitOfWork

REVOKERS = {"province_admin", "regency_admin"}
READERS = {"province_admin", "regency_admin", "operator", "trainer"}
SORTS = ("issued_at", "number")
FILTERS = ("programme_id", "session_id", "cooperative_id", "participant_id")


@dataclass(frozen=True)
class Issuing:
    """What issuing needs from the configuration, built once at start-up."""

    signer: CertificateSigner
    number_format: str
    public_base_url: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Issuing":
        return cls(CertificateSigner.from_config(config), config["CERTIFICATE_NUMBER_FORMAT"],
                   config["CERTIFICATE_PUBLIC_BASE_URL"])


def facts_of(row: Mapping[str, Any]) -> CertificateFacts:
    return CertificateFacts(
        number=row["number"], public_id=row["public_id"], version=row["version"],
        participant_id=row["participant_id"], cooperative_id=row["cooperative_id"],
        position_group=row["position_group"], programme_id=row["programme_id"], session_id=row["session_id"],
        regency=row["regency"], programme_title=row["programme_title"], session_days=tuple(row["session_days"]),
        days_attended=row["days_attended"], jp_total=row["jp_total"], issued_at=row["issued_at"])


def _signed_row(uow: CertificatesUnitOfWork, facts: CertificateFacts, **rest: Any) -> dict[str, Any]:
    signature = uow.issuing.signer.sign(facts)
    return {"public_id": facts.public_id, "number": facts.number, "version": facts.version,
            "participant_id": facts.participant_id, "programme_id": facts.programme_id,
            "session_id": facts.session_id, "cooperative_id": facts.cooperative_id,
            "position_group": facts.position_group, "regency": facts.regency,
            "programme_title": facts.programme_title, "session_days": list(facts.session_days),
            "days_attended": facts.days_attended, "jp_total": facts.jp_total, "issued_at": facts.issued_at,
            "key_id": signature.key_id, "signature": signature.value, "status": CertificateStatus.VALID.value,
            **rest}


def _event_payload(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"certificate_id": row["id"], "public_id": row["public_id"], "number": row["number"],
            "version": row["version"], "participant_id": row["participant_id"],
            "programme_id": row["programme_id"], "session_id": row["session_id"], "issued_at": row["issued_at"]}


def issue_for_completions(uow: CertificatesUnitOfWork, completions: list[dict[str, Any]]) -> None:
    """One certificate for each new completion; ``certificate.issued`` for each. A batch costs a
    fixed number of statements, whatever its size.

    Numbers are taken last, a block per (regency, year) in one statement and in key order: the
    counter row is locked from then until commit, so the lock is held briefly and concurrent
    batches take the counters in the same order."""
    if not completions:
        return
    issued_at = datetime.now(timezone.utc)
    year = issue_year(issued_at)
    roster = uow.roster.entries({completion["participant_id"] for completion in completions})
    entries = [roster.get(completion["participant_id"]) for completion in completions]
    places = places_now(uow, [(entry.cooperative_id if entry else None, completion["session_id"])
                              for completion, entry in zip(completions, entries)])
    wanted = Counter(completion["regency"] for completion in completions)
    sequences = {regency: iter(uow.certificates.take_sequences(regency, year, count))
                 for regency, count in sorted(wanted.items())}
    rows, events = [], []
    for completion, entry, known_places in zip(completions, entries, places):
        regency, programme_id = completion["regency"], completion["programme_id"]
        sequence = next(sequences[regency])
        facts = CertificateFacts(
            number=format_number(uow.issuing.number_format, sequence=sequence, regency=regency, year=year),
            public_id=secrets.token_urlsafe(16), version=1, participant_id=completion["participant_id"],
            cooperative_id=entry.cooperative_id if entry else None,
            position_group=entry.position_group if entry else "",
            programme_id=programme_id, session_id=completion["session_id"], regency=regency,
            programme_title=completion["programme_title"], session_days=tuple(completion["session_days"]),
            days_attended=completion["days_attended"], jp_total=completion["jp_total"], issued_at=issued_at)
        # The roster's name may not have arrived yet (events of two producers race): printed empty
        # until a later correction re-issues it.
        row = _signed_row(uow, facts, id=uuid.uuid4(), sequence=sequence, year=year,
                          printed_name=entry.full_name if entry else None,
                          printed_position=entry.position if entry else None, printed_places=known_places)
        rows.append(row)
        events.append((new_event("certificate.issued", _event_payload(row), regency=regency,
                                 correlation_id=uow.correlation_id), row["participant_id"]))
    uow.certificates.add_all(rows, actor=None)
    uow.add_to_outbox(events)


def follow_roster_changes(uow: CertificatesUnitOfWork, participant_ids: set[uuid.UUID]) -> None:
    """After the roster took registration's changes: an erased person's certificates lose their
    personal fields; a valid certificate whose printed name or position is no longer right is
    re-issued (same number, next version, new public id), the old one superseded and linked."""
    erased, others = set(), []
    for participant_id, entry in uow.roster.entries(participant_ids).items():  # one query for the batch
        if entry.status is RosterStatus.ERASED:
            erased.add(participant_id)
        else:
            others.append(entry)
    uow.certificates.withdraw_personal_fields(erased)
    by_participant = {entry.participant_id: entry for entry in others}
    for old in uow.certificates.current_valid(by_participant):
        entry = by_participant[old["participant_id"]]
        if (old["printed_name"], old["printed_position"]) == (entry.full_name, entry.position):
            continue
        reissue(uow, old, entry)


def reissue(uow: CertificatesUnitOfWork, old: Mapping[str, Any], entry: RosterEntry) -> dict[str, Any]:
    """The next version as the roster has the person now (a certificate issued before their
    registration reached certificates gets their name, position and cooperative this way too)."""
    facts = replace(facts_of(old), public_id=secrets.token_urlsafe(16), version=old["version"] + 1,
                    issued_at=datetime.now(timezone.utc), cooperative_id=entry.cooperative_id,
                    position_group=entry.position_group)
    row = _signed_row(uow, facts, id=uuid.uuid4(), sequence=old["sequence"], year=old["year"],
                      printed_name=entry.full_name, printed_position=entry.position, replaces=old["id"],
                      printed_places=places_now(uow, [(facts.cooperative_id, facts.session_id)])[0])
    uow.certificates.add(row, actor=None, action="reissued")
    uow.certificates.supersede(old["id"], by=row["id"])
    uow.certificates.add_history(old["id"], "superseded")
    uow.emit("certificate.reissued", _event_payload(row) | {"replaces": old["id"]}, regency=row["regency"],
             aggregate_id=row["participant_id"])
    return row


def revoke(uow: CertificatesUnitOfWork, caller: Caller | None, certificate_id: str, reason: str) -> dict[str, Any]:
    caller = require_role(caller, REVOKERS)
    cid = parse_id(certificate_id, "certificate_not_found")
    with uow:
        row = uow.certificates.get(cid, regency=caller.regency_scope, for_update=True)
        if row is None:
            raise DomainError("certificate_not_found")
        if row["status"] != CertificateStatus.VALID.value:
            raise DomainError("certificate_not_valid", {"status": row["status"]})
        at = datetime.now(timezone.utc)
        uow.certificates.revoke(cid, reason=reason, actor=caller.user, at=at)
        uow.emit("certificate.revoked", {
            "certificate_id": cid, "public_id": row["public_id"], "number": row["number"],
            "version": row["version"], "participant_id": row["participant_id"],
            "programme_id": row["programme_id"], "revoked_by": caller.user, "revoked_at": at},
            regency=row["regency"], aggregate_id=row["participant_id"])
        uow.commit()
    return _staff_view(uow, cid, caller)


def _staff_view(uow: CertificatesUnitOfWork, cid: uuid.UUID, caller: Caller) -> dict[str, Any]:
    with uow:
        row = uow.certificates.get(cid, regency=caller.regency_scope)
        if row is None:
            raise DomainError("certificate_not_found")
        return _describe(uow, row, with_history=True)


def get_certificate(uow: CertificatesUnitOfWork, caller: Caller | None, certificate_id: str) -> dict[str, Any]:
    caller = require_caller(caller)
    return _staff_view(uow, parse_id(certificate_id, "certificate_not_found"), caller)


def _describe(uow: CertificatesUnitOfWork, row: Mapping[str, Any], *, with_history: bool) -> dict[str, Any]:
    facts = facts_of(row)
    signed = verify_signature(facts, Signature(row["key_id"], row["signature"]), uow.issuing.signer.public_keys)
    superseded_by = uow.certificates.public_id_of(row["superseded_by"]) if row["superseded_by"] else None
    replaces = uow.certificates.public_id_of(row["replaces"]) if row["replaces"] else None
    view = {
        "id": str(row["id"]), "public_id": row["public_id"], "number": row["number"], "version": row["version"],
        "status": row["status"], "participant_id": str(row["participant_id"]),
        "cooperative_id": str(row["cooperative_id"]) if row["cooperative_id"] else None,
        "cooperative_name": printed_places(uow, [row])[0]["cooperative"] or None,
        "full_name": row["printed_name"], "position_group": row["position_group"],
        "position": row["printed_position"], "personal_data_erased": row["printed_name"] is None,
        "programme_id": str(row["programme_id"]), "programme_title": row["programme_title"],
        "session_id": str(row["session_id"]), "regency": row["regency"],
        "session_days": [day.isoformat() for day in row["session_days"]], "days_attended": row["days_attended"],
        "jp_total": row["jp_total"], "issued_at": row["issued_at"].isoformat(),
        "revoked_at": row["revoked_at"].isoformat() if row["revoked_at"] else None,
        "revoked_reason": row["revoked_reason"], "superseded_by": superseded_by, "replaces": replaces,
        "verification_url": verification_url(uow.issuing.public_base_url, row["public_id"]),
        "signature": {"key_id": str(row["key_id"]), "algorithm": "EdDSA", "value": row["signature"],
                      "canonical_data": facts.canonical().decode("utf-8"), "valid": signed},
    }
    if with_history:
        view["history"] = [{**entry, "at": entry["at"].isoformat()} for entry in uow.certificates.history(row["id"])]
    return view


def verify_public(uow: CertificatesUnitOfWork, public_id: str) -> dict[str, Any]:
    """What anyone may see of a certificate by its public id: everything it states but the ids of
    the people who acted on it (and never a NIK, which certificates does not hold)."""
    with uow:
        row = uow.certificates.by_public_id(public_id) if isinstance(public_id, str) and len(public_id) <= 32 \
            else None
        if row is None:
            raise DomainError("certificate_not_found")
        return _describe(uow, row, with_history=False)


def certificate_keys(uow: CertificatesUnitOfWork) -> dict[str, Any]:
    return uow.issuing.signer.jwks()


def document_for(uow: CertificatesUnitOfWork, row: Mapping[str, Any], places: Mapping[str, str] | None = None,
                 signatories: tuple[Signatory, ...] = ()) -> CertificateDocument:
    """The printed document's data of one certificate (for the PDF renderer); ``places`` are the
    names of others it prints (``places.printed_places``, looked up here unless given)."""
    facts = facts_of(row)
    places = places or printed_places(uow, [row])[0]
    return build_document(facts, printed_name=row["printed_name"], printed_position=row["printed_position"],
                          verification_url=verification_url(uow.issuing.public_base_url, row["public_id"]),
                          qr_token=uow.issuing.signer.token(facts), cooperative_name=places["cooperative"],
                          village_name=places["village"], district_name=places["district"],
                          regency_name=places["regency"], venue_name=places["venue"], signatories=signatories)


def list_certificates_page(uow: CertificatesUnitOfWork, caller: Caller | None, query: Mapping[str, Any]
                           ) -> dict[str, Any]:
    """The regency's certificates, every version, a keyset page at a time (``GET /api/v1/certificates``)."""
    caller = require_role(caller, READERS)
    regency = query.get("regency") or caller.regency_scope
    if regency is not None and not caller.may_access(regency):
        raise DomainError("regency_out_of_scope")
    order = SortOrder.parse(query.get("sort") or "-issued_at", list(SORTS))
    key_type = datetime if order.field == "issued_at" else str
    after = decode_cursor(query["cursor"], order, (key_type, uuid.UUID)) if query.get("cursor") else None
    filters: dict[str, Any] = {name: parse_id(query[name], "validation_failed") for name in FILTERS if query.get(name)}
    if query.get("status"):
        filters["status"] = CertificateStatus(query["status"]).value
    limit = int(query.get("limit") or 50)
    with uow:
        rows = uow.certificates.page(regency=regency, filters=filters, sort=order.field,
                                     descending=order.descending, after=after, limit=limit + 1)
    items, next_cursor = page_of(rows, limit, order, lambda row: (row[order.field], row["id"]))
    return {"items": [{"id": str(row["id"]), "public_id": row["public_id"], "number": row["number"],
                       "version": row["version"], "status": row["status"],
                       "participant_id": str(row["participant_id"]), "programme_id": str(row["programme_id"]),
                       "session_id": str(row["session_id"]),
                       "cooperative_id": str(row["cooperative_id"]) if row["cooperative_id"] else None,
                       "regency": row["regency"], "issued_at": row["issued_at"].isoformat()} for row in items],
            "next_cursor": next_cursor, "limit": limit}

