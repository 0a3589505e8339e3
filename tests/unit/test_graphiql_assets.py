"""The vendored GraphiQL assets are the pinned ones, and the page loads nothing else."""

from __future__ import annotations

import re

from static import graphiql


def test_every_vendored_file_matches_its_pinned_hash() -> None:
    for asset in graphiql.assets():
        data = (graphiql.DIRECTORY / asset.name).read_bytes()
        assert graphiql.sha384(data) == asset.integrity, (
            f"{asset.name} is not {asset.package}@{asset.version}'s {asset.source}: "
            "run `python -m static.vendor` and review the diff"
        )


def test_the_directory_holds_the_manifest_and_nothing_unlisted() -> None:
    listed = {asset.name for asset in graphiql.assets()}
    present = {path.name for path in graphiql.DIRECTORY.iterdir()}
    assert present == listed | {"manifest.json", "index.html"}


def test_the_page_loads_only_the_service_s_own_files_with_integrity() -> None:
    html = graphiql.page_html()
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "the page points off the service"
    for asset in graphiql.assets():
        assert f'"{graphiql.URL_PREFIX}/{asset.name}" integrity="{asset.integrity}"' in html
    assert "<!-- styles -->" not in html
    assert "<!-- scripts -->" not in html
