"""A thin synchronous client of the Bimtek KDMP gateway's public API (``/api/v1``), over httpx.

What web and mobile clients, the ``bimtek`` command, the Jombang demo (``scripts/demo.py``) and the
benchmarks use; it knows only the public HTTP API, never a service's or the gateway's code.

Manners it keeps for every caller (README, "Manners every client should know"):

- **Sign-in** with a username and password (:meth:`BimtekApi.sign_in`) or a stored refresh token
  (``BimtekApi(url, refresh_token=...)``); the access token is refreshed before it lapses and once
  more on a 401. Refresh tokens are single use: ``on_tokens`` is told each new pair so a caller
  can keep the newest. A check-in phone uses its device token instead (:meth:`BimtekApi.device`).
- **Idempotency-Key** on every write: a new random key per logical write, the same on each retry
  of it (a file upload is encoded once, so the retried body is byte for byte the first).
- **Retries** on 429 and 503 (after ``Retry-After``), 502/504, 409 ``idempotency_request_in_flight``
  and connection errors, with a growing pause, up to ``retries`` times.
- **Errors** as one exception, :class:`ApiProblem`, carrying the RFC 9457 problem (``code``,
  ``detail`` in the client's ``language``, ``errors``, ``request_id``).
- **Lists**: :meth:`BimtekApi.pages` follows ``next_cursor``; **jobs** (202 + ``Location``):
  :meth:`BimtekApi.wait_for_job` polls until ``succeeded`` or ``failed``.

Methods by topic:

- session: ``sign_in``, ``refresh``, ``logout``, ``caller``, ``device``, ``health``, ``ready``
- generic: ``get``, ``post``, ``put``, ``patch``, ``delete``, ``pages``, ``download``, ``wait_for_job``
- registration: ``start_import`` / ``import_spreadsheet`` (dry run or commit, waits for the job),
  ``get_import``, ``list_participants``, ``cooperative_statistics``, ``list_cooperatives``,
  ``list_districts``
- planning: ``create_programme``, ``create_venue``, ``create_resource_person``, ``preview_plan``,
  ``publish_plan``, ``preview_plans``, ``publish_plans`` (several programmes together), ``get_plan``, ``list_programmes``, ``list_sessions``, ``get_session``
- attendance: ``get_invitation``, ``issue_device_token``, ``upload_check_ins`` (a device's batch),
  ``sync_check_ins`` (an offline file's scans in batches of 500), ``set_attendance``,
  ``get_attendance``, ``attendance_sheet_pdf``, ``close_session``
- certificates: ``list_certificates``, ``certificate_pdf``, ``session_certificates_pdf``,
  ``export_certificates`` (a ZIP of a cooperative, kecamatan or session, streamed to a file),
  ``verify_certificate`` (public JSON), ``verification_page`` (public HTML), ``certificate_keys``
"""
from __future__ import annotations

import base64
import email.utils
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from json import loads as json_loads
from pathlib import Path
from typing import Any

import httpx

API = "/api/v1"
MAX_SCANS_PER_UPLOAD = 500  # the gateway's limit per check-in upload
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RETRIED_STATUSES = frozenset({429, 502, 503, 504})
REFRESH_MARGIN_SECONDS = 30  # refresh an access token this long before it lapses
FINISHED_JOB_STATUSES = frozenset({"succeeded", "failed"})


class ApiProblem(Exception):
    """An answer that is not a success: the gateway's RFC 9457 problem (or one made up for an
    answer without one, e.g. a proxy's HTML error page)."""

    def __init__(self, status: int, problem: Mapping[str, Any], *, method: str = "", path: str = "",
                 request_id: str | None = None) -> None:
        self.status = status
        self.problem = dict(problem)
        self.method = method
        self.path = path
        self.request_id = request_id or self.problem.get("request_id")
        super().__init__(f"{status} {self.code}: {self.detail}")

    @property
    def code(self) -> str:
        return str(self.problem.get("code") or f"http_{self.status}")

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or self.problem.get("title") or "")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.problem.get("errors") or [])

    @classmethod
    def from_response(cls, response: httpx.Response) -> "ApiProblem":
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {"title": response.reason_phrase, "detail": response.text[:300]}
        return cls(response.status_code, body, method=response.request.method, path=response.request.url.path,
                   request_id=response.headers.get("x-request-id"))


class ApiUnreachable(ApiProblem):
    """The gateway could not be reached at all (after every retry)."""

    def __init__(self, method: str, path: str, cause: Exception) -> None:
        super().__init__(0, {"code": "gateway_unreachable", "detail": f"{type(cause).__name__}: {cause}"},
                         method=method, path=path)


@dataclass
class Tokens:
    access_token: str | None = None
    refresh_token: str | None = None
    expires_at: float = 0.0  # time.monotonic() when the access token lapses

    def usable(self) -> bool:
        return bool(self.access_token) and time.monotonic() < self.expires_at - REFRESH_MARGIN_SECONDS


class BimtekApi:
    """One signed-in client of one gateway. Thread-safe: threads may share it (a token refresh
    happens once for all of them)."""

    def __init__(self, base_url: str, *, refresh_token: str | None = None, access_token: str | None = None,
                 device_token: str | None = None, language: str = "id", timeout: float = 60.0, retries: int = 6,
                 on_tokens: Callable[[dict[str, Any]], None] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.language = language
        self.retries = retries
        self.on_tokens = on_tokens
        self._device_token = device_token
        self._tokens = Tokens(access_token, refresh_token, time.monotonic() + 60 if access_token else 0.0)
        self._token_lock = threading.Lock()
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport,
                                  headers={"Accept-Language": language, "User-Agent": "bimtek-cli/0.1"},
                                  limits=httpx.Limits(max_connections=32, max_keepalive_connections=16))

    # -- the session ------------------------------------------------------------------------
    @classmethod
    def signed_in(cls, base_url: str, username: str, password: str, **options: Any) -> "BimtekApi":
        api = cls(base_url, **options)
        api.sign_in(username, password)
        return api

    def sign_in(self, username: str, password: str) -> dict[str, Any]:
        """Trades a username and password for a token pair; the password is not kept."""
        pair = self._send("POST", f"{API}/auth/token", json={"username": username, "password": password},
                          authenticated=False).json()
        self._take(pair)
        return pair

    def refresh(self) -> dict[str, Any]:
        """Trades the refresh token for a new pair (the old one is spent)."""
        with self._token_lock:
            return self._refresh_locked()

    def logout(self) -> None:
        if self._tokens.refresh_token:
            self._send("POST", f"{API}/auth/logout", json={"refresh_token": self._tokens.refresh_token},
                       authenticated=False)
        self._tokens = Tokens()

    @property
    def refresh_token(self) -> str | None:
        return self._tokens.refresh_token

    def caller(self) -> dict[str, Any]:
        """Who the access token says we are (``sub``, ``role``, ``regency``; ``*``: the whole
        province), read from its claims for display only: the gateway is what checks it."""
        header = self._authorization().get("Authorization", "")
        try:
            payload = header.removeprefix("Bearer ").split(".")[1]
            return json_loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (IndexError, ValueError):
            return {}

    def device(self, device_token: str) -> "BimtekApi":
        """A client acting as a check-in phone with this device token (``bkd_...``)."""
        return BimtekApi(self.base_url, device_token=device_token, language=self.language,
                         timeout=self._http.timeout.read or 60.0, retries=self.retries)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "BimtekApi":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _take(self, pair: dict[str, Any]) -> None:
        self._tokens = Tokens(pair["access_token"], pair["refresh_token"],
                              time.monotonic() + float(pair.get("expires_in", 900)))
        if self.on_tokens:
            self.on_tokens(pair)

    def _refresh_locked(self) -> dict[str, Any]:
        if not self._tokens.refresh_token:
            raise ApiProblem(401, {"code": "not_signed_in", "detail": _text("not_signed_in", self.language)})
        pair = self._send("POST", f"{API}/auth/refresh", json={"refresh_token": self._tokens.refresh_token},
                          authenticated=False).json()
        self._take(pair)
        return pair

    def _authorization(self, stale: str | None = None) -> dict[str, str]:
        if self._device_token:
            return {"Authorization": f"Bearer {self._device_token}"}
        with self._token_lock:
            tokens = self._tokens
            # Another thread may have refreshed already: only the holder of the stale token refreshes.
            if not tokens.usable() or (stale is not None and tokens.access_token == stale):
                if tokens.refresh_token:
                    self._refresh_locked()
                elif not tokens.access_token:
                    return {}
            return {"Authorization": f"Bearer {self._tokens.access_token}"}

    # -- requests ---------------------------------------------------------------------------
    def _send(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None,
              content: bytes | None = None, headers: Mapping[str, str] | None = None, authenticated: bool = True,
              timeout: float | None = None, expect: Iterable[int] = ()) -> httpx.Response:
        """One logical request, retried as the manners allow; a non-success answer raises
        :class:`ApiProblem` unless its status is in ``expect``."""
        fixed = dict(headers or {})
        if method in WRITE_METHODS and authenticated:
            fixed.setdefault("Idempotency-Key", str(uuid.uuid4()))  # one per logical write, kept on retries
        clean_params = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            sent_with = self._authorization() if authenticated else {}
            try:
                response = self._http.request(method, path, json=json, params=clean_params, content=content,
                                              headers={**fixed, **sent_with},
                                              timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT)
            except httpx.TransportError as exc:
                if attempt > self.retries:
                    raise ApiUnreachable(method, path, exc) from exc
                time.sleep(_backoff(attempt))
                continue
            if response.status_code < 400 or response.status_code in expect:
                return response
            if response.status_code == 401 and authenticated and not refreshed and not self._device_token \
                    and self._tokens.refresh_token:
                refreshed = True  # the access token lapsed or was revoked early: one refresh, one more try
                self._authorization(stale=sent_with.get("Authorization", "").removeprefix("Bearer "))
                continue
            if _retryable(response) and attempt <= self.retries:
                time.sleep(_retry_after(response) or _backoff(attempt))
                continue
            raise ApiProblem.from_response(response)

    def get(self, path: str, **params: Any) -> Any:
        return self._send("GET", path, params=params).json()

    def post(self, path: str, body: Any = None, **options: Any) -> Any:
        return self._send("POST", path, json=body, **options).json()

    def put(self, path: str, body: Any = None, **options: Any) -> Any:
        return self._send("PUT", path, json=body, **options).json()

    def patch(self, path: str, body: Any = None, **options: Any) -> Any:
        return self._send("PATCH", path, json=body, **options).json()

    def delete(self, path: str, **options: Any) -> None:
        self._send("DELETE", path, **options)

    def get_bytes(self, path: str, **params: Any) -> bytes:
        return self._send("GET", path, params=params).content

    def pages(self, path: str, *, limit: int = 200, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a cursor list, fetching page after page while they are consumed."""
        cursor = None
        while True:
            page = self.get(path, limit=limit, cursor=cursor, **params)
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def download(self, path: str, destination: Path, *, params: Mapping[str, Any] | None = None,
                 on_bytes: Callable[[int], None] | None = None) -> Path:
        """Streams a (large) answer into ``destination``, written whole or not at all."""
        destination = Path(destination)
        partial = destination.with_name(destination.name + ".part")
        clean_params = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._http.stream("GET", path, params=clean_params, headers=self._authorization(),
                                       timeout=httpx.Timeout(60.0, read=300.0)) as response:
                    if response.status_code >= 400:
                        response.read()
                        if _retryable(response) and attempt <= self.retries:
                            time.sleep(_retry_after(response) or _backoff(attempt))
                            continue
                        raise ApiProblem.from_response(response)
                    with partial.open("wb") as out:
                        for chunk in response.iter_bytes(65536):
                            out.write(chunk)
                            if on_bytes:
                                on_bytes(len(chunk))
                partial.replace(destination)
                return destination
            except httpx.TransportError as exc:
                partial.unlink(missing_ok=True)
                if attempt > self.retries:
                    raise ApiUnreachable("GET", path, exc) from exc
                time.sleep(_backoff(attempt))

    def wait_for_job(self, job: Mapping[str, Any] | str, *, timeout: float = 600.0, interval: float = 0.5,
                     on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Polls a job (its answer, or its ``Location``) until it is ``succeeded`` or ``failed``."""
        location = job if isinstance(job, str) else job.get("location") or f"{API}/participant-imports/{job['id']}"
        deadline = time.monotonic() + timeout
        while True:
            current = self.get(location)
            if on_progress:
                on_progress(current)
            if current["status"] in FINISHED_JOB_STATUSES:
                return current
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {location} not finished after {timeout:.0f} s: {current['status']}")
            time.sleep(interval)

    # -- health -----------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self._send("GET", "/healthz", authenticated=False).json()

    def ready(self) -> dict[str, Any]:
        """The gateway's /readyz: what it depends on, and whether each answers (never raises on 503)."""
        response = self._send("GET", "/readyz", authenticated=False, expect=(503,))
        return {"ready": response.status_code == 200, **response.json()}

    # -- registration -----------------------------------------------------------------------
    def start_import(self, content: bytes, file_name: str, *, dry_run: bool = False,
                     import_valid_rows_only: bool = False, regency: str | None = None) -> dict[str, Any]:
        """Uploads a spreadsheet (XLSX or CSV); the job as answered, with its ``location`` and
        ``already_uploaded`` (the same file was imported into the same scope before: its first job)."""
        fields = {"dry_run": _flag(dry_run), "import_valid_rows_only": _flag(import_valid_rows_only)}
        if regency:
            fields["regency"] = regency
        media_type = XLSX if file_name.lower().endswith(".xlsx") else "text/csv"
        # Encoded once: a retry must send the very same bytes (same boundary) under the same key.
        encoded = httpx.Request("POST", self.base_url, files={"file": (file_name, content, media_type)}, data=fields)
        body = encoded.read()
        response = self._send("POST", f"{API}/participant-imports", content=body,
                              headers={"Content-Type": encoded.headers["Content-Type"]}, timeout=300.0)
        return {**response.json(), "location": response.headers.get("location"),
                "already_uploaded": response.status_code == 200}

    def import_spreadsheet(self, path_or_content: Path | str | bytes, file_name: str | None = None, *,
                           dry_run: bool = False, import_valid_rows_only: bool = False, regency: str | None = None,
                           timeout: float = 900.0,
                           on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Uploads a spreadsheet and waits for its job to finish; the finished job."""
        if isinstance(path_or_content, bytes):
            content, name = path_or_content, file_name or "peserta.xlsx"
        else:
            path = Path(path_or_content)
            content, name = path.read_bytes(), file_name or path.name
        job = self.start_import(content, name, dry_run=dry_run, import_valid_rows_only=import_valid_rows_only,
                                regency=regency)
        return self.wait_for_job(job, timeout=timeout, on_progress=on_progress)

    def get_import(self, job_id: str) -> dict[str, Any]:
        return self.get(f"{API}/participant-imports/{job_id}")

    def list_imports(self, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.pages(f"{API}/participant-imports", limit=50, **filters)

    def list_participants(self, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.pages(f"{API}/participants", **filters)

    def list_cooperatives(self, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.pages(f"{API}/cooperatives", **filters)

    def cooperative_statistics(self, regency: str | None = None) -> dict[str, Any]:
        return self.get(f"{API}/cooperatives/statistics", regency=regency)

    def list_districts(self, regency: str) -> list[dict[str, Any]]:
        answer = self.get(f"{API}/regions/regencies/{regency}/districts")
        return answer["items"] if isinstance(answer, dict) and "items" in answer else answer

    # -- planning ---------------------------------------------------------------------------
    def create_programme(self, programme: Mapping[str, Any]) -> dict[str, Any]:
        return self.post(f"{API}/programmes", programme)

    def list_programmes(self, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.pages(f"{API}/programmes", **filters)

    def get_programme(self, programme_id: str) -> dict[str, Any]:
        return self.get(f"{API}/programmes/{programme_id}")

    def create_venue(self, venue: Mapping[str, Any]) -> dict[str, Any]:
        return self.post(f"{API}/venues", venue)

    def create_resource_person(self, person: Mapping[str, Any]) -> dict[str, Any]:
        """Province administrators only."""
        return self.post(f"{API}/resource-persons", person)

    def list_resource_persons(self, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.pages(f"{API}/resource-persons", **filters)

    def preview_plan(self, programme_id: str) -> dict[str, Any]:
        return self.post(f"{API}/programmes/{programme_id}/plan-previews", timeout=120.0)

    def publish_plan(self, programme_id: str, preview_id: str) -> dict[str, Any]:
        return self.post(f"{API}/programmes/{programme_id}/plan", {"preview_id": preview_id}, timeout=120.0)

    def preview_plans(self, programme_ids: list[str]) -> list[dict[str, Any]]:
        """Several programmes (one per regency) planned in one run: a summary of each preview."""
        return self.post(f"{API}/plan-previews", {"programme_ids": programme_ids}, timeout=120.0)["previews"]

    def publish_plans(self, preview_ids: list[str]) -> list[dict[str, Any]]:
        """Those previews published in one transaction (all or none)."""
        return self.post(f"{API}/plan-publications", {"preview_ids": preview_ids}, timeout=120.0)["plans"]

    def get_plan(self, programme_id: str) -> dict[str, Any]:
        return self.get(f"{API}/programmes/{programme_id}/plan")

    def list_sessions(self, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.pages(f"{API}/sessions", **filters)

    def get_session(self, session_id: str) -> dict[str, Any]:
        return self.get(f"{API}/sessions/{session_id}")

    # -- invitations and attendance ---------------------------------------------------------
    def get_invitation(self, participant_id: str) -> dict[str, Any]:
        return self.get(f"{API}/participants/{participant_id}/invitation")

    def issue_device_token(self, label: str, **scope: Any) -> dict[str, Any]:
        """A check-in phone's token (``token`` is shown this once), limited by ``venue_id``,
        ``session_id``, ``valid_from``, ``valid_until`` (at least one)."""
        return self.post(f"{API}/device-tokens", {"label": label, **{k: _param(v) for k, v in scope.items()
                                                                      if v is not None}})

    def upload_check_ins(self, scans: list[Mapping[str, Any]]) -> dict[str, Any]:
        """One batch of a phone's scans (at most 500; each ``nonce``, ``qr``, ``scanned_at``,
        optional ``session_id``): ``results`` in the order sent and their ``counts``."""
        return self.post(f"{API}/check-ins", {"scans": [dict(scan) for scan in scans]})

    def sync_check_ins(self, scans: list[Mapping[str, Any]],
                       on_batch: Callable[[int], None] | None = None) -> dict[str, Any]:
        """Every scan of an offline phone, in batches; the results in order and the summed counts.
        Uploading the same scans again counts nothing twice (their nonces answer ``duplicate``)."""
        results: list[dict[str, Any]] = []
        counts: dict[str, int] = {}
        for start in range(0, len(scans), MAX_SCANS_PER_UPLOAD):
            batch = scans[start:start + MAX_SCANS_PER_UPLOAD]
            answer = self.upload_check_ins(batch)
            results.extend(answer["results"])
            for result, count in answer["counts"].items():
                counts[result] = counts.get(result, 0) + count
            if on_batch:
                on_batch(len(batch))
        return {"results": results, "counts": counts}

    def set_attendance(self, session_id: str, participant_id: str, *, day: str, present: bool,
                       reason: str) -> dict[str, Any]:
        return self.put(f"{API}/sessions/{session_id}/attendance/{participant_id}",
                        {"day": _param(day), "present": present, "reason": reason})

    def get_attendance(self, session_id: str) -> dict[str, Any]:
        return self.get(f"{API}/sessions/{session_id}/attendance")

    def attendance_sheet_pdf(self, session_id: str, day: str | None = None, with_qr: bool = False) -> bytes:
        return self.get_bytes(f"{API}/sessions/{session_id}/attendance-sheet.pdf", day=day,
                              with_qr=_flag(with_qr) if with_qr else None)

    def close_session(self, session_id: str) -> dict[str, Any]:
        return self.post(f"{API}/sessions/{session_id}/closure")

    # -- certificates -----------------------------------------------------------------------
    def list_certificates(self, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.pages(f"{API}/certificates", **filters)

    def get_certificate(self, certificate_id: str) -> dict[str, Any]:
        return self.get(f"{API}/certificates/{certificate_id}")

    def certificate_pdf(self, certificate_id: str) -> bytes:
        return self.get_bytes(f"{API}/certificates/{certificate_id}/document")

    def session_certificates_pdf(self, session_id: str) -> bytes:
        return self.get_bytes(f"{API}/sessions/{session_id}/certificates.pdf")

    def export_certificates(self, destination: Path, *, cooperative_id: str | None = None,
                            district: str | None = None, session_id: str | None = None,
                            on_bytes: Callable[[int], None] | None = None) -> Path:
        """The certificates of exactly one cooperative, kecamatan or session as a ZIP file."""
        scope = {"cooperative_id": cooperative_id, "district": district, "session_id": session_id}
        return self.download(f"{API}/certificate-archives", destination, params=scope, on_bytes=on_bytes)

    def verify_certificate(self, public_id: str) -> dict[str, Any]:
        """The public verification (no sign-in needed): status, what it states, the signature check."""
        return self._send("GET", f"{API}/public/certificates/{public_id}", authenticated=False).json()

    def verification_page(self, url_or_public_id: str, lang: str | None = None) -> str:
        """The page a certificate's QR code opens (an address, or a public id), as HTML."""
        if url_or_public_id.startswith(("http://", "https://")):
            path = httpx.URL(url_or_public_id.split("#", 1)[0]).path  # the part after '#' never leaves the phone
        else:
            path = f"{API}/public/certificates/{url_or_public_id}/page"
        return self._send("GET", path, params={"lang": lang}, authenticated=False).text

    def certificate_keys(self) -> dict[str, Any]:
        return self._send("GET", f"{API}/public/certificate-keys", authenticated=False).json()


# -- helpers ------------------------------------------------------------------------------------
def _param(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _retryable(response: httpx.Response) -> bool:
    if response.status_code in RETRIED_STATUSES:
        return True
    if response.status_code == 409:  # the first try of this very write still runs: wait for its answer
        try:
            return response.json().get("code") == "idempotency_request_in_flight"
        except ValueError:
            return False
    return False


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), 60.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(when.timestamp() - time.time(), 0.0), 60.0)


def _backoff(attempt: int) -> float:
    return min(0.25 * 2 ** (attempt - 1), 8.0)


_TEXTS = {
    "not_signed_in": {"id": "Belum masuk: jalankan `bimtek login` dahulu.",
                      "en": "Not signed in: run `bimtek login` first."},
}


def _text(key: str, language: str) -> str:
    return _TEXTS[key].get(language, _TEXTS[key]["id"])
