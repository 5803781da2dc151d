"""Participants as scheduling sees them: who still needs a session, and where each one is."""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from operator import attrgetter

from bimtek_shared.contracts import versions


class SchedulingStatus(str, Enum):
    WAITING = "waiting"  # registered, not yet placed in a session
    WITHDRAWN = "withdrawn"  # left their team: never to be placed (kept for history)
    ERASED = "erased"  # their data was erased on request; only what counts is left


@dataclass
class SchedulingParticipant:
    participant_id: uuid.UUID
    regency: str
    position_group: str
    cooperative_id: uuid.UUID | None
    registered_at: datetime
    status: SchedulingStatus = SchedulingStatus.WAITING
    # Printed on their invitation and the attendance sheet; None once erased.
    full_name: str | None = None
    position: str | None = None


def enter_waiting_list(
    *, participant_id: uuid.UUID, regency: str, position_group: str,
    cooperative_id: uuid.UUID | None, registered_at: datetime,
    full_name: str | None = None, position: str | None = None,
) -> SchedulingParticipant:
    """A newly registered participant waits for the planner to place their cooperative's team."""
    return SchedulingParticipant(
        participant_id=participant_id,
        regency=regency,
        position_group=position_group,
        cooperative_id=cooperative_id,
        registered_at=registered_at,
        full_name=full_name,
        position=position,
    )


@dataclass(frozen=True)
class ParticipantChange:
    """A participant as a registration event after ``participant.registered`` describes them.
    ``status`` None: their scheduling status stays as it is (a change of cooperative or group)."""

    participant_id: uuid.UUID
    regency: str
    position_group: str
    cooperative_id: uuid.UUID | None
    registered_at: datetime
    version: int
    status: SchedulingStatus | None = None
    full_name: str | None = None  # None once erased
    position: str | None = None


def newest(changes: Iterable[ParticipantChange]) -> list[ParticipantChange]:
    """One per participant, the highest version: events may arrive in any order or twice."""
    return versions.newest(changes, key=attrgetter("participant_id"))
