"""Certificates for their regency's staff: the list, one with its history, and revocation by an
administrator (reason and officer kept in the history, shown on the public verification page)."""
from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from bimtek_shared.contracts.pagination import Page

from ..dependencies import CertificateReader, CertificateRevoker, ServicesFor
from ..pagination import ListQuery, sort_by
from ..schemas.certificates import Certificate, CertificateStatus, CertificateSummary, RevocationIn
from ..schemas.regions import REGENCY_CODE

router = APIRouter(prefix="/api/v1/certificates", tags=["certificates"])


class CertificateListQuery(ListQuery):
    sort: sort_by("issued_at", "number") = "-issued_at"  # type: ignore[valid-type]
    regency: str | None = Field(default=None, pattern=REGENCY_CODE, description="Province administrators only")
    programme_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    cooperative_id: uuid.UUID | None = None
    participant_id: uuid.UUID | None = None
    status: CertificateStatus | None = None


@router.get("", response_model=Page[CertificateSummary], summary="List certificates")
async def list_certificates(query: Annotated[CertificateListQuery, Query()], caller: CertificateReader,
                            services: ServicesFor) -> dict[str, Any]:
    """The caller's regency's certificates (a province administrator's: all, or `?regency=`),
    every version, newest first unless sorted otherwise."""
    return await services.call("certificates", "list_certificate_records", query=query.to_rpc())


@router.get("/{certificate_id}", response_model=Certificate, summary="A certificate with its history")
async def get_certificate(certificate_id: uuid.UUID, caller: CertificateReader,
                          services: ServicesFor) -> dict[str, Any]:
    return await services.call("certificates", "get_certificate", certificate_id=str(certificate_id))


@router.post("/{certificate_id}/revocation", response_model=Certificate, summary="Revoke a certificate")
async def revoke_certificate(certificate_id: uuid.UUID, body: RevocationIn, caller: CertificateRevoker,
                             services: ServicesFor) -> dict[str, Any]:
    """Regency and province administrators; 409 `certificate_not_valid` for one already revoked
    or superseded. Its public address then shows it revoked, with the reason and date
    (`certificate.revoked`)."""
    return await services.call("certificates", "revoke_certificate", certificate_id=str(certificate_id),
                               reason=body.reason)
