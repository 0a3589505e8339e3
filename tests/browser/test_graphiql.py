"""GraphiQL in a real browser with the network cut off: Debian's chromium, driven by Playwright
for Python (the system browser; Playwright's own browser download is never used).

Every request that leaves the loopback is aborted and recorded, so the page works only if the
service serves everything it needs (static/graphiql), and the integrity attributes make the
browser refuse a vendored file that does not match its manifest. A screenshot of each step is
kept under test-artifacts/ (gitignored) for a human to look at."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pytest

from tests.support.client import GraphQLClient, register_and_login
from tests.support.stacks import Server, provision, selected_stacks
from tests.support.worker import running_worker

CHROMIUM = Path("/usr/bin/chromium")
INSTALL = "apt-get install -y chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# The editors are CodeMirror 5 instances; their API hangs off the element.
RESPONSE = "document.querySelector('.graphiql-response .CodeMirror')"
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
# Type a document, clear the last answer and run it, in one go.
TYPE_AND_RUN = f"""(text) => {{
  document.querySelector('{QUERY_EDITOR}').CodeMirror.setValue(text);
  {RESPONSE}.CodeMirror.setValue("");
  document.querySelector('.graphiql-execute-button').click();
}}"""


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `{INSTALL}`", pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="module", params=selected_stacks())
async def fresh_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    """A server of its own, as a new user's `make run` is: the suite's shared server has by
    now served hundreds of tests from this address (rate-limit buckets, subscriptions, index
    jobs), which is not the first hour of a new user."""
    async with provision(request.param, tmp_path_factory.mktemp(f"ui-{request.param}")) as stack:
        settings = stack.settings()
        running = Server(settings)
        await running.start()
        try:
            if settings.redis_url:
                async with running_worker(settings) as worker:
                    running.worker = worker
                    yield running
            else:
                yield running
        finally:
            await running.stop()


async def test_graphiql_runs_a_query_and_subscriptions_offline(
    fresh_server: Server, chromium: Path
) -> None:
    server = fresh_server
    client = GraphQLClient(server.base_url)
    from playwright.async_api import Route, async_playwright

    try:
        admin = await register_and_login(client, role="ADMIN")
    finally:
        await client.aclose()
    headers = json.dumps({"Authorization": f"Bearer {admin.token}"})
    left_the_machine: list[str] = []

    async def offline(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            await route.continue_()
        else:
            left_the_machine.append(route.request.url)
            await route.abort("internetdisconnected")

    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=["--no-sandbox"]
        )
        try:
            context = await browser.new_context(viewport={"width": 1400, "height": 900})
            await context.route("**/*", offline)
            page = await context.new_page()
            failures: list[str] = []
            page.on("pageerror", lambda error: failures.append(str(error)))

            # Headers as a shared GraphiQL link carries them (the page reads ?headers=).
            link = urlencode({"headers": headers}, quote_via=quote)
            await page.goto(f"{server.base_url}/graphql?{link}")
            await page.locator(QUERY_EDITOR).wait_for(timeout=60_000)  # every asset loaded

            async def run(document: str, expect: str, shot: str) -> str:
                # Typed and run at once, as a quick user does: GraphiQL's parsed copy of the
                # document still lags behind, which is what sent subscriptions over HTTP.
                await page.evaluate(TYPE_AND_RUN, document)
                await page.wait_for_function(
                    f"{RESPONSE}.CodeMirror.getValue().includes({expect!r})", timeout=30_000
                )
                await page.screenshot(path=ARTIFACTS / shot)
                return str(await page.evaluate(f"{RESPONSE}.CodeMirror.getValue()"))

            answer = await run("{ health { api db } }", '"api"', "graphiql-query.png")
            assert json.loads(answer) == {"data": {"health": {"api": "ok", "db": "ok"}}}
            for document, shot in (
                ("subscription { ragIndexProgress { state } }", "graphiql-subscription.png"),
                (
                    "subscription Progress { ragIndexProgress { state } }",
                    "graphiql-named-subscription.png",
                ),
            ):
                answer = await run(document, '"state"', shot)
                assert "ragIndexProgress" in json.loads(answer)["data"], answer
        finally:
            await browser.close()
    assert failures == []
    assert left_the_machine == [], "the page asked the network for " + ", ".join(left_the_machine)
