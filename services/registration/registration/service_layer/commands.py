"""What callers send, checked before any rule of the domain runs."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from bimtek_shared.contracts.envelope import DISTRICT_CODE_PATTERN, REGENCY_CODE_PATTERN, VILLAGE_CODE_PATTERN
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.pagination import DEFAULT_LIMIT, MAX_CURSOR_CHARS, MAX_LIMIT

T = TypeVar("T", bound=BaseModel)


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RegisterParticipant(Command):
    regency: str = Field(pattern=REGENCY_CODE_PATTERN)
    nik: str = Field(min_length=1, max_length=32)
    full_name: str = Field(min_length=1, max_length=200)
    sex: Literal["L", "P"]
    birth_date: date
    position: str = Field(min_length=1, max_length=40)
    phone: str | None = Field(default=None, max_length=32)
    cooperative_id: uuid.UUID | None = None


class ParticipantChanges(Command):
    """Only the fields sent change (``model_fields_set``). ``nik``, ``sex`` and ``birth_date`` are a
    correction of who the person is: all three together, or none."""

    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    position: str | None = Field(default=None, min_length=1, max_length=40)
    cooperative_id: uuid.UUID | None = None
    nik: str | None = Field(default=None, min_length=1, max_length=32)
    sex: Literal["L", "P"] | None = None
    birth_date: date | None = None


class WithdrawParticipant(Command):
    reason: str = Field(min_length=1, max_length=30)  # one of model.WITHDRAWAL_REASONS


class Replacement(Command):
    """The person who takes a participant's place; cooperative and position are the one replaced's."""

    nik: str = Field(min_length=1, max_length=32)
    full_name: str = Field(min_length=1, max_length=200)
    sex: Literal["L", "P"]
    birth_date: date
    phone: str | None = Field(default=None, max_length=32)


class RevealNik(Command):
    purpose: str = Field(min_length=5, max_length=500)  # why, for the audit trail


def parse_command(model: type[T], data: Any) -> T:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # Locations and messages only: the input values may be personal data.
        errors = [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()]
        raise DomainError("validation_failed", {"errors": errors}) from None


class AuthenticateParticipant(Command):
    participant_code: str = Field(min_length=1, max_length=16)
    birth_date: date


MAX_IMPORT_ROWS = 20_000  # a regency's whole roster (Jombang: 2,448) with room to spare


class StartParticipantImport(Command):
    regency: str = Field(pattern=REGENCY_CODE_PATTERN)
    # Rows are checked one by one when the job runs, so one bad row never refuses the rest.
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_IMPORT_ROWS)

    @field_validator("rows")
    @classmethod
    def _rows_carry_no_regency(cls, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # Every row is registered in the import's regency; a row naming one is refused at once
        # rather than silently moved (it may be meant for another tenant).
        if any("regency" in row for row in rows):
            raise ValueError("rows carry no regency: the import's regency applies to every row")
        return rows


MAX_IMPORT_FILE_BYTES = 16 * 1024 * 1024  # as the gateway's MAX_IMPORT_BYTES: a province's roster fits


class StartFileImport(Command):
    """A bulk import file as the gateway received it (base64: RPC travels as JSON)."""

    # A regency code, or None: the caller's regency (a province administrator's: the whole province).
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN)
    file_name: str = Field(default="", max_length=255)
    content_base64: str = Field(min_length=1, max_length=(MAX_IMPORT_FILE_BYTES + 2) // 3 * 4)
    dry_run: bool = False
    import_valid_rows_only: bool = False


class ListPage(Command):
    """Which page of a list: the sort is checked against the list's own whitelist by its use case."""

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    sort: str | None = Field(default=None, max_length=60)
    cursor: str | None = Field(default=None, max_length=MAX_CURSOR_CHARS)


class ListParticipants(ListPage):
    # No NIK, name or phone filter on purpose: list filters travel in URLs.
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN)
    cooperative_id: uuid.UUID | None = None
    position_group: Literal["pengurus", "pengawas"] | None = None
    position: str | None = Field(default=None, max_length=40)
    registered_since: AwareDatetime | None = None
    registered_until: AwareDatetime | None = None
    status: Literal["active", "withdrawn", "erased"] | None = None


class ListParticipantImports(ListPage):
    pass


class ListAuditLog(ListPage):
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN)
    participant_id: uuid.UUID | None = None
    action: str | None = Field(default=None, max_length=30)


# -- cooperatives ----------------------------------------------------------------------------------
VillageCode = Annotated[str, Field(pattern=VILLAGE_CODE_PATTERN)]
MAX_COOPERATIVE_VILLAGES = 50


class CooperativeFields(Command):
    name: str | None = Field(default=None, max_length=200)
    legal_entity_number: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=32)
    contact_email: str | None = Field(default=None, max_length=254)


class RegisterCooperative(CooperativeFields):
    regency: str = Field(pattern=REGENCY_CODE_PATTERN)
    villages: list[VillageCode] = Field(min_length=1, max_length=MAX_COOPERATIVE_VILLAGES)


class CooperativeChanges(CooperativeFields):
    """Only the fields sent are changed (``model_fields_set``); null clears an optional one."""

    villages: list[VillageCode] | None = Field(default=None, min_length=1, max_length=MAX_COOPERATIVE_VILLAGES)


class ListCooperatives(ListPage):
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN)
    district: str | None = Field(default=None, pattern=DISTRICT_CODE_PATTERN)
    team_complete: bool | None = None


class CooperativeStatistics(Command):
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN)
