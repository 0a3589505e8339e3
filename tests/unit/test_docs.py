"""The README documents every setting, and compose.yaml has what a deployment needs."""

from __future__ import annotations

from pathlib import Path

import yaml

from settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in readme]
    assert missing == [], f"settings missing from the README table: {missing}"


def test_compose_runs_the_whole_stack_with_healthchecks() -> None:
    text = (ROOT / "compose.yaml").read_text()
    compose = yaml.safe_load(text)
    services = compose["services"]
    assert {"postgres", "redis", "chroma", "migrate", "api", "worker"} <= set(services)
    for name in ("postgres", "redis", "chroma", "api"):
        assert "healthcheck" in services[name], name
    assert "--appendonly" in services["redis"]["command"]
    assert services["migrate"]["restart"] == "no"
    assert "${JWT_SECRET:?" in text
    assert "${POSTGRES_PASSWORD:?" in text
