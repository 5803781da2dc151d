"""Resource persons (narasumber): provincial staff shared by every regency. The province manages
them; every regency reads them. A person is never booked twice on a day anywhere in the province."""
from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from bimtek_shared.contracts.pagination import Page

from ..dependencies import ResourcePersonManager, ResourcePersonReader, ServicesFor
from ..pagination import ListQuery, sort_by
from ..schemas.programmes import ResourcePersonChangesIn, ResourcePersonIn, ResourcePersonOut

router = APIRouter(prefix="/api/v1/resource-persons", tags=["resource persons"])


class ResourcePersonListQuery(ListQuery):
    # Never by name: a cursor travels in the URL.
    sort: sort_by("created_at") = "created_at"  # type: ignore[valid-type]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ResourcePersonOut,
             summary="Add a resource person")
async def create_resource_person(body: ResourcePersonIn, caller: ResourcePersonManager,
                                 services: ServicesFor) -> dict[str, Any]:
    return await services.call("scheduling", "create_resource_person", person=body.model_dump(mode="json"))


@router.get("", response_model=Page[ResourcePersonOut], summary="List resource persons")
async def list_resource_persons(query: Annotated[ResourcePersonListQuery, Query()], caller: ResourcePersonReader,
                                services: ServicesFor) -> dict[str, Any]:
    return await services.call("scheduling", "list_resource_persons", query=query.to_rpc())


@router.get("/{resource_person_id}", response_model=ResourcePersonOut, summary="A resource person")
async def get_resource_person(resource_person_id: uuid.UUID, caller: ResourcePersonReader,
                              services: ServicesFor) -> dict[str, Any]:
    return await services.call("scheduling", "get_resource_person", person_id=str(resource_person_id))


@router.patch("/{resource_person_id}", response_model=ResourcePersonOut, summary="Change a resource person")
async def update_resource_person(resource_person_id: uuid.UUID, body: ResourcePersonChangesIn,
                                 caller: ResourcePersonManager, services: ServicesFor) -> dict[str, Any]:
    """Changes only the fields sent. Plans that booked them on a day they are no longer available,
    or for a topic they no longer teach, re-plan on their own."""
    return await services.call("scheduling", "update_resource_person", person_id=str(resource_person_id),
                               changes=body.model_dump(mode="json", exclude_unset=True))
