"""Benchmark plumbing: a real server in its own process (uvicorn, PostgreSQL, Redis), a load
generator in this one, and latency statistics. Figures are printed, never asserted: the machine
is shared and noisy, so each benchmark also measures the bare `{ __typename }` ceiling in the
same run and reports ratios against it."""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from tests.support.stacks import TEST_JWT_SECRET, StackConfig, free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Samples:
    name: str
    seconds: list[float] = field(default_factory=list)
    errors: int = 0
    started: float = field(default_factory=time.perf_counter)
    stopped: float | None = None

    def add(self, value: float) -> None:
        self.seconds.append(value)

    def stop(self) -> None:
        self.stopped = time.perf_counter()

    def pct(self, p: float) -> float:
        if not self.seconds:
            return float("nan")
        ordered = sorted(self.seconds)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index] * 1000

    @property
    def throughput(self) -> float:
        end = self.stopped or time.perf_counter()
        return len(self.seconds) / max(end - self.started, 1e-9)

    def row(self) -> str:
        mean = statistics.fmean(self.seconds) * 1000 if self.seconds else float("nan")
        return (
            f"{self.name:<28} n={len(self.seconds):>6}  {self.throughput:>8.1f}/s  "
            f"p50={self.pct(50):>8.1f} ms  p95={self.pct(95):>8.1f} ms  "
            f"p99={self.pct(99):>8.1f} ms  mean={mean:>7.1f} ms  errors={self.errors}"
        )


def server_env(stack: StackConfig, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": stack.database_url,
        "REDIS_NAMESPACE": stack.namespace,
        "VAR_DIR": str(stack.var_dir),
        "JWT_SECRET": TEST_JWT_SECRET,
        "ADMIN_INVITE_CODE": "bench-admin-invite",
        "ADVISOR_INVITE_CODE": "bench-advisor-invite",
        "AUTH_REQUESTS_PER_IP": "10000000",
        "LOGIN_FAILURES_PER_EMAIL": "10000000",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "console",
    }
    if stack.redis_url:
        env["REDIS_URL"] = stack.redis_url
    env.update(extra)
    return env


@dataclass(frozen=True)
class Launched:
    base: str
    pid: int


@asynccontextmanager
async def server_process(env: dict[str, str]) -> AsyncIterator[str]:
    """uvicorn serving the app in a child process; yields its base URL."""
    async with launched(env) as server:
        yield server.base


@asynccontextmanager
async def launched(
    env: dict[str, str], target: str = "app:create_app", factory: bool = True
) -> AsyncIterator[Launched]:
    """uvicorn serving `target` in a child process; yields its base URL and process id."""
    port = free_port()
    process = subprocess.Popen(  # noqa: ASYNC220
        [
            sys.executable,
            "-m",
            "uvicorn",
            target,
            *(["--factory"] if factory else []),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as probe:
            for _ in range(300):
                try:
                    if (await probe.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None:
                    raise RuntimeError("server exited during startup")
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("server did not start in 30 s")
        yield Launched(base, process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


async def timed(samples: Samples, call: Callable[[], Awaitable[bool]]) -> None:
    started = time.perf_counter()
    try:
        ok = await call()
    except Exception:
        ok = False
    if ok:
        samples.add(time.perf_counter() - started)
    else:
        samples.errors += 1


async def loop_until(
    deadline: float, samples: Samples, call: Callable[[], Awaitable[bool]]
) -> None:
    while time.perf_counter() < deadline:
        await timed(samples, call)


async def paced(
    deadline: float, samples: Samples, call: Callable[[], Awaitable[bool]], interval: float
) -> None:
    """An open-loop probe: one call every `interval` seconds, so measuring latency does not
    itself load the server the way a closed loop would."""
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        await timed(samples, call)
        await asyncio.sleep(max(0.0, interval - (time.perf_counter() - started)))


def client(base_url: str, connections: int = 200) -> aiohttp.ClientSession:
    """The load generator's HTTP client. aiohttp needs about a quarter of httpx's CPU per
    request; on two shared cores the client's CPU is the server's loss, so it matters."""
    return aiohttp.ClientSession(
        base_url=base_url,
        # Give idle connections up before the server does (uvicorn: 5 s), or a reused one can
        # be reset under the request.
        connector=aiohttp.TCPConnector(limit=connections, keepalive_timeout=3),
        timeout=aiohttp.ClientTimeout(total=300),
    )


async def gql(
    http: aiohttp.ClientSession,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    ) as response:
        response.raise_for_status()
        return await response.json()  # type: ignore[no-any-return]


def ok(body: dict[str, Any]) -> bool:
    if body.get("errors"):
        return False
    data = body.get("data") or {}
    return all(not (isinstance(value, dict) and value.get("errors")) for value in data.values())


def header(title: str) -> None:
    print()
    print(f"== {title}")


@asynccontextmanager
async def worker_process(env: dict[str, str], count: int = 1) -> AsyncIterator[None]:
    """arq workers in child processes (the way `make worker` runs them)."""
    processes = [
        subprocess.Popen(  # noqa: ASYNC220
            [sys.executable, "-m", "arq", "jobs.worker.WorkerSettings"],
            cwd=ROOT,
            env=env,
            # arq logs every job at INFO on its own handler: the figures would drown.
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    try:
        await asyncio.sleep(1.0)  # startup: imports, connections
        yield
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
