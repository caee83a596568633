"""Running ``tunelab dashboard`` and ``tunelab run`` as real subprocesses for the tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
ARTIFACTS_ENV = "TUNELAB_TEST_ARTIFACTS"


def chromium() -> str:
    """Debian's chromium (CI installs it: scripts/ci-packages.sh). Skips when the
    machine has none, except under CI, where its absence is a failure."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("no chromium under CI: scripts/ci-packages.sh should have installed it")
    pytest.skip("no chromium on this machine (apt-get install chromium)")


def artifacts_dir() -> Path:
    """Where screenshots go: $TUNELAB_TEST_ARTIFACTS/dashboard, else
    /tmp/tunelab-test-artifacts/dashboard (kept after the run)."""
    import tempfile

    root = os.environ.get(ARTIFACTS_ENV) or str(
        Path(tempfile.gettempdir()) / "tunelab-test-artifacts"
    )
    folder = Path(root) / "dashboard"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "tunelab.cli", *args]


class Process:
    """A subprocess whose output lines are collected as they come."""

    def __init__(self, args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None):
        self.proc = subprocess.Popen(
            args,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "COLUMNS": "200", **(env or {})},
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                found = re.search(pattern, line)
                if found:
                    return found
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r} in: {self.lines}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self._reader.join(timeout=10)


@contextmanager
def dashboard(storage: Path | str, *extra: str) -> Iterator[tuple[str, Process]]:
    """``tunelab dashboard`` on a free port: its base URL (ending in /) and process."""
    server = Process(cli("dashboard", "--storage", str(storage), "--port", "0", *extra))
    try:
        found = server.wait_for_line(r"(http://[^ ]+/)", timeout=120)
        # A server on every address is still asked on loopback only.
        url = found.group(1).replace("//0.0.0.0:", "//127.0.0.1:")
        wait_until_up(url)
        yield url, server
    finally:
        server.stop()


def wait_until_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "api/studies", timeout=30):
                return
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def request(
    url: str, method: str = "GET", data: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one request (HTTP errors included, not raised)."""
    req = urllib.request.Request(url, method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()
