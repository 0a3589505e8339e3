"""Choosing 2-3 micro-credentials for a profile, transparently.

Every candidate gets a fit score in 0..1 from signals a student and an advisor can check:

    fit = 0.35 gap + 0.20 interest + 0.15 track + 0.20 level + 0.10 similarity

- gap: how weak the student is in the credential's domains (1 - domain score; 0.5 for a domain
  the assessment did not cover), the best of its domains; a domain among the improvements
  counts in full, others at 70%.
- interest: the strongest of the student's interests the credential speaks to (HIGH 1, MEDIUM
  0.5, LOW 0).
- track: 1 when the credential belongs to a domain of the student's track.
- level: how well the credential's level suits the score band (LEVEL_FIT).
- similarity: the retrieval similarity in 0..1 when a vector search found the candidate (0 for
  the lookup path, which then leans on the other signals alone).

Picks are greedy by fit, with diversity: a candidate is skipped while it is too close to one
already picked (its tags overlap by half or more, or it is the same provider's credential for
the same domain). 3 picks when 3 candidates reach MIN_THIRD_FIT, else 2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from domain.catalog import Level as CredentialLevel
from domain.profile import Band, Level, SkillProfile

WEIGHTS = {"gap": 0.35, "interest": 0.20, "track": 0.15, "level": 0.20, "similarity": 0.10}
MIN_THIRD_FIT = 0.45
UNCOVERED_GAP = 0.5

LEVEL_FIT: Mapping[Band, Mapping[CredentialLevel, float]] = {
    Band.BEGINNER: {CredentialLevel.BEGINNER: 1.0, CredentialLevel.INTERMEDIATE: 0.5,
                    CredentialLevel.ADVANCED: 0.0},
    Band.INTERMEDIATE: {CredentialLevel.BEGINNER: 0.5, CredentialLevel.INTERMEDIATE: 1.0,
                        CredentialLevel.ADVANCED: 0.6},
    Band.ADVANCED: {CredentialLevel.BEGINNER: 0.1, CredentialLevel.INTERMEDIATE: 0.7,
                    CredentialLevel.ADVANCED: 1.0},
}  # fmt: skip

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
_INTEREST_VALUE = {Level.HIGH: 1.0, Level.MEDIUM: 0.5, Level.LOW: 0.0}


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
    similarity: float = 0.0
    snippets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scored:
    candidate: Candidate
    fit: float
    signals: Mapping[str, float]
    gap_domain: str | None
    interest_area: str | None


@dataclass(frozen=True)
class Pick:
    scored: Scored
    rank: int
    reason: str
    trace: tuple[str, ...] = field(default=())


def score_candidate(candidate: Candidate, profile: SkillProfile, track: str) -> Scored:
    domain_scores = {d.domain: d.score for d in profile.domains}
    improvements = set(profile.improvements)
    gap, gap_domain = 0.0, None
    for domain in candidate.domains:
        weakness = 1 - domain_scores[domain] if domain in domain_scores else UNCOVERED_GAP
        weakness *= 1.0 if domain in improvements else 0.7
        if weakness > gap:
            gap, gap_domain = weakness, domain
    interest, interest_area = 0.0, None
    tags, domains = set(candidate.tags), set(candidate.domains)
    for signal in profile.interests:
        speaks = domains & AREA_DOMAINS.get(signal.area, frozenset()) or tags & AREA_TAGS.get(
            signal.area, frozenset()
        )
        value = _INTEREST_VALUE[signal.level]
        if speaks and value > interest:
            interest, interest_area = value, signal.area
    track_fit = 1.0 if domains & TRACK_DOMAINS.get(track, frozenset()) else 0.0
    level = LEVEL_FIT[profile.band].get(candidate.level, 0.5) if candidate.level else 0.5
    similarity = min(1.0, max(0.0, candidate.similarity))
    signals = {"gap": gap, "interest": interest, "track": track_fit, "level": level,
               "similarity": similarity}  # fmt: skip
    fit = sum(WEIGHTS[name] * value for name, value in signals.items())
    return Scored(candidate, round(min(1.0, fit), 4), signals, gap_domain, interest_area)


def _too_close(a: Candidate, b: Candidate) -> bool:
    tags_a, tags_b = set(a.tags), set(b.tags)
    overlap = len(tags_a & tags_b) / max(1, min(len(tags_a), len(tags_b)))
    same_provider_domain = (
        a.provider is not None
        and a.provider == b.provider
        and bool(set(a.domains[:1]) & set(b.domains[:1]))
    )
    return overlap >= 0.5 or same_provider_domain


def rank(candidates: Sequence[Candidate], profile: SkillProfile, track: str) -> list[Pick]:
    """2-3 picks, best first, each with a short reason (empty only without candidates)."""
    scored = sorted(
        (score_candidate(c, profile, track) for c in candidates),
        key=lambda s: (-s.fit, s.candidate.slug),
    )
    picked: list[Scored] = []
    for item in scored:
        if len(picked) == 3:
            break
        if len(picked) == 2 and item.fit < MIN_THIRD_FIT:
            break
        if any(_too_close(item.candidate, p.candidate) for p in picked):
            continue
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
    if scored.gap_domain and scored.signals["gap"] >= 0.35:
        if scored.gap_domain in domain_scores:
            parts.append(
                f"Builds {scored.gap_domain}, where you scored "
                f"{round(100 * domain_scores[scored.gap_domain])}%"
            )
        else:
            parts.append(f"Covers {scored.gap_domain}, which this assessment did not test")
    if scored.interest_area and scored.signals["interest"] >= 0.5:
        strength = "high" if scored.signals["interest"] >= 1 else "some"
        parts.append(f"matches your {strength} interest in {scored.interest_area}")
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
