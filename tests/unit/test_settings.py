from __future__ import annotations

from pathlib import Path

import pytest

from settings import Settings, SettingsError

GOOD_SECRET = "Zq8v-Ks3pW9xLm2R7tYb4Nc6Hd1Fg5Jr0UeA"  # random-looking: 186 estimated bits


def _production(**values: object) -> Settings:
    return Settings(app_env="production", **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({}, "JWT_SECRET"),
        ({"jwt_secret": "changeme"}, "JWT_SECRET"),
        ({"jwt_secret": "short-secret"}, "JWT_SECRET"),
        ({"jwt_secret": GOOD_SECRET, "admin_invite_code": "admin123"}, "ADMIN_INVITE_CODE"),
        ({"jwt_secret": GOOD_SECRET, "advisor_invite_code": "adv"}, "ADVISOR_INVITE_CODE"),
        ({"jwt_secret": GOOD_SECRET, "bcrypt_rounds": 10}, "BCRYPT_ROUNDS"),
    ],
)
def test_production_refuses_unsafe_settings_naming_them(
    values: dict[str, object], named: str
) -> None:
    with pytest.raises(SettingsError, match=named):
        _production(**values).validate_for_startup()


def test_production_accepts_safe_settings() -> None:
    settings = _production(
        jwt_secret=GOOD_SECRET, admin_invite_code="a-long-admin-code", bcrypt_rounds=12
    ).validate_for_startup()
    assert settings.allow_private_webhooks is False
    assert settings.effective_log_format == "json"
    assert settings.bcrypt_rounds == 12


def test_defaults_match_the_documented_ones() -> None:
    settings = Settings()
    assert settings.database_url == "sqlite+aiosqlite:///./var/app.db"
    assert settings.access_token_ttl_seconds == 900
    assert settings.refresh_token_ttl_days == 30
    assert settings.llm_monthly_budget_usd == 5
    assert settings.bcrypt_rounds == 12
    assert settings.port == 8000
    assert settings.host == "127.0.0.1"


def test_development_generates_and_keeps_a_jwt_secret(tmp_path: Path) -> None:
    first = Settings(var_dir=tmp_path).validate_for_startup()
    second = Settings(var_dir=tmp_path).validate_for_startup()
    assert first.jwt_key == second.jwt_key
    assert len(first.jwt_key) >= 32
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o777 == 0o600


def test_database_urls_people_paste_get_the_async_driver() -> None:
    assert Settings(database_url="postgres://u@h/db").database_url == "postgresql+asyncpg://u@h/db"
    assert (
        Settings(database_url="postgresql://u@h/db").database_url == "postgresql+asyncpg://u@h/db"
    )
    assert Settings(database_url="sqlite:///x.db").database_url == "sqlite+aiosqlite:///x.db"


def test_development_generates_and_keeps_invite_codes(tmp_path: Path) -> None:
    first = Settings(var_dir=tmp_path).validate_for_startup()
    second = Settings(var_dir=tmp_path).validate_for_startup()
    codes = []
    for name in ("admin_invite_code", "advisor_invite_code"):
        code, again = getattr(first, name), getattr(second, name)
        assert code is not None
        assert again is not None
        assert code.get_secret_value() == again.get_secret_value()
        assert len(code.get_secret_value()) >= 12
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600
        codes.append(code.get_secret_value())
    assert codes[0] != codes[1]
    given = Settings(
        var_dir=tmp_path, admin_invite_code="from-the-environment"
    ).validate_for_startup()
    assert given.admin_invite_code is not None
    assert given.admin_invite_code.get_secret_value() == "from-the-environment"


def test_production_generates_no_invite_codes(tmp_path: Path) -> None:
    settings = _production(jwt_secret=GOOD_SECRET, var_dir=tmp_path).validate_for_startup()
    assert settings.admin_invite_code is None
    assert settings.advisor_invite_code is None
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("values", "name"),
    [
        ({"jwt_secret": "a" * 64}, "JWT_SECRET"),
        ({"jwt_secret": "k" * 40}, "JWT_SECRET"),
        ({"jwt_secret": "abcd" * 16}, "JWT_SECRET"),  # a short pattern, repeated
        ({"jwt_secret": "0123456789" * 4}, "JWT_SECRET"),
        ({"jwt_secret": "passwordpasswordpasswordpassword"}, "JWT_SECRET"),
        ({"jwt_secret": "correcthorsebatterystaplecorrecthorsebatterystaple"}, "JWT_SECRET"),
        ({"jwt_secret": GOOD_SECRET, "admin_invite_code": "x" * 20}, "ADMIN_INVITE_CODE"),
        ({"jwt_secret": GOOD_SECRET, "advisor_invite_code": "ab" * 10}, "ADVISOR_INVITE_CODE"),
        ({"jwt_secret": GOOD_SECRET, "metrics_token": "t" * 48}, "METRICS_TOKEN"),
    ],
)
def test_production_refuses_long_but_weak_secrets(values: dict[str, object], name: str) -> None:
    """Issue 15, finding 9: these passed the length checks."""
    with pytest.raises(SettingsError, match=f"{name} is too predictable"):
        _production(**values).validate_for_startup()


def test_generated_secrets_are_strong_enough() -> None:
    import secrets

    from settings import MIN_INVITE_CODE_BITS, MIN_KEY_BITS, secret_strength_bits

    assert secret_strength_bits("a" * 64) == 0
    for _ in range(200):  # what the README tells operators to generate
        assert secret_strength_bits(secrets.token_hex(32)) >= MIN_KEY_BITS
        assert secret_strength_bits(secrets.token_urlsafe(32)) >= MIN_KEY_BITS
        assert secret_strength_bits(secrets.token_hex(12)) >= MIN_INVITE_CODE_BITS
    settings = _production(
        jwt_secret=secrets.token_hex(32),
        admin_invite_code=secrets.token_hex(12),
        metrics_token=secrets.token_urlsafe(32),
    ).validate_for_startup()
    assert settings.metrics_token is not None
