"""Participants as scheduling sees them: who still needs a session, and where each one is."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class SchedulingStatus(str, Enum):
    WAITING = "waiting"  # registered, not yet placed in a session


@dataclass
class SchedulingParticipant:
    participant_id: uuid.UUID
    regency: str
    position_group: str
    cooperative_id: uuid.UUID | None
    registered_at: datetime
    status: SchedulingStatus = SchedulingStatus.WAITING


def enter_waiting_list(
    *, participant_id: uuid.UUID, regency: str, position_group: str,
    cooperative_id: uuid.UUID | None, registered_at: datetime,
) -> SchedulingParticipant:
    """A newly registered participant waits for the planner to place their cooperative's team."""
    return SchedulingParticipant(
        participant_id=participant_id,
        regency=regency,
        position_group=position_group,
        cooperative_id=cooperative_id,
        registered_at=registered_at,
    )
