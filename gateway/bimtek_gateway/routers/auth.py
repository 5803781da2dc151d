"""Signing in and staying signed in: token pairs for users and participants, refresh and sign-out.

Users sign in with a username and password, participants with the code on their invitation and
their date of birth. Either gets a short-lived access token and a single-use refresh token.
"""
from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Response, status
from sqlalchemy.ext.asyncio import async_sessionmaker

from .. import refresh_tokens
from ..dependencies import ServicesBeforeSignIn, Sessions, Settings
from ..identity import Role, Subject, SubjectKind, authenticate, issue_access_token_for
from ..problems import Problem
from ..schemas.auth import Credentials, ParticipantCredentials, RefreshTokenIn, TokenPair
from ..settings import GatewaySettings


async def _not_cached(response: Response) -> None:
    response.headers["Cache-Control"] = "no-store"  # answers hold tokens (RFC 6749, section 5.1)


router = APIRouter(prefix="/api/v1/auth", tags=["auth"], dependencies=[Depends(_not_cached)])
# What a wrong password, participant code or refresh token gets (openapi.py adds the problem body).
REFUSED = {401: {"description": "The credentials are wrong, unknown or used up"}}



@router.post("/token", response_model=TokenPair, responses=REFUSED, summary="Sign in with a username and password")
async def sign_in(credentials: Credentials, sessions: Sessions, settings: Settings) -> TokenPair:
    subject = await authenticate(sessions, credentials.username, credentials.password)
    if subject is None:
        raise Problem("invalid_credentials")
    return await _new_pair(sessions, settings, subject)


@router.post("/participant-token", response_model=TokenPair, responses=REFUSED, summary="Sign in as a participant")
async def sign_in_participant(
    credentials: ParticipantCredentials, services: ServicesBeforeSignIn, sessions: Sessions, settings: Settings,
) -> TokenPair:
    """With the participant code printed on the invitation and the date of birth, both in the body.
    An unknown code and a wrong date get the same answer."""
    found = await services.call("registration", "authenticate_participant",
                                participant_code=credentials.participant_code,
                                birth_date=credentials.birth_date.isoformat())
    subject = Subject(id=found["participant_id"], kind=SubjectKind.PARTICIPANT, role=Role.PARTICIPANT.value,
                      regency=found["regency"], cooperative=found["cooperative_id"])
    return await _new_pair(sessions, settings, subject)


@router.post("/refresh", response_model=TokenPair, responses=REFUSED, summary="Trade a refresh token for a new pair")
async def refresh(body: RefreshTokenIn, sessions: Sessions, settings: Settings) -> TokenPair:
    """The refresh token works once. Presenting one that was already used ends its whole session
    (someone else holds a copy), as does a user's deactivation."""
    lifetime = timedelta(days=settings.refresh_token_days)
    subject, next_refresh_token = await refresh_tokens.rotate(sessions, body.refresh_token, lifetime)
    return _pair(settings, subject, next_refresh_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="Sign out")
async def logout(body: RefreshTokenIn, sessions: Sessions) -> Response:
    """Ends the session the refresh token belongs to; access tokens already issued lapse within 15 minutes."""
    await refresh_tokens.revoke_family_of(sessions, body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _new_pair(sessions: async_sessionmaker, settings: GatewaySettings, subject: Subject) -> TokenPair:
    refresh_token = await refresh_tokens.start_family(sessions, subject, timedelta(days=settings.refresh_token_days))
    return _pair(settings, subject, refresh_token)


def _pair(settings: GatewaySettings, subject: Subject, refresh_token: str) -> TokenPair:
    access_token, expires_in = issue_access_token_for(settings, subject)
    return TokenPair(access_token=access_token, expires_in=expires_in, refresh_token=refresh_token,
                     refresh_expires_in=int(timedelta(days=settings.refresh_token_days).total_seconds()))
