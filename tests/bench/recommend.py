"""Recommendation quality: precision@3 and nDCG@3 against an advisor's choices.

`make bench-recommend` (python -m tests.bench.recommend [--verbose]). The profiles and the
credentials an advisor would accept for each are tests/data/recommendation_profiles.yaml; the
catalog is seeds/catalog.yaml. For each embedding (local MiniLM, the lexical fallback) the
catalog is indexed in a real embedded Chroma through the service's VectorIndex, each profile's
queries retrieve candidates exactly as the RAG stage does, and the service's ranking picks 3.
Printed: the full ranking, similarity alone (the 3 most similar credentials), and the lookup
ranking without any retrieval (what the service does when Chroma is down).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from domain.catalog import CredentialSpec
from domain.profile import Band, Confidence, DomainScore, InterestSignal, Level, SkillProfile
from domain.recommend import Candidate, rank
from domain.retrieval import CatalogEntry, Retrieved, merge_hits, queries_for
from jobs.embeddings import Embedder, LexicalEmbedder, LocalEmbedder
from jobs.minilm import ModelNotAvailable, get_encoder
from jobs.recommender import PASSAGES_PER_QUERY
from jobs.vector_index import VectorIndex
from seeds.loader import DEFAULT_FILES, parse

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "tests" / "data" / "recommendation_profiles.yaml"
K = 3


@dataclass(frozen=True)
class Case:
    id: str
    description: str
    track: str
    profile: SkillProfile
    accepted: frozenset[str]


def profile_of(raw: dict[str, Any]) -> SkillProfile:
    scores: dict[str, float] = raw.get("domain_scores") or {}
    domains = tuple(
        DomainScore(name, float(score), 2, Level.MEDIUM)
        for name, score in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    weakest_first = sorted(domains, key=lambda d: (d.score, d.domain))
    overall = sum(scores.values()) / len(scores) if scores else 0.0
    interests = tuple(
        InterestSignal(area, Level(str(level).lower()), 0)
        for area, level in (raw.get("interests") or {}).items()
    )
    return SkillProfile(
        overall=overall,
        band=Band(str(raw["band"]).lower()),
        domains=domains,
        strengths=tuple(d.domain for d in domains if d.score >= 0.7),
        improvements=tuple(d.domain for d in weakest_first if d.score < 0.5),
        confidence=Confidence(Level.MEDIUM, 0.15, (0.3, 0.8), ()),
        interests=tuple(sorted(interests, key=lambda s: s.level is not Level.HIGH)),
    )


def load_cases() -> list[Case]:
    document = yaml.safe_load(PROFILES.read_text())
    return [
        Case(p["id"], p.get("description", ""), p.get("track", "general"), profile_of(p),
             frozenset(p["accepted"]))
        for p in document["profiles"]
    ]  # fmt: skip


def catalog() -> list[CredentialSpec]:
    return [c for c in parse({"catalog": DEFAULT_FILES["catalog"]}).credentials if c.active]


def entry_of(spec: CredentialSpec) -> CatalogEntry:
    return CatalogEntry(
        key=spec.slug, slug=spec.slug, title=spec.title, provider=spec.provider,
        description=spec.description or "", tags=spec.tags, domains=spec.domains,
        level=spec.level.value if spec.level else None,
    )  # fmt: skip


def candidate_of(spec: CredentialSpec, found: Retrieved | None = None) -> Candidate:
    return Candidate(
        key=spec.slug, slug=spec.slug, title=spec.title, provider=spec.provider,
        domains=spec.domains, tags=spec.tags, level=spec.level,
        description=spec.description or "", url=spec.url,
        similarity=found.similarity if found else 0.0,
        similarities=dict(found.by_query) if found else {},
    )  # fmt: skip


def precision(picked: Sequence[str], accepted: frozenset[str]) -> float:
    return sum(1 for slug in picked[:K] if slug in accepted) / K


def ndcg(picked: Sequence[str], accepted: frozenset[str]) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, slug in enumerate(picked[:K]) if slug in accepted)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(K, len(accepted))))
    return dcg / ideal if ideal else 0.0


@dataclass
class Scores:
    precision: list[float]
    ndcg: list[float]
    misses: list[str]

    def add(self, case: Case, picked: Sequence[str]) -> None:
        self.precision.append(precision(picked, case.accepted))
        self.ndcg.append(ndcg(picked, case.accepted))
        if self.precision[-1] < 1:
            wrong = [s for s in picked[:K] if s not in case.accepted]
            self.misses.append(f"  {case.id} ({case.description}): not accepted {wrong}")

    def line(self, label: str) -> str:
        p = sum(self.precision) / len(self.precision)
        n = sum(self.ndcg) / len(self.ndcg)
        return f"{label:<44} precision@3={p:.3f} nDCG@3={n:.3f}"


async def evaluate(embedder: Embedder, cases: list[Case], specs: list[CredentialSpec],
                   verbose: bool) -> None:  # fmt: skip
    from settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(var_dir=Path(tmp), redis_namespace="bench", chroma_url=None)
        index = VectorIndex(settings, embedder)
        started = time.perf_counter()
        await index.upsert([entry_of(s) for s in specs], call_key="bench")
        built = time.perf_counter() - started
        by_slug = {s.slug: s for s in specs}
        full = Scores([], [], [])
        alone = Scores([], [], [])
        started = time.perf_counter()
        for case in cases:
            queries = queries_for(case.profile, case.track)
            found = merge_hits(await index.search(queries, PASSAGES_PER_QUERY, "bench"))
            candidates = [candidate_of(by_slug[k], r) for k, r in found.items()]
            picks = rank(candidates, case.profile, case.track)
            full.add(case, [p.scored.candidate.slug for p in picks])
            by_similarity = sorted(found.values(), key=lambda r: -r.similarity)
            alone.add(case, [r.credential_key for r in by_similarity])
        per_profile = (time.perf_counter() - started) / len(cases)
        index.close()
    print(f"\n{embedder.provider} embedding ({embedder.model}, {embedder.dim} dimensions): "
          f"index built in {built:.1f} s, {per_profile * 1000:.0f} ms per profile")  # fmt: skip
    print(full.line("  full ranking (retrieval + signals)"))
    print(alone.line("  similarity alone"))
    if verbose:
        print("\n".join(full.misses))


def lookup(cases: list[Case], specs: list[CredentialSpec]) -> None:
    scores = Scores([], [], [])
    for case in cases:
        picks = rank([candidate_of(s) for s in specs], case.profile, case.track)
        scores.add(case, [p.scored.candidate.slug for p in picks])
    print("\nno retrieval (the fallback when Chroma is unreachable)")
    print(scores.line("  lookup ranking (signals only)"))


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.recommend")
    parser.add_argument("--verbose", action="store_true", help="list the profiles that missed")
    arguments = parser.parse_args()
    cases = load_cases()
    specs = catalog()
    print(f"{len(cases)} profiles, {len(specs)} active credentials; target precision@3 >= 0.8 "
          "with the local embedding")  # fmt: skip
    embedders: list[Embedder] = []
    try:
        embedders.append(LocalEmbedder(get_encoder()))
    except ModelNotAvailable as exc:
        print(f"local embedding unavailable: {exc}")
    embedders.append(LexicalEmbedder())
    for embedder in embedders:
        await evaluate(embedder, cases, specs, arguments.verbose)
    lookup(cases, specs)


if __name__ == "__main__":
    asyncio.run(main())
