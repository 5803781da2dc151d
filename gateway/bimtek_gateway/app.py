"""The FastAPI application: the only door for web and mobile clients."""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from .db import make_engine, make_sessionmaker
from .housekeeping import purge_expired_periodically
from .idempotency import IdempotencyMiddleware
from .loop_lag import track_event_loop_lag
from .middleware import BodySizeLimitMiddleware, RequestContextMiddleware, cors_options
from .nul_characters import NulCharacterMiddleware
from .openapi import install_openapi
from .problems import install_problem_handlers
from .rate_limits import RateLimiter, RateLimitMiddleware
from .routers import (
    audit_log, auth, cooperatives, devices, health, participant_imports, participants, regions, users,
)
from .routers import (
    cooperative_sessions, plan_previews, plans, plans_together, programmes, resource_persons, sessions, venues,
)
from .routers import check_ins, invitations, session_attendance, session_closures
from .routers import certificate_documents, certificates, public_certificates
from .routers import progress
from .rpc import NamekoRpcClient
from .settings import GatewaySettings

log = logging.getLogger(__name__)

DESCRIPTION = """
API of **Bimtek KDMP**, the platform that runs technical training (Bimbingan Teknis) for the
boards and supervisors of the Koperasi Desa/Kelurahan Merah Putih.

- Sign in at `POST /api/v1/auth/token` (participants: `POST /api/v1/auth/participant-token`), then
  send `Authorization: Bearer <access_token>`; trade the refresh token for a new pair at
  `POST /api/v1/auth/refresh`. Check-in phones send their device token (`bkd_...`) the same way.
- Errors are `application/problem+json` (RFC 9457), in Bahasa Indonesia by default and in English
  with `Accept-Language: en`.
- Every response carries `X-Request-ID`; send your own to follow a request through every service.
- Send an `Idempotency-Key` with every write, so that a retry never does it twice.
- Sign-in, bulk registration and public verification are rate limited (429 with `Retry-After`).
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
        app.state.rate_limiter = RateLimiter.from_settings(settings)
        loop_lag = asyncio.create_task(track_event_loop_lag())
        purge = asyncio.create_task(purge_expired_periodically(app.state.sessions))
        try:
            yield
        finally:
            loop_lag.cancel()
            purge.cancel()
            await app.state.rate_limiter.close()
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
    install_openapi(app, settings)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(participants.router)
    app.include_router(audit_log.router)
    app.include_router(participant_imports.router)
    app.include_router(users.router)
    app.include_router(devices.router)
    app.include_router(regions.router)
    app.include_router(cooperatives.router)
    app.include_router(programmes.router)
    app.include_router(plan_previews.router)
    app.include_router(plans.router)
    app.include_router(plans_together.router)
    app.include_router(venues.router)
    app.include_router(resource_persons.router)
    app.include_router(sessions.router)
    app.include_router(cooperative_sessions.router)
    app.include_router(invitations.router)
    app.include_router(check_ins.router)
    app.include_router(session_attendance.router)
    app.include_router(session_closures.router)
    app.include_router(certificates.router)
    app.include_router(certificate_documents.router)
    app.include_router(public_certificates.router)
    app.include_router(progress.router)
    app.include_router(progress.pages)
    # Outermost last: the request id exists before anything else runs, even a 413; CORS headers go on
    # every answer, 413 and 429 included; a limited or oversized request never reaches the
    # idempotency records.
    app.add_middleware(NulCharacterMiddleware)
    app.add_middleware(IdempotencyMiddleware, settings=settings)
    app.add_middleware(RateLimitMiddleware, settings=settings)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes,
                       larger_limits={participant_imports.router.prefix: settings.max_import_bytes})
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, **cors_options(settings.cors_origins))
    app.add_middleware(RequestContextMiddleware)
    return app
