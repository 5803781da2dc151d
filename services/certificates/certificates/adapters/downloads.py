"""What downloads read: the certificates of a cooperative, a session or a participant, page by page."""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.certificates import CertificateStatus
from .orm import certificates


class DownloadQueries:
    def __init__(self, session: Session) -> None:
        self._session = session

    def page(self, *, regency: str | None, cooperative_id: uuid.UUID | None = None,
             session_id: uuid.UUID | None = None, participant_id: uuid.UUID | None = None,
             certificate_id: uuid.UUID | None = None, printable_only: bool = True,
             after: uuid.UUID | None = None, limit: int) -> list[dict[str, Any]]:
        """Certificates in id order after ``after``; only printable ones (valid, the person not
        erased) unless told otherwise."""
        query = (select(certificates.c.id, certificates.c.number, certificates.c.cooperative_id,
                        certificates.c.session_id).order_by(certificates.c.id).limit(limit))
        if printable_only:
            query = query.where(certificates.c.status == CertificateStatus.VALID.value,
                                certificates.c.printed_name.is_not(None))
        for column, value in ((certificates.c.regency, regency), (certificates.c.cooperative_id, cooperative_id),
                              (certificates.c.session_id, session_id),
                              (certificates.c.participant_id, participant_id), (certificates.c.id, certificate_id)):
            if value is not None:
                query = query.where(column == value)
        if after is not None:
            query = query.where(certificates.c.id > after)
        return [dict(row) for row in self._session.execute(query).mappings()]

    def rows(self, ids: Iterable[uuid.UUID], *, regency: str | None) -> list[dict[str, Any]]:
        """Those of ``ids`` the regency holds, whatever their status, in the order asked."""
        wanted = list(ids)
        query = select(certificates).where(certificates.c.id.in_(wanted))
        if regency is not None:
            query = query.where(certificates.c.regency == regency)
        found = {row["id"]: dict(row) for row in self._session.execute(query).mappings()}
        return [found[cid] for cid in wanted if cid in found]
