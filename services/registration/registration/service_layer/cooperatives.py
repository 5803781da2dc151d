"""Use cases of cooperatives: register and change one, read one with its team, list them, and
count them per kecamatan.

Who may do what: writers register and change cooperatives of their regency (a province
administrator: of any regency); readers also see them; a cooperative operator sees only its own
cooperative, and no statistics. The gateway checks roles too; the service does not rely on it.
"""
from __future__ import annotations

import functools
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from bimtek_shared.contracts.caller import Caller, require_role
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.events import CooperativeRegisteredV1, CooperativeUpdatedV1
from bimtek_shared.contracts.ids import parse_id
from bimtek_shared.contracts.pagination import SortOrder, decode_cursor, page_of

from ..domain import cooperatives as domain
from .access import COOPERATIVE_OPERATOR, cooperative_of
from .commands import CooperativeChanges, CooperativeStatistics, ListCooperatives, RegisterCooperative
from .unit_of_work import RegistrationUnitOfWork

WRITERS = frozenset({"province_admin", "regency_admin", "operator"})
READERS = WRITERS | {"trainer"}
COOPERATIVE_SORTS: dict[str, type] = {"name": str, "created_at": datetime}
COOPERATIVE_DEFAULT_SORT = "name"
# Rows read per round while filtering a page on team completeness (computed, not stored).
TEAM_FILTER_BATCH = 200


def register_cooperative(uow: RegistrationUnitOfWork, caller: Caller | None,
                         command: RegisterCooperative) -> dict[str, Any]:
    caller = require_role(caller, WRITERS)
    if not caller.may_access(command.regency):
        raise DomainError("regency_out_of_scope")
    with uow:
        known = uow.cooperatives.find_villages(command.villages)
        cooperative = domain.register_cooperative(known_villages=known, **command.model_dump(),
                                                  id=caller.new_id("cooperative"))
        earlier = uow.cooperatives.get(cooperative.id, caller.regency_scope)
        if earlier is not None:  # a retry of a registration that committed (see Caller.new_id)
            return _detail(uow, earlier, caller.language)
        _refuse_taken(uow, cooperative)
        uow.cooperatives.add(cooperative, known)
        uow.emit(
            "cooperative.registered",
            CooperativeRegisteredV1(
                cooperative_id=cooperative.id, name=cooperative.name, villages=cooperative.villages,
                districts=cooperative.districts(known), version=cooperative.version,
                registered_at=cooperative.created_at,
                **uow.cooperatives.place_names([cooperative], known)[cooperative.id],
            ),
            regency=cooperative.regency,
            aggregate_id=cooperative.id,
        )
        uow.commit()
        return _detail(uow, cooperative, caller.language)


def update_cooperative(uow: RegistrationUnitOfWork, caller: Caller | None, cooperative_id: str,
                       changes: CooperativeChanges) -> dict[str, Any]:
    caller = require_role(caller, WRITERS)
    cid = parse_id(cooperative_id, "cooperative_not_found")
    wanted = changes.model_dump(include=changes.model_fields_set)
    with uow:
        cooperative = uow.cooperatives.get(cid, caller.regency_scope, lock=True)
        if cooperative is None:
            raise DomainError("cooperative_not_found")
        known = uow.cooperatives.find_villages({*cooperative.villages, *(wanted.get("villages") or ())})
        changed = domain.change_cooperative(cooperative, wanted, known)
        if changed:
            if "villages" in changed:
                _refuse_taken(uow, cooperative)
            uow.cooperatives.save(cooperative, changed, known)
            uow.emit(
                "cooperative.updated",
                CooperativeUpdatedV1(
                    cooperative_id=cooperative.id, name=cooperative.name, villages=cooperative.villages,
                    districts=cooperative.districts(known), version=cooperative.version, changed=changed,
                    updated_at=cooperative.updated_at,
                    **uow.cooperatives.place_names([cooperative], known)[cooperative.id],
                ),
                regency=cooperative.regency,
                aggregate_id=cooperative.id,
            )
            uow.commit()
        return _detail(uow, cooperative, caller.language)


def get_cooperative(uow: RegistrationUnitOfWork, caller: Caller | None, cooperative_id: str) -> dict[str, Any]:
    """A cooperative with its villages and its team: positions held, counts and whether complete."""
    caller = _require_reader(caller)
    cid = parse_id(cooperative_id, "cooperative_not_found")
    own = cooperative_of(caller)
    with uow:
        cooperative = uow.cooperatives.get(cid, caller.regency_scope)
        # The same answer for "not there", "another regency's" and "not yours": existence is not disclosed.
        if cooperative is None or own not in (None, cid):
            raise DomainError("cooperative_not_found")
        return _detail(uow, cooperative, caller.language)


def list_cooperatives(uow: RegistrationUnitOfWork, caller: Caller | None, query: ListCooperatives) -> dict[str, Any]:
    """A page of the cooperatives the caller may see, by name unless asked otherwise; filtered by
    kecamatan (those serving a village there) and by whether their team is complete."""
    caller = _require_reader(caller)
    if query.regency is not None and not caller.may_access(query.regency):
        raise DomainError("regency_out_of_scope")
    order = SortOrder.parse(query.sort or COOPERATIVE_DEFAULT_SORT, list(COOPERATIVE_SORTS))
    after = None
    if query.cursor is not None:
        after = decode_cursor(query.cursor, order, (COOPERATIVE_SORTS[order.field], uuid.UUID))
    wanted = query.limit + 1  # one more tells whether another page follows
    # Completeness is computed from the team (the rule lives in the domain, once), so a filtered
    # page reads on in batches until it is full or the rows run out.
    batch = wanted if query.team_complete is None else max(wanted, TEAM_FILTER_BATCH)
    kept: list[tuple[dict[str, Any], domain.TeamStatus]] = []
    with uow:
        while len(kept) < wanted:
            rows = uow.cooperatives.list_page(
                regency=query.regency or caller.regency_scope, district=query.district,
                only=cooperative_of(caller), order=order, after=after, limit=batch,
            )
            held = uow.cooperatives.positions_held([row["id"] for row in rows])
            for row in rows:
                status = domain.team_status(held[row["id"]])
                if query.team_complete in (None, status.complete):
                    kept.append((row, status))
            if len(rows) < batch:
                break
            after = (rows[-1][order.field], rows[-1]["id"])
        kept = kept[:wanted]
        villages = uow.cooperatives.villages_of([row["id"] for row, _ in kept])
        known = uow.cooperatives.find_villages({code for codes in villages.values() for code in codes})
    items, next_cursor = page_of(kept, query.limit, order, lambda item: (item[0][order.field], item[0]["id"]))
    return {
        "items": [_summary(row, villages[row["id"]], known, status, caller.language) for row, status in items],
        "next_cursor": next_cursor,
        "limit": query.limit,
    }


def cooperative_statistics(uow: RegistrationUnitOfWork, caller: Caller | None,
                           query: CooperativeStatistics) -> dict[str, Any]:
    """Per kecamatan of a regency: its villages, how many have a cooperative, the cooperatives
    serving them and how many of those have a complete team, and their participants; and the
    regency's totals.

    A cooperative serving villages in two kecamatan counts in both (with all its participants);
    the regency's totals count every cooperative and participant once.
    """
    caller = require_role(caller, READERS)
    regency = query.regency or caller.regency_scope
    if regency is None:
        raise DomainError("validation_failed", {"errors": [
            {"field": "regency", "message": "required for province administrators"}]})
    if not caller.may_access(regency):
        raise DomainError("regency_out_of_scope")
    with uow:
        if not uow.cooperatives.regency_exists(regency):
            raise DomainError("region_not_found")
        district_rows = uow.cooperatives.districts_of(regency)
        served = uow.cooperatives.served_villages(regency)
        cooperative_ids = {row["cooperative_id"] for row in served}
        held, participants = uow.cooperatives.regency_teams(regency)
    complete = {cid for cid in cooperative_ids if _complete(held.get(cid, ()))}
    villages_served: Counter[str] = Counter(row["district_code"] for row in served)
    serving: dict[str, set[uuid.UUID]] = {}
    for row in served:
        serving.setdefault(row["district_code"], set()).add(row["cooperative_id"])

    def counts(cooperatives: set[uuid.UUID]) -> dict[str, int]:
        return {
            "cooperatives": len(cooperatives),
            "cooperatives_with_complete_team": len(cooperatives & complete),
            "participants": sum(participants[cid] for cid in cooperatives),
        }

    per_district = [
        {"code": row["code"], "name": row["name"], "villages": row["villages"],
         "villages_with_cooperative": villages_served[row["code"]], **counts(serving.get(row["code"], set()))}
        for row in district_rows
    ]
    totals = {
        "villages": sum(row["villages"] for row in district_rows),
        "villages_with_cooperative": len(served),
        **counts(cooperative_ids),
        "participants_without_cooperative": participants[None],
    }
    return {"regency": regency, "districts": per_district, "totals": totals}


# -- rules shared by the use cases ----------------------------------------------------------------
@functools.lru_cache(maxsize=1024)
def _complete(team: domain.TeamComposition) -> bool:
    """Whether a team of this composition is complete: judged once per composition, as most
    teams of a regency hold the same positions."""
    return domain.team_status(dict(team)).complete


def _require_reader(caller: Caller | None) -> Caller:
    return require_role(caller, READERS | {COOPERATIVE_OPERATOR})


def _refuse_taken(uow: RegistrationUnitOfWork, cooperative: domain.Cooperative) -> None:
    taken = uow.cooperatives.served_by_others(cooperative.villages, cooperative.id)
    if taken:
        raise DomainError("village_taken", {"village": taken[0]})


# -- views ------------------------------------------------------------------------------------------
def _detail(uow: RegistrationUnitOfWork, cooperative: domain.Cooperative, language: str) -> dict[str, Any]:
    """A cooperative as one is shown: with its contact and its team position by position."""
    known = uow.cooperatives.find_villages(cooperative.villages)
    status = domain.team_status(uow.cooperatives.positions_held([cooperative.id])[cooperative.id])
    row = {"id": cooperative.id, "regency": cooperative.regency, "name": cooperative.name,
           "legal_entity_number": cooperative.legal_entity_number, "version": cooperative.version,
           "created_at": cooperative.created_at, "updated_at": cooperative.updated_at}
    view = _summary(row, cooperative.villages, known, status, language)
    view["contact_phone"] = cooperative.contact_phone
    view["contact_email"] = cooperative.contact_email
    view["team"]["positions"] = status.positions
    return view


def _summary(row: dict[str, Any], village_codes: list[str], known: dict[str, domain.Village],
             status: domain.TeamStatus, language: str) -> dict[str, Any]:
    """A cooperative in a list: no contact, and its team as counts and reasons."""
    served = [known[code] for code in village_codes]
    return {
        "id": str(row["id"]),
        "regency": row["regency"],
        "name": row["name"],
        "villages": [{"code": v.code, "name": v.name, "kind": v.kind, "district": v.district} for v in served],
        "districts": sorted({v.district for v in served}),
        "legal_entity_number": row["legal_entity_number"],
        "version": row["version"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
        "team": {
            "complete": status.complete,
            "pengurus": status.pengurus,
            "pengawas": status.pengawas,
            "reasons": [reason.to_dict(language) for reason in status.reasons],
        },
    }
