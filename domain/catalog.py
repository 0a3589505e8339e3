"""Rules for the credential catalog."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from domain.errors import Problems
from domain.text import clean_text

SLUG = re.compile(r"^[a-z0-9-]{3,80}$")
TITLE_MAX = 200
DESCRIPTION_MAX = 4000
PROVIDER_MAX = 200
TAG = re.compile(r"^[a-z0-9][a-z0-9+#.-]{0,39}$")
TAGS_MAX = 20


class Level(StrEnum):
    """A credential's level, compared with a student's score band."""

    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


@dataclass(frozen=True)
class CredentialDraft:
    slug: str
    title: str
    provider: str | None = None
    url: str | None = None
    description: str | None = None
    tags: Sequence[str] = ()
    domains: Sequence[str] = ()
    level: Level | None = None
    active: bool = True


@dataclass(frozen=True)
class CredentialSpec:
    slug: str
    title: str
    provider: str | None
    url: str | None
    description: str | None
    tags: tuple[str, ...]
    domains: tuple[str, ...]
    level: Level | None
    active: bool


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def validate_credential(draft: CredentialDraft, *path: str) -> CredentialSpec:
    problems = Problems()
    slug = draft.slug.strip()
    if not SLUG.match(slug):
        problems.invalid("slug must match [a-z0-9-]{3,80}.", *path, "slug")
    title = clean_text(draft.title, keep_newlines=False)
    if not 1 <= len(title) <= TITLE_MAX:
        problems.invalid(f"title must be 1..{TITLE_MAX} characters.", *path, "title")
    provider = clean_text(draft.provider, keep_newlines=False) or None
    if provider and len(provider) > PROVIDER_MAX:
        problems.invalid(f"provider must be at most {PROVIDER_MAX} characters.", *path, "provider")
    url = (draft.url or "").strip() or None
    if url is not None and (len(url) > 2000 or not is_http_url(url)):
        problems.invalid("url must be an http(s) URL.", *path, "url")
    description = clean_text(draft.description) or None
    if description and len(description) > DESCRIPTION_MAX:
        problems.invalid(
            f"description must be at most {DESCRIPTION_MAX} characters.", *path, "description"
        )
    tags = _names(draft.tags, problems, TAG, "tags", *path)
    domains = _names(draft.domains, problems, TAG, "domains", *path)
    problems.raise_if_any()
    return CredentialSpec(
        slug=slug,
        title=title,
        provider=provider,
        url=url,
        description=description,
        tags=tags,
        domains=domains,
        level=draft.level,
        active=draft.active,
    )


def _names(
    raw: Sequence[str], problems: Problems, pattern: re.Pattern[str], name: str, *path: str
) -> tuple[str, ...]:
    if len(raw) > TAGS_MAX:
        problems.invalid(f"At most {TAGS_MAX} {name}.", *path, name)
        return ()
    cleaned: list[str] = []
    for index, item in enumerate(raw):
        value = item.strip().lower()
        if not pattern.match(value):
            problems.invalid(f"Each of {name} is a short lower-case word.", *path, name, str(index))
        elif value not in cleaned:
            cleaned.append(value)
    return tuple(cleaned)
