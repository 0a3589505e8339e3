"""The Recommender port: candidates for a profile (retrieval), then ranked picks with
explanations (fusion)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from db.repositories import catalog as catalog_repo
from domain.catalog import Level
from domain.profile import SkillProfile
from domain.recommend import Candidate, Pick, rank, summary_for
from jobs.services import Services


@dataclass(frozen=True)
class Retrieval:
    candidates: Sequence[Candidate]
    degraded: bool = False
    top_similarity: float | None = None
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Explanation:
    picks: Sequence[Pick]
    summary: str
    degraded: bool = False
    explained_by: str = "template"


class Recommender(Protocol):
    async def retrieve(self, profile: SkillProfile, track: str) -> Retrieval: ...

    async def explain(
        self, candidates: Sequence[Candidate], profile: SkillProfile, track: str, call_key: str
    ) -> Explanation: ...


def candidate_of(row: object, similarity: float = 0.0) -> Candidate:
    level = getattr(row, "level", None)
    return Candidate(
        key=str(row.id),  # type: ignore[attr-defined]
        slug=row.slug,  # type: ignore[attr-defined]
        title=row.title,  # type: ignore[attr-defined]
        provider=row.provider,  # type: ignore[attr-defined]
        domains=tuple(row.domains or ()),  # type: ignore[attr-defined]
        tags=tuple(row.tags or ()),  # type: ignore[attr-defined]
        level=Level(level) if level else None,
        description=row.description or "",  # type: ignore[attr-defined]
        url=row.url,  # type: ignore[attr-defined]
        similarity=similarity,
    )


class LookupRecommender:
    """The PRD's lookup recommendation: every active credential is a candidate, ranked by track,
    score band, gaps and interests; explanations come from templates over the same signals."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def retrieve(self, profile: SkillProfile, track: str) -> Retrieval:
        async with self.services.db.read() as session:
            rows = await catalog_repo.active(session)
        return Retrieval([candidate_of(row) for row in rows])

    async def explain(
        self, candidates: Sequence[Candidate], profile: SkillProfile, track: str, call_key: str
    ) -> Explanation:
        picks = rank(candidates, profile, track)
        return Explanation(picks, summary_for(picks, profile))
