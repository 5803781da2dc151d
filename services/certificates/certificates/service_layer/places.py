"""The names of others a certificate prints (the cooperative, its desa, kecamatan and regency, the
venue), kept from registration's cooperative events and scheduling's session events, so that
printing needs no other service and no borrowed identity.

A certificate keeps the names it was issued with (``printed_places``): a cooperative renamed
afterwards does not change a certificate already issued; a re-issue (a corrected name or
position) prints the names as they are then. A name not known at issuance (its event had not
arrived yet, or was older than the field) is printed as known when the document is made.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from bimtek_shared.contracts import versions
from bimtek_shared.contracts.envelope import EventEnvelope
from bimtek_shared.contracts.events import CooperativeRegisteredV1, CooperativeUpdatedV1
from bimtek_shared.persistence.unit_of_work import apply_once

if TYPE_CHECKING:
    from .unit_of_work import CertificatesUnitOfWork

PLACES = ("cooperative", "village", "district", "regency", "venue")
_COOPERATIVE_PAYLOADS = {"cooperative.registered": CooperativeRegisteredV1,
                         "cooperative.updated": CooperativeUpdatedV1}


def cooperative_row(event: EventEnvelope) -> dict[str, Any]:
    """What certificates keeps of a cooperative event: the desa printed is its first village's."""
    payload = _COOPERATIVE_PAYLOADS[event.type].model_validate(event.payload)
    first_village = payload.villages[0]
    return {"cooperative_id": payload.cooperative_id, "regency": event.regency, "name": payload.name,
            "village_name": (payload.village_names or {}).get(first_village),
            "district_name": (payload.district_names or {}).get(first_village.rsplit(".", 1)[0]),
            "regency_name": payload.regency_name, "districts": payload.districts, "version": payload.version}


def record_cooperatives(uow: CertificatesUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    """From ``cooperative.registered`` and ``cooperative.updated`` alike; the newest version wins,
    whatever order the events arrive in. Returns how many events were new."""

    def keep(uow: CertificatesUnitOfWork, fresh: list[EventEnvelope]) -> None:
        uow.places.keep_cooperatives(versions.newest(map(cooperative_row, fresh), key=itemgetter("cooperative_id"),
                                                     version=itemgetter("version")))

    return apply_once(uow, events, consumer, keep)


def places_now(uow: CertificatesUnitOfWork, certificates: list[tuple[uuid.UUID | None, uuid.UUID]]
               ) -> list[dict[str, str]]:
    """For each (cooperative, session) of certificates being issued: the names known now, those not
    known left out (for ``printed_places``). Two queries for the whole batch."""
    cooperatives = uow.places.cooperatives({cooperative for cooperative, _ in certificates if cooperative})
    venues = uow.places.venues({session for _, session in certificates})
    answers = []
    for cooperative, session in certificates:
        known: dict[str, str | None] = {**cooperatives.get(cooperative, {}), "venue": venues.get(session)}
        answers.append({place: name for place, name in known.items() if name})
    return answers


def printed_places(uow: CertificatesUnitOfWork, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """For each certificate row: the names it was issued with, any missing one as known now ("" if
    still unknown)."""
    rows = list(rows)
    cooperatives = uow.places.cooperatives({row["cooperative_id"] for row in rows if row["cooperative_id"]})
    venues = uow.places.venues({row["session_id"] for row in rows})
    answers = []
    for row in rows:
        now: dict[str, str | None] = {**cooperatives.get(row["cooperative_id"], {}),
                                      "venue": venues.get(row["session_id"])}
        issued = row.get("printed_places") or {}
        answers.append({place: issued.get(place) or now.get(place) or "" for place in PLACES})
    return answers
