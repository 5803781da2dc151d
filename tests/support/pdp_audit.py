"""The personal-data leak audit (UU PDP, issue 9): while any workload runs on a stack, capture every
log line, every metric, every message crossing the broker and every URL requested; then search all
of it for the NIKs, names and phone numbers of the people registered.

What is captured, and how:

- **Logs**: every log file of the stack (``<state_dir>/log/*.log``), whole. Run the stack with
  ``LOG_LEVEL=DEBUG`` so the chattiest level is audited too.
- **URLs**: the gateway's access log (``ACCESS_LOG=true``): the request line of every request, path
  and query string as they arrived.
- **Metrics**: every process's ``/metrics``, scraped every few seconds while the workload runs and
  once at the end (a series that existed for a moment is seen too).
- **Broker**: RabbitMQ's firehose tracer on the stack's own virtual host (``rabbitmqctl trace_on -p
  <vhost>``): a queue bound to ``amq.rabbitmq.trace`` with ``publish.#`` and ``deliver.#`` drained by
  a thread into a file, every message as published and as delivered, headers and properties too.
  Bodies are JSON (nameko's RPC, our event envelopes; ``content_encoding`` is honoured if a body is
  ever compressed); every string in them that is base64 is decoded and searched as well (the
  uploaded spreadsheet, certificate PDFs), ZIP members (XLSX) inflated, PDFs read by ``pdftotext``.

The search: NIKs as any 16 digits in a longer or equal run of digits; phone numbers in any spelling
(``0812-3300-1234``, ``+6281233001234``, ``62 812 ...``); full names case-insensitively, as written,
JSON-escaped and URL-encoded; URLs and log lines are also searched URL-decoded.

The one legitimate carrier of a NIK: the RPC request that brings a new registration to the
registration service (:data:`REGISTRATION_CALLS`, published to ``nameko-rpc`` with that routing key
and delivered to ``rpc-registration``), recognised by its exchange and routing key, never by its
content. Those hits are counted apart (``allowed``), and they are the audit's own proof that it
finds what it looks for: every registered NIK must be found there.

Names legitimately travel in some events (a certificate prints a name) and RPC answers (staff read a
participant): the report counts them per route, and tests decide which places must have none.
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import pickle
import re
import shutil
import subprocess
import threading
import time
import urllib.request
import uuid
import zipfile
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

from kombu import Connection

from bimtek_shared.ops.local_stack import LocalStack

TRACE_EXCHANGE = "amq.rabbitmq.trace"
# The RPC requests that carry new people to the registration service: a single registration, the
# JSON and the spreadsheet bulk registrations, and a substitution (its replacement is a new person).
REGISTRATION_CALLS = frozenset({
    "registration.register_participant",
    "registration.start_participant_import",
    "registration.start_participant_file_import",
    "registration.substitute_participant",
})
CHANNELS = ("logs", "metrics", "broker", "urls")
KINDS = ("nik", "name", "phone")
_ACCESS_LINE = re.compile(r'"([A-Z]+) (\S+) HTTP/[0-9.]+" \d{3}')
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]{24,}={0,2}$")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{64,}={0,2}")
_DIGIT_RUN = re.compile(r"\d{16,}")
_PHONE_LIKE = re.compile(r"\+?\d[\d\s\-.()]{7,24}\d")
_UUID_OR_HEX = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}|[0-9a-f]{32}")


# --------------------------------------------------------------------------- the people


@dataclass(frozen=True)
class Person:
    nik: str
    full_name: str
    phone: str | None = None


def phone_key(phone: str) -> str | None:
    """An Indonesian mobile number as its digits after the country code or trunk 0 (``8123...``)."""
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("62"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = digits[1:]
    return digits if digits.startswith("8") and 8 <= len(digits) <= 13 else None


def people_in_registration_database(dsn: str, nik_config: dict[str, Any]) -> list[Person]:
    """Everyone the registration database still holds, NIKs opened with the service's keys: the
    needles of a workload that is not ours to know (erased people are gone from here; add those
    from :func:`people_in_registration_calls`)."""
    import psycopg2
    from registration.adapters.nik_protector import NikProtector

    protector = NikProtector.from_config(nik_config)
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT nik_ciphertext, full_name, phone FROM participants WHERE nik_ciphertext IS NOT NULL")
            return [Person(protector.decrypt(sealed), name, phone) for sealed, name, phone in cur.fetchall()]
    finally:
        conn.close()


def registration_nik_config(env: dict[str, str]) -> dict[str, Any]:
    """The configuration (NIK keys above all) of a registration process with this environment."""
    from registration.settings import RegistrationSettings

    keys = ("nik_encryption_key", "nik_keys", "nik_active_key_id", "nik_lookup_key")
    return RegistrationSettings(**{key: env[key.upper()] for key in keys if env.get(key.upper())}).nameko_config()


# --------------------------------------------------------------------------- the search


def _trie_pattern(words: Iterable[str]) -> str:
    """One regular expression matching any of ``words``, shaped as a trie so the engine does not try
    thousands of alternatives at every position."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


class Needles:
    """The personal data searched for, and the search itself (linear in the text searched)."""

    def __init__(self, people: Iterable[Person]) -> None:
        people = list(people)
        self.niks = {p.nik for p in people}
        self.phones = {key for p in people if p.phone and (key := phone_key(p.phone))}
        self._phone_lengths = sorted({len(key) for key in self.phones})
        self.names = {p.full_name for p in people if p.full_name and p.full_name.strip()}
        # Every spelling a name may take in captured text, folded for a case-insensitive match.
        self._name_of: dict[str, str] = {}
        for name in self.names:
            spellings = (name, json.dumps(name)[1:-1], repr(name.encode())[2:-1], quote(name), quote_plus(name))
            for spelling in spellings:
                self._name_of.setdefault(spelling.casefold(), name)
        self._names = re.compile(r"(?<!\w)(?:" + _trie_pattern(sorted(self._name_of)) + r")(?!\w)", re.IGNORECASE) \
            if self._name_of else None

    def find(self, text: str) -> list[tuple[str, str]]:
        """(kind, the person's value) for every occurrence in ``text``; URL-encoded text is also
        searched decoded (an occurrence found both ways counts once)."""
        found = self._find(text)
        if "%" in text:
            decoded = unquote_plus(text)
            if decoded != text:
                extra = Counter(self._find(decoded)) - Counter(found)
                found += list(extra.elements())
        return found

    def _find(self, text: str) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for run in _DIGIT_RUN.finditer(text):
            digits = run.group()
            found += [("nik", digits[i:i + 16]) for i in range(len(digits) - 15) if digits[i:i + 16] in self.niks]
        if self.phones:
            for candidate in _PHONE_LIKE.finditer(text):
                digits = re.sub(r"\D", "", candidate.group())
                for i, char in enumerate(digits):
                    if char != "8" or not (digits[i - 1:i] == "0" or digits[max(0, i - 2):i] == "62"):
                        continue
                    found += [("phone", digits[i:i + n]) for n in self._phone_lengths if digits[i:i + n] in self.phones]
        if self._names is not None:
            found += [("name", self._name_of[m.group().casefold()]) for m in self._names.finditer(text)
                      if m.group().casefold() in self._name_of]
        return found


# --------------------------------------------------------------------------- broker bodies


@dataclass
class TracedMessage:
    """One firehose notification: a message as published to an exchange, or as delivered from a queue."""

    trace_key: str  # publish.<exchange> or deliver.<queue>
    exchange: str
    routing_keys: list[str]
    properties: dict[str, Any]
    body: bytes

    @property
    def delivered(self) -> bool:
        return self.trace_key.startswith("deliver.")

    @property
    def carries_new_registration(self) -> bool:
        return self.exchange == "nameko-rpc" and len(self.routing_keys) == 1 and \
            self.routing_keys[0] in REGISTRATION_CALLS

    @property
    def route(self) -> str:
        """Where it went, with ids (reply routing keys, reply queues) folded: ``publish nameko-rpc
        registration.register_participant``, ``deliver evt-...--scheduling.handle_...``."""
        keys = ",".join(_UUID_OR_HEX.sub("*", key) for key in self.routing_keys)
        if self.delivered:
            return f"deliver {_UUID_OR_HEX.sub('*', self.trace_key.removeprefix('deliver.'))} ({keys})"
        return f"publish {self.exchange or '(default)'} {keys}"


def _plain(value: Any) -> Any:
    """An AMQP table as JSON-able values (bytes as text)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


@dataclass
class BodyTexts:
    texts: list[str] = field(default_factory=list)
    attachments: Counter = field(default_factory=Counter)  # kind of decoded payload -> count


def body_texts(message: TracedMessage, pdf_text: Callable[[bytes], str] | None) -> BodyTexts:
    """Everything a message's body says, as text: the body, and whatever the base64 strings inside
    its JSON hold (decoded, unzipped, PDFs as text)."""
    out = BodyTexts()
    body = message.body
    encoding = str(message.properties.get("content_encoding") or "").lower()
    if encoding in ("gzip", "zlib", "deflate"):
        body = zlib.decompress(body, 47)  # 47: gzip or zlib header, detected
        out.attachments[f"body:{encoding}"] += 1
    text = body.decode("utf-8", "replace")
    out.texts.append(text)
    try:
        parsed = json.loads(text)
    except ValueError:
        out.attachments["body:not-json"] += 1
        return out
    for value in _strings(parsed):
        if len(value) >= 24 and _BASE64.match(value) and not _UUID_OR_HEX.fullmatch(value):
            _decode_base64(value, out, pdf_text)
    return out


def line_texts(line: str, pdf_text: Callable[[bytes], str] | None) -> BodyTexts:
    """A log line, and whatever long base64 runs in it hold (a body a library printed, say)."""
    out = BodyTexts([line])
    for run in _BASE64_RUN.finditer(line):
        _decode_base64(run.group(), out, pdf_text)
    return out


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _decode_base64(value: str, out: BodyTexts, pdf_text: Callable[[bytes], str] | None) -> None:
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_" if "-" in value or "_" in value else None)
    except (binascii.Error, ValueError):
        return
    _add_payload(raw, out, pdf_text)


def _add_payload(raw: bytes, out: BodyTexts, pdf_text: Callable[[bytes], str] | None) -> None:
    if raw.startswith(b"PK\x03\x04"):
        out.attachments["zip"] += 1
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                for member in archive.namelist():
                    _add_payload(archive.read(member), out, pdf_text)
        except zipfile.BadZipFile:
            out.attachments["zip:unreadable"] += 1
    elif raw.startswith(b"%PDF"):
        out.attachments["pdf"] += 1
        if pdf_text is not None:
            out.texts.append(pdf_text(raw))
        else:
            out.attachments["pdf:not-extracted"] += 1
    else:
        text = raw.decode("utf-8", "replace")
        if text.count("\ufffd") > len(text) // 10:
            out.attachments["binary"] += 1
        else:
            out.attachments["text"] += 1
        out.texts.append(text)


def pdftotext(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-q", "-", "-"], input=pdf, capture_output=True, timeout=60).stdout.decode(
        "utf-8", "replace")


# --------------------------------------------------------------------------- capture


class BrokerTap:
    """Drains the firehose of one virtual host into a file, in a thread of its own."""

    def __init__(self, amqp_uri: str, path: Path) -> None:
        self.amqp_uri = amqp_uri
        self.path = path
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._last_message_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="pdp-broker-tap", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(30) or self._error is not None:
            raise RuntimeError(f"the firehose queue was not bound: {self._error!r}")

    def stop(self, quiet_seconds: float = 1.0, timeout: float = 120.0) -> None:
        """Once tracing is off: drain until nothing arrived for ``quiet_seconds``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and time.monotonic() - self._last_message_at < quiet_seconds:
            time.sleep(0.1)
        self._stop.set()
        self._thread.join(30)
        if self._error is not None:
            raise RuntimeError("the firehose tap failed") from self._error

    def _run(self) -> None:
        try:
            with Connection(self.amqp_uri, heartbeat=0) as conn, self.path.open("ab") as out:
                channel = conn.channel()
                queue = f"pdp-audit-{uuid.uuid4().hex[:8]}"
                channel.queue_declare(queue=queue, exclusive=True, auto_delete=True)
                for key in ("publish.#", "deliver.#"):
                    channel.queue_bind(queue=queue, exchange=TRACE_EXCHANGE, routing_key=key)

                def on_message(message: Any) -> None:
                    headers = message.properties.get("application_headers") or {}
                    traced = TracedMessage(
                        trace_key=message.delivery_info["routing_key"],
                        exchange=_plain(headers.get("exchange_name", "")),
                        routing_keys=_plain(list(headers.get("routing_keys") or [])),
                        properties=_plain(headers.get("properties") or {}),
                        body=bytes(message.body))
                    pickle.dump(traced, out, protocol=pickle.HIGHEST_PROTOCOL)
                    self._last_message_at = time.monotonic()

                channel.basic_consume(queue=queue, no_ack=True, callback=on_message)
                self._ready.set()
                while not self._stop.is_set():
                    try:
                        conn.drain_events(timeout=0.2)
                    except TimeoutError:
                        pass
                out.flush()
        except BaseException as exc:  # noqa: BLE001 - reported by stop()
            self._error = exc
            self._ready.set()

    def messages(self) -> Iterator[TracedMessage]:
        with self.path.open("rb") as f:
            while True:
                try:
                    yield pickle.load(f)
                except EOFError:
                    return


class MetricsRecorder:
    """Scrapes every process's /metrics now and then; keeps each distinct sample line once."""

    def __init__(self, urls: dict[str, str], every: float) -> None:
        self.urls = urls
        self.every = every
        self.scrapes = 0
        self.failures: Counter = Counter()
        self.lines: dict[str, set[str]] = defaultdict(set)  # process -> distinct sample lines
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pdp-metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)
        self.scrape()  # the final state

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.scrape()

    def scrape(self) -> None:
        for process, url in self.urls.items():
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    text = response.read().decode("utf-8", "replace")
            except OSError:
                self.failures[process] += 1
                continue
            self.scrapes += 1
            self.lines[process].update(line for line in text.splitlines() if line and not line.startswith("#"))

    def series(self) -> set[str]:
        return {line.rpartition(" ")[0] for lines in self.lines.values() for line in lines}


def metrics_urls(stack: LocalStack) -> dict[str, str]:
    """Every running process of the stack (a unit's extra instances too: each has its port)."""
    return {name: f"http://127.0.0.1:{port}/metrics" for name, port in stack.ports.items()
            if stack.pid(name) is not None}


@dataclass
class Capture:
    """What one run captured; :meth:`audit` searches it."""

    stack: LocalStack
    folder: Path
    tap: BrokerTap
    recorder: MetricsRecorder
    started_at: float
    finished_at: float = 0.0

    def log_files(self) -> list[Path]:
        return sorted((self.stack.state_dir / "log").glob("*.log"))

    def urls(self) -> list[str]:
        found = []
        for path in self.log_files():
            if path.stem.startswith("gateway"):
                found += [m.group(2) for m in _ACCESS_LINE.finditer(path.read_text(errors="replace"))]
        return found

    def audit(self, people: Iterable[Person], pdf_text: Callable[[bytes], str] | None = None,
              examples: int = 3) -> dict[str, Any]:
        """Search everything captured; the report (JSON-able). ``hits`` counts occurrences outside the
        registration calls, per kind and channel; ``places`` says where (file, metric, route, path)."""
        needles = Needles(people)
        hits = {kind: {channel: 0 for channel in CHANNELS} for kind in KINDS}
        places: dict[str, dict[str, Counter]] = {kind: {channel: Counter() for channel in CHANNELS} for kind in KINDS}
        allowed: dict[str, Counter] = {kind: Counter() for kind in KINDS}
        allowed_niks: set[str] = set()
        shown: dict[str, list[dict[str, str]]] = defaultdict(list)

        def record(kind: str, channel: str, place: str, value: str) -> None:
            hits[kind][channel] += 1
            places[kind][channel][place] += 1
            if len(shown[f"{kind} in {channel}"]) < examples:
                shown[f"{kind} in {channel}"].append({"place": place, "value_masked": _mask(value)})

        log_lines = 0
        for path in self.log_files():
            for line in path.read_text(errors="replace").splitlines():
                log_lines += 1
                for text in line_texts(line, pdf_text).texts:
                    for kind, value in needles.find(text):
                        record(kind, "logs", path.name, value)
        urls = self.urls()
        for url in urls:
            for kind, value in needles.find(url):
                record(kind, "urls", url.split("?")[0], value)
        for process, lines in self.recorder.lines.items():
            for line in lines:
                for kind, value in needles.find(line):
                    record(kind, "metrics", f"{process} {line.split('{')[0]}", value)

        broker: Counter = Counter()
        published_to: Counter = Counter()  # exchange -> messages published to it
        decoded: Counter = Counter()
        extracted: dict[bytes, BodyTexts] = {}  # a body published once and delivered n times is read once
        for message in self.tap.messages():
            broker["deliver" if message.delivered else "publish"] += 1
            if not message.delivered:
                published_to[message.exchange or "(default)"] += 1
            broker["bytes"] += len(message.body)
            key = message.body if len(message.body) < 4096 else zlib.crc32(message.body).to_bytes(4, "big") + \
                message.body[:64] + len(message.body).to_bytes(8, "big")
            texts = extracted.get(key)
            if texts is None:
                texts = extracted[key] = body_texts(message, pdf_text)
                decoded.update(texts.attachments)
            found = [hit for text in texts.texts for hit in needles.find(text)]
            found += needles.find(json.dumps([message.routing_keys, message.properties], ensure_ascii=False))
            for kind, value in found:
                if message.carries_new_registration:
                    allowed[kind][message.route] += 1
                    if kind == "nik":
                        allowed_niks.add(value)
                else:
                    record(kind, "broker", message.route, value)
        return {
            "duration_seconds": round(self.finished_at - self.started_at, 1),
            "inspected": {
                "log_files": [path.name for path in self.log_files()],
                "log_lines": log_lines,
                "urls": len(urls),
                "metric_scrapes": self.recorder.scrapes,
                "metric_scrape_failures": dict(self.recorder.failures),
                "metric_series": len(self.recorder.series()),
                "metric_sample_lines": sum(len(lines) for lines in self.recorder.lines.values()),
                "broker_messages": broker["publish"] + broker["deliver"],
                "broker_published": broker["publish"],
                "broker_delivered": broker["deliver"],
                "broker_body_bytes": broker["bytes"],
                "broker_published_to": dict(published_to.most_common()),
                "broker_decoded_payloads": dict(decoded),
            },
            "searched": {"niks": len(needles.niks), "names": len(needles.names), "phones": len(needles.phones)},
            "hits": hits,
            "places": {kind: {channel: dict(counter.most_common()) for channel, counter in channels.items() if counter}
                       for kind, channels in places.items()},
            "allowed": {"calls": sorted(REGISTRATION_CALLS),
                        **{kind: dict(counter) for kind, counter in allowed.items()},
                        "distinct_niks_found": len(allowed_niks),
                        "niks_never_found_there": len(needles.niks - allowed_niks)},
            "examples": dict(shown),
        }


def people_in_registration_calls(messages: Iterable[TracedMessage]) -> list[Person]:
    """The people the registration calls carried as JSON (single registrations, JSON imports,
    substitutions): with :func:`people_in_registration_database`, the needles of any workload,
    erased people included. A spreadsheet's people are in the database."""
    found = []
    for message in messages:
        if not message.carries_new_registration or message.delivered:
            continue
        try:
            body = json.loads(message.body)
        except ValueError:
            continue
        found += [Person(str(item["nik"]), str(item.get("full_name") or ""), item.get("phone"))
                  for item in _dicts(body) if isinstance(item.get("nik"), str)]
    return found


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _dicts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _dicts(item)


def clean(report: dict[str, Any]) -> bool:
    """No NIK outside the registration calls; no name or phone number in a log, metric or URL."""
    hits = report["hits"]
    return not any(hits["nik"].values()) and not any(
        hits[kind][channel] for kind in ("name", "phone") for channel in ("logs", "metrics", "urls"))


def summary(report: dict[str, Any]) -> str:
    inspected, hits, allowed = report["inspected"], report["hits"], report["allowed"]
    lines = [
        f"inspected: {inspected['log_lines']:,} log lines, {inspected['metric_series']:,} metric series "
        f"({inspected['metric_scrapes']} scrapes), {inspected['broker_messages']:,} broker messages "
        f"({inspected['broker_body_bytes'] / 1e6:.1f} MB; decoded: {inspected['broker_decoded_payloads']}), "
        f"{inspected['urls']:,} URLs",
        f"searched: {report['searched']['niks']:,} NIKs, {report['searched']['names']:,} names, "
        f"{report['searched']['phones']:,} phone numbers",
        *(f"{kind:6s} found: " + ", ".join(f"{channel} {count}" for channel, count in hits[kind].items())
          + f" (in the registration calls: {sum(allowed[kind].values())})" for kind in KINDS),
        f"NIKs found in the registration calls: {allowed['distinct_niks_found']:,} "
        f"(never found there: {allowed['niks_never_found_there']})",
        "CLEAN" if clean(report) else "LEAKS FOUND",
    ]
    return "\n".join(lines)


def _mask(value: str) -> str:
    return "*" * max(0, len(value) - 4) + value[-4:] if value.isdigit() else value[:1] + "***"


@contextmanager
def capture(stack: LocalStack, trace: Callable[[bool], None], folder: Path,
            scrape_every: float = 2.0) -> Iterator[Capture]:
    """Capture everything while the ``with`` block runs its workload against ``stack``.

    ``trace(on)`` switches the firehose of the stack's virtual host (``PrivateRabbitMQ.trace`` with
    the vhost, or ``rabbitmqctl trace_on|trace_off -p``); the vhost must be the stack's own, so
    nothing else is traced. The stack must run with ``LOG_LEVEL=DEBUG`` and ``ACCESS_LOG=true``
    (:data:`STACK_ENV`)."""
    folder.mkdir(parents=True, exist_ok=True)
    broker_file = folder / "broker.pickle"
    broker_file.unlink(missing_ok=True)
    tap = BrokerTap(stack.amqp_uri, broker_file)
    recorder = MetricsRecorder(metrics_urls(stack), scrape_every)
    tap.start()
    trace(True)
    recorder.start()
    result = Capture(stack=stack, folder=folder, tap=tap, recorder=recorder, started_at=time.monotonic())
    try:
        yield result
    finally:
        result.finished_at = time.monotonic()
        recorder.stop()
        try:
            trace(False)
        finally:
            tap.stop()


# The environment a stack under audit runs with.
STACK_ENV = {"LOG_LEVEL": "DEBUG", "ACCESS_LOG": "true"}


def have_pdftotext() -> bool:
    return shutil.which("pdftotext") is not None
