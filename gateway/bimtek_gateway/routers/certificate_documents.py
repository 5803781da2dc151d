"""Certificates as files: one certificate's PDF, a ZIP of a cooperative's, a kecamatan's or a
session's, and a session's merged printable PDF.

The certificates service renders on demand (nameko RPC carries no streams), so an archive is
streamed: the gateway pages through the scope's certificate ids, asks for their PDFs a batch at a
time and writes each batch's ZIP entries out before asking for the next (``archives.zip_stream``).
Memory stays at a batch whatever the scope; a province's 68,000 certificates pass through the
same way. The first page and batch are fetched before the answer starts, so a refusal or an
unavailable service is still a proper problem answer; a failure after that cuts the archive
short, which every unzip tool reports (the central directory is missing).

Everything a certificate prints, the names of its cooperative, regions and venue included, is
the certificates service's own (kept from registration's and scheduling's events): the gateway
asks with the caller's identity and streams what comes back.
"""
from __future__ import annotations

import asyncio
import base64
import re
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from bimtek_shared.contracts.envelope import DISTRICT_CODE_PATTERN

from ..archives import zip_stream
from ..dependencies import CertificateDownloader, ServicesFor, SessionCertificatePrinter
from ..documents import PDF_RESPONSES, pdf_response
from ..problems import Problem

router = APIRouter(tags=["certificates"])

BATCH = 20  # PDFs per RPC reply: about 1 MB of base64, a worker's batch, and the gateway's memory per archive
PAGE = 500  # certificate ids per listing call
ZIP = "application/zip"


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


async def _rendered(services: Any, items: list[dict[str, Any]]) -> list[tuple[str, bytes]]:
    answer = await services.call("certificates", "render_certificates", certificate_ids=[item["id"] for item in items])
    files = [f for f in answer["files"] if f["status"] == "rendered"]  # revoked or erased since the listing: left out
    contents = await asyncio.to_thread(lambda: [base64.b64decode(f["content_base64"]) for f in files])
    return [(file_name(f["number"]), content) for f, content in zip(files, contents)]


async def _entries(services: Any, scopes: AsyncIterator[dict[str, str]]) -> AsyncIterator[tuple[str, bytes]]:
    async for scope in scopes:
        async for items in _listing(services, scope):
            for start in range(0, len(items), BATCH):
                for entry in await _rendered(services, items[start:start + BATCH]):
                    yield entry


@router.get("/api/v1/certificates/{certificate_id}/document", response_class=Response, responses=PDF_RESPONSES,
            summary="A certificate as a PDF")
async def get_certificate_document(certificate_id: uuid.UUID, caller: CertificateDownloader,
                                   services: ServicesFor) -> Response:
    """A4 landscape, in Bahasa Indonesia, with its number and QR code. Regency staff read their
    regency's, a cooperative operator their cooperative's, a participant their own. A revoked or
    superseded certificate, or one whose holder's personal data was erased, is 409
    `certificate_not_printable`."""
    answer = await services.call("certificates", "render_certificates", certificate_ids=[str(certificate_id)])
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
    caller: CertificateDownloader, services: ServicesFor,
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
                    yield {"cooperative_id": view["id"]}
                cursor = page["next_cursor"]
                if cursor is None:
                    return

    entries = _entries(services, scopes())
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
async def get_session_certificates_pdf(session_id: uuid.UUID, caller: SessionCertificatePrinter,
                                       services: ServicesFor) -> Response:
    """Every printable certificate of the session, a page each, for printing on paper (a page
    saying there are none yet while the session has none). 404 `session_not_found` for a session
    the caller's regency does not hold."""
    await services.call("scheduling", "get_session", session_id=str(session_id))  # the caller's regency's? else 404
    answer = await services.call("certificates", "render_session_certificates", session_id=str(session_id))
    return await pdf_response(answer, "sertifikat-sesi.pdf")
