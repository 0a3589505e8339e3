"""`python -m static.vendor`: fetch GraphiQL's browser assets with `npm pack` and rewrite
static/graphiql/ and its manifest. Run by hand to upgrade (then review the diff); the service
and its tests never touch the network, they check the files against the manifest.

The versions are the ones Strawberry's own GraphiQL page loads from a CDN
(strawberry/static/graphiql.html), and the hashes match its integrity attributes."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from static.graphiql import DIRECTORY, MANIFEST, Asset, sha384

# (npm package, version, file inside the package, name served, kind)
WANTED = (
    ("react", "18.2.0", "umd/react.production.min.js", "react.production.min.js", "script"),
    (
        "react-dom",
        "18.2.0",
        "umd/react-dom.production.min.js",
        "react-dom.production.min.js",
        "script",
    ),
    ("js-cookie", "3.0.5", "dist/js.cookie.min.js", "js.cookie.min.js", "script"),
    ("graphiql", "3.8.3", "graphiql.min.css", "graphiql.min.css", "style"),
    ("@graphiql/plugin-explorer", "1.0.2", "dist/style.css", "plugin-explorer.css", "style"),
    ("graphiql", "3.8.3", "graphiql.min.js", "graphiql.min.js", "script"),
    ("@graphiql/plugin-explorer", "1.0.2", "dist/index.umd.js", "plugin-explorer.js", "script"),
)


def main() -> None:
    assets: list[Asset] = []
    with tempfile.TemporaryDirectory() as tmp:
        for package, version, inner, name, kind in WANTED:
            spec = f"{package}@{version}"
            tarball = subprocess.run(  # noqa: S603 - fixed arguments, no shell
                ["npm", "pack", spec, "--silent"],  # noqa: S607 - npm from PATH, by design
                cwd=tmp,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()[-1]
            with tarfile.open(Path(tmp) / tarball) as archive:
                member = archive.extractfile(f"package/{inner}")
                assert member is not None, (spec, inner)
                data = member.read()
            (DIRECTORY / name).write_bytes(data)
            assets.append(Asset(name, kind, package, version, inner, sha384(data)))
            print(f"{spec} {inner} -> {name} ({len(data)} bytes)", file=sys.stderr)
    MANIFEST.write_text(json.dumps([a.__dict__ for a in assets], indent=2) + "\n")


if __name__ == "__main__":
    main()
