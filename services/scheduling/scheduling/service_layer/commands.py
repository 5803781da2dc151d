"""What callers send to scheduling, checked before any rule of the domain runs."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from bimtek_shared.contracts.envelope import DISTRICT_CODE_PATTERN, REGENCY_CODE_PATTERN
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.pagination import DEFAULT_LIMIT, MAX_CURSOR_CHARS, MAX_LIMIT

from ..domain.programmes import MAX_CAPACITY, MAX_DAYS_PER_SESSION, MAX_HOURS_PER_TOPIC, MAX_TOPICS

T = TypeVar("T", bound=BaseModel)
MAX_RANGES = 60
MAX_NEIGHBOUR_PAIRS = 500


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def parse_command(model: type[T], data: Any) -> T:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # Locations and messages only: values are never echoed.
        errors = [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()]
        raise DomainError("validation_failed", {"errors": errors}) from None


class DateRange(Command):
    start: date
    end: date


class Topic(Command):
    topic: str = Field(min_length=1, max_length=200)
    hours: int = Field(ge=1, le=MAX_HOURS_PER_TOPIC)


District = Annotated[str, Field(pattern=DISTRICT_CODE_PATTERN)]


class ProgrammeChanges(Command):
    """Only the fields sent change (``model_fields_set``)."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    topics: list[Topic] | None = Field(default=None, min_length=1, max_length=MAX_TOPICS)
    days_per_session: int | None = Field(default=None, ge=1, le=MAX_DAYS_PER_SESSION)
    window_start: date | None = None
    window_end: date | None = None
    min_attendance_days: int | None = Field(default=None, ge=1, le=MAX_DAYS_PER_SESSION)
    neighbours: list[tuple[District, District]] | None = Field(default=None, max_length=MAX_NEIGHBOUR_PAIRS)

    def domain_changes(self) -> dict[str, Any]:
        changes = fields_sent(self, nullable={"neighbours"})  # null clears the neighbour list
        if "topics" in changes:
            changes["topics"] = [(t.topic, t.hours) for t in self.topics or ()]
        if "neighbours" in changes:
            changes["neighbours"] = [tuple(pair) for pair in self.neighbours or ()]
        return changes


def fields_sent(command: Command, nullable: set[str] = frozenset()) -> dict[str, Any]:
    """The fields a PATCH sent; null is refused for those that cannot be cleared."""
    changes = {name: getattr(command, name) for name in command.model_fields_set}
    cleared = sorted(name for name, value in changes.items() if value is None and name not in nullable)
    if cleared:
        raise DomainError("validation_failed", {"errors": [{"field": name, "message": "cannot be null"}
                                                           for name in cleared]})
    return changes


class NewProgramme(Command):
    regency: str = Field(pattern=REGENCY_CODE_PATTERN)
    title: str = Field(min_length=1, max_length=200)
    topics: list[Topic] = Field(min_length=1, max_length=MAX_TOPICS)
    days_per_session: int = Field(ge=1, le=MAX_DAYS_PER_SESSION)
    window_start: date
    window_end: date
    min_attendance_days: int = Field(ge=1, le=MAX_DAYS_PER_SESSION)
    neighbours: list[tuple[District, District]] = Field(default_factory=list, max_length=MAX_NEIGHBOUR_PAIRS)


class VenueChanges(Command):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    capacity: int | None = Field(default=None, ge=1, le=MAX_CAPACITY)
    available: list[DateRange] | None = Field(default=None, max_length=MAX_RANGES)


class NewVenue(Command):
    regency: str = Field(pattern=REGENCY_CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    capacity: int = Field(ge=1, le=MAX_CAPACITY)
    available: list[DateRange] = Field(max_length=MAX_RANGES)


class ResourcePersonChanges(Command):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    topics: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, min_length=1, max_length=MAX_TOPICS)
    available: list[DateRange] | None = Field(default=None, max_length=MAX_RANGES)


class NewResourcePerson(Command):
    name: str = Field(min_length=1, max_length=200)
    topics: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(min_length=1, max_length=MAX_TOPICS)
    available: list[DateRange] = Field(max_length=MAX_RANGES)


class ListPage(Command):
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    sort: str | None = Field(default=None, max_length=60)
    cursor: str | None = Field(default=None, max_length=MAX_CURSOR_CHARS)


class ListProgrammes(ListPage):
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN)


class ListVenues(ListPage):
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN)


class ListResourcePersons(ListPage):
    pass


class ListSessions(ListPage):
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN)
    programme_id: uuid.UUID | None = None


# -- plans of several programmes together -----------------------------------------------------------
MAX_PROGRAMMES_PLANNED_TOGETHER = 100  # a province has at most a few dozen regencies


class PlanTogether(Command):
    """Programmes (one per regency) to plan in one run."""
    programme_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_PROGRAMMES_PLANNED_TOGETHER)


class PublishTogether(Command):
    """Previews (one per programme) to publish in one transaction."""
    preview_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_PROGRAMMES_PLANNED_TOGETHER)


# -- check-ins and attendance ----------------------------------------------------------------------
MAX_SCANS_PER_UPLOAD = 500
NONCE_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"


class Scan(Command):
    nonce: str = Field(pattern=NONCE_PATTERN)
    qr: str = Field(min_length=1, max_length=512)
    scanned_at: AwareDatetime
    session_id: uuid.UUID | None = None


class CheckInUpload(Command):
    scans: list[Scan] = Field(min_length=1, max_length=MAX_SCANS_PER_UPLOAD)


class CheckInScope(Command):
    """What the phone's device token covers, as the gateway read it (the regency is the caller's)."""

    venue_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    valid_from: date | None = None
    valid_until: date | None = None


class AttendanceByHand(Command):
    day: date
    present: bool
    reason: str = Field(min_length=1, max_length=200)


class AttendanceSheetQuery(Command):
    day: date | None = None  # None: today's if the session is on, else its first day
    with_qr: bool = False
