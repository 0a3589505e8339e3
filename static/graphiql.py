"""GraphiQL served by the service itself: the vendored assets of static/graphiql/ (pinned in
its manifest.json, each with the sha384 the page's integrity attributes carry) and the page
that loads them. Strawberry's own page loads the same files from a CDN, which leaves advisors
on an offline or filtered network with a page that says "Loading..." forever."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from html import escape
from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent / "graphiql"
MANIFEST = DIRECTORY / "manifest.json"
PAGE = DIRECTORY / "index.html"
# Where app.py mounts DIRECTORY.
URL_PREFIX = "/static/graphiql"


@dataclass(frozen=True)
class Asset:
    name: str  # the file in DIRECTORY
    kind: str  # "script" or "style"
    package: str  # on the npm registry
    version: str
    source: str  # the file inside the package
    integrity: str  # "sha384-<base64>", as in a Subresource Integrity attribute


def sha384(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


@cache
def assets() -> tuple[Asset, ...]:
    return tuple(Asset(**entry) for entry in json.loads(MANIFEST.read_text()))


def _tag(asset: Asset) -> str:
    url = escape(f"{URL_PREFIX}/{asset.name}")
    integrity = escape(asset.integrity)
    if asset.kind == "style":
        return f'<link rel="stylesheet" href="{url}" integrity="{integrity}" />'
    return f'<script src="{url}" integrity="{integrity}"></script>'


@cache
def page_html() -> str:
    """The GraphiQL page with the manifest's styles in <head> and scripts where the page wants
    them; the browser refuses any file whose hash differs (integrity attributes)."""
    styles = "\n    ".join(_tag(a) for a in assets() if a.kind == "style")
    scripts = "\n    ".join(_tag(a) for a in assets() if a.kind == "script")
    html = PAGE.read_text(encoding="utf-8")
    return html.replace("<!-- styles -->", styles).replace("<!-- scripts -->", scripts)
