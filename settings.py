"""One typed settings object, read from the environment (and an optional .env file).

Every setting is documented in the README table; keep the two in step. Unset service URLs select
the embedded default (SQLite file, in-process queue and pub/sub, embedded Chroma, local scorer),
so `make run` needs no server.
"""

from __future__ import annotations

import ipaddress
import math
import os
import secrets
from collections import Counter
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Values that appear in examples and templates. A production deployment that still carries one
# of them has forgotten to set a real secret.
_PLACEHOLDER_SECRETS = frozenset(
    {
        "changeme",
        "change-me",
        "changethis",
        "secret",
        "jwt-secret",
        "your-secret",
        "your-secret-key",
        "dev-secret",
        "development",
        "placeholder",
        "please-change-me",
        "supersecret",
    }
)
MIN_JWT_SECRET_BYTES = 32
MIN_INVITE_CODE_CHARS = 12
MIN_PRODUCTION_BCRYPT_ROUNDS = 12
# Estimated bits of randomness a production secret must carry (see secret_strength_bits): a
# signing key or bearer token 128, an invite code (guessed online, behind rate limits) 40.
MIN_KEY_BITS = 128
MIN_INVITE_CODE_BITS = 40
# Origins a development server allows without configuration (any port, http or https).
LOCALHOST_ORIGINS = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?"


class SettingsError(ValueError):
    """A setting makes it unsafe or impossible to start; the message names the setting."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    app_env: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    var_dir: Path = Path("./var")

    database_url: str = "sqlite+aiosqlite:///./var/app.db"
    db_pool_size: int = Field(default=10, ge=1, le=100)
    redis_url: str | None = None
    # Prefix for every Redis key, queue and channel, so several deployments (or test runs) can
    # share one Redis without seeing each other's jobs.
    redis_namespace: str = "mc"
    chroma_url: str | None = None
    chroma_timeout_seconds: float = Field(default=10.0, gt=0)

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    embedding_model: str = "text-embedding-3-small"
    llm_monthly_budget_usd: float = Field(default=5.0, ge=0)
    llm_timeout_seconds: float = Field(default=30.0, gt=0)
    llm_max_attempts: int = Field(default=3, ge=1, le=10)
    llm_max_calls_per_assessment: int = Field(default=5, ge=1, le=50)
    llm_essay_max_tokens: int = Field(default=400, ge=50, le=4000)
    llm_fusion_max_tokens: int = Field(default=350, ge=50, le=4000)
    # Extra or overriding prices, USD per million tokens: {"model": [input, output]}.
    llm_prices: dict[str, list[float]] = Field(default_factory=dict)

    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "microcred-assess"
    jwt_audience: str = "microcred-assess-api"
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    refresh_token_ttl_days: int = Field(default=30, ge=1, le=365)
    bcrypt_rounds: int = Field(default=12, ge=4, le=16)
    admin_invite_code: SecretStr | None = None
    advisor_invite_code: SecretStr | None = None
    # Bearer token /metrics requires when set. Production without one: /metrics is not served.
    metrics_token: SecretStr | None = None

    # None: true in development, false in production.
    webhook_allow_private_networks: bool | None = None
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    pipeline_sla_seconds: int = Field(default=120, ge=1)

    # Background work.
    job_lease_seconds: float = Field(default=30.0, gt=0)
    requeue_grace_seconds: float = Field(default=15.0, ge=0)
    sweep_interval_seconds: float = Field(default=10.0, gt=0)
    # Retention (README "Personal data"): how long rows outlive their purpose.
    audit_retention_days: int = Field(default=365, ge=30)
    webhook_delivery_retention_days: int = Field(default=90, ge=1)
    essay_wait_seconds: float = Field(default=10.0, ge=0)
    # Hours between a student's attempts at the same track and form (domain/retakes.py); a
    # form's own retake_cooldown_hours overrides it. 0 turns the cooldown off.
    retake_cooldown_hours: int = Field(default=24, ge=0, le=8760)
    # An essay goes to human review when the LLM's and the local scorer's overall scores differ
    # by more than this (or when it is flagged).
    essay_review_threshold: float = Field(default=0.35, ge=0, le=1)
    worker_poll_delay_seconds: float = Field(default=0.05, gt=0)
    worker_max_jobs: int = Field(default=20, ge=1)
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # Multiplies every retry backoff (tests and drills shorten it; production keeps 1).
    retry_delay_scale: float = Field(default=1.0, gt=0, le=10)
    # Fault injection for drills and tests: every pipeline stage first waits this long, so a
    # worker can be killed mid-stage. 0 in normal operation.
    chaos_stage_delay_seconds: float = Field(default=0.0, ge=0, le=60)

    log_level: str = "INFO"
    # None: console in development, json in production.
    log_format: Literal["json", "console"] | None = None

    cors_allowed_origins: list[str] = Field(default_factory=list)
    max_query_depth: int = Field(default=12, ge=2)
    max_query_aliases: int = Field(default=30, ge=1)
    max_query_tokens: int = Field(default=3000, ge=100)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    # Slow clients (serving/): complete request headers within the first, a complete request
    # body within the second (counted from the end of the headers), or the connection is closed
    # (headers) or answered 408 (body).
    header_read_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    body_read_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Peers (IP addresses or CIDR networks, comma-separated) whose X-Forwarded-For and
    # X-Forwarded-Proto are believed: the reverse proxies in front of the API. Empty: nobody's,
    # the connecting peer is the client (serving/forwarded.py).
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # A live subscription re-checks its caller's access at least this often (and on every
    # event); at most 30 s, tests shorten it.
    websocket_recheck_seconds: float = Field(default=30.0, gt=0, le=30)

    login_failures_per_email: int = Field(default=5, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)
    auth_requests_per_ip: int = Field(default=30, ge=1)
    auth_ip_window_seconds: int = Field(default=60, ge=1)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        # Accept the URLs people paste (postgres://, postgresql://) and pick the async driver.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value[len(prefix) :]
        if value.startswith("sqlite://") and not value.startswith("sqlite+aiosqlite://"):
            return "sqlite+aiosqlite://" + value[len("sqlite://") :]
        return value

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator(
        "openai_api_key",
        "jwt_secret",
        "admin_invite_code",
        "advisor_invite_code",
        "metrics_token",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("redis_url", "chroma_url", "openai_base_url", mode="before")
    @classmethod
    def _blank_url_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        # The same comma-separated form as uvicorn's and gunicorn's FORWARDED_ALLOW_IPS.
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _ips_or_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            if entry == "*":
                raise ValueError(
                    "'*' is not accepted: list the proxies' addresses or networks (write "
                    "0.0.0.0/0,::/0 if every peer really is a trusted proxy)"
                )
            try:
                ipaddress.ip_network(entry)  # a bare address is a /32 or /128 network
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or CIDR network (host bits must be zero)"
                ) from None
        return value

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def effective_log_format(self) -> Literal["json", "console"]:
        if self.log_format is not None:
            return self.log_format
        return "json" if self.is_production else "console"

    @property
    def allow_private_webhooks(self) -> bool:
        if self.webhook_allow_private_networks is not None:
            return self.webhook_allow_private_networks
        return not self.is_production

    @cached_property
    def jwt_key(self) -> str:
        assert self.jwt_secret is not None, "validate() must run before the key is used"
        return self.jwt_secret.get_secret_value()

    def validate_for_startup(self) -> Settings:
        """Refuse unsafe production settings; fill development conveniences. Returns self."""
        if self.is_production:
            self._check_production()
        else:
            if self.jwt_secret is None:
                self.jwt_secret = SecretStr(_development_jwt_secret(self.var_dir))
            # Development: the advisor and admin recipes work right after `make run` (which
            # prints these); production registers only students until the codes are set.
            if self.admin_invite_code is None:
                self.admin_invite_code = SecretStr(_kept_secret(self.var_dir, "admin_invite_code"))
            if self.advisor_invite_code is None:
                self.advisor_invite_code = SecretStr(
                    _kept_secret(self.var_dir, "advisor_invite_code")
                )
        return self

    @property
    def cors_allowed_origin_pattern(self) -> str | None:
        """Development: a front-end served from localhost on any port may call the API over
        HTTP and websockets without CORS_ALLOWED_ORIGINS. Production: only the listed ones."""
        return None if self.is_production else LOCALHOST_ORIGINS

    def _check_production(self) -> None:
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
        if not secret:
            raise SettingsError("JWT_SECRET must be set in production")
        if secret.strip().lower() in _PLACEHOLDER_SECRETS:
            raise SettingsError("JWT_SECRET is a known placeholder value; set a random secret")
        if len(secret.encode()) < MIN_JWT_SECRET_BYTES:
            raise SettingsError(
                f"JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes in production"
            )
        _require_strong("JWT_SECRET", secret, MIN_KEY_BITS)
        for name, code in (
            ("ADMIN_INVITE_CODE", self.admin_invite_code),
            ("ADVISOR_INVITE_CODE", self.advisor_invite_code),
        ):
            if code is not None and len(code.get_secret_value()) < MIN_INVITE_CODE_CHARS:
                raise SettingsError(
                    f"{name} must be at least {MIN_INVITE_CODE_CHARS} characters in production"
                )
            if code is not None:
                _require_strong(name, code.get_secret_value(), MIN_INVITE_CODE_BITS)
        if self.metrics_token is not None:
            _require_strong("METRICS_TOKEN", self.metrics_token.get_secret_value(), MIN_KEY_BITS)
        if self.bcrypt_rounds < MIN_PRODUCTION_BCRYPT_ROUNDS:
            raise SettingsError(
                f"BCRYPT_ROUNDS must be at least {MIN_PRODUCTION_BCRYPT_ROUNDS} in production"
            )


def secret_strength_bits(value: str) -> float:
    """A rough, deliberately simple estimate of a secret's randomness, in bits:

    1. a value that repeats a shorter unit ("abcabcabc...") counts as that unit only;
    2. the unit's Shannon entropy per character (from its own character frequencies) times its
       length, so "a" * 64 is 0 bits and 64 random hex digits about 250;
    3. halved when every character is from one class (only lower-case letters, only upper-case,
       or only digits): words and number runs are far more predictable than their length.

    It catches long but trivially weak values; it cannot tell a random-looking phrase from a
    random one, so generate secrets (`openssl rand -hex 32`) rather than invent them."""
    unit = value[: _period(value)]
    if not unit:
        return 0.0
    counts = Counter(unit)
    per_char = -sum(n / len(unit) * math.log2(n / len(unit)) for n in counts.values())
    bits = per_char * len(unit)
    one_class = unit.isdigit() or (unit.isalpha() and (unit.islower() or unit.isupper()))
    if one_class:
        bits /= 2
    return bits


def _period(value: str) -> int:
    """The length of the shortest unit the value repeats (its own length if none)."""
    for size in range(1, len(value) // 2 + 1):
        if all(value[i] == value[i - size] for i in range(size, len(value))):
            return size
    return len(value)


def _require_strong(name: str, value: str, min_bits: int) -> None:
    bits = secret_strength_bits(value)
    if bits < min_bits:
        raise SettingsError(
            f"{name} is too predictable for production (about {bits:.0f} bits of randomness, "
            f"at least {min_bits} needed: no repeated patterns or single-class words); "
            "generate one, e.g. `openssl rand -hex 32`"
        )


def _development_jwt_secret(var_dir: Path) -> str:
    """Generate a secret once and keep it, so development tokens survive a restart."""
    return _kept_secret(var_dir, "jwt_secret", MIN_JWT_SECRET_BYTES, 48)


def _kept_secret(var_dir: Path, name: str, min_bytes: int = 16, new_bytes: int = 12) -> str:
    """The secret kept in VAR_DIR/<name>, generated the first time (owner-only file)."""
    path = var_dir / name
    if path.exists():
        existing = path.read_text().strip()
        if len(existing.encode()) >= min_bytes:
            return existing
    var_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(new_bytes)
    # Created with owner-only permissions before the secret is written into it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret


def load_settings(**overrides: object) -> Settings:
    """Read the environment, apply overrides (tests), and validate for startup."""
    return Settings(**overrides).validate_for_startup()  # type: ignore[arg-type]
