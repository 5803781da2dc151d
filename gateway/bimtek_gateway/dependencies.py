"""FastAPI dependencies: the caller behind a request and a service client that carries it along.

Two kinds of bearer credential reach the gateway: access tokens (JWTs, for people) and device
tokens (``bkd_...``, for check-in phones). The prefix tells them apart without trying both; an
endpoint takes people (``CurrentCaller`` and the role aliases) or devices (``CheckInDevice``).

Every dependency is ``async def``, even those that await nothing: FastAPI runs a plain
``def`` dependency in a worker thread, and those hand-offs were a tenth of the gateway's CPU per
request (bench/). Nothing here blocks: a token check is a signature verification of microseconds.
"""
from __future__ import annotations

from typing import Annotated, Any, Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import async_sessionmaker

from bimtek_shared.contracts.caller import Caller

from . import device_tokens
from .device_tokens import Device, today_in_jakarta
from .identity import MAY, Action, InvalidToken, Role, is_device_token, verify_access_token
from .problems import Problem, language_of
from .rpc import NamekoRpcClient
from .settings import GatewaySettings

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/v1/auth/token")
_device_bearer = HTTPBearer(auto_error=False, scheme_name="DeviceToken",
                            description="Device token (bkd_...) from POST /api/v1/device-tokens")


async def get_settings(request: Request) -> GatewaySettings:
    return request.app.state.settings


async def get_sessions(request: Request) -> async_sessionmaker:
    return request.app.state.sessions


Settings = Annotated[GatewaySettings, Depends(get_settings)]
Sessions = Annotated[async_sessionmaker, Depends(get_sessions)]


async def get_caller(
    request: Request,
    settings: Annotated[GatewaySettings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None:
        raise Problem("unauthenticated", headers={"WWW-Authenticate": "Bearer"})
    if is_device_token(credentials.credentials):
        # Refused unread, valid or not: a phone's token works only where an endpoint asks for devices.
        raise Problem("device_token_not_accepted")
    try:
        claims = verify_access_token(settings, credentials.credentials)
    except InvalidToken:
        raise Problem("unauthenticated", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    return Caller(
        user=claims["sub"],
        role=claims["role"],
        regency=claims["regency"],
        cooperative=claims.get("coop"),
        correlation_id=request.state.request_id,
        language=language_of(request),
        request_key=getattr(request.state, "request_key", None),
    )


CurrentCaller = Annotated[Caller, Depends(get_caller)]


def require_role(*roles: Role) -> Callable[[Caller], Caller]:
    allowed = {role.value for role in roles}

    async def check(caller: CurrentCaller) -> Caller:
        if caller.role not in allowed:
            raise Problem("forbidden")
        return caller

    return check


# Who may do what is decided in identity.MAY; these name it for endpoints.
Registrar = Annotated[Caller, Depends(require_role(*MAY[Action.REGISTER_PARTICIPANTS]))]
SingleParticipantReader = Annotated[Caller, Depends(require_role(*MAY[Action.READ_PARTICIPANT]))]
ParticipantReader = Annotated[Caller, Depends(require_role(*MAY[Action.LIST_PARTICIPANTS]))]
ParticipantEditor = Annotated[Caller, Depends(require_role(*MAY[Action.CHANGE_PARTICIPANTS]))]
PersonalDataOfficer = Annotated[Caller, Depends(require_role(*MAY[Action.PROTECT_PERSONAL_DATA]))]
UserAdministrator = Annotated[Caller, Depends(require_role(*MAY[Action.MANAGE_USERS]))]
DeviceTokenIssuer = Annotated[Caller, Depends(require_role(*MAY[Action.MANAGE_DEVICE_TOKENS]))]
CooperativeManager = Annotated[Caller, Depends(require_role(*MAY[Action.MANAGE_COOPERATIVES]))]
CooperativeReader = Annotated[Caller, Depends(require_role(*MAY[Action.READ_COOPERATIVES]))]
CooperativeStatisticsReader = Annotated[Caller, Depends(require_role(*MAY[Action.READ_COOPERATIVE_STATISTICS]))]
ProgrammePlanner = Annotated[Caller, Depends(require_role(*MAY[Action.PLAN_PROGRAMMES]))]
ProgrammeReader = Annotated[Caller, Depends(require_role(*MAY[Action.READ_PROGRAMMES]))]
ResourcePersonManager = Annotated[Caller, Depends(require_role(*MAY[Action.MANAGE_RESOURCE_PERSONS]))]
ResourcePersonReader = Annotated[Caller, Depends(require_role(*MAY[Action.READ_RESOURCE_PERSONS]))]
InvitationReader = Annotated[Caller, Depends(require_role(*MAY[Action.READ_INVITATIONS]))]
AttendanceKeeper = Annotated[Caller, Depends(require_role(*MAY[Action.KEEP_ATTENDANCE]))]
CertificateDownloader = Annotated[Caller, Depends(require_role(*MAY[Action.DOWNLOAD_CERTIFICATES]))]
SessionCertificatePrinter = Annotated[Caller, Depends(require_role(*MAY[Action.PRINT_SESSION_CERTIFICATES]))]
CertificateReader = Annotated[Caller, Depends(require_role(*MAY[Action.READ_CERTIFICATES]))]
CertificateRevoker = Annotated[Caller, Depends(require_role(*MAY[Action.REVOKE_CERTIFICATES]))]
ProgressReader = Annotated[Caller, Depends(require_role(*MAY[Action.READ_PROGRESS]))]


async def get_check_in_device(
    request: Request,
    settings: Annotated[GatewaySettings, Depends(get_settings)],
    sessions: Annotated[async_sessionmaker, Depends(get_sessions)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_device_bearer)],
) -> Device:
    """The check-in phone behind a request. Its token is looked up every time (a revocation counts
    at once) and must be valid today; the endpoint then checks the venue and session it acts on
    with ``device.require_scope(...)``."""
    if credentials is None:
        raise Problem("unauthenticated", headers={"WWW-Authenticate": "Bearer"})
    if not is_device_token(credentials.credentials):
        try:
            verify_access_token(settings, credentials.credentials)
        except InvalidToken:  # a bad token is 401 wherever it is sent
            raise Problem("unauthenticated", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
        raise Problem("device_token_required")
    token = await device_tokens.authenticate(sessions, credentials.credentials, today=today_in_jakarta())
    caller = Caller(user=str(token.id), role=Role.DEVICE.value, regency=token.regency,
                    correlation_id=request.state.request_id, language=language_of(request),
                    request_key=getattr(request.state, "request_key", None))
    return Device(caller=caller, scope=token.scope)


CheckInDevice = Annotated[Device, Depends(get_check_in_device)]


def target_regency(requested: str | None, caller: Caller) -> str:
    """The regency a write is for: the one asked for, else the caller's own (a province
    administrator has none of their own and must say which). Another regency than the caller's
    is refused here, whatever the body says."""
    regency = requested or caller.regency_scope
    if regency is None:
        raise Problem("validation_failed",
                      errors=[{"field": "regency", "message": "required for province administrators"}])
    if not caller.may_access(regency):
        raise Problem("regency_out_of_scope")
    return regency


class Services:
    """Calls services for one request: the caller's identity, request id and language go with every call."""

    def __init__(self, client: NamekoRpcClient, context: dict[str, str], timeout: float) -> None:
        self._client = client
        self._context = context
        self._timeout = timeout

    async def call(self, service: str, method: str, **kwargs: Any) -> Any:
        return await self._client.call(service, method, kwargs=kwargs, context=self._context, timeout=self._timeout)

    def waiting(self, seconds: float) -> "Services":
        """The same calls, waiting this long for an answer (for the few that do seconds of work)."""
        return Services(self._client, self._context, seconds)


async def get_services(
    request: Request, caller: CurrentCaller, settings: Annotated[GatewaySettings, Depends(get_settings)]
) -> Services:
    return Services(request.app.state.rpc, caller.to_context(), settings.rpc_timeout_seconds)


ServicesFor = Annotated[Services, Depends(get_services)]


async def get_services_before_sign_in(
    request: Request, settings: Annotated[GatewaySettings, Depends(get_settings)]
) -> Services:
    """For the calls that sign someone in: services see no caller (and answer only such calls so)."""
    context = {"correlation_id": request.state.request_id, "language": language_of(request)}
    return Services(request.app.state.rpc, context, settings.rpc_timeout_seconds)


ServicesBeforeSignIn = Annotated[Services, Depends(get_services_before_sign_in)]


async def get_device_services(
    request: Request, device: CheckInDevice, settings: Annotated[GatewaySettings, Depends(get_settings)]
) -> Services:
    """A service client for a check-in phone's request: the device (role ``device``) is the caller."""
    return Services(request.app.state.rpc, device.caller.to_context(), settings.rpc_timeout_seconds)


DeviceServicesFor = Annotated[Services, Depends(get_device_services)]
