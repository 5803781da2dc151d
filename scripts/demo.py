"""``make demo``: a registration travelling through all three services, through the public API.

Starts the stack as local processes (``bimtek-ops stack up``), signs in as a regency operator,
registers a board member of a Jombang cooperative, and follows the ``participant.registered``
event until scheduling has put the participant on its waiting list and certificates has them on
its roster. Stops the stack at the end unless KEEP=1.
"""
from __future__ import annotations

import os
import random
import secrets
import subprocess
import sys
import time
from datetime import date

import httpx

from bimtek_shared.ops import dead_letters, local_stack

JOMBANG = "35.17"
KECAMATAN_JOMBANG = "09"  # Kecamatan Jombang, 35.17.09


def say(step: str) -> None:
    print(f"\n== {step}", flush=True)


def synthetic_nik(birth: date, female: bool) -> str:
    day = birth.day + (40 if female else 0)
    serial = random.randint(1, 9999)
    return f"3517{KECAMATAN_JOMBANG}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"


def main() -> int:
    stack = local_stack.from_environment()
    say("Starting registration, scheduling, certificates and the gateway")
    stack.up()
    print(local_stack.describe(stack))
    try:
        return run(stack)
    finally:
        if os.environ.get("KEEP") == "1":
            print(f"\nThe stack keeps running (gateway {stack.gateway_url}, API docs {stack.gateway_url}/docs); "
                  "stop it with `make down`.")
        else:
            say("Stopping the stack (KEEP=1 leaves it running)")
            stack.down()


def run(stack: local_stack.LocalStack) -> int:
    username, password = f"operator.jombang.{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    say(f"Creating a regency operator for Kabupaten Jombang ({username})")
    gateway_env = stack.env_for(next(u for u in local_stack.UNITS if u.name == "gateway"))
    subprocess.run([sys.executable, "-m", "bimtek_gateway.cli", "create-user", username, "--role", "operator",
                    "--regency", JOMBANG], env={**gateway_env, "BIMTEK_PASSWORD": password}, check=True,
                   stdout=subprocess.DEVNULL)

    with httpx.Client(base_url=stack.gateway_url, timeout=15) as api:
        say("Signing in through the gateway")
        token = api.post("/api/v1/auth/token", json={"username": username, "password": password})
        token.raise_for_status()
        api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

        say("Registering the ketua of a cooperative in Kecamatan Jombang")
        birth = date(1979, 3, 14)
        request_id = f"demo-{secrets.token_hex(6)}"
        response = api.post(
            "/api/v1/participants",
            headers={"X-Request-ID": request_id},
            json={"nik": synthetic_nik(birth, female=True), "full_name": "Sri Wahyuningsih", "sex": "P",
                  "birth_date": birth.isoformat(), "position": "ketua", "phone": "0812-3300-1234"},
        )
        print(f"HTTP {response.status_code}, X-Request-ID {response.headers['x-request-id']}")
        response.raise_for_status()
        participant = response.json()
        print(f"participant {participant['id']} code {participant['participant_code']} "
              f"NIK {participant['nik_masked']} (stored encrypted, shown masked)")

        say("Following participant.registered into scheduling and certificates")
        started = time.monotonic()
        while True:
            view = api.get(f"/api/v1/participants/{participant['id']}").json()
            scheduling, certificates = view["scheduling"]["status"], view["certificates"]["status"]
            if scheduling == "waiting" and certificates == "on_roster":
                break
            if time.monotonic() - started > 20:
                print(f"the event did not arrive in 20 s: {view}")
                return 1
            time.sleep(0.1)
        elapsed = (time.monotonic() - started) * 1000
        print(f"registration: registered | scheduling: {scheduling} | certificates: {certificates} "
              f"(visible {elapsed:.0f} ms after the 201)")

        say("The same request id in every service's log")
        for unit in ("registration", "scheduling", "certificates"):
            print(f"{unit:13s} {'yes' if _log_mentions(stack, unit, request_id) else 'no'}")

        say("Errors speak Bahasa Indonesia, or English on request")
        wrong_birth_date = {"nik": synthetic_nik(birth, female=True), "full_name": "Sri Wahyuni", "sex": "P",
                            "birth_date": "1979-03-15", "position": "sekretaris"}
        for language in ("id", "en"):
            refused = api.post("/api/v1/participants", headers={"Accept-Language": language}, json=wrong_birth_date)
            print(f"HTTP {refused.status_code} {refused.headers['content-type']}: {refused.json()['detail']}")

    say("Dead letters")
    for queue, count in dead_letters.depths(stack.amqp_uri).items():
        print(f"{count:4d}  {queue}")
    return 0


def _log_mentions(stack: local_stack.LocalStack, unit: str, needle: str) -> bool:
    try:
        return needle in stack.log_path(unit).read_text(errors="replace")
    except FileNotFoundError:
        return False


if __name__ == "__main__":
    sys.exit(main())
