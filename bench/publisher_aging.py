#!/usr/bin/env python
"""Does the outbox relay's publisher slow down as its channel ages?

    python bench/publisher_aging.py [--batches 120] [--batch 500]

Publishes batches of persistent messages (the relay's batch size, a real envelope as body) with
``bimtek_shared.messaging.publisher.ConfirmingPublisher`` on ONE channel, as the relay does for
its whole life, to a durable queue in a private vhost (purged as it goes), and prints the rate and
the publisher's CPU per message for each tenth of the run, with the size of its ``_settled``
bookkeeping. Found by profiling the relay: ``ConfirmingPublisher._settle`` walks every delivery
tag from 1 on each multiple-ack (``for t in range(1, tag + 1)``), and re-adds tags already popped,
so its cost per ack grows with the number of messages the channel has ever published.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time

from kombu import Connection, Exchange, Queue

import pipeline
from bimtek_shared.messaging.publisher import ConfirmingPublisher, OutgoingMessage
from common import amqp_uri, create_vhost, delete_vhost, dump_json, BENCH_DIR

EXCHANGE = Exchange("bench.aging", type="topic", durable=True)
QUEUE = Queue("bench.aging.q", exchange=EXCHANGE, routing_key="#", durable=True)


def cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=120)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--output", default=str(BENCH_DIR / "results" / "experiments" /
                                                 f"{time.strftime('%Y-%m-%d')}-publisher-aging"))
    args = parser.parse_args()
    create_vhost()
    uri = amqp_uri()
    rows = []
    try:
        with Connection(uri) as conn:
            ch = conn.channel()
            EXCHANGE(ch).declare()
            QUEUE(ch).declare()
        body = pipeline.sample_envelope_json()
        publisher = ConfirmingPublisher(uri)
        tenth = max(args.batches // 10, 1)
        t0, c0, sent = time.perf_counter(), cpu(), 0
        for i in range(1, args.batches + 1):
            batch = [OutgoingMessage(key=sent + k, exchange=EXCHANGE.name, routing_key="participant.registered",
                                     body=body, message_id=str(sent + k)) for k in range(args.batch)]
            outcomes = publisher.publish_batch(batch)
            if any(o.value != "confirmed" for o in outcomes.values()):
                raise RuntimeError(f"batch {i}: not all confirmed")
            sent += args.batch
            if i % tenth == 0:
                t1, c1 = time.perf_counter(), cpu()
                n = tenth * args.batch
                row = {"published_so_far": sent, "per_s": round(n / (t1 - t0)),
                       "publisher_cpu_us_per_message": round(1e6 * (c1 - c0) / n, 1),
                       "settled_entries": len(publisher._settled)}
                rows.append(row)
                print(row, flush=True)
                with Connection(uri) as conn:
                    QUEUE(conn.channel()).purge()
                t0, c0 = time.perf_counter(), cpu()
        publisher.close()
    finally:
        delete_vhost()
    dump_json(__import__("pathlib").Path(args.output + ".json"), rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
