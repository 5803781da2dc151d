from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.engine import Result
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.pagination import SortOrder

from ..domain.model import Participant, ParticipantStatus, PositionGroup
from ..domain.nik import mask_nik
from .nik_protector import NikProtector
from .orm import import_rows, messaging, participants
from .participant_progress import PROGRESS_COLUMNS

# An erased participant's name: empty rather than NULL, so name-ordered pages (keyset on
# (full_name, id)) never meet a NULL; ck_participants_erased holds it to that.
ERASED_NAME = ""
MASK_PREFIX = "*" * 12  # what mask_nik shows today; older rows showed more until resealed

# What responses show of a participant: the NIK only masked.
_VIEW_COLUMNS = (
    participants.c.id, participants.c.regency, participants.c.participant_code,
    participants.c.nik_masked, participants.c.full_name, participants.c.sex,
    participants.c.birth_date, participants.c.phone, participants.c.position, participants.c.position_group,
    participants.c.cooperative_id, participants.c.registered_at, participants.c.status, participants.c.version,
    participants.c.replaces, participants.c.replaced_by, participants.c.withdrawn_at,
    participants.c.withdrawal_reason, participants.c.erased_at, participants.c.updated_at,
)
_ADD = insert(participants).returning(*_VIEW_COLUMNS)  # built once: a registration only binds its values
# A participant by id (with their progress or not, in a regency or any): four statements built
# once, so that a read does not build and key a new one.
_GETS = {
    (with_progress, in_regency): select(*_VIEW_COLUMNS, *(PROGRESS_COLUMNS if with_progress else ())).where(
        participants.c.id == bindparam("id"), *([participants.c.regency == bindparam("regency")] if in_regency else []))
    for with_progress in (False, True) for in_regency in (False, True)
}
# What a participant's own columns hold besides the NIK, for the domain object.
_STATE_COLUMNS = tuple(column for column in _VIEW_COLUMNS if column.name != "nik_masked")


def _refused(exc: IntegrityError, position: str | None) -> DomainError | None:
    """The rule a refused write broke, if it is one of ours."""
    message = str(exc.orig)
    if "nik_lookup" in message:
        return DomainError("participant_already_registered")
    if "uq_participants_single_holder" in message:
        return DomainError("position_taken", {"position": position})
    return None


class ParticipantRepository:
    def __init__(self, session: Session, protector: NikProtector) -> None:
        self._session = session
        self._protector = protector

    # -- writing ----------------------------------------------------------------------------
    def add(self, participant: Participant) -> dict:
        """Store a new participant; returns it as ``get`` shows it."""
        assert participant.nik is not None
        return dict(self._write(_ADD, participant.position, {
            "id": participant.id, "regency": participant.regency, "participant_code": participant.participant_code,
            **self._sealed(participant.nik), "full_name": participant.full_name, "sex": participant.sex,
            "birth_date": participant.birth_date, "phone": participant.phone, "position": participant.position,
            "position_group": _group(participant), "cooperative_id": participant.cooperative_id,
            "registered_at": participant.registered_at, "status": participant.status.value,
            "version": participant.version, "replaces": participant.replaces, "replaced_by": participant.replaced_by,
            "updated_at": participant.updated_at,
        }).mappings().one())

    def save(self, participant: Participant, changed: list[str] | tuple[str, ...] = ()) -> None:
        """Write a participant loaded with ``load(lock=True)``; the NIK is sealed again only when
        ``changed`` names it."""
        values: dict[str, Any] = dict(
            full_name=participant.full_name, sex=participant.sex, birth_date=participant.birth_date,
            phone=participant.phone, position=participant.position, position_group=_group(participant),
            cooperative_id=participant.cooperative_id, status=participant.status.value, version=participant.version,
            replaces=participant.replaces, replaced_by=participant.replaced_by,
            withdrawn_at=participant.withdrawn_at, withdrawal_reason=participant.withdrawal_reason,
            updated_at=participant.updated_at,
        )
        if "nik" in changed:
            assert participant.nik is not None
            values.update(self._sealed(participant.nik))
        self._write(update(participants).where(participants.c.id == participant.id).values(**values),
                    participant.position)

    def erase(self, participant: Participant) -> None:
        """Write an erased participant: its personal fields gone, the NIK's lookup hash with them (so
        the NIK could register again); and its events already published, which held its name."""
        self._session.execute(update(participants).where(participants.c.id == participant.id).values(
            participant_code=None, nik_ciphertext=None, nik_lookup=None, nik_masked=None, full_name=ERASED_NAME,
            sex=None, birth_date=None, phone=None, position=None, position_group=_group(participant),
            status=ParticipantStatus.ERASED.value, version=participant.version, erased_at=participant.erased_at, updated_at=participant.updated_at,
        ))
        # Unpublished ones still have to reach their consumers (the erasure follows them there);
        # the relay's retention deletes them a week after publication.
        outbox = messaging.outbox
        self._session.execute(delete(outbox).where(outbox.c.aggregate_id == str(participant.id),
                                                   outbox.c.published_at.is_not(None)))

    def _sealed(self, nik: str) -> dict[str, Any]:
        return {"nik_ciphertext": self._protector.encrypt(nik), "nik_lookup": self._protector.lookup_hash(nik),
                "nik_masked": mask_nik(nik)}

    def _write(self, statement: Any, position: str | None, values: dict[str, Any] | None = None) -> Result:
        """Execute ``statement``; a rule of ours it breaks is the DomainError saying which. No
        savepoint: a refused write fails its whole use case (an import's row has its own)."""
        try:
            return self._session.execute(statement, values)
        except IntegrityError as exc:
            refused = _refused(exc, position)
            if refused is None:
                raise
            raise refused from None

    # -- rules that span participants ---------------------------------------------------------
    def exists_with_nik(self, nik: str, excluding: uuid.UUID | None = None) -> bool:
        query = select(participants.c.id).where(participants.c.nik_lookup == self._protector.lookup_hash(nik))
        if excluding is not None:
            query = query.where(participants.c.id != excluding)
        return self._session.execute(query).first() is not None

    def holder_of(self, cooperative_id: uuid.UUID, position: str) -> uuid.UUID | None:
        """The active participant of the cooperative holding ``position``, if any (the first, should
        rows from before the unique index hold it twice)."""
        return self._session.execute(
            select(participants.c.id).where(
                participants.c.cooperative_id == cooperative_id, participants.c.position == position,
                participants.c.status == ParticipantStatus.ACTIVE.value,
            ).order_by(participants.c.registered_at).limit(1)
        ).scalar()

    # -- reading ----------------------------------------------------------------------------
    def load(self, participant_id: uuid.UUID, regency: str | None, *, lock: bool = False) -> Participant | None:
        """A participant as the domain works on it, NIK decrypted; ``lock`` holds the row until the
        transaction ends, so changes to one participant are applied one after the other."""
        query = select(*_STATE_COLUMNS, participants.c.nik_ciphertext).where(participants.c.id == participant_id)
        if regency is not None:
            query = query.where(participants.c.regency == regency)
        if lock:
            query = query.with_for_update()
        row = self._session.execute(query).mappings().first()
        if row is None:
            return None
        fields = {name: value for name, value in row.items() if name not in ("nik_ciphertext", "position_group")}
        erased = row["status"] == ParticipantStatus.ERASED.value
        return Participant(
            **fields | {"full_name": None if erased else row["full_name"], "status": ParticipantStatus(row["status"])},
            nik=self._protector.decrypt(row["nik_ciphertext"]) if row["nik_ciphertext"] is not None else None,
            position_group=PositionGroup(row["position_group"]),
        )

    def get(self, participant_id: uuid.UUID, regency: str | None, *, with_progress: bool = False) -> dict | None:
        """A participant as responses show it (NIK masked); ``regency=None`` means any regency.
        ``with_progress``: also their ``sessions`` and ``certificates`` (``participant_progress``)."""
        statement = _GETS[with_progress, regency is not None]
        row = self._session.execute(statement, {"id": participant_id, "regency": regency}).mappings().first()
        return dict(row) if row else None

    def personal_data(self, participant_id: uuid.UUID, regency: str | None) -> dict | None:
        """Everything stored about a person, the NIK in full: for a reveal or a data export only."""
        query = select(*_VIEW_COLUMNS, participants.c.nik_ciphertext).where(participants.c.id == participant_id)
        if regency is not None:
            query = query.where(participants.c.regency == regency)
        row = self._session.execute(query).mappings().first()
        if row is None:
            return None
        data = dict(row)
        sealed = data.pop("nik_ciphertext")
        data["nik"] = self._protector.decrypt(sealed) if sealed is not None else None
        return data

    def find_by_code(self, participant_code: str) -> dict | None:
        """What signing in with a participant code needs, and nothing more; active participants only."""
        row = self._session.execute(
            select(participants.c.id, participants.c.regency, participants.c.cooperative_id,
                   participants.c.birth_date)
            .where(participants.c.participant_code == participant_code,
                   participants.c.status == ParticipantStatus.ACTIVE.value)
        ).mappings().first()
        return dict(row) if row else None

    def list_page(
        self, *, regency: str | None, cooperative_id: uuid.UUID | None, positions: list[str] | None,
        registered_since: datetime | None, registered_until: datetime | None,
        order: SortOrder, after: tuple | None, limit: int, status: str | None = None,
    ) -> list[dict]:
        """Participants in ``order`` after the sort key ``after`` (keyset: the sort indexes of
        migration 0003 serve it), ``None`` filters left out; ``regency=None`` means any regency."""
        sorted_by = participants.c[order.field]
        query = select(*_VIEW_COLUMNS)
        if regency is not None:
            query = query.where(participants.c.regency == regency)
        if cooperative_id is not None:
            query = query.where(participants.c.cooperative_id == cooperative_id)
        if positions is not None:
            query = query.where(participants.c.position.in_(positions))
        if registered_since is not None:
            query = query.where(participants.c.registered_at >= registered_since)
        if registered_until is not None:
            query = query.where(participants.c.registered_at < registered_until)
        if status is not None:
            query = query.where(participants.c.status == status)
        if after is not None:
            key = tuple_(sorted_by, participants.c.id)
            query = query.where(key < after if order.descending else key > after)
        if order.descending:
            query = query.order_by(sorted_by.desc(), participants.c.id.desc())
        else:
            query = query.order_by(sorted_by, participants.c.id)
        return [dict(row) for row in self._session.execute(query.limit(limit)).mappings()]

    # -- key rotation ----------------------------------------------------------------------------
    def sealed_key_counts(self) -> Counter[int]:
        """How many stored NIKs (and pending bulk-registration rows) each key id sealed."""
        counts: Counter[int] = Counter()
        for column in (participants.c.nik_ciphertext, import_rows.c.sealed_row):
            rows = self._session.execute(
                select(func.get_byte(column, 0), func.count()).where(column.is_not(None)).group_by(func.get_byte(column, 0)))
            for key_id, count in rows:
                counts[key_id] += count
        return counts

    def reseal_batch(self, limit: int) -> int:
        """Seal up to ``limit`` NIKs again under the active key (and show them masked as today);
        returns how many. Rows another transaction holds are skipped, so rotation can run beside
        the service and its batches stay short."""
        active = self._protector.active_key_id
        stale = or_(func.get_byte(participants.c.nik_ciphertext, 0) != active,
                    participants.c.nik_masked.not_like(MASK_PREFIX + "%"))
        rows = self._session.execute(
            select(participants.c.id, participants.c.nik_ciphertext)
            .where(participants.c.nik_ciphertext.is_not(None), stale)
            .order_by(participants.c.id).limit(limit).with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            nik = self._protector.decrypt(row.nik_ciphertext)
            self._session.execute(update(participants).where(participants.c.id == row.id).values(
                nik_ciphertext=self._protector.encrypt(nik), nik_masked=mask_nik(nik)))
        pending = self._session.execute(
            select(import_rows.c.job_id, import_rows.c.row_number, import_rows.c.sealed_row)
            .where(import_rows.c.sealed_row.is_not(None), func.get_byte(import_rows.c.sealed_row, 0) != active)
            .limit(max(limit - len(rows), 0)).with_for_update(skip_locked=True)
        ).all()
        for row in pending:
            self._session.execute(update(import_rows).where(
                import_rows.c.job_id == row.job_id, import_rows.c.row_number == row.row_number,
            ).values(sealed_row=self._protector.reseal(row.sealed_row)))
        return len(rows) + len(pending)


def _group(participant: Participant) -> str:
    assert participant.position_group is not None
    return participant.position_group.value
