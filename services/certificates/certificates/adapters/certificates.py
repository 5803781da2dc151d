"""Certificates, their number counters and their history, in PostgreSQL."""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ..domain.certificates import CertificateStatus
from .orm import certificate_counters, certificate_history, certificates


class CertificateRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def take_sequences(self, regency: str, year: int, count: int) -> range:
        """The next ``count`` numbers of a (regency, year), in this transaction: one statement creates
        the counter row or moves it on by ``count`` (``... RETURNING``). The row stays locked until
        commit, so two issuers take turns and a rolled-back issue gives its numbers back."""
        statement = insert(certificate_counters).values(regency=regency, year=year, last_sequence=count)
        statement = statement.on_conflict_do_update(
            index_elements=[certificate_counters.c.regency, certificate_counters.c.year],
            set_={"last_sequence": certificate_counters.c.last_sequence + count},
        ).returning(certificate_counters.c.last_sequence)
        last = self._session.execute(statement).scalar_one()
        return range(last - count + 1, last + 1)

    def add(self, row: dict[str, Any], *, actor: str | None, action: str = "issued") -> None:
        self.add_all([row], actor=actor, action=action)

    def add_all(self, rows: list[dict[str, Any]], *, actor: str | None, action: str = "issued") -> None:
        """New certificates and the history line of each, in two statements."""
        if not rows:
            return
        self._session.execute(insert(certificates), rows)
        self._session.execute(insert(certificate_history), [
            {"certificate_id": row["id"], "action": action, "actor": actor, "reason": None} for row in rows])

    def add_history(self, certificate_id: uuid.UUID, action: str, *, actor: str | None = None,
                    reason: str | None = None) -> None:
        self._session.execute(insert(certificate_history), [
            {"certificate_id": certificate_id, "action": action, "actor": actor, "reason": reason}])

    def by_public_id(self, public_id: str) -> dict[str, Any] | None:
        query = select(certificates).where(certificates.c.public_id == public_id)
        row = self._session.execute(query).mappings().first()
        return dict(row) if row else None

    def get(self, certificate_id: uuid.UUID, regency: str | None, *, for_update: bool = False) -> dict[str, Any] | None:
        query = select(certificates).where(certificates.c.id == certificate_id)
        if regency is not None:
            query = query.where(certificates.c.regency == regency)
        if for_update:
            query = query.with_for_update()
        row = self._session.execute(query).mappings().first()
        return dict(row) if row else None

    def public_id_of(self, certificate_id: uuid.UUID) -> str | None:
        return self._session.execute(
            select(certificates.c.public_id).where(certificates.c.id == certificate_id)).scalar_one_or_none()

    def current_valid(self, participant_ids: Iterable[uuid.UUID]) -> list[dict[str, Any]]:
        """Each participant's valid certificates, locked for this transaction (a re-issue replaces them)."""
        ids = list(participant_ids)
        if not ids:
            return []
        query = select(certificates).where(certificates.c.participant_id.in_(ids),
                                           certificates.c.status == CertificateStatus.VALID.value)
        return [dict(row) for row in self._session.execute(query.with_for_update()).mappings()]

    def supersede(self, certificate_id: uuid.UUID, by: uuid.UUID) -> None:
        self._session.execute(update(certificates).where(certificates.c.id == certificate_id).values(
            status=CertificateStatus.SUPERSEDED.value, superseded_by=by))

    def revoke(self, certificate_id: uuid.UUID, *, reason: str, actor: str, at: datetime) -> None:
        self._session.execute(update(certificates).where(certificates.c.id == certificate_id).values(
            status=CertificateStatus.REVOKED.value, revoked_at=at, revoked_reason=reason, revoked_by=actor))
        self.add_history(certificate_id, "revoked", actor=actor, reason=reason)

    def withdraw_personal_fields(self, participant_ids: Iterable[uuid.UUID]) -> None:
        """An erased person's certificates keep verifying, without their name and position."""
        ids = list(participant_ids)
        if ids:
            erased = self._session.execute(
                update(certificates).where(certificates.c.participant_id.in_(ids),
                                           certificates.c.printed_name.is_not(None))
                .values(printed_name=None, printed_position=None).returning(certificates.c.id)).scalars().all()
            for certificate_id in erased:
                self.add_history(certificate_id, "personal_data_erased")

    def history(self, certificate_id: uuid.UUID) -> list[dict[str, Any]]:
        query = select(certificate_history.c.action, certificate_history.c.actor, certificate_history.c.reason,
                       certificate_history.c.at).where(certificate_history.c.certificate_id == certificate_id)
        return [dict(row) for row in self._session.execute(query.order_by(certificate_history.c.id)).mappings()]

    def page(self, *, regency: str | None, filters: dict[str, Any], sort: str, descending: bool,
             after: tuple | None, limit: int) -> list[dict[str, Any]]:
        """A keyset page (never OFFSET) sorted by ``sort`` then id; ``filters`` are column values."""
        sorted_by = certificates.c[sort]
        query = select(certificates.c.id, certificates.c.public_id, certificates.c.number, certificates.c.version,
                       certificates.c.status, certificates.c.participant_id, certificates.c.programme_id,
                       certificates.c.session_id, certificates.c.cooperative_id, certificates.c.regency,
                       certificates.c.issued_at)
        if regency is not None:
            query = query.where(certificates.c.regency == regency)
        for column, value in filters.items():
            query = query.where(certificates.c[column] == value)
        if after is not None:
            key = tuple_(sorted_by, certificates.c.id)
            query = query.where(key < after if descending else key > after)
        query = query.order_by(sorted_by.desc(), certificates.c.id.desc()) if descending \
            else query.order_by(sorted_by, certificates.c.id)
        return [dict(row) for row in self._session.execute(query.limit(limit)).mappings()]
