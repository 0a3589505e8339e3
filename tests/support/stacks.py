"""The two stacks every integration and API test runs on.

- sqlite: the embedded default of `make run` (SQLite file, in-process queue and pub/sub).
- postgres: this machine's PostgreSQL and Redis, each test run in a database and a Redis
  namespace of its own, dropped afterwards.

A service that is down fails the run with a message naming it; nothing is skipped silently.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PG_HOST = os.environ.get("TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("TEST_PG_USER", "postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
REDIS_START = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no '
    "--dir /var/lib/redis --logfile /var/log/redis/ci.log"
)

TEST_JWT_SECRET = "test-secret-" + "x" * 40
ADMIN_CODE = "admin-invite-code-for-tests"
ADVISOR_CODE = "advisor-invite-code-for-tests"


def selected_stacks() -> list[str]:
    """TEST_STACKS=sqlite (or postgres) narrows a local run; CI runs both."""
    raw = os.environ.get("TEST_STACKS", "sqlite,postgres")
    return [s.strip() for s in raw.split(",") if s.strip()]


@dataclass
class StackConfig:
    name: str
    database_url: str
    redis_url: str | None
    namespace: str
    var_dir: Path
    chroma_url: str | None = None

    def settings(self, **overrides: Any) -> Any:
        from settings import Settings

        values: dict[str, Any] = {
            "app_env": "development",
            "database_url": self.database_url,
            "redis_url": self.redis_url,
            "redis_namespace": self.namespace,
            "var_dir": self.var_dir,
            "chroma_url": self.chroma_url,
            "jwt_secret": TEST_JWT_SECRET,
            "admin_invite_code": ADMIN_CODE,
            "advisor_invite_code": ADVISOR_CODE,
            # Cost 4 instead of 12 keeps hundreds of registrations fast; a unit test checks
            # that production refuses anything below 12.
            "bcrypt_rounds": 4,
            "auth_requests_per_ip": 100_000,
            "login_failures_per_email": 1_000,
            "log_level": "WARNING",
            "log_format": "console",
            # Scorers are instant in tests: waiting for per-essay jobs only slows the pipeline.
            "essay_wait_seconds": 2,
            "sweep_interval_seconds": 1,
            "requeue_grace_seconds": 3,
            "retry_delay_scale": 0.01,
            # Tests start assessments freely and retake at once; the cooldown itself is tested
            # with forms that set their own (tests/api/test_forms_retakes.py) and on a server
            # started with the setting.
            "retake_cooldown_hours": 0,
        }
        values.update(overrides)
        return Settings(**values).validate_for_startup()


async def _check_postgres() -> None:
    import asyncpg

    try:
        connection = await asyncpg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres", timeout=5
        )
        await connection.close()
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT} ({exc!r}). Start it with: "
            f"{PG_START}",
            pytrace=False,
        )


async def _check_redis() -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        await client.ping()
    except Exception as exc:
        pytest.fail(
            f"Redis is not reachable at {REDIS_URL} ({exc!r}). Start it with: {REDIS_START}",
            pytrace=False,
        )
    finally:
        await client.aclose()


async def _admin_sql(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres"
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _migrate_and_seed(url: str) -> None:
    from db.database import Database, create_engine
    from db.migrate import upgrade_async
    from seeds.loader import DEFAULT_FILES, load

    await upgrade_async(url)
    database = Database(create_engine(url))
    try:
        await load(database, dict(DEFAULT_FILES))
    finally:
        await database.dispose()


@asynccontextmanager
async def provision(name: str, tmp: Path) -> AsyncIterator[StackConfig]:
    """A migrated database holding the shipped seeds (and a Redis namespace) for one stack;
    removed afterwards."""

    suffix = uuid.uuid4().hex[:10]
    if name == "sqlite":
        config = StackConfig(
            name="sqlite",
            database_url=f"sqlite+aiosqlite:///{tmp / 'app.db'}",
            redis_url=None,
            namespace=f"t{suffix}",
            var_dir=tmp,
        )
        await _migrate_and_seed(config.database_url)
        yield config
        return

    await _check_postgres()
    await _check_redis()
    from tests.support.chroma import chroma_url

    url = await asyncio.to_thread(chroma_url)
    database = f"mc_test_{suffix}"
    await _admin_sql(f'CREATE DATABASE "{database}"')
    config = StackConfig(
        name="postgres",
        database_url=f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}",
        redis_url=REDIS_URL,
        namespace=f"t{suffix}",
        var_dir=tmp,
        chroma_url=url,
    )
    try:
        await _migrate_and_seed(config.database_url)
        yield config
    finally:
        await _drop_redis_namespace(config.namespace)
        await _admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


async def _drop_redis_namespace(namespace: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{namespace}:*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """The real app under uvicorn on a free loopback port, in the test's event loop."""

    def __init__(self, settings: Any, build_index: bool = True) -> None:
        import uvicorn

        from app import create_app, uvicorn_config

        self.settings = settings
        self.build_index_at_start = build_index
        self.app = create_app(settings)
        self.port = free_port()
        # Served as production serves it (timeouts, proxy trust, websocket limits).
        self.server = uvicorn.Server(
            uvicorn_config(self.app, settings, host="127.0.0.1", port=self.port)
        )
        self._task: asyncio.Task[None] | None = None
        # Set when an arq worker runs beside this server (the PostgreSQL stack).
        self.worker: Any = None

    @property
    def pipeline_services(self) -> Any:
        """The services that run jobs: the worker's with Redis, the app's in-process."""
        if self.worker is not None:
            return self.worker.ctx["services"]
        return self.services

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @property
    def services(self) -> Any:
        return self.app.state.services

    async def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve())
        for _ in range(500):
            if self.server.started:
                break
            if self._task.done():
                self._task.result()
                raise RuntimeError("server stopped during startup")
            await asyncio.sleep(0.01)
        else:
            raise RuntimeError("server did not start in 5 s")
        if self.build_index_at_start:
            await self.build_index()

    async def build_index(self) -> None:
        """Tests expect retrieval from a full index; the app asks for a build at startup, but
        as a job that may still be running. Building here (idempotent) makes it certain."""
        from jobs.rag_index import rebuild

        await rebuild(self.services, call_key="test-server-start")

    async def stop(self) -> None:
        """A hang guard, not a timing check: generous, because on a loaded machine a graceful
        shutdown (connections drained, pools closed) can take many seconds; when it does hang,
        the error names what the loop was still waiting on."""
        self.server.should_exit = True
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=60)
        except TimeoutError:
            pending = [repr(t.get_coro()) for t in asyncio.all_tasks() if not t.done()]
            self._task.cancel()
            raise RuntimeError(f"server did not stop in 60 s; pending tasks: {pending}") from None
