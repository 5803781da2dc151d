"""Rotating refresh tokens for the mobile app.

Signing in starts a family. Each refresh retires the presented token and issues the next one of
the same family; presenting a retired token again means two parties hold it (a copy was taken),
so the whole family is revoked and both must sign in again. A user's token is refreshed only while
the user is active, and with the role, regency and cooperative the user has now.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .db import refresh_tokens, users
from .identity import REFRESH_TOKEN_PREFIX, Subject, SubjectKind, new_opaque_token, token_digest, user_subject
from .problems import Problem


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def start_family(sessions: async_sessionmaker, subject: Subject, lifetime: timedelta) -> str:
    """A refresh token opening a new family, for a subject that has just signed in."""
    async with sessions() as session:
        token = await _add(session, subject, uuid.uuid4(), lifetime)
        await session.commit()
    return token


async def rotate(sessions: async_sessionmaker, token: str, lifetime: timedelta) -> tuple[Subject, str]:
    """The subject a refresh token stands for and the family's next token; the presented one is retired."""
    now = _now()
    async with sessions() as session:
        # Locked, so two refreshes with one token are one success and one reuse, never two successes.
        row = (await session.execute(
            select(refresh_tokens).where(refresh_tokens.c.token_sha256 == token_digest(token)).with_for_update()
        )).first()
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise Problem("invalid_refresh_token")
        if row.used_at is not None:
            await _revoke_family(session, row.family_id, now)
            await session.commit()
            raise Problem("invalid_refresh_token")
        subject = await _current_subject(session, row)
        if subject is None:
            await _revoke_family(session, row.family_id, now)
            await session.commit()
            raise Problem("invalid_refresh_token")
        await session.execute(update(refresh_tokens).where(refresh_tokens.c.id == row.id).values(used_at=now))
        next_token = await _add(session, subject, row.family_id, lifetime)
        await session.commit()
    return subject, next_token


async def revoke_family_of(sessions: async_sessionmaker, token: str) -> None:
    """Sign out: the token's whole family stops working. An unknown token is no error (nothing to end)."""
    family = select(refresh_tokens.c.family_id).where(refresh_tokens.c.token_sha256 == token_digest(token))
    async with sessions() as session:
        await session.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.family_id.in_(family.scalar_subquery()), refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=_now())
        )
        await session.commit()


async def revoke_all_of_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Every session of a user ends (deactivated, or a new password); in the caller's transaction."""
    await session.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.subject_kind == SubjectKind.USER.value, refresh_tokens.c.subject == str(user_id),
               refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=_now())
    )


async def _add(session: AsyncSession, subject: Subject, family_id: uuid.UUID, lifetime: timedelta) -> str:
    token = new_opaque_token(REFRESH_TOKEN_PREFIX)
    issued_at = _now()
    await session.execute(insert(refresh_tokens).values(
        id=uuid.uuid4(), family_id=family_id, token_sha256=token_digest(token), subject=subject.id,
        subject_kind=subject.kind.value, role=subject.role, regency=subject.regency,
        cooperative_id=uuid.UUID(subject.cooperative) if subject.cooperative else None,
        issued_at=issued_at, expires_at=issued_at + lifetime,
    ))
    return token


async def _revoke_family(session: AsyncSession, family_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def _current_subject(session: AsyncSession, row: Row) -> Subject | None:
    """Who the token's holder is now: a user as the users table says (None once deactivated); a
    participant as at sign-in (registration keeps no sign-in state to consult)."""
    if row.subject_kind == SubjectKind.PARTICIPANT.value:
        return Subject(id=row.subject, kind=SubjectKind.PARTICIPANT, role=row.role, regency=row.regency,
                       cooperative=str(row.cooperative_id) if row.cooperative_id else None)
    user = (await session.execute(
        select(users.c.id, users.c.role, users.c.regency, users.c.cooperative_id)
        .where(users.c.id == uuid.UUID(row.subject), users.c.active.is_(True))
    )).first()
    return user_subject(user) if user else None
