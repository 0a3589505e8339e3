"""`make bench`: every benchmark, printing its figures. `python -m tests.bench NAME...` runs some.

Needs this machine's PostgreSQL and Redis (each run uses a database and namespace of its own)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from tests.support.stacks import provision

BENCHMARKS = ["auth", "lifecycle", "pipeline", "llm_cost"]


async def main(names: list[str]) -> None:
    import importlib

    for name in names:
        module = importlib.import_module(f"tests.bench.bench_{name}")
        with tempfile.TemporaryDirectory() as tmp:
            async with provision("postgres", Path(tmp)) as stack:
                await module.run(stack)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:] or BENCHMARKS))
