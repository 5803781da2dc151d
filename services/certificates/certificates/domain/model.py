"""The roster: the certificates service's own copy of who may one day receive a certificate.

It keeps the names and positions a certificate prints (never the NIK), so issuing does not depend
on the registration service being up.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class RosterEntry:
    participant_id: uuid.UUID
    regency: str
    full_name: str
    position_group: str
    position: str
    cooperative_id: uuid.UUID | None
