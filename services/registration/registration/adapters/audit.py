"""The audit trail of personal data: one row per read or change of it, written in the transaction
of the change itself, and committed before a read's answer leaves (an action that is not recorded
did not happen)."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, select, tuple_
from sqlalchemy.orm import Session

from bimtek_shared.contracts.caller import Caller
from bimtek_shared.contracts.pagination import SortOrder

from .orm import audit_log

_RECORD = insert(audit_log)  # one statement object: compiled once, not built per read


class AuditLog:
    def __init__(self, session: Session) -> None:
        self._session = session

    def record(self, caller: Caller, action: str, *, participant_id: uuid.UUID | None = None,
               regency: str | None = None, purpose: str | None = None,
               details: dict[str, Any] | None = None) -> None:
        """``details`` holds ids and counts only, never what the participant's fields say."""
        self._session.execute(_RECORD, {
            "actor_user": caller.user, "actor_role": caller.role, "action": action, "participant_id": participant_id,
            "regency": regency, "purpose": purpose, "correlation_id": caller.correlation_id, "details": details,
        })

    def list_page(self, *, regency: str | None, participant_id: uuid.UUID | None, action: str | None,
                  order: SortOrder, after: tuple | None, limit: int) -> list[dict[str, Any]]:
        """Records in ``order`` (by time) after the key ``after``; ``regency=None``: every record."""
        query = select(audit_log)
        if regency is not None:
            query = query.where(audit_log.c.regency == regency)
        if participant_id is not None:
            query = query.where(audit_log.c.participant_id == participant_id)
        if action is not None:
            query = query.where(audit_log.c.action == action)
        key = tuple_(audit_log.c.at, audit_log.c.id)
        if after is not None:
            query = query.where(key < after if order.descending else key > after)
        if order.descending:
            query = query.order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
        else:
            query = query.order_by(audit_log.c.at, audit_log.c.id)
        return [dict(row) for row in self._session.execute(query.limit(limit)).mappings()]
