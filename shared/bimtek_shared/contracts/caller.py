"""Who is calling, carried from the gateway into every service call and on into the events it causes."""
from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass

from .errors import DomainError

# nameko sends worker context data as AMQP headers named ``nameko.<key>``; these are the keys.
CONTEXT_KEYS = ("correlation_id", "caller_user", "caller_role", "caller_regency", "caller_cooperative", "language",
                "request_key")

PROVINCE_WIDE = "*"  # caller_regency of a province administrator: every regency of the province
_NEW_IDS = uuid.UUID("6f1c2a4e-9b3d-5e7f-8a1b-2c3d4e5f6a7b")  # namespace of the ids derived from request keys


@dataclass(frozen=True)
class Caller:
    user: str
    role: str
    regency: str  # a regency code, or PROVINCE_WIDE
    correlation_id: str
    language: str = "id"
    # The one cooperative a cooperative operator or a participant belongs to; None for everyone else.
    cooperative: str | None = None
    # The write's Idempotency-Key, as the gateway scopes it to this caller (a digest, never the key
    # itself): the same on every retry of one intended write. None when the client sent no key.
    request_key: str | None = None

    def new_id(self, kind: str) -> uuid.UUID:
        """The id of the ``kind`` of record this request creates. Derived from the request key, so a
        retry whose first attempt committed after the gateway gave up on it (a 504, a gateway crash)
        finds the record that attempt made instead of making a second one."""
        if self.request_key is None:
            return uuid.uuid4()
        return uuid.uuid5(_NEW_IDS, f"{self.request_key}/{kind}")

    def to_context(self) -> dict[str, str]:
        # A missing cooperative is left out: nameko headers cannot carry None.
        return {
            f"caller_{k}" if k in ("user", "role", "regency", "cooperative") else k: v
            for k, v in asdict(self).items()
            if v is not None
        }

    @classmethod
    def from_context(cls, data: dict[str, object]) -> "Caller | None":
        if not data.get("caller_user"):
            return None
        return cls(
            user=str(data["caller_user"]),
            role=str(data.get("caller_role", "")),
            regency=str(data.get("caller_regency", "")),
            correlation_id=str(data.get("correlation_id", "")),
            language=str(data.get("language", "id")),
            cooperative=str(data["caller_cooperative"]) if data.get("caller_cooperative") else None,
            request_key=str(data["request_key"]) if data.get("request_key") else None,
        )

    def may_access(self, regency: str) -> bool:
        return self.regency == PROVINCE_WIDE or self.regency == regency

    @property
    def regency_scope(self) -> str | None:
        """The regency every query of this caller is limited to; None for the whole province."""
        return None if self.regency == PROVINCE_WIDE else self.regency


def require_caller(caller: Caller | None) -> Caller:
    """Services answer only calls that carry a caller (the gateway always sends one)."""
    if caller is None:
        raise DomainError("unauthenticated")
    return caller


def require_role(caller: Caller | None, roles: frozenset[str]) -> Caller:
    """The caller, if their role is one of ``roles``. Services check roles themselves too: they do
    not rely on the gateway's checks (identity.MAY)."""
    caller = require_caller(caller)
    if caller.role not in roles:
        raise DomainError("forbidden")
    return caller
