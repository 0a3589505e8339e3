"""Browser origins: any localhost port in development without configuration, only the listed
ones in production (HTTP preflight through the real middleware, and the websocket check)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient

from app import create_app
from schema.view import GraphQLView
from settings import Settings

FRONT_END = "https://app.example.edu"


def _app(tmp_path: Path, **values: object) -> TestClient:
    settings = Settings(var_dir=tmp_path, **values).validate_for_startup()  # type: ignore[arg-type]
    return TestClient(create_app(settings))  # no `with`: the lifespan (services) is not needed


def _preflight(client: TestClient, origin: str) -> str | None:
    response = client.options(
        "/graphql",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    return response.headers.get("access-control-allow-origin")


def _websocket_allows(client: TestClient, origin: str) -> bool:
    routes = client.app.routes  # type: ignore[attr-defined]
    view = next(r.endpoint for r in routes if isinstance(r, WebSocketRoute))
    assert isinstance(view, GraphQLView)
    return view.is_websocket_origin_allowed(None, origin)


@pytest.mark.parametrize(
    "origin",
    ["http://localhost:5173", "http://127.0.0.1:3000", "http://localhost", "http://[::1]:8080"],
)
def test_development_allows_localhost_on_any_port(tmp_path: Path, origin: str) -> None:
    client = _app(tmp_path)
    assert _preflight(client, origin) == origin
    assert _websocket_allows(client, origin)


def test_development_refuses_other_origins_until_listed(tmp_path: Path) -> None:
    for origin in (
        FRONT_END,
        "http://localhost.evil.example",
        "http://localhost:5173.evil.example",
    ):
        assert _preflight(_app(tmp_path), origin) is None
        assert not _websocket_allows(_app(tmp_path), origin)
    listed = _app(tmp_path, cors_allowed_origins=[FRONT_END])
    assert _preflight(listed, FRONT_END) == FRONT_END
    assert _websocket_allows(listed, FRONT_END)


def test_production_allows_only_the_listed_origins(tmp_path: Path) -> None:
    client = _app(
        tmp_path,
        app_env="production",
        jwt_secret="Zq8v-Ks3pW9xLm2R7tYb4Nc6Hd1Fg5Jr0UeA",
        cors_allowed_origins=[FRONT_END],
    )
    assert _preflight(client, FRONT_END) == FRONT_END
    assert _preflight(client, "http://localhost:5173") is None
    assert not _websocket_allows(client, "http://localhost:5173")
