"""Check-ins: a trainer's phone uploads the QR codes it scanned, often hours after, in batches."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from ..dependencies import CheckInDevice, DeviceServicesFor
from ..schemas.attendance import CheckInIn, CheckInOut

router = APIRouter(prefix="/api/v1/check-ins", tags=["check-ins"])


@router.post("", response_model=CheckInOut, summary="Upload scans from a check-in phone")
async def upload_scans(body: CheckInIn, device: CheckInDevice, services: DeviceServicesFor) -> dict[str, Any]:
    """For device tokens only (`bkd_...`). Scans made offline are uploaded when the phone has signal,
    in any order; each carries its own nonce, so an upload sent again counts nothing twice. Each
    scan gets its own result: counted once per participant, session and day (in Asia/Jakarta), or
    reported and not counted (another session, another day, a code this platform did not sign,
    outside what the device token covers, a closed session)."""
    # What the token covers travels with the call: scheduling judges each scan against it.
    scope = {name: None if value is None else str(value) for name, value in asdict(device.scope).items()}
    return await services.call("scheduling", "check_in", scope=scope, upload=body.model_dump(mode="json"))
