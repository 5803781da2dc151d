from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from ..identity import MAX_PASSWORD_LENGTH


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=100, examples=["admin.jombang"])
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class ParticipantCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    participant_code: str = Field(min_length=1, max_length=16, examples=["K7QM3XPA"],
                                  description="The personal code printed on the invitation")
    birth_date: date = Field(examples=["1985-07-01"])


class RefreshTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=200)


class TokenPair(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_token: str = Field(description="Single use: POST it to /api/v1/auth/refresh for the next pair")
    refresh_expires_in: int = Field(description="Seconds until the refresh token expires unless used")
