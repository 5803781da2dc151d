"""Documents services render (PDFs), handed to the client as files."""
from __future__ import annotations

import asyncio
import base64
from typing import Any

from fastapi import Response

PDF = "application/pdf"
PDF_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {PDF: {}}, "description": "A PDF (A4)"}}


async def pdf_response(answer: dict[str, Any], file_name: str) -> Response:
    """A service's ``content_base64`` as a PDF. It holds names: never cached on the way."""
    # An attendance sheet with QR codes runs to a megabyte: decoded off the event loop.
    content = await asyncio.to_thread(base64.b64decode, answer["content_base64"])
    return Response(content, media_type=PDF, headers={
        "Content-Disposition": f'inline; filename="{file_name}"', "Cache-Control": "no-store"})
