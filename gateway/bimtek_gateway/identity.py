"""Who is calling and what they may do: roles, access tokens, opaque tokens and passwords.

Access tokens are EdDSA (Ed25519) JWTs of at most 15 minutes, with the algorithm pinned and the
issuer, audience, validity window and every claim scoping needs checked. Refresh and device tokens
are opaque random strings with a recognisable prefix, stored only as SHA-256 digests. Passwords are
hashed with argon2id in a thread, so the event loop keeps serving other requests meanwhile.
"""
from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError, VerifyMismatchError
from sqlalchemy import insert, select
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from bimtek_shared.contracts.caller import PROVINCE_WIDE

from .db import users
from .problems import Problem
from .settings import GatewaySettings

ALGORITHM = "EdDSA"
# Gateway replicas sign and check each other's tokens; their clocks may differ by a little.
CLOCK_LEEWAY = timedelta(seconds=5)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the answer time the same either way.
_DUMMY_HASH = _hasher.hash("no such user")


# -- roles, and who may do what ----------------------------------------------------------------
class Role(str, Enum):
    PROVINCE_ADMIN = "province_admin"  # every regency of the province
    REGENCY_ADMIN = "regency_admin"  # its own regency
    OPERATOR = "operator"  # its own regency
    TRAINER = "trainer"  # its own regency
    COOPERATIVE_OPERATOR = "cooperative_operator"  # its own cooperative only (the token carries it)
    PARTICIPANT = "participant"  # itself; signs in with its participant code and date of birth
    DEVICE = "device"  # a check-in phone, with an opaque device token limited to a regency and a scope


# The roles a user account (username and password) may hold; participants and devices are not users.
USER_ROLES = frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN, Role.OPERATOR, Role.TRAINER,
                        Role.COOPERATIVE_OPERATOR})


class Action(str, Enum):
    REGISTER_PARTICIPANTS = "register_participants"
    LIST_PARTICIPANTS = "list_participants"
    READ_PARTICIPANT = "read_participant"
    CHANGE_PARTICIPANTS = "change_participants"  # update, withdraw, substitute
    PROTECT_PERSONAL_DATA = "protect_personal_data"  # reveal a NIK, export or erase a person's data, audit log
    MANAGE_USERS = "manage_users"
    MANAGE_DEVICE_TOKENS = "manage_device_tokens"
    MANAGE_COOPERATIVES = "manage_cooperatives"
    READ_COOPERATIVES = "read_cooperatives"
    READ_COOPERATIVE_STATISTICS = "read_cooperative_statistics"
    PLAN_PROGRAMMES = "plan_programmes"  # programmes, venues, plan previews, publication, re-plans, moves, locks
    READ_PROGRAMMES = "read_programmes"  # programmes, venues, plans, sessions
    MANAGE_RESOURCE_PERSONS = "manage_resource_persons"
    READ_RESOURCE_PERSONS = "read_resource_persons"
    READ_INVITATIONS = "read_invitations"  # a participant's own, or their regency's staff
    KEEP_ATTENDANCE = "keep_attendance"  # set attendance by hand, close sessions
    DOWNLOAD_CERTIFICATES = "download_certificates"  # PDFs and archives: staff, a cooperative's own, one's own
    PRINT_SESSION_CERTIFICATES = "print_session_certificates"  # a session's merged printable PDF
    READ_CERTIFICATES = "read_certificates"  # one with its history (anyone may verify one publicly)
    REVOKE_CERTIFICATES = "revoke_certificates"
    READ_PROGRESS = "read_progress"  # training progress figures per kecamatan (no personal data)


# Who may do what. The caller's scope applies on top: a province administrator acts on every
# regency, everyone else on their own (Caller.may_access). The public is unauthenticated and may
# only sign in.
MAY: dict[Action, frozenset[Role]] = {
    Action.REGISTER_PARTICIPANTS: frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN, Role.OPERATOR}),
    # A cooperative operator sees only their cooperative's participants (registration enforces it).
    Action.LIST_PARTICIPANTS: frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN, Role.OPERATOR,
                                         Role.COOPERATIVE_OPERATOR}),
    # A participant reads only themselves; a cooperative operator only its cooperative's people.
    Action.READ_PARTICIPANT: frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN, Role.OPERATOR,
                                        Role.COOPERATIVE_OPERATOR, Role.PARTICIPANT}),
    Action.CHANGE_PARTICIPANTS: frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN, Role.OPERATOR}),
    # UU PDP: a whole NIK, a person's data and its erasure, and who touched it, only for administrators.
    Action.PROTECT_PERSONAL_DATA: frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN}),
    Action.MANAGE_USERS: frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN}),
    Action.MANAGE_DEVICE_TOKENS: frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN, Role.OPERATOR}),
    Action.MANAGE_COOPERATIVES: frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN, Role.OPERATOR}),
    # A cooperative operator reads only its own cooperative (registration enforces it).
    Action.READ_COOPERATIVES: frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN, Role.OPERATOR, Role.TRAINER,
                                         Role.COOPERATIVE_OPERATOR}),
    Action.READ_COOPERATIVE_STATISTICS: frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN, Role.OPERATOR,
                                                   Role.TRAINER}),
    Action.PLAN_PROGRAMMES: frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN, Role.OPERATOR}),
    Action.READ_PROGRAMMES: frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN, Role.OPERATOR, Role.TRAINER}),
    # Resource persons are provincial staff shared by every regency: the province manages them.
    Action.MANAGE_RESOURCE_PERSONS: frozenset({Role.PROVINCE_ADMIN}),
    Action.READ_RESOURCE_PERSONS: frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN, Role.OPERATOR, Role.TRAINER}),
    # A participant reads only their own invitation (scheduling enforces it).
    Action.READ_INVITATIONS: frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN, Role.OPERATOR, Role.TRAINER,
                                        Role.PARTICIPANT}),
    Action.KEEP_ATTENDANCE: frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN, Role.OPERATOR}),
    # The certificates service narrows a cooperative operator to its cooperative, a participant to themself.
    Action.DOWNLOAD_CERTIFICATES: frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN, Role.OPERATOR,
                                             Role.COOPERATIVE_OPERATOR, Role.PARTICIPANT}),
    Action.PRINT_SESSION_CERTIFICATES: frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN, Role.OPERATOR}),
    Action.READ_CERTIFICATES: frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN, Role.OPERATOR, Role.TRAINER}),
    Action.REVOKE_CERTIFICATES: frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN}),
    Action.READ_PROGRESS: frozenset({Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN, Role.OPERATOR, Role.TRAINER}),
}

# The roles a user administrator may give: only a province administrator makes another.
ASSIGNABLE_ROLES: dict[Role, frozenset[Role]] = {
    Role.PROVINCE_ADMIN: USER_ROLES,
    Role.REGENCY_ADMIN: USER_ROLES - {Role.PROVINCE_ADMIN},
}


class SubjectKind(str, Enum):
    """The ``kind`` claim: what the ``sub`` claim is the id of."""

    USER = "user"
    PARTICIPANT = "participant"


@dataclass(frozen=True)
class Subject:
    """Whom a token pair is issued to, with what the access token must say about them."""

    id: str
    kind: SubjectKind
    role: str
    regency: str
    cooperative: str | None = None


# -- access tokens -----------------------------------------------------------------------------
class InvalidToken(Exception):
    pass


def issue_access_token(
    settings: GatewaySettings, *, user_id: str, role: str, regency: str,
    kind: SubjectKind = SubjectKind.USER, cooperative: str | None = None,
) -> tuple[str, int]:
    now = datetime.now(timezone.utc)
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": user_id,
        "kind": kind.value,
        "role": role,
        "regency": regency,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
    if cooperative:
        claims["coop"] = cooperative
    return jwt.encode(claims, settings.signing_key, algorithm=ALGORITHM), int(lifetime.total_seconds())


def issue_access_token_for(settings: GatewaySettings, subject: Subject) -> tuple[str, int]:
    return issue_access_token(settings, user_id=subject.id, role=subject.role, regency=subject.regency,
                              kind=subject.kind, cooperative=subject.cooperative)


_TOKEN_ROLES = {role.value for role in USER_ROLES | {Role.PARTICIPANT}}  # devices have no JWTs


VERIFIED_TOKENS_KEPT = 10_000  # about 10 MB at most; a client keeps its access token up to 15 minutes
# Access tokens already verified, by (signing key, token): each request needs its token's claims
# twice (the rate limit's principal, then the caller) and a client sends the same token for up to
# 15 minutes, while an Ed25519 verification costs more than the rest of the check. Keyed by the
# settings' key object, so settings with another key (tests, a rotation) never see these.
_verified: dict[tuple[object, str], dict] = {}


def verify_access_token(settings: GatewaySettings, token: str) -> dict:
    """The claims of a valid access token, or ``InvalidToken``. A token verified before is answered
    from memory while it has not expired."""
    key = (settings.signing_key, token)
    claims = _verified.get(key)
    if claims is not None:
        if time.time() < claims["exp"] + CLOCK_LEEWAY.total_seconds():
            return claims
        _verified.pop(key, None)
        raise InvalidToken("ExpiredSignatureError")
    claims = _verify_access_token(settings, token)
    if len(_verified) >= VERIFIED_TOKENS_KEPT:
        _verified.pop(next(iter(_verified)))  # the oldest verified
    _verified[key] = claims
    return claims


def _verify_access_token(settings: GatewaySettings, token: str) -> dict:
    try:
        claims = jwt.decode(
            token,
            settings.signing_key.public_key(),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=CLOCK_LEEWAY,
            options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "kind", "role", "regency"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(type(exc).__name__) from None
    # A well-signed token still has to make sense: the gateway never issues anything else.
    if claims["role"] not in _TOKEN_ROLES:
        raise InvalidToken("unknown role")
    participant = claims["role"] == Role.PARTICIPANT.value
    if claims["kind"] != (SubjectKind.PARTICIPANT if participant else SubjectKind.USER).value:
        raise InvalidToken("kind does not match role")
    if claims["role"] == Role.COOPERATIVE_OPERATOR.value and not claims.get("coop"):
        raise InvalidToken("cooperative operator without a cooperative")
    if not all(_is_uuid(claims.get(name)) for name in ("sub", "coop") if name == "sub" or claims.get(name)):
        raise InvalidToken("subject or cooperative is not an id")  # every id the gateway issues is a UUID
    return claims


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# -- opaque tokens -----------------------------------------------------------------------------
REFRESH_TOKEN_PREFIX = "bkr_"
DEVICE_TOKEN_PREFIX = "bkd_"  # tells a device token from a JWT (which starts "eyJ") at a glance


def new_opaque_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)  # 256 random bits


def token_digest(token: str) -> bytes:
    """What is stored of an opaque token; a plain hash suffices, as the token itself is random."""
    return hashlib.sha256(token.encode()).digest()


def is_device_token(token: str) -> bool:
    return token.startswith(DEVICE_TOKEN_PREFIX)


# -- users and passwords -----------------------------------------------------------------------
async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def authenticate(sessions: async_sessionmaker, username: str, password: str) -> Subject | None:
    async with sessions() as session:
        row = (
            await session.execute(
                select(users.c.id, users.c.password_hash, users.c.role, users.c.regency, users.c.cooperative_id)
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
    return user_subject(row)


def user_subject(row: Row) -> Subject:
    """The subject for a row of ``users`` (id, role, regency, cooperative_id)."""
    return Subject(id=str(row.id), kind=SubjectKind.USER, role=row.role, regency=row.regency,
                   cooperative=str(row.cooperative_id) if row.cooperative_id else None)


def user_shape(role: Role, regency: str | None, cooperative_id: uuid.UUID | None) -> str:
    """The regency a user with this role gets, if role, regency and cooperative fit together."""
    if role not in USER_ROLES:
        raise Problem("validation_failed", errors=[{"field": "role", "message": "not a role a user can hold"}])
    if (role is Role.COOPERATIVE_OPERATOR) != (cooperative_id is not None):
        raise Problem("validation_failed", errors=[
            {"field": "cooperative_id", "message": "required for cooperative operators, and only for them"}])
    if role is Role.PROVINCE_ADMIN:
        return PROVINCE_WIDE
    if not regency or regency == PROVINCE_WIDE:
        raise Problem("validation_failed", errors=[{"field": "regency", "message": "required for this role"}])
    return regency


async def create_user(
    sessions: async_sessionmaker, *, username: str, password: str, role: Role, regency: str | None,
    cooperative_id: uuid.UUID | None = None,
) -> uuid.UUID:
    regency = user_shape(role, regency, cooperative_id)
    password_hash = await hash_password(password)
    user_id = uuid.uuid4()
    async with sessions() as session:
        try:
            await session.execute(
                insert(users).values(id=user_id, username=username, password_hash=password_hash,
                                     role=role.value, regency=regency, cooperative_id=cooperative_id)
            )
            await session.commit()
        except IntegrityError:
            raise Problem("username_taken") from None
    return user_id
