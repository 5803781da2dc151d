"""The official region reference data: kabupaten/kota of the province, their kecamatan, and the
desa/kelurahan of a kecamatan. Read-only, for anyone signed in.

The data changes only when an operator loads new official files, so answers carry an ``ETag`` and
may be cached for an hour; a client that sends ``If-None-Match`` gets ``304 Not Modified`` back
when nothing changed.
"""
from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel

from ..dependencies import ServicesFor
from ..schemas.regions import DISTRICT_CODE, REGENCY_CODE, DistrictList, RegencyList, VillageList

router = APIRouter(prefix="/api/v1/regions", tags=["regions"])

# Private: the answers are for signed-in callers, so shared caches must not keep them.
CACHE_CONTROL = "private, max-age=3600"
NOT_MODIFIED = {304: {"description": "Not modified since the ETag sent in If-None-Match"}}
NOT_FOUND_OR_MODIFIED = {**NOT_MODIFIED, 404: {"description": "No such (current) region"}}


@router.get("/regencies", response_model=RegencyList, responses=NOT_MODIFIED,
            summary="Kabupaten and kota of the province")
async def list_regencies(services: ServicesFor, request: Request) -> Response:
    return cacheable(request, RegencyList, await services.call("registration", "list_regencies"))


@router.get("/regencies/{code}/districts", response_model=DistrictList, responses=NOT_FOUND_OR_MODIFIED,
            summary="Kecamatan of a kabupaten or kota")
async def list_districts(code: Annotated[str, Path(pattern=REGENCY_CODE, examples=["35.17"])],
                         services: ServicesFor, request: Request) -> Response:
    return cacheable(request, DistrictList, await services.call("registration", "list_districts", regency_code=code))


@router.get("/districts/{code}/villages", response_model=VillageList, responses=NOT_FOUND_OR_MODIFIED,
            summary="Desa and kelurahan of a kecamatan")
async def list_villages(code: Annotated[str, Path(pattern=DISTRICT_CODE, examples=["35.17.09"])],
                        services: ServicesFor, request: Request) -> Response:
    return cacheable(request, VillageList, await services.call("registration", "list_villages", district_code=code))


def cacheable(request: Request, model: type[BaseModel], answer: dict[str, Any]) -> Response:
    """The answer with an ETag of its content, or 304 if the client already holds that content."""
    body = model.model_validate(answer).model_dump_json().encode()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    held = {tag.strip().removeprefix("W/") for tag in request.headers.get("if-none-match", "").split(",")}
    if etag in held or "*" in held:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
