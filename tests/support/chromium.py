"""Debian's headless chromium driven over the DevTools protocol (a websocket, JSON messages), for
tests that must act in a page (fill a form, wait for a script's work) and read the result back.
``make test-tools`` installs chromium."""
from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from websockets.sync.client import connect


class Chromium:
    """One headless browser with one tab; ``evaluate`` runs JavaScript in the tab's page."""

    def __init__(self, accept_language: str = "id-ID,id") -> None:
        binary = shutil.which("chromium")
        assert binary, "Debian's chromium is missing: `make test-tools` installs it"
        self._profile = tempfile.TemporaryDirectory(prefix="bimtek-chromium-")
        self._connection = ExitStack()
        self._process = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--remote-debugging-port=0", f"--user-data-dir={self._profile.name}", f"--accept-lang={accept_language}",
             "--window-size=1280,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            port = self._debugging_port(Path(self._profile.name) / "DevToolsActivePort")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
                tab = next(target for target in json.load(answer) if target["type"] == "page")
            self._socket = self._connection.enter_context(
                connect(tab["webSocketDebuggerUrl"], max_size=2 ** 24, open_timeout=10))
        except BaseException:
            self.close()
            raise
        self._ids = itertools.count(1)
        self.send("Page.enable")
        self.send("Runtime.enable")

    def _debugging_port(self, active_port: Path, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if active_port.exists() and active_port.read_text().strip():
                return int(active_port.read_text().splitlines()[0])
            assert self._process.poll() is None, "chromium exited at start"
            time.sleep(0.1)
        raise AssertionError("chromium never opened its DevTools port")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """One DevTools command and its result (events arriving meanwhile are passed over)."""
        message_id = next(self._ids)
        self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=30))
            if message.get("id") == message_id:
                assert "error" not in message, message["error"]
                return message["result"]

    def open(self, url: str, timeout: float = 30) -> None:
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'", timeout)

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> Any:
        """The value of ``expression`` once it is truthy."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"not true in the page after {timeout:.0f}s: {expression}")
            time.sleep(0.1)

    def close(self) -> None:
        self._connection.close()
        # Its own session: the renderer and helper processes go with it.
        try:
            os.killpg(self._process.pid, signal.SIGTERM)
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        except ProcessLookupError:
            pass
        self._profile.cleanup()

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
