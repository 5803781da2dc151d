"""Certificates as files: one certificate's PDF, a ZIP of a cooperative's, a kecamatan's or a
session's, and a session's merged printable PDF.

The certificates service renders on demand (nameko RPC carries no streams), so an archive is
streamed: the gateway pages through the scope's certificate ids, asks for their PDFs a batch at a
time and writes each batch's ZIP entries out before asking for the next (``archives.zip_stream``).
Memory stays at a batch whatever the scope; a province's 68,000 certificates pass through the
same way. The first page and batch are fetched before the answer starts, so a refusal or an
unavailable service is still a proper problem answer; a failure after that cuts the archive
short, which every unzip tool reports (the central directory is missing).

What a certificate prints besides its own facts (the cooperative and its desa and kecamatan, the
regency, the venue) belongs to registration and scheduling. The gateway looks those names up for
the certificates the certificates service has just allowed the caller, with the caller's own
identity where that role may read them (staff) and as a read-only deputy of the caller's regency
otherwise (a cooperative operator or participant may not list sessions, yet their certificate
names the venue): only names, only of what those certificates name.
"""
from __future__ import annotations

import asyncio
import base64
import re
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from bimtek_shared.contracts.caller import Caller
from bimtek_shared.contracts.envelope import DISTRICT_CODE_PATTERN

from ..archives import zip_stream
from ..dependencies import CertificateDownloader, ServicesFor, SessionCertificatePrinter, Settings
from ..documents import PDF_RESPONSES, pdf_response
from ..identity import Role
from ..problems import Problem
from ..rpc import NamekoRpcClient

router = APIRouter(tags=["certificates"])

BATCH = 20  # PDFs per RPC reply: about 1 MB of base64, a worker's batch, and the gateway's memory per archive
PAGE = 500  # certificate ids per listing call
ZIP = "application/zip"
STAFF = {Role.PROVINCE_ADMIN.value, Role.REGENCY_ADMIN.value, Role.OPERATOR.value}


class PrintNames:
    """Names the certificates print, looked up once per request."""

    def __init__(self, services: Any) -> None:
        self._services = services
        self.known_views: dict[str, dict[str, Any]] = {}  # cooperative views a listing brought along
        self._regencies: dict[str, str] | None = None
        self._districts: dict[str, dict[str, str]] = {}
        self.cooperatives: dict[str, dict[str, str]] = {}
        self.venues: dict[str, str] = {}
        self.regency_name = ""

    async def cover(self, items: list[dict[str, Any]]) -> None:
        """Look up what ``items`` (certificates: ``cooperative_id``, ``session_id``) name and is not known yet."""
        for cooperative_id in {item["cooperative_id"] for item in items if item["cooperative_id"]} - set(self.cooperatives):
            view = self.known_views.get(cooperative_id) or await self._services.call(
                "registration", "get_cooperative", cooperative_id=cooperative_id)
            village = (view.get("villages") or [{}])[0]
            self.cooperatives[cooperative_id] = {
                "name": view["name"], "village": village.get("name", ""),
                "district": await self._district_name(village.get("district", ""))}
            if not self.regency_name:
                self.regency_name = await self._regency_name(view["regency"])
        for session_id in {item["session_id"] for item in items} - set(self.venues):
            session = await self._services.call("scheduling", "get_session", session_id=session_id)
            self.venues[session_id] = session["venue"]["name"]

    def for_rpc(self) -> dict[str, Any]:
        return {"regency_name": self.regency_name, "cooperatives": self.cooperatives, "venues": self.venues}

    async def _district_name(self, district_code: str) -> str:
        if not district_code:
            return ""
        regency = district_code.rsplit(".", 1)[0]
        if regency not in self._districts:
            answer = await self._services.call("registration", "list_districts", regency_code=regency)
            self._districts[regency] = {item["code"]: item["name"] for item in answer["items"]}
        return self._districts[regency].get(district_code, "")

    async def _regency_name(self, regency: str) -> str:
        if self._regencies is None:
            answer = await self._services.call("registration", "list_regencies")
            self._regencies = {item["code"]: item["name"] for item in answer["items"]}
        return self._regencies.get(regency, "")


class _Deputy:
    """Name look-ups for a caller whose role may not read cooperatives or sessions: as a trainer
    (the read-only staff role) of the caller's own regency, the request id kept."""

    def __init__(self, client: NamekoRpcClient, caller: Caller, timeout: float) -> None:
        deputy = Caller(user=f"certificate-names:{caller.user}", role=Role.TRAINER.value, regency=caller.regency,
                        correlation_id=caller.correlation_id, language=caller.language)
        self._client, self._context, self._timeout = client, deputy.to_context(), timeout

    async def call(self, service: str, method: str, **kwargs: Any) -> Any:
        return await self._client.call(service, method, kwargs=kwargs, context=self._context, timeout=self._timeout)


def file_name(number: str) -> str:
    """``0001/BIMTEK-KDMP/35.17/2025`` → ``0001-BIMTEK-KDMP-35.17-2025.pdf``: the number, never a name."""
    return re.sub(r"[^0-9A-Za-z.]+", "-", number).strip("-") + ".pdf"


async def _listing(services: Any, scope: dict[str, str]) -> AsyncIterator[list[dict[str, Any]]]:
    after = None
    while True:
        page = await services.call("certificates", "list_certificates", query={**scope, "after": after, "limit": PAGE})
        if page["items"]:
            yield page["items"]
        after = page["next_after"]
        if after is None:
            return


async def _rendered(services: Any, names: PrintNames, items: list[dict[str, Any]]) -> list[tuple[str, bytes]]:
    await names.cover(items)
    answer = await services.call("certificates", "render_certificates",
                                 certificate_ids=[item["id"] for item in items], print_names=names.for_rpc())
    files = [f for f in answer["files"] if f["status"] == "rendered"]  # revoked or erased since the listing: left out
    contents = await asyncio.to_thread(lambda: [base64.b64decode(f["content_base64"]) for f in files])
    return [(file_name(f["number"]), content) for f, content in zip(files, contents)]


async def _entries(services: Any, names: PrintNames,
                   scopes: AsyncIterator[dict[str, str]]) -> AsyncIterator[tuple[str, bytes]]:
    async for scope in scopes:
        async for items in _listing(services, scope):
            for start in range(0, len(items), BATCH):
                for entry in await _rendered(services, names, items[start:start + BATCH]):
                    yield entry


def _print_names(request: Request, caller: Caller, services: ServicesFor, settings: Any) -> PrintNames:
    return PrintNames(services if caller.role in STAFF
                      else _Deputy(request.app.state.rpc, caller, settings.rpc_timeout_seconds))


@router.get("/api/v1/certificates/{certificate_id}/document", response_class=Response, responses=PDF_RESPONSES,
            summary="A certificate as a PDF")
async def get_certificate_document(certificate_id: uuid.UUID, request: Request, caller: CertificateDownloader,
                                   services: ServicesFor, settings: Settings) -> Response:
    """A4 landscape, in Bahasa Indonesia, with its number and QR code. Regency staff read their
    regency's, a cooperative operator their cooperative's, a participant their own. A revoked or
    superseded certificate, or one whose holder's personal data was erased, is 409
    `certificate_not_printable`."""
    names = _print_names(request, caller, services, settings)
    listed = await services.call("certificates", "list_certificates",
                                 query={"certificate_id": str(certificate_id), "printable_only": False})
    if not listed["items"]:
        raise Problem("certificate_not_found")
    await names.cover(listed["items"])
    answer = await services.call("certificates", "render_certificates", certificate_ids=[str(certificate_id)],
                                 print_names=names.for_rpc())
    rendered = answer["files"][0]
    if rendered["status"] == "not_found":
        raise Problem("certificate_not_found")
    if rendered["status"] == "not_printable":
        raise Problem("certificate_not_printable", status=rendered["certificate_status"])
    return await pdf_response(rendered, file_name(rendered["number"]))


@router.get("/api/v1/certificate-archives", response_class=StreamingResponse,
            responses={200: {"content": {ZIP: {}}, "description": "A ZIP of PDFs, streamed"}},
            summary="The certificates of a cooperative, a kecamatan or a session, as a ZIP")
async def get_certificate_archive(
    request: Request, caller: CertificateDownloader, services: ServicesFor, settings: Settings,
    cooperative_id: uuid.UUID | None = None,
    district: Annotated[str | None, Query(pattern=DISTRICT_CODE_PATTERN, description="A kecamatan code")] = None,
    session_id: uuid.UUID | None = None,
) -> StreamingResponse:
    """Name exactly one scope. Each certificate is an entry named by its number; revoked and
    superseded certificates and those of erased people are left out. Streamed as it is made
    (no `Content-Length`): a kecamatan or a whole province never waits to be assembled. A
    cooperative operator gets only their cooperative's certificates, a participant their own."""
    if sum(scope is not None for scope in (cooperative_id, district, session_id)) != 1:
        raise Problem("certificate_archive_scope")
    names = _print_names(request, caller, services, settings)

    async def scopes() -> AsyncIterator[dict[str, str]]:
        if cooperative_id is not None:
            yield {"cooperative_id": str(cooperative_id)}
        elif session_id is not None:
            yield {"session_id": str(session_id)}
        else:  # a kecamatan: its cooperatives (registration knows which), one after another
            cursor = None
            while True:
                page = await services.call("registration", "list_cooperatives",
                                           query={"district": district, "limit": 200, "sort": "name",
                                                  **({"cursor": cursor} if cursor else {})})
                for view in page["items"]:
                    names.known_views[view["id"]] = view
                    yield {"cooperative_id": view["id"]}
                cursor = page["next_cursor"]
                if cursor is None:
                    return

    entries = _entries(services, names, scopes())
    # The first entry before answering: a refusal or an unavailable service is a problem answer, not a broken ZIP.
    first = await anext(entries, None)

    async def all_entries() -> AsyncIterator[tuple[str, bytes]]:
        if first is not None:
            yield first
            async for entry in entries:
                yield entry

    scope_name = (f"koperasi-{cooperative_id}" if cooperative_id else f"kecamatan-{district}" if district
                  else f"sesi-{session_id}")
    return StreamingResponse(zip_stream(all_entries()), media_type=ZIP, headers={
        "Content-Disposition": f'attachment; filename="sertifikat-{scope_name}.zip"', "Cache-Control": "no-store"})


@router.get("/api/v1/sessions/{session_id}/certificates.pdf", response_class=Response, responses=PDF_RESPONSES,
            summary="A session's certificates in one printable PDF")
async def get_session_certificates_pdf(session_id: uuid.UUID, request: Request, caller: SessionCertificatePrinter,
                                       services: ServicesFor, settings: Settings) -> Response:
    """Every printable certificate of the session, a page each, for printing on paper (a page
    saying there are none yet while the session has none). 404 `session_not_found` for a session
    the caller's regency does not hold."""
    names = _print_names(request, caller, services, settings)
    session = await services.call("scheduling", "get_session", session_id=str(session_id))  # the caller's regency's?
    names.venues[session["id"]] = session["venue"]["name"]
    items = [item async for page in _listing(services, {"session_id": str(session_id)}) for item in page]
    await names.cover(items)
    answer = await services.call("certificates", "render_session_certificates", session_id=str(session_id),
                                 print_names=names.for_rpc())
    return await pdf_response(answer, "sertifikat-sesi.pdf")
