"""Training progress in the certificates database: per (regency, cooperative), certificates valid
now, revoked and superseded by a re-issue, and completions still without a certificate; and each
cooperative's kecamatan."""
from __future__ import annotations

import uuid

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from ..domain.certificates import CertificateStatus
from .orm import certificates, completions, cooperatives, roster

CooperativeFigures = dict[tuple[str, uuid.UUID | None], dict[str, int]]
_BY_STATUS = {CertificateStatus.VALID.value: "certificates_issued",
              CertificateStatus.REVOKED.value: "certificates_revoked",
              CertificateStatus.SUPERSEDED.value: "certificates_reissued"}


class ProgressRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def certificate_figures(self, regency: str | None) -> CooperativeFigures:
        """Every version counts once under its status (the certificate list with ``status=``): a
        re-issue leaves one superseded version behind, so superseded versions count re-issues."""
        figures: CooperativeFigures = {}
        query = (select(certificates.c.regency, certificates.c.cooperative_id, certificates.c.status, func.count())
                 .group_by(certificates.c.regency, certificates.c.cooperative_id, certificates.c.status))
        if regency is not None:
            query = query.where(certificates.c.regency == regency)
        for their_regency, cooperative, status, count in self._session.execute(query):
            figures.setdefault((their_regency, cooperative), {})[_BY_STATUS[status]] = count
        # Completions with no certificate (any version) yet, under the cooperative on the roster.
        waiting = (select(completions.c.regency, roster.c.cooperative_id, func.count())
                   .select_from(completions.outerjoin(roster, roster.c.participant_id == completions.c.participant_id)
                                .outerjoin(certificates, and_(
                                    certificates.c.participant_id == completions.c.participant_id,
                                    certificates.c.programme_id == completions.c.programme_id)))
                   .where(certificates.c.id.is_(None))
                   .group_by(completions.c.regency, roster.c.cooperative_id))
        if regency is not None:
            waiting = waiting.where(completions.c.regency == regency)
        for their_regency, cooperative, count in self._session.execute(waiting):
            figures.setdefault((their_regency, cooperative), {})["certificates_awaiting_issue"] = count
        return figures

    def known_regencies(self) -> list[str]:
        """Every regency with a participant known here: its gauges read 0 rather than nothing."""
        return list(self._session.execute(select(roster.c.regency).distinct()).scalars())

    def cooperative_districts(self, regency: str | None) -> dict[uuid.UUID, list[str]]:
        query = select(cooperatives.c.cooperative_id, cooperatives.c.districts)
        if regency is not None:
            query = query.where(cooperatives.c.regency == regency)
        return {cid: list(codes or ()) for cid, codes in self._session.execute(query)}
