"""The FastAPI application: the only door for web and mobile clients."""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from .db import make_engine, make_sessionmaker
from .middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from .problems import install_problem_handlers
from .routers import auth, health, participant_imports, participants
from .rpc import NamekoRpcClient
from .settings import GatewaySettings

log = logging.getLogger(__name__)

DESCRIPTION = """
API of **Bimtek KDMP**, the platform that runs technical training (Bimbingan Teknis) for the
boards and supervisors of the Koperasi Desa/Kelurahan Merah Putih.

- Sign in at `POST /api/v1/auth/token`, then send `Authorization: Bearer <token>`.
- Errors are `application/problem+json` (RFC 9457), in Bahasa Indonesia by default and in English
  with `Accept-Language: en`.
- Every response carries `X-Request-ID`; send your own to follow a request through every service.
"""


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.engine = make_engine(settings.async_database_url)
        app.state.sessions = make_sessionmaker(app.state.engine)
        app.state.rpc = NamekoRpcClient(settings.amqp_uri, default_timeout=settings.rpc_timeout_seconds)
        await app.state.rpc.start()
        try:
            yield
        finally:
            await app.state.rpc.close()
            await app.state.engine.dispose()

    app = FastAPI(
        title="Bimtek KDMP API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(participants.router)
    app.include_router(participant_imports.router)
    # Outermost last: the request id exists before anything else runs, even a 413.
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["*"], allow_headers=["*"], expose_headers=["X-Request-ID"])
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes,
                       larger_limits={participant_imports.router.prefix: settings.max_import_bytes})
    app.add_middleware(RequestContextMiddleware)
    return app
