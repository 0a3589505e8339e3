"""`python -m seeds load [--questions FILE] [--catalog FILE] [--forms FILE] [--tracks FILE]
[--dry-run] [--if-empty]`

Without file options the shipped files (seeds/*.yaml) are loaded; with some, only those.
Upserts by stable keys and prints what it created, updated and left alone. An invalid file
prints every problem (file, item, field) and writes nothing."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from db.database import Database, create_engine
from seeds.loader import DEFAULT_FILES, SeedError, load_or_dry_run
from settings import Settings


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m seeds")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load", help="validate and upsert seed files")
    load.add_argument("--questions", type=Path, help="question bank YAML")
    load.add_argument("--catalog", type=Path, help="credential catalog YAML")
    load.add_argument("--forms", type=Path, help="assessment forms YAML")
    load.add_argument("--tracks", type=Path, help="track blueprints YAML")
    load.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")
    load.add_argument(
        "--if-empty", action="store_true", help="load each kind only into an empty table"
    )
    return parser.parse_args(argv)


async def _main(arguments: argparse.Namespace) -> int:
    given = {
        kind: path
        for kind in ("questions", "catalog", "forms", "tracks")
        if (path := getattr(arguments, kind)) is not None
    }
    files = given or dict(DEFAULT_FILES)
    settings = Settings()
    database = Database(create_engine(settings.database_url))
    try:
        tallies = await load_or_dry_run(
            database, files, dry_run=arguments.dry_run, if_empty=arguments.if_empty
        )
    except SeedError as exc:
        print("seed files are invalid; nothing was written:", file=sys.stderr)
        for line in exc.lines:
            print(f"  {line}", file=sys.stderr)
        return 1
    finally:
        await database.dispose()
    prefix = "dry run (nothing written): " if arguments.dry_run else ""
    for kind, tally in tallies.items():
        print(prefix + tally.line(kind))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(_main(_arguments(sys.argv[1:]))))
