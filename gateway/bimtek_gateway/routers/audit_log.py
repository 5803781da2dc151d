"""The audit trail of personal data: who read or changed whose data, when, and why."""
from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from bimtek_shared.contracts.envelope import REGENCY_CODE_PATTERN
from bimtek_shared.contracts.pagination import Page

from ..dependencies import PersonalDataOfficer, ServicesFor
from ..pagination import ListQuery, sort_by
from ..schemas.participants import AuditAction, AuditRecordOut

router = APIRouter(prefix="/api/v1/audit-log", tags=["audit log"])


class AuditLogQuery(ListQuery):
    sort: sort_by("at") = "-at"  # type: ignore[valid-type]
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN,
                                description="Province administrators: only this regency's records")
    participant_id: uuid.UUID | None = Field(default=None, description="Only the records about this participant")
    action: AuditAction | None = None


@router.get("", response_model=Page[AuditRecordOut], summary="The audit trail of personal data")
async def list_audit_log(query: Annotated[AuditLogQuery, Query()], caller: PersonalDataOfficer,
                         services: ServicesFor) -> dict[str, Any]:
    """Who read or changed participants' personal data, newest first: your regency's records (a
    province administrator: every record). A list request is one record with its size. Records
    hold ids, never a NIK or a name. Follow `next_cursor` until it is null."""
    return await services.call("registration", "list_audit_log", query=query.to_rpc())
