"""FastAPI dependencies: the caller behind a request and a service client that carries it along."""
from __future__ import annotations

from typing import Annotated, Any, Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import async_sessionmaker

from bimtek_shared.contracts.caller import Caller

from .identity import InvalidToken, Role, verify_access_token
from .problems import Problem, language_of
from .rpc import NamekoRpcClient
from .settings import GatewaySettings

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/v1/auth/token")


def get_settings(request: Request) -> GatewaySettings:
    return request.app.state.settings


def get_sessions(request: Request) -> async_sessionmaker:
    return request.app.state.sessions


def get_caller(
    request: Request,
    settings: Annotated[GatewaySettings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None:
        raise Problem("unauthenticated", headers={"WWW-Authenticate": "Bearer"})
    try:
        claims = verify_access_token(settings, credentials.credentials)
    except InvalidToken:
        raise Problem("unauthenticated", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    return Caller(
        user=claims["sub"],
        role=claims.get("role", ""),
        regency=claims.get("regency", ""),
        correlation_id=request.state.request_id,
        language=language_of(request),
    )


CurrentCaller = Annotated[Caller, Depends(get_caller)]


def require_role(*roles: Role) -> Callable[[Caller], Caller]:
    allowed = {role.value for role in roles}

    def check(caller: CurrentCaller) -> Caller:
        if caller.role not in allowed:
            raise Problem("forbidden")
        return caller

    return check


Registrar = Annotated[Caller, Depends(require_role(Role.PROVINCE_ADMIN, Role.REGENCY_ADMIN, Role.OPERATOR))]


def target_regency(requested: str | None, caller: Caller) -> str:
    """The regency a write is for: the one asked for, else the caller's own (a province
    administrator has none of their own and must say which)."""
    regency = requested or caller.regency_scope
    if regency is None:
        raise Problem("validation_failed",
                      errors=[{"field": "regency", "message": "required for province administrators"}])
    return regency


class Services:
    """Calls services on behalf of one caller: identity, request id and language go with every call."""

    def __init__(self, client: NamekoRpcClient, caller: Caller, timeout: float) -> None:
        self._client = client
        self._caller = caller
        self._timeout = timeout

    async def call(self, service: str, method: str, **kwargs: Any) -> Any:
        return await self._client.call(
            service, method, kwargs=kwargs, context=self._caller.to_context(), timeout=self._timeout
        )


def get_services(
    request: Request, caller: CurrentCaller, settings: Annotated[GatewaySettings, Depends(get_settings)]
) -> Services:
    return Services(request.app.state.rpc, caller, settings.rpc_timeout_seconds)


ServicesFor = Annotated[Services, Depends(get_services)]
