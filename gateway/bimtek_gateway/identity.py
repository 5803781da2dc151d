"""Who is calling: passwords, access tokens and roles.

Access tokens are EdDSA (Ed25519) JWTs, short-lived, with the algorithm pinned and the issuer,
audience and expiry checked. Passwords are hashed with argon2id; hashing runs in a thread so the
event loop keeps serving other requests meanwhile.
"""
from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from enum import Enum

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError, VerifyMismatchError
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bimtek_shared.contracts.caller import PROVINCE_WIDE

from .db import users
from .settings import GatewaySettings

ALGORITHM = "EdDSA"
_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the answer time the same either way.
_DUMMY_HASH = _hasher.hash("no such user")


class Role(str, Enum):
    PROVINCE_ADMIN = "province_admin"
    REGENCY_ADMIN = "regency_admin"
    OPERATOR = "operator"
    TRAINER = "trainer"
    COOPERATIVE_OPERATOR = "cooperative_operator"
    PARTICIPANT = "participant"


class InvalidToken(Exception):
    pass


def issue_access_token(settings: GatewaySettings, *, user_id: str, role: str, regency: str) -> tuple[str, int]:
    now = datetime.now(timezone.utc)
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": user_id,
        "role": role,
        "regency": regency,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.signing_key, algorithm=ALGORITHM), int(lifetime.total_seconds())


def verify_access_token(settings: GatewaySettings, token: str) -> dict:
    try:
        return jwt.decode(
            token,
            settings.signing_key.public_key(),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(type(exc).__name__) from None


async def authenticate(sessions: async_sessionmaker, username: str, password: str) -> dict | None:
    async with sessions() as session:
        row = (
            await session.execute(
                select(users.c.id, users.c.password_hash, users.c.role, users.c.regency)
                .where(users.c.username == username, users.c.active.is_(True))
            )
        ).first()
    stored = row.password_hash if row else _DUMMY_HASH
    try:
        await asyncio.to_thread(_hasher.verify, stored, password)
    except (VerifyMismatchError, VerificationError):
        return None
    if row is None:
        return None
    return {"id": str(row.id), "role": row.role, "regency": row.regency}


async def create_user(sessions: async_sessionmaker, *, username: str, password: str, role: Role, regency: str) -> str:
    if role is Role.PROVINCE_ADMIN:
        regency = PROVINCE_WIDE
    password_hash = await asyncio.to_thread(_hasher.hash, password)
    user_id = uuid.uuid4()
    async with sessions() as session:
        await session.execute(
            insert(users).values(id=user_id, username=username, password_hash=password_hash,
                                 role=role.value, regency=regency)
        )
        await session.commit()
    return str(user_id)
