"""Device tokens: what check-in phones sign in with.

An administrator issues one for a regency, limited to a venue, a session and/or a date range; the
phone sends it as ``Authorization: Bearer bkd_...``. It is looked up on every request, so revoking
it takes effect at once.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from bimtek_shared.contracts.caller import Caller

from .db import device_tokens
from .identity import DEVICE_TOKEN_PREFIX, new_opaque_token, token_digest
from .problems import Problem

# Training days are counted in western Indonesian time, whatever the server's clock zone.
JAKARTA = ZoneInfo("Asia/Jakarta")
# last_used_at answers "is this phone still in use?", for which five minutes is precise enough;
# writing it on every scan would turn each check-in (a read here) into a write on a busy morning.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def today_in_jakarta() -> date:
    return datetime.now(JAKARTA).date()


@dataclass(frozen=True)
class DeviceScope:
    """What a device token is limited to; a limit left empty does not limit."""

    venue_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    valid_from: date | None = None
    valid_until: date | None = None

    def covers(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until)

    def allows(self, *, venue_id: uuid.UUID | None = None, session_id: uuid.UUID | None = None) -> bool:
        """Whether an action at this venue and session is within every limit the token has."""
        return (self.venue_id is None or self.venue_id == venue_id) and (
            self.session_id is None or self.session_id == session_id)


@dataclass(frozen=True)
class DeviceToken:
    id: uuid.UUID
    regency: str
    scope: DeviceScope


@dataclass(frozen=True)
class Device:
    """A check-in phone behind a request: the caller (role ``device``) and what its token allows."""

    caller: Caller
    scope: DeviceScope

    def require_scope(self, *, venue_id: uuid.UUID | None = None, session_id: uuid.UUID | None = None) -> None:
        """Check-in endpoints call this with the venue and session the request is about."""
        if not self.scope.allows(venue_id=venue_id, session_id=session_id):
            raise Problem("device_out_of_scope")


async def issue(
    sessions: async_sessionmaker, *, label: str, regency: str, scope: DeviceScope, issued_by: str,
) -> tuple[uuid.UUID, str]:
    """A new device token: its id, and the token itself, which is never stored and never shown again."""
    token = new_opaque_token(DEVICE_TOKEN_PREFIX)
    token_id = uuid.uuid4()
    async with sessions() as session:
        await session.execute(insert(device_tokens).values(
            id=token_id, token_sha256=token_digest(token), label=label, regency=regency,
            venue_id=scope.venue_id, session_id=scope.session_id, valid_from=scope.valid_from,
            valid_until=scope.valid_until, issued_by=uuid.UUID(issued_by),
        ))
        await session.commit()
    return token_id, token


async def authenticate(sessions: async_sessionmaker, token: str, *, today: date) -> DeviceToken:
    """The device token presented, if it is live and valid today; raises the problem otherwise."""
    now = datetime.now(timezone.utc)
    async with sessions() as session:
        row = (await session.execute(
            select(device_tokens.c.id, device_tokens.c.regency, device_tokens.c.venue_id, device_tokens.c.session_id,
                   device_tokens.c.valid_from, device_tokens.c.valid_until, device_tokens.c.last_used_at)
            .where(device_tokens.c.token_sha256 == token_digest(token), device_tokens.c.revoked_at.is_(None))
        )).first()
        if row is None:
            raise Problem("unauthenticated", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        scope = DeviceScope(venue_id=row.venue_id, session_id=row.session_id, valid_from=row.valid_from,
                            valid_until=row.valid_until)
        if not scope.covers(today):
            raise Problem("device_token_outside_dates", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if row.last_used_at is None or row.last_used_at < now - LAST_USED_RESOLUTION:
            await session.execute(update(device_tokens).where(device_tokens.c.id == row.id).values(last_used_at=now))
            await session.commit()
    return DeviceToken(id=row.id, regency=row.regency, scope=scope)


async def revoke(sessions: async_sessionmaker, token_id: uuid.UUID, *, regency: str | None) -> bool:
    """Revoke at once; False if no such token in ``regency`` (None: any). Revoking twice is no error."""
    query = select(device_tokens.c.id).where(device_tokens.c.id == token_id)
    if regency is not None:
        query = query.where(device_tokens.c.regency == regency)
    async with sessions() as session:
        if (await session.execute(query)).first() is None:
            return False
        await session.execute(
            update(device_tokens)
            .where(device_tokens.c.id == token_id, device_tokens.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(timezone.utc))
        )
        await session.commit()
    return True
