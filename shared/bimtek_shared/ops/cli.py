"""``bimtek-ops``: operators' commands for the broker and the event catalogue.

    bimtek-ops setup-broker            declare every exchange and consumer queue of the catalogue
    bimtek-ops dlq list [--queue Q]    dead letters: counts, then each one (event, tries, error)
    bimtek-ops dlq replay [--queue Q] [--event-id ID]
    bimtek-ops events-doc              print docs/events.md
    bimtek-ops stack up|down|status    the whole system as local processes (make up / make down)

The broker comes from AMQP_URI (default: the local development broker).
"""
from __future__ import annotations

import argparse
import os
import sys

from kombu import Connection

from ..messaging.topology import DEFAULT_RETRY_DELAYS_MS, declare_topology
from . import dead_letters, events_doc, local_stack


def _retry_delays() -> tuple[int, ...]:
    raw = os.environ.get("RETRY_DELAYS_MS")
    if not raw:
        return DEFAULT_RETRY_DELAYS_MS
    return tuple(int(x) for x in raw.strip("[]").split(",") if x.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bimtek-ops", description=__doc__.split("\n")[0])
    parser.add_argument("--amqp-uri", default=os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"))
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("setup-broker", help="declare every exchange and consumer queue")
    dlq = commands.add_parser("dlq", help="dead-letter queues").add_subparsers(dest="action", required=True)
    listing = dlq.add_parser("list", help="show dead letters without removing them")
    listing.add_argument("--queue", help="only queues whose name contains this")
    listing.add_argument("--limit", type=int, default=100)
    replaying = dlq.add_parser("replay", help="move dead letters back to their consumer queue")
    replaying.add_argument("--queue", help="only queues whose name contains this")
    replaying.add_argument("--event-id", help="only this event")
    commands.add_parser("events-doc", help="print the event catalogue as Markdown")
    stack = commands.add_parser("stack", help="run the system as local processes")
    stack.add_argument("action", choices=["up", "down", "status"])
    args = parser.parse_args(argv)

    if args.command == "setup-broker":
        with Connection(args.amqp_uri) as conn:
            names = declare_topology(conn, _retry_delays())
        print(f"declared {len(names)} queues")
    elif args.command == "stack":
        local = local_stack.from_environment()
        if args.action == "up":
            local.up()
            print(f"ready: gateway on {local.gateway_url} (logs in {local.state_dir / 'log'})")
        elif args.action == "down":
            local.down()
            print("stopped")
        print(local_stack.describe(local))
    elif args.command == "events-doc":
        sys.stdout.write(events_doc.render())
    elif args.action == "list":
        counts = dead_letters.depths(args.amqp_uri, args.queue)
        for queue, count in counts.items():
            print(f"{count:6d}  {queue}")
        for letter in dead_letters.list_dead_letters(args.amqp_uri, args.queue, args.limit):
            print(f"- {letter.event_type} {letter.event_id} tries={letter.attempts} "
                  f"failed_at={letter.failed_at} error={letter.error} ({letter.queue})")
    elif args.action == "replay":
        moved = dead_letters.replay(args.amqp_uri, args.queue, args.event_id)
        print(f"replayed {moved} dead letter(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
