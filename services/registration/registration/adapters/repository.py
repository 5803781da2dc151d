from __future__ import annotations

import uuid

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bimtek_shared.contracts.errors import DomainError

from ..domain.model import Participant
from ..domain.nik import mask_nik
from .nik_protector import NikProtector
from .orm import participants


class ParticipantRepository:
    def __init__(self, session: Session, protector: NikProtector) -> None:
        self._session = session
        self._protector = protector

    def add(self, participant: Participant) -> None:
        try:
            with self._session.begin_nested():
                self._session.execute(
                    insert(participants).values(
                        id=participant.id,
                        regency=participant.regency,
                        participant_code=participant.participant_code,
                        nik_ciphertext=self._protector.encrypt(participant.nik),
                        nik_lookup=self._protector.lookup_hash(participant.nik),
                        nik_masked=mask_nik(participant.nik),
                        full_name=participant.full_name,
                        sex=participant.sex,
                        birth_date=participant.birth_date,
                        phone=participant.phone,
                        position=participant.position,
                        cooperative_id=participant.cooperative_id,
                        registered_at=participant.registered_at,
                    )
                )
        except IntegrityError as exc:
            if "nik_lookup" in str(exc.orig):
                raise DomainError("participant_already_registered") from None
            raise

    def exists_with_nik(self, nik: str) -> bool:
        lookup = self._protector.lookup_hash(nik)
        return self._session.execute(
            select(participants.c.id).where(participants.c.nik_lookup == lookup)
        ).first() is not None

    def get(self, participant_id: uuid.UUID, regency: str | None) -> dict | None:
        """A participant as responses show it (NIK masked); ``regency=None`` means any regency."""
        query = select(
            participants.c.id, participants.c.regency, participants.c.participant_code,
            participants.c.nik_masked, participants.c.full_name, participants.c.sex,
            participants.c.birth_date, participants.c.phone, participants.c.position,
            participants.c.cooperative_id, participants.c.registered_at,
        ).where(participants.c.id == participant_id)
        if regency is not None:
            query = query.where(participants.c.regency == regency)
        row = self._session.execute(query).mappings().first()
        return dict(row) if row else None
