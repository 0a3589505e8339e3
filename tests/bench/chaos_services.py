"""Private service instances for fault drills: a redis-server and a PostgreSQL cluster of our
own on free loopback ports, and the service's own processes (uvicorn API, arq workers).

The machine's shared PostgreSQL (5432) and Redis (6379) serve other people's test runs at the
same time: drills that stop or restart a service must never touch them, so they restart these
instead. A missing binary is an error that names it, never a silent skip."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.stacks import free_port

ROOT = Path(__file__).resolve().parents[2]
REDIS_HINT = "install it (Debian/Ubuntu: apt-get install redis-server)"
PG_HINT = "install PostgreSQL's server binaries (Debian/Ubuntu: apt-get install postgresql)"


class MissingBinary(RuntimeError):
    """A drill needs a program this machine does not have."""


def find_binary(name: str, hint: str) -> str:
    """`name` on PATH, else in Debian's versioned PostgreSQL directories."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if candidates:
        return candidates[0]
    raise MissingBinary(f"`{name}` was not found on PATH or in /usr/lib/postgresql/*/bin: {hint}")


def _wait_for_port(port: int, timeout: float, what: str, alive: subprocess.Popen[bytes] | None,
                   log: Path | None = None) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and alive.poll() is not None:
            break
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not start on port {port} in {timeout:.0f} s\n{tail}")


# ---------------------------------------------------------------- redis


@dataclass
class PrivateRedis:
    """redis-server on a free port. Without `aof` it keeps nothing across a restart (no RDB
    snapshot, no AOF): every queued job is lost, the worst case. With `aof` it runs the way
    compose.yaml runs production (appendonly yes, appendfsync everysec)."""

    workdir: Path
    aof: bool = False
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.binary = find_binary("redis-server", REDIS_HINT)
        self.dir = self.workdir / f"redis-{self.port}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = self.dir / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def persistence(self) -> str:
        return "AOF everysec, as compose.yaml" if self.aof else "no persistence"

    def start(self) -> None:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                   "--save", "", "--daemonize", "no", "--dir", str(self.dir),
                   "--logfile", str(self.log)]  # fmt: skip
        command += (
            ["--appendonly", "yes", "--appendfsync", "everysec"]
            if self.aof
            else ["--appendonly", "no"]
        )
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        _wait_for_port(self.port, 10, "redis-server", self.process, self.log)

    def stop(self) -> None:
        """SIGTERM: a clean shutdown (with AOF, what was written is on disk)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- postgres


@dataclass
class PrivatePostgres:
    """A throwaway PostgreSQL cluster: initdb into a temporary directory, trust auth on
    127.0.0.1 and a socket directory of its own, fsync off (nothing here needs to survive a
    power cut). initdb and the server refuse to run as root: as root they run as `postgres`."""

    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self.initdb = find_binary("initdb", PG_HINT)
        self.pg_ctl = find_binary("pg_ctl", PG_HINT)
        self.dir = Path(tempfile.mkdtemp(prefix="chaos-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self._as: list[str] = []
        if os.geteuid() == 0:
            runuser = find_binary("runuser", "it is part of util-linux")
            account = pwd.getpwnam("postgres")
            os.chown(self.dir, account.pw_uid, account.pw_gid)
            self._as = [runuser, "-u", "postgres", "--"]

    def _run(self, *command: str, timeout: float = 60) -> None:
        done = subprocess.run(
            [*self._as, *command], capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command[:2])} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
                f"\n{tail}"
            )

    def init(self) -> None:
        self._run(self.initdb, "-D", str(self.data), "--auth=trust", "--username=postgres",
                  "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run(self.pg_ctl, "start", "-w", "-t", "30", "-D", str(self.data),
                  "-l", str(self.log), "-o", options)  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """`-m fast`: every session is disconnected at once (what a restart does)."""
        self._run(self.pg_ctl, "stop", "-w", "-t", "30", "-m", mode, "-D", str(self.data))

    def restart(self) -> None:
        # -l: the server's output goes to the log, not to a pipe we would wait on forever.
        self._run(self.pg_ctl, "restart", "-w", "-t", "30", "-m", "fast", "-D", str(self.data),
                  "-l", str(self.log))  # fmt: skip

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    async def create_database(self, name: str) -> None:
        import asyncpg

        connection = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user="postgres", database="postgres"
        )
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(Exception):  # best effort at teardown
                self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def migrate_and_seed(database_url: str) -> None:
    """What an operator runs: `alembic upgrade head`, then `python -m seeds load`."""
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    alembic = str(Path(sys.executable).with_name("alembic"))
    for command in ([alembic, "upgrade", "head"], [sys.executable, "-m", "seeds", "load"]):
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[-3:])} failed:\n{done.stdout}{done.stderr}")


# ---------------------------------------------------------------- the service's processes


@dataclass
class ServiceProcess:
    """One process of the service, its output in a log file of its own."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT
        )
        handle.close()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (what an OOM kill or a lost host does)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 20) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def api_process(env: dict[str, str], workdir: Path) -> tuple[ServiceProcess, str]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "app:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
               "--log-level", "warning"]  # fmt: skip
    process = ServiceProcess("api", command, env, workdir / "api.log")
    process.start()
    return process, f"http://127.0.0.1:{port}"


def worker_process(env: dict[str, str], workdir: Path, name: str) -> ServiceProcess:
    command = [sys.executable, "-m", "arq", "jobs.worker.WorkerSettings"]
    process = ServiceProcess(name, command, env, workdir / f"{name}.log")
    process.start()
    return process


def wait_for_http(base_url: str, path: str, process: ServiceProcess, timeout: float = 60) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive:
            raise RuntimeError(f"{process.name} exited during startup:\n{process.tail()}")
        try:
            with urllib.request.urlopen(base_url + path, timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"{process.name} did not answer {path} in {timeout:.0f} s:\n{process.tail()}"
    )
