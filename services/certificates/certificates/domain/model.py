"""The roster: the certificates service's own copy of who may one day receive a certificate.

It keeps the names and positions a certificate prints (never the NIK), so issuing does not depend
on the registration service being up. Registration's changes keep it current (the newest version
wins): a new name or position, a withdrawal, and an erasure, which leaves a tombstone without name
or position (so that a late ``participant.registered`` brings nothing back).

The rule for certificates (``certificates.py``): a certificate's proof is its number, the
participant id, the training and the signature over them, never the name. The name is printed on
it and kept beside it until the person is erased; then it goes too, and verifying the certificate
still answers "genuine, issued to participant <id> of cooperative <id>, for <training>", without
the erased personal fields.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from operator import attrgetter

from bimtek_shared.contracts import versions


class RosterStatus(str, Enum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"  # left their team; a certificate already earned stays theirs
    ERASED = "erased"  # personal data erased: no name or position any more


@dataclass(frozen=True)
class RosterEntry:
    participant_id: uuid.UUID
    regency: str
    full_name: str | None  # None once erased
    position_group: str
    position: str | None  # None once erased
    cooperative_id: uuid.UUID | None
    status: RosterStatus = RosterStatus.ACTIVE
    version: int = 1  # registration's version of the participant; the newest seen wins


def newest(entries: Iterable[RosterEntry]) -> list[RosterEntry]:
    """One per participant, the highest version: events may arrive in any order or twice."""
    return versions.newest(entries, key=attrgetter("participant_id"))
