from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bimtek_shared.contracts.envelope import REGENCY_CODE_PATTERN

from ..identity import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, USER_ROLES, Role

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._\-]{2,99}$"


def _a_users_role(role: Role) -> Role:
    if role not in USER_ROLES:
        raise ValueError("participants and devices are not users")
    return role


UserRole = Annotated[Role, AfterValidator(_a_users_role)]


class UserIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"username": "operator.jombang", "password": "kata-sandi-panjang-sekali",
                                         "role": "operator", "regency": "35.17"}]},
    )

    username: str = Field(pattern=USERNAME_PATTERN, description="Lower case letters, digits, '.', '_' or '-'")
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
    role: UserRole
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN,
                                description="Defaults to the caller's own regency; none for province administrators")
    cooperative_id: uuid.UUID | None = Field(default=None, description="Required for cooperative operators only")


class UserUpdate(BaseModel):
    """Only the fields sent change. A new password ends every session of the user."""

    model_config = ConfigDict(extra="forbid")

    role: UserRole | None = None
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN)
    cooperative_id: uuid.UUID | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class UserOut(BaseModel):
    id: uuid.UUID
    username: str
    role: Role
    regency: str = Field(description="A regency code, or * for a province administrator")
    cooperative_id: uuid.UUID | None
    active: bool
    created_at: datetime
    updated_at: datetime
