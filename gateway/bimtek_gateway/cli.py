"""``bimtek-gateway``: administration of the gateway's own data.

    bimtek-gateway create-user USERNAME --role ROLE [--regency 35.17]   (password read from stdin
                                                                          or BIMTEK_PASSWORD)
"""
from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from .db import make_engine, make_sessionmaker
from .identity import Role, create_user
from .settings import GatewaySettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bimtek-gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-user", help="add a user who signs in with a password")
    create.add_argument("username")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--regency", default="*", help="regency code, e.g. 35.17 (province admins: *)")
    args = parser.parse_args(argv)

    password = os.environ.get("BIMTEK_PASSWORD") or (
        getpass.getpass("Kata sandi: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    )
    if len(password) < 12:
        print("kata sandi minimal 12 karakter / the password needs at least 12 characters", file=sys.stderr)
        return 2
    settings = GatewaySettings()

    async def run() -> str:
        engine = make_engine(settings.async_database_url, pool_size=1)
        try:
            return await create_user(make_sessionmaker(engine), username=args.username, password=password,
                                     role=Role(args.role), regency=args.regency)
        finally:
            await engine.dispose()

    print(asyncio.run(run()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
