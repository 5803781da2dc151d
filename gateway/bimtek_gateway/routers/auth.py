"""Signing in: a username and password for an access token."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import async_sessionmaker

from ..dependencies import get_sessions, get_settings
from ..identity import authenticate, issue_access_token
from ..problems import Problem
from ..settings import GatewaySettings

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=100, examples=["admin.jombang"])
    password: str = Field(min_length=1, max_length=200)


class AccessToken(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int = Field(description="Seconds until the token expires")


@router.post("/token", response_model=AccessToken, summary="Sign in")
async def sign_in(
    credentials: Credentials,
    sessions: Annotated[async_sessionmaker, Depends(get_sessions)],
    settings: Annotated[GatewaySettings, Depends(get_settings)],
) -> AccessToken:
    user = await authenticate(sessions, credentials.username, credentials.password)
    if user is None:
        raise Problem("invalid_credentials")
    token, expires_in = issue_access_token(settings, user_id=user["id"], role=user["role"], regency=user["regency"])
    return AccessToken(access_token=token, expires_in=expires_in)
