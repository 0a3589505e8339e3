"""A real Chroma server for the PostgreSQL stack (the production shape: PostgreSQL + Redis +
a Chroma server), started once per test process from the `chroma` command chromadb installs.
Each stack's collections carry its namespace, so one server serves every stack of the run."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.support.stacks import free_port

_server: tuple[subprocess.Popen[bytes], str, Path] | None = None


def chroma_url() -> str:
    """The URL of the session's Chroma server, starting it on first use. TEST_CHROMA_URL uses
    an existing server instead."""
    global _server
    given = os.environ.get("TEST_CHROMA_URL")
    if given:
        return given
    if _server is None:
        _server = _start()
        atexit.register(_stop)
    return _server[1]


def _start(port: int | None = None) -> tuple[subprocess.Popen[bytes], str, Path]:
    command = Path(sys.executable).with_name("chroma")
    if not command.exists():
        raise RuntimeError(f"Chroma: {command} not found; `make install` installs chromadb")
    data = Path(tempfile.mkdtemp(prefix="test-chroma-"))
    port = port or free_port()
    log = (data / "server.log").open("wb")
    process = subprocess.Popen(
        [str(command), "run", "--path", str(data / "db"), "--host", "127.0.0.1",
         "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1):  # noqa: S310
                return process, url, data
        except OSError:
            time.sleep(0.2)
    process.kill()
    tail = (data / "server.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"Chroma: the test server did not start on port {port}:\n{tail}")


def _stop() -> None:
    if _server is not None:
        stop(_server)


def start_on(port: int) -> tuple[subprocess.Popen[bytes], str, Path]:
    """A Chroma server of a test's own on a given port (to bring a "down" Chroma back)."""
    return _start(port)


def stop(server: tuple[subprocess.Popen[bytes], str, Path]) -> None:
    process, _, data = server
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    shutil.rmtree(data, ignore_errors=True)
