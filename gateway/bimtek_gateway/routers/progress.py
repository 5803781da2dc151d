"""Training progress: the figures per kecamatan of a regency (or per regency of the province) as
JSON, and the read-only dashboard page that shows them.

The page is static: it holds no data and needs no sign-in to load. Its script signs the official
in through the ordinary token endpoint, keeps the access token in the tab's ``sessionStorage``
(gone with the tab, never in a URL or a cookie, so no CSRF surface), and fetches
``/api/v1/progress`` with it, so the API's tenant rules are the page's. A strict CSP allows only
this gateway's own script, style and API.
"""
from __future__ import annotations

import asyncio
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from bimtek_shared.contracts.envelope import REGENCY_CODE_PATTERN
from bimtek_shared.contracts.progress import scope_of

from ..dashboard import DASHBOARD_HEADERS, dashboard_page
from ..dependencies import ProgressReader, ServicesFor
from ..problems import language_of
from ..progress import SERVICES, merge, problem_note
from ..rpc import ServiceTimeout, ServiceUnavailable
from ..schemas.progress import ProgressOut

router = APIRouter(prefix="/api/v1/progress", tags=["progress"])
pages = APIRouter(prefix="/dashboard", include_in_schema=False)


class ProgressQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN,
                                description="Province administrators: this regency, or the province when absent. "
                                            "Anyone else gets their own (another is 403).")


@router.get("", response_model=ProgressOut, summary="Training progress per kecamatan (or per regency)")
async def get_progress(query: Annotated[ProgressQuery, Query()], request: Request, caller: ProgressReader,
                       services: ServicesFor) -> dict[str, Any]:
    """For a regency, per kecamatan: villages, villages with a cooperative, cooperatives and
    participants registered, participants scheduled, checked in and completed, certificates
    issued, revoked, re-issued and awaiting issue; the regency's totals (a cooperative serving two
    kecamatan counts in both rows and once in the totals); and the sessions to come. For the
    province (a province administrator naming no regency) the rows are the regencies. If a service
    is down its columns are null and `problems` says so; the rest is answered."""
    scope = scope_of(caller, query.regency)
    language = language_of(request)
    answers: dict[str, dict[str, Any] | None] = {}
    problems = []

    async def ask(service: str) -> None:
        try:
            answers[service] = await services.call(service, "get_progress", regency=scope)
        except ServiceUnavailable:
            answers[service] = None
            problems.append(problem_note(service, "service_unavailable", language))
        except ServiceTimeout:
            answers[service] = None
            problems.append(problem_note(service, "service_timeout", language))

    await asyncio.gather(*(ask(service) for service in SERVICES))
    return merge(scope, answers, sorted(problems, key=lambda note: note["service"]))


# -- the dashboard page ------------------------------------------------------------------------
PageLanguage = Annotated[str | None, Query(pattern="^(id|en)$")]


@pages.get("", response_class=HTMLResponse)
async def dashboard(request: Request, lang: PageLanguage = None) -> HTMLResponse:
    """The caller's own regency, or the province for a province administrator."""
    return _page(request, None, lang)


@pages.get("/assets/{name}")
async def dashboard_asset(name: Annotated[str, Path(pattern=r"^dashboard\.(js|css)$")]) -> Response:
    media_type = "text/javascript" if name.endswith(".js") else "text/css"
    body = resources.files("bimtek_gateway").joinpath("dashboard_assets", name).read_bytes()
    return Response(body, media_type=f"{media_type}; charset=utf-8",
                    headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


@pages.get("/{regency}", response_class=HTMLResponse)
async def regency_dashboard(request: Request, regency: Annotated[str, Path(pattern=REGENCY_CODE_PATTERN)],
                            lang: PageLanguage = None) -> HTMLResponse:
    return _page(request, regency, lang)


def _page(request: Request, regency: str | None, lang: str | None) -> HTMLResponse:
    language = lang or language_of(request)
    switch_to = f"{request.url.path}?lang={'id' if language == 'en' else 'en'}"
    return HTMLResponse(dashboard_page(language, regency, switch_to), headers=DASHBOARD_HEADERS | {
        "Content-Language": language})
