"""Users who sign in with a password: administrators, operators, trainers, cooperative operators.

A province administrator manages every user; a regency administrator only the users of its own
regency, and never makes anyone a province administrator. A user's regency is the caller's own
unless a province administrator names one. Users are deactivated, never erased: what they did
stays attributable.
"""
from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import Field
from sqlalchemy import func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from bimtek_shared.contracts.caller import Caller
from bimtek_shared.contracts.envelope import REGENCY_CODE_PATTERN

from ..db import users
from ..dependencies import Sessions, UserAdministrator, target_regency
from ..identity import ASSIGNABLE_ROLES, Role, create_user, hash_password, user_shape
from ..keyset import Page, oldest_first, page_from
from ..pagination import ListQuery
from ..problems import Problem
from ..refresh_tokens import revoke_all_of_user
from ..schemas.users import UserIn, UserOut, UserUpdate

router = APIRouter(prefix="/api/v1/users", tags=["users"])

USER_COLUMNS = (users.c.id, users.c.username, users.c.role, users.c.regency, users.c.cooperative_id,
                users.c.active, users.c.created_at, users.c.updated_at)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=UserOut, summary="Create a user")
async def create(body: UserIn, caller: UserAdministrator, sessions: Sessions) -> dict[str, Any]:
    _may_give(caller, body.role)
    regency = None if body.role is Role.PROVINCE_ADMIN else target_regency(body.regency, caller)
    user_id = await create_user(sessions, username=body.username, password=body.password, role=body.role,
                                regency=regency, cooperative_id=body.cooperative_id)
    async with sessions() as session:
        return _out(await _find(session, user_id, caller))


class UserListQuery(ListQuery):
    sort: Literal["created_at"] = "created_at"
    role: Role | None = None
    active: bool | None = None
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN,
                                description="Province administrators: only this regency")


@router.get("", response_model=Page[UserOut], summary="List users")
async def list_users(
    params: Annotated[UserListQuery, Query()], caller: UserAdministrator, sessions: Sessions,
) -> Page[dict[str, Any]]:
    """The users you manage, oldest first; follow `next_cursor` until it is null."""
    regency, role, active = params.regency, params.role, params.active
    query = select(*USER_COLUMNS)
    if regency is not None and not caller.may_access(regency):
        raise Problem("regency_out_of_scope")
    if (only := regency or caller.regency_scope) is not None:
        query = query.where(users.c.regency == only)
    if role is not None:
        query = query.where(users.c.role == role.value)
    if active is not None:
        query = query.where(users.c.active.is_(active))
    async with sessions() as session:
        rows = (await session.execute(
            oldest_first(query, users.c.created_at, users.c.id, limit=params.limit, cursor=params.cursor))).all()
    return page_from(rows, limit=params.limit, key=lambda row: (row.created_at, row.id), item=_out)


@router.get("/{user_id}", response_model=UserOut, summary="A user")
async def get_user(user_id: uuid.UUID, caller: UserAdministrator, sessions: Sessions) -> dict[str, Any]:
    async with sessions() as session:
        return _out(await _find(session, user_id, caller))


@router.patch("/{user_id}", response_model=UserOut, summary="Change a user's role, regency, cooperative, "
              "activity or password")
async def update_user(user_id: uuid.UUID, body: UserUpdate, caller: UserAdministrator,
                      sessions: Sessions) -> dict[str, Any]:
    """Only the fields sent change. Deactivating a user or setting a new password ends all of the
    user's sessions; other changes reach the user's tokens at their next refresh."""
    sent = body.model_fields_set
    if body.role is not None:
        _may_give(caller, body.role)
    requested_regency = target_regency(body.regency, caller) if body.regency is not None else None
    # Hashed before the row is locked: argon2 takes a while, in a thread.
    password_hash = await hash_password(body.password) if body.password is not None else None
    async with sessions() as session:
        current = await _find(session, user_id, caller, for_update=True)
        role = body.role or Role(current.role)
        if "cooperative_id" in sent:
            cooperative_id = body.cooperative_id
        else:  # kept while the role keeps needing it, dropped with the role
            cooperative_id = current.cooperative_id if role is Role.COOPERATIVE_OPERATOR else None
        values: dict[str, Any] = {
            "role": role.value,
            "regency": user_shape(role, requested_regency or current.regency, cooperative_id),
            "cooperative_id": cooperative_id,
            "updated_at": func.now(),
        }
        if body.active is not None:
            values["active"] = body.active
        if password_hash is not None:
            values["password_hash"] = password_hash
        await session.execute(update(users).where(users.c.id == user_id).values(**values))
        if body.active is False or password_hash is not None:
            await revoke_all_of_user(session, user_id)
        await session.commit()
        return _out(await _find(session, user_id, caller))


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Deactivate a user")
async def deactivate(user_id: uuid.UUID, caller: UserAdministrator, sessions: Sessions) -> Response:
    """The user can no longer sign in and every session ends at once (access tokens already issued
    lapse within 15 minutes). Kept, not erased; PATCH `active: true` brings the user back."""
    async with sessions() as session:
        await _find(session, user_id, caller, for_update=True)
        await session.execute(update(users).where(users.c.id == user_id).values(active=False, updated_at=func.now()))
        await revoke_all_of_user(session, user_id)
        await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _may_give(caller: Caller, role: Role) -> None:
    if role not in ASSIGNABLE_ROLES.get(Role(caller.role), frozenset()):
        raise Problem("role_out_of_scope")


async def _find(session: AsyncSession, user_id: uuid.UUID, caller: Caller, *, for_update: bool = False) -> Row:
    """The user, if the caller manages them; otherwise the same 404 as for no user at all."""
    query = select(*USER_COLUMNS).where(users.c.id == user_id)
    if caller.regency_scope is not None:
        query = query.where(users.c.regency == caller.regency_scope)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise Problem("user_not_found")
    return row


def _out(row: Row) -> dict[str, Any]:
    return dict(row._mapping)
