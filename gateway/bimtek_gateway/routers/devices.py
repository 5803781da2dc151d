"""Device tokens for check-in phones: issued by a regency's administrators or operators, listed,
revoked at once. The token itself is shown once, when issued, and stored only as a digest."""
from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import Field
from sqlalchemy import select

from bimtek_shared.contracts.envelope import REGENCY_CODE_PATTERN

from .. import device_tokens
from ..db import device_tokens as table
from ..dependencies import DeviceTokenIssuer, Sessions, target_regency
from ..device_tokens import DeviceScope, today_in_jakarta
from ..keyset import Page, oldest_first, page_from
from ..pagination import ListQuery
from ..problems import Problem
from ..schemas.devices import DeviceTokenIn, DeviceTokenOut, IssuedDeviceToken

router = APIRouter(prefix="/api/v1/device-tokens", tags=["device tokens"])

LISTED_COLUMNS = (table.c.id, table.c.label, table.c.regency, table.c.venue_id, table.c.session_id,
                  table.c.valid_from, table.c.valid_until, table.c.issued_by, table.c.issued_at,
                  table.c.revoked_at, table.c.last_used_at)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=IssuedDeviceToken,
             summary="Issue a device token for a check-in phone")
async def issue(body: DeviceTokenIn, caller: DeviceTokenIssuer, sessions: Sessions,
                response: Response) -> dict[str, Any]:
    """Limited to a regency (yours, or the one a province administrator names) and to at least one
    of a venue, a session, a first and a last day. The token is in this answer only: put it on the
    phone now."""
    regency = target_regency(body.regency, caller)
    if body.valid_until is not None and body.valid_until < today_in_jakarta():
        raise Problem("validation_failed", errors=[{"field": "valid_until", "message": "already past"}])
    scope = DeviceScope(venue_id=body.venue_id, session_id=body.session_id, valid_from=body.valid_from,
                        valid_until=body.valid_until)
    token_id, token = await device_tokens.issue(sessions, label=body.label, regency=regency, scope=scope,
                                                issued_by=caller.user)
    response.headers["Cache-Control"] = "no-store"  # it holds a secret
    async with sessions() as session:
        row = (await session.execute(select(*LISTED_COLUMNS).where(table.c.id == token_id))).one()
    return {**row._mapping, "token": token}


class DeviceTokenListQuery(ListQuery):
    sort: Literal["issued_at"] = "issued_at"
    revoked: bool | None = Field(default=None, description="Only revoked (true) or only live (false) tokens")
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN,
                                description="Province administrators: only this regency")


@router.get("", response_model=Page[DeviceTokenOut], summary="List device tokens")
async def list_device_tokens(
    params: Annotated[DeviceTokenListQuery, Query()], caller: DeviceTokenIssuer, sessions: Sessions,
) -> Page[dict[str, Any]]:
    """Your regency's device tokens, oldest first, without their secrets."""
    regency, revoked = params.regency, params.revoked
    if regency is not None and not caller.may_access(regency):
        raise Problem("regency_out_of_scope")
    query = select(*LISTED_COLUMNS)
    if (only := regency or caller.regency_scope) is not None:
        query = query.where(table.c.regency == only)
    if revoked is not None:
        query = query.where(table.c.revoked_at.is_not(None) if revoked else table.c.revoked_at.is_(None))
    async with sessions() as session:
        rows = (await session.execute(
            oldest_first(query, table.c.issued_at, table.c.id, limit=params.limit, cursor=params.cursor))).all()
    return page_from(rows, limit=params.limit, key=lambda row: (row.issued_at, row.id), item=lambda row: dict(row._mapping))


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke a device token")
async def revoke(token_id: uuid.UUID, caller: DeviceTokenIssuer, sessions: Sessions) -> Response:
    """The phone's next request is refused."""
    if not await device_tokens.revoke(sessions, token_id, regency=caller.regency_scope):
        raise Problem("not_found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
