"""``bimtek-gateway``: administration of the gateway's own data.

    bimtek-gateway create-user USERNAME --role ROLE [--regency 35.17] [--cooperative UUID]
        (password read from BIMTEK_PASSWORD, or asked for / read from stdin)

It makes the first province administrator; everyone after that is created through
``POST /api/v1/users``.
"""
from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import re
import sys
import uuid

from bimtek_shared.contracts.errors import message_for

from .db import make_engine, make_sessionmaker
from .identity import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, USER_ROLES, Role, create_user
from .problems import Problem
from .schemas.users import USERNAME_PATTERN
from .settings import GatewaySettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bimtek-gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-user", help="add a user who signs in with a password")
    create.add_argument("username")
    create.add_argument("--role", required=True, choices=sorted(role.value for role in USER_ROLES))
    create.add_argument("--regency", help="regency code, e.g. 35.17 (not for province administrators)")
    create.add_argument("--cooperative", type=uuid.UUID, help="cooperative id (cooperative operators only)")
    args = parser.parse_args(argv)

    if not re.fullmatch(USERNAME_PATTERN, args.username):
        print("nama pengguna: huruf kecil, angka, '.', '_' atau '-' / username: lower case letters, digits, "
              "'.', '_' or '-'", file=sys.stderr)
        return 2
    password = os.environ.get("BIMTEK_PASSWORD") or (
        getpass.getpass("Kata sandi: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    )
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        print(f"kata sandi {MIN_PASSWORD_LENGTH} sampai {MAX_PASSWORD_LENGTH} karakter / the password needs "
              f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters", file=sys.stderr)
        return 2
    settings = GatewaySettings()

    async def run() -> uuid.UUID:
        engine = make_engine(settings.async_database_url, pool_size=1)
        try:
            return await create_user(make_sessionmaker(engine), username=args.username, password=password,
                                     role=Role(args.role), regency=args.regency, cooperative_id=args.cooperative)
        finally:
            await engine.dispose()

    try:
        print(asyncio.run(run()))
    except Problem as problem:
        details = "; ".join(f"{e['field']}: {e['message']}" for e in problem.params.get("errors", []))
        print(f"{message_for(problem.code, 'id')} / {message_for(problem.code, 'en')} {details}".strip(),
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
