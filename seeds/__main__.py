"""`python -m seeds load [--if-empty]`: the loader arrives with the question bank (issue 3);
until then there is nothing to seed."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    if sys.argv[1:2] != ["load"]:
        print("usage: python -m seeds load [--if-empty]", file=sys.stderr)
        raise SystemExit(2)
    print("seeds: nothing to load yet")
