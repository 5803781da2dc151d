"""Refuses JSON bodies holding the NUL character (U+0000, written ``\\u0000`` in JSON) in a string.

PostgreSQL's text types cannot store it, so such a value (a name, a title, a reason) passed every
schema and then failed in whichever database it reached: a 500 from the gateway's own tables or
from a service. Checked once here for every route, it is a 422 ``validation_failed`` instead.
Only JSON bodies are read: an uploaded spreadsheet is binary and holds NUL bytes by right.
"""
from __future__ import annotations

import re
from collections import deque

from starlette.types import ASGIApp, Receive, Scope, Send

from .idempotency import WRITE_METHODS
from .middleware import buffer_body, replay_body, send_problem

# ``\u0000`` as a JSON escape: preceded by an even number of backslashes (``\\u0000`` is the text
# "\u0000", harmless). A raw NUL byte is no valid JSON and is refused by the parser already.
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
NUL_MESSAGE = "text may not contain the NUL character (U+0000)"


class NulCharacterMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks = await buffer_body(receive)
        if chunks is None:
            return  # the client left, or the body was over its limit (answered 413)
        body = b"".join(chunks)  # at most the body limit: that check runs before this one
        if _ESCAPED_NUL.search(body):
            await send_problem(scope, send, "validation_failed", errors=[
                {"field": "body", "message": NUL_MESSAGE}])
            return
        await self.app(scope, replay_body(deque([body]), receive), send)


def _is_json(scope: Scope) -> bool:
    content_type = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
    # FastAPI reads a body without a Content-Type as JSON too.
    return not content_type or content_type == b"application/json" or content_type.endswith(b"+json")
