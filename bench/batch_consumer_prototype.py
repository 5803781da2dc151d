"""A prototype of scheduling's ``participant.registered`` consumer outside nameko, to size a fix.

Same queue, same validation (``parse_event`` + the payload model), same inbox claim and the same
``participants`` insert (with the consumer name the service uses), same guarantees: nothing is
acked before the transaction holding both the claim and the effect has committed, and a duplicate
is skipped by the claim. Two shapes:

- ``--batch 1``: one transaction and one ack per event, as the nameko service does, but plain
  kombu + SQLAlchemy Core, no eventlet, no ORM session, no pool pre-ping, no per-event log line:
  the floor of the per-event design;
- ``--batch K``: up to K delivered messages (prefetch K) handled in ONE transaction: one
  multi-row ``INSERT .. ON CONFLICT DO NOTHING RETURNING`` claims them all, one multi-row insert
  applies the claimed ones, one commit, then one ``basic.ack(multiple=True)``.

It stops after ``--n`` measured messages and prints one JSON line: its own CPU milliseconds per
message, and its database server process's. Used by ``bench/consumer_variants.py``; not part of the product.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import time

from kombu import Connection, Consumer, Queue
from sqlalchemy import create_engine, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from bimtek_shared.contracts.envelope import parse_event
from bimtek_shared.contracts.events import ParticipantRegisteredV1
from bimtek_shared.persistence.database import sync_url
from scheduling.adapters.orm import messaging, participants

CONSUMER = "scheduling.handle_participant_registered"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--amqp-uri", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--n", type=int, required=True, help="messages measured")
    parser.add_argument("--warmup", type=int, default=0, help="messages handled before measuring")
    parser.add_argument("--linger-ms", type=float, default=2.0, help="wait this long for a batch to fill")
    args = parser.parse_args()

    engine = create_engine(sync_url(args.database_url), pool_size=1, max_overflow=0)
    with engine.connect() as conn:  # the one pooled connection: its server process's CPU is ours too
        backend = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    backend_cpu_start = 0.0
    processed = messaging.processed_events
    claim_sql = (pg_insert(processed).on_conflict_do_nothing().returning(processed.c.event_id))
    add_sql = pg_insert(participants).on_conflict_do_nothing(index_elements=["participant_id"])

    buffered: list = []
    handled = 0
    first = last = 0.0
    cpu_start = None

    def flush() -> None:
        nonlocal handled, last, first, cpu_start, backend_cpu_start
        envelopes = [parse_event(body) for body, _ in buffered]
        payloads = [ParticipantRegisteredV1.model_validate(e.payload) for e in envelopes]
        with engine.begin() as conn:
            claimed = set(conn.execute(
                claim_sql, [{"event_id": e.event_id, "consumer": CONSUMER} for e in envelopes]
            ).scalars()) if len(envelopes) > 1 else set(conn.execute(
                claim_sql.values(event_id=envelopes[0].event_id, consumer=CONSUMER)).scalars())
            rows = [
                {"participant_id": p.participant_id, "regency": e.regency, "position_group": p.position_group,
                 "cooperative_id": p.cooperative_id, "status": "waiting", "registered_at": p.registered_at}
                for e, p in zip(envelopes, payloads) if e.event_id in claimed
            ]
            if rows:
                conn.execute(add_sql, rows)
        buffered[-1][1].ack(multiple=True)
        handled += len(buffered)
        last = time.time()
        buffered.clear()
        if cpu_start is None and handled >= args.warmup:
            # measured from here: the first measured message's wait is not counted in the rate
            handled, first = 0, time.time()
            cpu_start = resource.getrusage(resource.RUSAGE_SELF)
            backend_cpu_start = process_cpu_seconds(backend)

    def on_message(body, message) -> None:
        buffered.append((body, message))

    with Connection(args.amqp_uri) as conn:
        channel = conn.channel()
        channel.basic_qos(0, args.batch, False)
        queue = Queue(args.queue, no_declare=True)
        with Consumer(channel, queues=[queue], callbacks=[on_message], accept=["json"], no_ack=False):
            print(json.dumps({"ready": True}), flush=True)
            while cpu_start is None or handled < args.n:
                try:
                    conn.drain_events(timeout=args.linger_ms / 1000 if buffered else 1.0)
                    if len(buffered) < args.batch:
                        continue
                except (socket.timeout, TimeoutError):
                    if not buffered:
                        continue
                flush()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage.ru_utime - cpu_start.ru_utime) + (usage.ru_stime - cpu_start.ru_stime)
    backend_cpu = process_cpu_seconds(backend) - backend_cpu_start
    print(json.dumps({"handled": handled, "cpu_ms_per_event": round(1000 * cpu / handled, 3),
                      "postgres_cpu_ms_per_event": round(1000 * backend_cpu / handled, 3)}), flush=True)


def process_cpu_seconds(pid: int) -> float:
    """The database server process's CPU (same machine; readable by root or the postgres user)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


if __name__ == "__main__":
    main()
