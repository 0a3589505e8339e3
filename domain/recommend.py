"""Choosing 2-3 micro-credentials for a profile, transparently.

A profile states needs: each weak domain (an improvement, weighted by how weak), each high or
medium interest, or, with neither, the track. A credential serves a need when one of its
domains (or, for an interest, its tags) is the need's; its primary domain counts in full, the
others at SECONDARY_MATCH. Then:

    need served = weight x match x (SIMILARITY_FLOOR + (1 - SIMILARITY_FLOOR) x similarity)
    fit = min(1, best need served + TRACK_BONUS if in the track's domains) x level fit

- similarity: how close the credential's catalog passages came to the retrieval query asked
  for that need, scaled 0..1 among the candidates of that query (0 when a vector search did
  not find it for that need: the lookup path leans on the other signals alone);
- level fit: how many steps the credential's level is from the level the need calls for
  (target_level: the band, or for a weak domain that domain's own band, at most one step
  below the overall band); never entry-level for an advanced student.

Picks are greedy by fit with diversity: near-duplicates of a pick (the same provider for the
same primary domain, or the same narrow tag set) are skipped. A third pick is made only when
it reaches MIN_THIRD_FIT.

The constants were chosen on the recommendation benchmark (make bench-recommend), where the
advisor's choices among credentials that serve the same need at the right level followed the
catalog text only weakly: similarity alone reached precision@3 0.25, so it breaks ties rather
than leading (SIMILARITY_FLOOR).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from domain.catalog import Level as CredentialLevel
from domain.profile import Band, Level, SkillProfile, band_for

SECONDARY_MATCH = 0.6
SIMILARITY_FLOOR = 0.9
TRACK_BONUS = 0.05
MIN_THIRD_FIT = 0.3
NARROW_TAGS_JACCARD = 0.75
INTEREST_WEIGHT = {Level.HIGH: 0.8, Level.MEDIUM: 0.45}
TRACK_WEIGHT = 0.6

# Level fit by how many steps the credential's level is from the level the need calls for.
LEVEL_STEP_FIT = {0: 1.0, -1: 0.75, 1: 0.5}
LEVEL_FAR_FIT = 0.05
UNKNOWN_LEVEL_FIT = 0.6
_ORDER = {CredentialLevel.BEGINNER: 0, CredentialLevel.INTERMEDIATE: 1, CredentialLevel.ADVANCED: 2}
_BAND_ORDER = {Band.BEGINNER: 0, Band.INTERMEDIATE: 1, Band.ADVANCED: 2}

# Which domains (and tags) an interest area or a track speaks to.
AREA_DOMAINS: Mapping[str, frozenset[str]] = {
    "data": frozenset({"data-ml", "databases"}),
    "ml": frozenset({"data-ml"}),
    "web": frozenset({"web"}),
    "security": frozenset({"security"}),
    "cloud": frozenset({"cloud-devops"}),
    "software": frozenset({"programming", "algorithms"}),
    "networking": frozenset({"networking"}),
    "databases": frozenset({"databases"}),
}
AREA_TAGS: Mapping[str, frozenset[str]] = {
    "ml": frozenset({"ml", "machine-learning", "deep-learning", "ai"}),
    "data": frozenset({"data-analysis", "data-engineering", "sql", "statistics"}),
    "cloud": frozenset({"aws", "azure", "gcp", "cloud", "kubernetes", "devops"}),
}
TRACK_DOMAINS: Mapping[str, frozenset[str]] = {
    "data": frozenset({"data-ml", "databases"}),
    "web": frozenset({"web"}),
    "cloud": frozenset({"cloud-devops", "networking"}),
    "security": frozenset({"security", "networking"}),
    "software": frozenset({"programming", "algorithms"}),
}
ALL_DOMAINS = frozenset().union(*AREA_DOMAINS.values(), *TRACK_DOMAINS.values())


@dataclass(frozen=True)
class Evidence:
    """A catalog passage that made retrieval find a candidate, with its similarity."""

    snippet: str
    similarity: float | None = None


@dataclass(frozen=True)
class Candidate:
    key: str  # the credential's id, opaque here
    slug: str
    title: str
    provider: str | None
    domains: tuple[str, ...]
    tags: tuple[str, ...]
    level: CredentialLevel | None
    description: str = ""
    url: str | None = None
    similarity: float = 0.0  # the best over all queries; 0 when no vector search found it
    evidence: tuple[Evidence, ...] = ()
    # Per need (the query's reason, e.g. "gap:networking"): the best similarity for it.
    similarities: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Need:
    key: str  # "gap:<domain>", "interest:<area>" or "track:<track>": also the query's reason
    kind: str  # "gap", "interest" or "track"
    name: str
    domains: frozenset[str]
    tags: frozenset[str]
    weight: float


@dataclass(frozen=True)
class Scored:
    candidate: Candidate
    fit: float
    signals: Mapping[str, float]
    gap_domain: str | None
    interest_area: str | None
    need: str | None = None  # the key of the need it serves best


@dataclass(frozen=True)
class Pick:
    scored: Scored
    rank: int
    reason: str


def needs_of(profile: SkillProfile, track: str) -> list[Need]:
    scores = {d.domain: d.score for d in profile.domains}
    needs = [
        Need(f"gap:{d}", "gap", d, frozenset({d}), frozenset(), 0.5 + 0.5 * (1 - scores[d]))
        for d in profile.improvements
        if d in scores
    ]
    for signal in profile.interests:
        weight = INTEREST_WEIGHT.get(signal.level)
        if weight:
            needs.append(Need(f"interest:{signal.area}", "interest", signal.area,
                              AREA_DOMAINS.get(signal.area, frozenset({signal.area})),
                              AREA_TAGS.get(signal.area, frozenset()), weight))  # fmt: skip
    if not needs:
        domains = TRACK_DOMAINS.get(track, ALL_DOMAINS)
        needs.append(Need(f"track:{track}", "track", track, domains, frozenset(), TRACK_WEIGHT))
    return needs


def _match(candidate: Candidate, need: Need) -> float:
    if candidate.domains and candidate.domains[0] in need.domains:
        return 1.0
    if set(candidate.domains) & need.domains or set(candidate.tags) & need.tags:
        return SECONDARY_MATCH
    return 0.0


def target_level(profile: SkillProfile, need: Need | None) -> int:
    """The level (0 beginner .. 2 advanced) a need calls for: the overall band, except that a
    weak domain calls for the band of that domain's own score, at most one step below the
    overall band (an advanced student weak in one domain wants an associate-level credential
    there, not an entry-level one)."""
    band = _BAND_ORDER[profile.band]
    if need is None or need.kind != "gap":
        return band
    scores = {d.domain: d.score for d in profile.domains}
    domain_band = _BAND_ORDER[band_for(scores.get(need.name, profile.overall))]
    return max(min(domain_band, band), band - 1)


def _level_fit(candidate: Candidate, profile: SkillProfile, need: Need | None) -> float:
    if candidate.level is None:
        return UNKNOWN_LEVEL_FIT
    level = _ORDER[candidate.level]
    if level == 0 and profile.band is Band.ADVANCED:
        return LEVEL_FAR_FIT  # never entry-level for an advanced student
    return LEVEL_STEP_FIT.get(level - target_level(profile, need), LEVEL_FAR_FIT)


def _normalised_similarities(candidates: Sequence[Candidate]) -> dict[str, dict[str, float]]:
    """Per need, each candidate's similarity scaled 0..1 among that need's candidates: raw
    cosines of one embedding model bunch together, and only their order carries meaning."""
    by_need: dict[str, dict[str, float]] = {}
    for candidate in candidates:
        for need, value in candidate.similarities.items():
            by_need.setdefault(need, {})[candidate.key] = value
    scaled: dict[str, dict[str, float]] = {}
    for need, values in by_need.items():
        low, high = min(values.values()), max(values.values())
        spread = high - low
        scaled[need] = {k: (v - low) / spread if spread > 0 else 1.0 for k, v in values.items()}
    return scaled


def score_candidate(
    candidate: Candidate,
    profile: SkillProfile,
    track: str,
    needs: Sequence[Need] | None = None,
    similarity: Mapping[str, Mapping[str, float]] | None = None,
) -> Scored:
    needs = needs if needs is not None else needs_of(profile, track)
    similarity = similarity if similarity is not None else _normalised_similarities([candidate])
    served: list[tuple[float, Need, float]] = []
    for need in needs:
        match = _match(candidate, need)
        if match:
            close = similarity.get(need.key, {}).get(candidate.key, 0.0)
            value = need.weight * match * (SIMILARITY_FLOOR + (1 - SIMILARITY_FLOOR) * close)
            served.append((value, need, close))
    served.sort(key=lambda item: (-item[0], item[1].key))
    best = served[0] if served else None
    relevance = best[0] if best else 0.0
    in_track = bool(set(candidate.domains) & TRACK_DOMAINS.get(track, frozenset()))
    level = _level_fit(candidate, profile, best[1] if best else None)
    fit = min(1.0, relevance + (TRACK_BONUS if in_track else 0.0)) * level
    gap = max((v for v, n, _ in served if n.kind == "gap"), default=0.0)
    interest = max((v for v, n, _ in served if n.kind == "interest"), default=0.0)
    gap_need = next((n for _, n, _ in served if n.kind == "gap"), None)
    interest_need = next((n for _, n, _ in served if n.kind == "interest"), None)
    signals = {"gap": round(gap, 4), "interest": round(interest, 4),
               "track": 1.0 if in_track else 0.0, "level": level,
               "similarity": round(best[2], 4) if best else 0.0}  # fmt: skip
    return Scored(
        candidate, round(fit, 4), signals,
        gap_need.name if gap_need else None, interest_need.name if interest_need else None,
        best[1].key if best else None,
    )  # fmt: skip


def _too_close(a: Candidate, b: Candidate) -> bool:
    """Near-duplicates: one provider's credentials for the same primary domain, or two with
    (almost) the same narrow set of tags."""
    tags_a, tags_b = set(a.tags), set(b.tags)
    jaccard = len(tags_a & tags_b) / len(tags_a | tags_b) if tags_a | tags_b else 0.0
    same_provider_domain = (
        a.provider is not None
        and a.provider == b.provider
        and bool(set(a.domains[:1]) & set(b.domains[:1]))
    )
    return jaccard >= NARROW_TAGS_JACCARD or same_provider_domain


def rank(candidates: Sequence[Candidate], profile: SkillProfile, track: str) -> list[Pick]:
    """2-3 picks, best first, each with a short reason (empty only without candidates)."""
    needs = needs_of(profile, track)
    similarity = _normalised_similarities(candidates)
    scored = sorted(
        (score_candidate(c, profile, track, needs, similarity) for c in candidates),
        key=lambda s: (-s.fit, s.candidate.slug),
    )
    picked: list[Scored] = []
    for item in scored:
        if len(picked) == 3 or (len(picked) == 2 and item.fit < MIN_THIRD_FIT):
            break
        if not any(_too_close(item.candidate, p.candidate) for p in picked):
            picked.append(item)
    # Diversity must not leave the student with a single pick while more exist.
    for item in scored:
        if len(picked) >= 2:
            break
        if item not in picked:
            picked.append(item)
    return [Pick(s, n, reason_for(s, profile)) for n, s in enumerate(picked, start=1)]


def reason_for(scored: Scored, profile: SkillProfile) -> str:
    candidate = scored.candidate
    parts: list[str] = []
    domain_scores = {d.domain: d.score for d in profile.domains}
    if scored.gap_domain and scored.signals["gap"] > 0:
        parts.append(
            f"Builds {scored.gap_domain}, where you scored "
            f"{round(100 * domain_scores.get(scored.gap_domain, 0))}%"
        )
    if scored.interest_area and scored.signals["interest"] > 0:
        parts.append(f"matches your interest in {scored.interest_area}")
    if candidate.level is not None:
        parts.append(f"{candidate.level.value}-level, suited to your {profile.band.value} band")
    if not parts:
        parts.append(f"A well-rounded next step at the {profile.band.value} level")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def summary_for(picks: Sequence[Pick], profile: SkillProfile) -> str:
    """The bundle's explanation, built from the same signals as the picks."""
    overall = round(100 * profile.overall)
    lines = [f"Overall {overall}% ({profile.band.value})."]
    if profile.strengths:
        lines.append(f"Strongest: {', '.join(profile.strengths[:3])}.")
    if profile.improvements:
        lines.append(f"To work on: {', '.join(profile.improvements[:3])}.")
    high = [s.area for s in profile.interests if s.level is Level.HIGH]
    if high:
        lines.append(f"High interest in {', '.join(high[:3])}.")
    if picks:
        titles = "; ".join(p.scored.candidate.title for p in picks)
        lines.append(f"Recommended: {titles}.")
    lines.append(
        f"Confidence in this profile is {profile.confidence.level.value} "
        f"({len(profile.domains)} domain(s) assessed)."
    )
    return " ".join(lines)


def snippet_of(description: str, limit: int = 280) -> str:
    """The first sentence or two of a catalog description, for the retrieval trace."""
    text = " ".join(description.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(". ", 0, limit)
    return text[: cut + 1] if cut > 60 else text[: limit - 1] + "…"
