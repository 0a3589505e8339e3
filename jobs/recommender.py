"""Recommendations: retrieval (the RAG stage) and explanation (the FUSION stage).

Retrieval asks the vector index one question per weak domain and high interest
(domain/retrieval.py), keeps the credentials the database says are active, and hands them to
the transparent ranking of domain/recommend.py. When Chroma (or the embedding service) cannot
be reached, or the index holds nothing yet, the PRD's lookup takes over: every active
credential is a candidate, ranked on the same signals without similarity, degraded=true.

Explanation: with an LLM, one call writes the bundle summary and a reason per pick, grounded in
the profile and the retrieved passages (domain/fusion_prompt.py); without one, templates over
the same signals. The templates stand in, degraded, when a configured LLM fails or the budget is
spent.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from db.repositories import catalog as catalog_repo
from db.tables import Credential
from domain import fusion_prompt
from domain.catalog import Level
from domain.profile import SkillProfile
from domain.recommend import Candidate, Evidence, Pick, rank, snippet_of, summary_for
from domain.retrieval import Retrieved, merge_hits, queries_for
from jobs.llm import LlmUnavailable
from jobs.services import Services
from jobs.vector_index import VectorIndexUnavailable

log = logging.getLogger(__name__)

# Passages asked for per query: with 3-5 queries and ~4 passages per credential this reaches
# a few dozen distinct credentials, enough for the ranking to choose from.
PASSAGES_PER_QUERY = 40


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
    async def retrieve(self, profile: SkillProfile, track: str, call_key: str) -> Retrieval: ...

    async def explain(
        self,
        candidates: Sequence[Candidate],
        profile: SkillProfile,
        track: str,
        *,
        assessment_id: uuid.UUID | None,
        call_key: str,
    ) -> Explanation: ...


def candidate_of(row: Credential, found: Retrieved | None = None) -> Candidate:
    return Candidate(
        key=str(row.id),
        slug=row.slug,
        title=row.title,
        provider=row.provider,
        domains=tuple(row.domains or ()),
        tags=tuple(row.tags or ()),
        level=Level(row.level) if row.level else None,
        description=row.description or "",
        url=row.url,
        similarity=found.similarity if found else 0.0,
        evidence=tuple(found.evidence) if found else (),
        similarities=dict(found.by_query) if found else {},
    )


class CatalogRecommender:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def retrieve(self, profile: SkillProfile, track: str, call_key: str) -> Retrieval:
        queries = queries_for(profile, track)
        try:
            hits = await self.services.vector_index.search(
                queries, PASSAGES_PER_QUERY, call_key=f"{call_key}:rag"
            )
        except (VectorIndexUnavailable, LlmUnavailable) as exc:
            log.warning("retrieval falls back to the catalog lookup: %s", exc)
            return await self.lookup(degraded=True, note=f"vector search unavailable: {exc}")
        found = merge_hits(hits)
        keys = [uuid.UUID(k) for k in found]
        async with self.services.db.read() as session:
            rows = await catalog_repo.by_ids(session, keys)
        # The database decides what may be recommended: a credential deactivated a moment ago
        # may still be in the index until its re-index job runs.
        candidates = [
            candidate_of(rows[key], found[str(key)])
            for key in keys
            if key in rows and rows[key].active
        ]
        if not candidates:
            return await self.lookup(degraded=True, note="the vector index has no active entries")
        return Retrieval(candidates, top_similarity=max(c.similarity for c in candidates))

    async def lookup(self, degraded: bool = False, note: str = "") -> Retrieval:
        async with self.services.db.read() as session:
            rows = await catalog_repo.active(session)
        return Retrieval(
            [candidate_of(row) for row in rows], degraded=degraded, notes=(note,) if note else ()
        )

    async def explain(
        self,
        candidates: Sequence[Candidate],
        profile: SkillProfile,
        track: str,
        *,
        assessment_id: uuid.UUID | None,
        call_key: str,
    ) -> Explanation:
        picks = rank(candidates, profile, track)
        template = Explanation(picks, summary_for(picks, profile))
        llm = self.services.llm
        if not picks or not llm.configured:
            return template
        slugs = [p.scored.candidate.slug for p in picks]
        try:
            answer = await llm.complete_json(
                messages=fusion_prompt.build_messages(picks, profile, track),
                schema_name="recommendation_explanations",
                schema=fusion_prompt.response_schema(slugs),
                max_tokens=self.services.settings.llm_fusion_max_tokens,
                purpose="fusion",
                assessment_id=assessment_id,
                call_key=call_key,
                parse=lambda raw: fusion_prompt.parse_answer(raw, slugs),
            )
        except LlmUnavailable as exc:
            log.warning("recommendation explained by templates: %s", exc)
            return replace(template, degraded=True)
        explained = [replace(p, reason=answer.reasons[p.scored.candidate.slug]) for p in picks]
        return Explanation(explained, answer.summary, explained_by="llm")


def evidence_of(candidate: Candidate) -> tuple[Evidence, ...]:
    """What the trace shows: the passages retrieval matched, or (lookup) the description."""
    if candidate.evidence:
        return candidate.evidence
    snippet = snippet_of(candidate.description)
    return (Evidence(snippet, None),) if snippet else ()
