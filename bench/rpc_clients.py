"""Load generators for the RPC comparison; each runs in a process of its own.

    python bench/rpc_clients.py MODE --amqp-uri URI --concurrency C --participant-id ID [...]

MODE:
  gateway       the gateway's ``NamekoRpcClient`` (asyncio + aio-pika; uvloop, as uvicorn runs
                the gateway); C tasks share one client (one connection, one reply queue).
  proxy         nameko's ``ClusterRpcProxy`` under eventlet: a GreenPool of C greenthreads, each
                with its own started proxy (a proxy is single-threaded: two greenthreads draining
                one proxy's connection fail with "second simultaneous read").
  proxy-async   one ``ClusterRpcProxy`` in one greenthread keeping C calls in flight with
                ``call_async`` (nameko's way to overlap calls without a proxy per caller).
  http          GET /api/v1/participants/{id} through the HTTP gateway (each request makes three
                RPC calls: registration, scheduling, certificates); checked once with httpx, then
                loaded with a minimal keep-alive HTTP/1.1 client (httpx needs more CPU per request
                than the gateway itself, and the load generator shares the 2 cores).

Protocol (so two clients can be interleaved at the same concurrency, in the same run): the process
sets up, prints ``{"ready": ...}``, then for each ``run WARMUP SECONDS`` line on stdin runs C
closed-loop callers for WARMUP + SECONDS and prints one JSON line: calls/s and latency percentiles
of the calls that completed within the measured SECONDS, errors, and the process's CPU time per
call (over warm-up + window). ``quit`` ends it.
"""
from __future__ import annotations

import sys

MODE = sys.argv[1] if len(sys.argv) > 1 else ""
if MODE.startswith("proxy"):
    import warnings

    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()  # before anything opens a socket, as nameko requires

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(round(q / 100.0 * len(sorted_values) + 0.5 - 1e-9))))
    return sorted_values[rank - 1]


def summarise(records: list[tuple[float, float]], errors: int, window: tuple[float, float],
              cpu: float, total_calls: int) -> dict:
    start, end = window
    lat = sorted(d for done, d in records if start <= done <= end)
    ms = [x * 1000 for x in lat]
    return {
        "calls": len(lat),
        "calls_per_s": round(len(lat) / (end - start), 1),
        "p50_ms": round(percentile(ms, 50), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(ms[-1], 2) if ms else None,
        "errors": errors,
        "cpu_ms_per_call": round(1000 * cpu / max(total_calls, 1), 3),
        "total_calls": total_calls,  # warm-up included: what the CPU figures are divided by
    }


def context(participant_regency: str) -> dict[str, str]:
    # What the gateway sends with every call (Caller.to_context()): identity, request id, language.
    return {"caller_user": "bench-operator", "caller_role": "operator", "caller_regency": participant_regency,
            "correlation_id": f"bench-{uuid.uuid4().hex[:12]}", "language": "id"}


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


# -- asyncio clients ---------------------------------------------------------------------------
def run_asyncio(args: argparse.Namespace) -> None:
    import asyncio

    try:
        import uvloop

        uvloop.install()
        loop_name = "uvloop"
    except ImportError:  # pragma: no cover
        loop_name = "asyncio"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        setup_started = time.perf_counter()
        if args.mode == "gateway":
            from bimtek_gateway.rpc import NamekoRpcClient

            # the gateway's default RPC timeout (GatewaySettings.rpc_timeout_seconds)
            client = NamekoRpcClient(args.amqp_uri, default_timeout=10.0, client_name="bench")
            await client.start()
            ctx = context(args.regency)

            async def call() -> None:
                await client.call("registration", "get_participant", kwargs={"participant_id": args.participant_id},
                                  context=ctx)

            async def close() -> None:
                await client.close()
        else:
            import httpx
            from urllib.parse import urlsplit

            path = f"/api/v1/participants/{args.participant_id}"
            # One real request with httpx to check the answer...
            async with httpx.AsyncClient(base_url=args.gateway_url, timeout=30.0) as check:
                answer = await check.get(path, headers={"Authorization": f"Bearer {args.token}"})
                if answer.status_code != 200 or answer.json()["participant"]["id"] != args.participant_id:
                    raise RuntimeError(f"HTTP {answer.status_code}: {answer.text[:300]}")
            # ...then load with a minimal keep-alive HTTP/1.1 client, one connection per caller:
            # httpx costs more CPU per request than the gateway itself, on the same 2 cores.
            url = urlsplit(args.gateway_url)
            request = (f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {args.token}\r\n"
                       "Accept: application/json\r\n\r\n").encode()
            idle: list = []

            async def call() -> None:
                conn = idle.pop() if idle else await asyncio.open_connection(url.hostname, url.port)
                reader, writer = conn
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length)
                idle.append(conn)
                if status != 200:
                    raise RuntimeError(f"HTTP {status}: {body[:200]!r}")

            async def close() -> None:
                for _, writer in idle:
                    writer.close()

        await call()  # connection set-up, first-call caches
        emit({"ready": True, "setup_s": round(time.perf_counter() - setup_started, 3), "loop": loop_name})

        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
            if not line or line[0] == "quit":
                break
            warmup, seconds = float(line[1]), float(line[2])
            records: list[tuple[float, float]] = []
            errors = [0]
            t0 = time.perf_counter()
            window = (t0 + warmup, t0 + warmup + seconds)
            cpu0 = cpu_seconds()

            async def caller() -> None:
                while True:
                    started = time.perf_counter()
                    if started >= window[1]:
                        return
                    try:
                        await call()
                    except Exception as exc:  # noqa: BLE001
                        errors[0] += 1
                        if errors[0] <= 3:
                            print(f"call failed: {exc!r}", file=sys.stderr)
                        continue
                    done = time.perf_counter()
                    records.append((done, done - started))

            await asyncio.gather(*(caller() for _ in range(args.concurrency)))
            cpu = cpu_seconds() - cpu0
            result = summarise(records, errors[0], window, cpu, len(records))
            result["client_cpu_pct"] = round(100 * cpu / (time.perf_counter() - t0), 1)
            emit(result)
        await close()

    asyncio.run(main())


# -- nameko's standalone proxy under eventlet --------------------------------------------------
def run_proxy(args: argparse.Namespace) -> None:
    from collections import deque

    import eventlet
    from nameko.standalone.rpc import ClusterRpcProxy

    config = {"AMQP_URI": args.amqp_uri, "serializer": "json"}
    ctx = context(args.regency)
    setup_started = time.perf_counter()
    n_proxies = args.concurrency if args.mode == "proxy" else 1
    holders = [ClusterRpcProxy(config, context_data=ctx, timeout=10) for _ in range(n_proxies)]
    proxies = [h.start() for h in holders]
    for rpc in proxies:  # first call on every proxy: reply queue consumer up, caches warm
        rpc.registration.get_participant(participant_id=args.participant_id)
    emit({"ready": True, "setup_s": round(time.perf_counter() - setup_started, 3), "loop": "eventlet"})

    while True:
        line = sys.stdin.readline().split()
        if not line or line[0] == "quit":
            break
        warmup, seconds = float(line[1]), float(line[2])
        records: list[tuple[float, float]] = []
        errors = [0]
        t0 = time.perf_counter()
        window = (t0 + warmup, t0 + warmup + seconds)
        cpu0 = cpu_seconds()

        if args.mode == "proxy":
            def caller(rpc) -> None:
                while True:
                    started = time.perf_counter()
                    if started >= window[1]:
                        return
                    try:
                        rpc.registration.get_participant(participant_id=args.participant_id)
                    except Exception as exc:  # noqa: BLE001
                        errors[0] += 1
                        if errors[0] <= 3:
                            print(f"call failed: {exc!r}", file=sys.stderr)
                        continue
                    done = time.perf_counter()
                    records.append((done, done - started))

            pool = eventlet.GreenPool(args.concurrency)
            for rpc in proxies:
                pool.spawn(caller, rpc)
            pool.waitall()
        else:
            rpc = proxies[0]
            method = rpc.registration.get_participant
            in_flight: deque = deque()
            while True:
                now = time.perf_counter()
                while len(in_flight) < args.concurrency and now < window[1]:
                    in_flight.append((now, method.call_async(participant_id=args.participant_id)))
                    now = time.perf_counter()
                if not in_flight:
                    break
                started, reply = in_flight.popleft()
                try:
                    reply.result()
                except Exception as exc:  # noqa: BLE001
                    errors[0] += 1
                    if errors[0] <= 3:
                        print(f"call failed: {exc!r}", file=sys.stderr)
                    continue
                done = time.perf_counter()
                records.append((done, done - started))
        cpu = cpu_seconds() - cpu0
        result = summarise(records, errors[0], window, cpu, len(records))
        result["client_cpu_pct"] = round(100 * cpu / (time.perf_counter() - t0), 1)
        emit(result)
    for h in holders:
        h.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["gateway", "proxy", "proxy-async", "http"])
    parser.add_argument("--amqp-uri", required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--participant-id", required=True)
    parser.add_argument("--regency", default="35.17")
    parser.add_argument("--gateway-url")
    parser.add_argument("--token")
    args = parser.parse_args()
    if args.mode in ("gateway", "http"):
        run_asyncio(args)
    else:
        run_proxy(args)


if __name__ == "__main__":
    main()
