"""The skill profile of one assessment: scores per domain, a band, and honest confidence.

Inputs are the scored items (THEORETICAL items score 1 or 0, ESSAY items 0..1 against their
rubric; an unanswered item scores 0) and the PROFILE interest answers. n is the number of scored
items, answered or not. The formulas:

- overall = mean of all n item scores, theory and essays together, so every item weighs the same
  whatever its kind; unanswered items count as 0.
- band: BEGINNER if overall < 0.4, INTERMEDIATE if 0.4 <= overall < 0.75, ADVANCED from 0.75.
- domains: one per domain with items; score = mean of its item scores; confidence by item count:
  1-2 LOW, 3-4 MEDIUM, 5+ HIGH. Ordered by score descending, then name.
- strengths: domains with score >= 0.7, best first. improvements: domains with score < 0.5,
  weakest first. A domain scoring 0.5 up to 0.7 is in neither.
- 90% interval of the overall score: the n items are treated as Bernoulli-like trials with mean
  p = overall, and the Wilson score interval with z = 1.6449 is taken:
      centre = (p + z^2 / 2n) / (1 + z^2 / n)
      half   = z / (1 + z^2 / n) * sqrt(p(1 - p) / n + z^2 / 4n^2)
  Unlike the normal approximation p +- z*se it stays inside [0, 1] and does not shrink to a
  point at p = 0 or p = 1 after a handful of items.
- standard error = sqrt(max(p(1 - p), 0.25 / (n + 1)) / n). Plain sqrt(p(1 - p) / n) would
  report 0 for six correct answers out of six; the floor keeps some of the doubt that a tiny
  sample leaves (at n = 6 the SE never drops below 0.077).
- fallback essays (scored by the non-LLM scorer standing in for a failed LLM) are noisier: with
  f = their share among the n items the variance is multiplied by k = 1 + 0.5 * f, so the SE by
  sqrt(k), and the Wilson half-width by sqrt(k) around the same centre, clamped to [0, 1].
- confidence level from the interval width w = upper - lower: w <= 0.30 HIGH, w <= 0.50 MEDIUM,
  else LOW; then one step lower if more than 20% of the items were unanswered, one step
  lower if any essay was scored by the fallback scorer, and one step lower if any answered
  essay awaits human review (never below LOW). A domain with an essay awaiting review is one
  step lower too, and a reason names it: its score rests on a machine score two opinions do
  not agree on (or that was flagged).
- provisional band: a profile whose confidence is LOW shows its band as provisional. The band
  of a one-item assessment answered right is ADVANCED on no evidence; an advisor filtering
  students by band or weak domain should not act on it, so those filters read the latest
  profile that is not provisional (db/repositories/users.py).
- no scored items: overall 0, BEGINNER, confidence LOW with the interval [0, 1] and an SE of
  0.5 (the largest a 0..1 mean can have): nothing is known.
- interests: per area the answers are normalised to 0..1 by (value - min) / (max - min) and
  averaged; level HIGH from 0.75, MEDIUM from 0.4, else LOW. The reported value is that mean put
  back on the scale of the area's first answer and rounded half up. Ordered HIGH first, then by
  the mean descending, then by area.

Every float the profile holds is rounded to 4 places, and the band, strengths and improvements
are decided on the rounded values: a stored profile is self-consistent (a reported 0.4 is never
BEGINNER) and as_dict / from_dict round-trip exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from domain.questions import QuestionType

PLACES = 4
BEGINNER_BELOW = 0.4
ADVANCED_FROM = 0.75
STRENGTH_FROM = 0.7
IMPROVEMENT_BELOW = 0.5
Z_90 = 1.6449  # two-sided 90%: 5% in each tail of the standard normal
HIGH_WIDTH_MAX = 0.30
MEDIUM_WIDTH_MAX = 0.50
# Exact fractions, so that 2 unanswered of 10 is exactly 20% and not degraded.
UNANSWERED_SHARE_MAX = Fraction(1, 5)
FALLBACK_VARIANCE_WEIGHT = 0.5
FEW_ITEMS_BELOW = 12
DOMAIN_MEDIUM_FROM, DOMAIN_HIGH_FROM = 3, 5
# Fractions again: a mean self-rating of exactly 4 on 1..5 is exactly 0.75, hence HIGH.
INTEREST_HIGH_FROM = Fraction(3, 4)
INTEREST_MEDIUM_FROM = Fraction(2, 5)

_SCORED_KINDS = frozenset({QuestionType.THEORETICAL.value, QuestionType.ESSAY.value})


class Band(StrEnum):
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


class Level(StrEnum):
    """A confidence level, and also an interest level."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


# A profile at this confidence shows its band as provisional; the students filters skip it.
PROVISIONAL_LEVEL = Level.LOW
_ONE_LOWER = {Level.HIGH: Level.MEDIUM, Level.MEDIUM: Level.LOW, Level.LOW: Level.LOW}


@dataclass(frozen=True)
class ItemScore:
    question_id: str
    kind: str  # "theory" or "essay" (QuestionType values)
    domain: str
    score: float  # 0..1; an unanswered item scores 0 (answered=False)
    answered: bool = True
    # The essay was scored by the fallback (non-LLM) scorer standing in for a failed LLM.
    fallback: bool = False
    # The essay's machine score awaits a human: it was flagged, or the LLM and the local
    # scorer disagree (domain/essays.py needs_review). Cleared by a human override.
    needs_review: bool = False


@dataclass(frozen=True)
class InterestAnswer:
    area: str
    value: int
    scale_min: int
    scale_max: int


@dataclass(frozen=True)
class InterestSignal:
    area: str
    level: Level
    value: int  # the rounded mean answer, on the scale of the area's first answer


@dataclass(frozen=True)
class DomainScore:
    domain: str
    score: float
    item_count: int
    confidence: Level


@dataclass(frozen=True)
class Confidence:
    level: Level
    standard_error: float
    interval: tuple[float, float]  # 90% interval of the overall score
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class SkillProfile:
    overall: float
    band: Band
    domains: tuple[DomainScore, ...]
    strengths: tuple[str, ...]
    improvements: tuple[str, ...]
    confidence: Confidence
    interests: tuple[InterestSignal, ...]

    @property
    def band_provisional(self) -> bool:
        """LOW confidence: the band is a guess the evidence does not support yet."""
        return self.confidence.level is PROVISIONAL_LEVEL

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: lists, floats rounded to 4 places, enums as their string values."""
        return {
            "overall": _round(self.overall),
            "band": self.band.value,
            "domains": [
                {
                    "domain": d.domain,
                    "score": _round(d.score),
                    "item_count": d.item_count,
                    "confidence": d.confidence.value,
                }
                for d in self.domains
            ],
            "strengths": list(self.strengths),
            "improvements": list(self.improvements),
            "confidence": {
                "level": self.confidence.level.value,
                "standard_error": _round(self.confidence.standard_error),
                "interval": [_round(bound) for bound in self.confidence.interval],
                "reasons": list(self.confidence.reasons),
            },
            "interests": [
                {"area": s.area, "level": s.level.value, "value": s.value} for s in self.interests
            ],
        }

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> SkillProfile:
        """The inverse of as_dict; ValueError names the first malformed field."""
        confidence = _mapping(raw, "confidence")
        interval = _list(confidence, "interval")
        if len(interval) != 2:
            raise ValueError("profile field 'interval' must hold two bounds")
        return cls(
            overall=_float(raw, "overall"),
            band=Band(_str(raw, "band")),
            domains=tuple(
                DomainScore(
                    domain=_str(d, "domain"),
                    score=_float(d, "score"),
                    item_count=_int(d, "item_count"),
                    confidence=Level(_str(d, "confidence")),
                )
                for d in _mappings(raw, "domains")
            ),
            strengths=_strs(raw, "strengths"),
            improvements=_strs(raw, "improvements"),
            confidence=Confidence(
                level=Level(_str(confidence, "level")),
                standard_error=_float(confidence, "standard_error"),
                interval=(_number(interval[0], "interval"), _number(interval[1], "interval")),
                reasons=_strs(confidence, "reasons"),
            ),
            interests=tuple(
                InterestSignal(
                    area=_str(s, "area"), level=Level(_str(s, "level")), value=_int(s, "value")
                )
                for s in _mappings(raw, "interests")
            ),
        )


_NO_EVIDENCE = Confidence(
    level=Level.LOW,
    # Nothing is known: the whole range, and the largest SE a mean of 0..1 scores can have.
    standard_error=0.5,
    interval=(0.0, 1.0),
    reasons=("There were no scored items: the profile says nothing about skill yet.",),
)


def band_for(score: float) -> Band:
    """BEGINNER below 0.4, INTERMEDIATE from 0.4 below 0.75, ADVANCED from 0.75."""
    score = _clamp01(score)
    if score < BEGINNER_BELOW:
        return Band.BEGINNER
    if score < ADVANCED_FROM:
        return Band.INTERMEDIATE
    return Band.ADVANCED


def interest_signals(answers: Sequence[InterestAnswer]) -> tuple[InterestSignal, ...]:
    """One signal per area: the mean of the answers normalised to 0..1 decides the level."""
    by_area: dict[str, list[InterestAnswer]] = {}
    for answer in answers:
        # A scale without range (max <= min) cannot say how interested anyone is.
        if answer.scale_max > answer.scale_min:
            by_area.setdefault(answer.area, []).append(answer)
    ranked: list[tuple[Fraction, InterestSignal]] = []
    for area, group in by_area.items():
        mean = sum((_normalised(a) for a in group), Fraction(0)) / len(group)
        first = group[0]
        # Answers on different scales are comparable only normalised; the value is shown on
        # the first answer's scale, which is the scale the student saw for this area.
        value = _round_half_up(first.scale_min + mean * (first.scale_max - first.scale_min))
        ranked.append((mean, InterestSignal(area, _interest_level(mean), value)))
    ranked.sort(key=lambda pair: (pair[1].level is not Level.HIGH, -pair[0], pair[1].area))
    return tuple(signal for _mean, signal in ranked)


def build_profile(items: Sequence[ItemScore], interests: Sequence[InterestAnswer]) -> SkillProfile:
    scores = [_item_score(item) for item in items]
    signals = interest_signals(interests)
    if not scores:
        return SkillProfile(0.0, Band.BEGINNER, (), (), (), _NO_EVIDENCE, signals)
    # Each item weighs the same, whatever its kind: theory and essays are both evidence of
    # skill, and weighting by kind would let one essay outweigh three theory items.
    overall = _round(_mean(scores))
    domains = _domain_scores(items)
    weakest_first = sorted(domains, key=lambda d: (d.score, d.domain))
    return SkillProfile(
        overall=overall,
        band=band_for(overall),
        domains=domains,
        # Strength: score >= 0.7, best first. Improvement: score < 0.5, weakest first.
        strengths=tuple(d.domain for d in domains if d.score >= STRENGTH_FROM),
        improvements=tuple(d.domain for d in weakest_first if d.score < IMPROVEMENT_BELOW),
        confidence=_confidence(items, overall, domains),
        interests=signals,
    )


def _item_score(item: ItemScore) -> float:
    if item.kind not in _SCORED_KINDS:
        # A PROFILE item among the scored ones is a caller's bug, not something to average in.
        raise ValueError(f"item {item.question_id} has kind {item.kind!r}, not theory or essay")
    return _clamp01(item.score) if item.answered else 0.0


def _is_fallback_essay(item: ItemScore) -> bool:
    # An unanswered essay scores 0 for certain, whoever "scored" it: no added doubt.
    return item.kind == QuestionType.ESSAY.value and item.fallback and item.answered


def _in_review(item: ItemScore) -> bool:
    return item.kind == QuestionType.ESSAY.value and item.needs_review and item.answered


def _domain_scores(items: Sequence[ItemScore]) -> tuple[DomainScore, ...]:
    by_domain: dict[str, list[float]] = {}
    for item in items:
        by_domain.setdefault(item.domain, []).append(_item_score(item))
    reviewed = {item.domain for item in items if _in_review(item)}
    domains = [
        DomainScore(name, _round(_mean(scores)), len(scores), _domain_confidence(len(scores),
                    in_review=name in reviewed))
        for name, scores in by_domain.items()
    ]  # fmt: skip
    return tuple(sorted(domains, key=lambda d: (-d.score, d.domain)))


def _domain_confidence(item_count: int, in_review: bool = False) -> Level:
    # One or two items say little about a whole domain: one lucky guess is half the evidence.
    if item_count >= DOMAIN_HIGH_FROM:
        level = Level.HIGH
    elif item_count >= DOMAIN_MEDIUM_FROM:
        level = Level.MEDIUM
    else:
        level = Level.LOW
    return _ONE_LOWER[level] if in_review else level


def _confidence(
    items: Sequence[ItemScore], p: float, domains: tuple[DomainScore, ...]
) -> Confidence:
    n = len(items)
    unanswered = sum(1 for item in items if not item.answered)
    fallback = sum(1 for item in items if _is_fallback_essay(item))
    # Variance inflation k = 1 + 0.5 * (share of fallback essays among the n items).
    inflation = 1 + FALLBACK_VARIANCE_WEIGHT * fallback / n
    lower, upper = _interval(p, n, inflation)
    level = _level_for_width(upper - lower)
    if Fraction(unanswered, n) > UNANSWERED_SHARE_MAX:
        level = _ONE_LOWER[level]
    if fallback:
        level = _ONE_LOWER[level]
    in_review: dict[str, int] = {}
    for item in items:
        if _in_review(item):
            in_review[item.domain] = in_review.get(item.domain, 0) + 1
    if in_review:
        level = _ONE_LOWER[level]
    return Confidence(
        level=level,
        standard_error=_round(_standard_error(p, n, inflation)),
        interval=(lower, upper),
        reasons=_reasons(n, lower, upper, domains, unanswered, fallback)
        + _review_reasons(in_review),
    )


def _review_reasons(in_review: dict[str, int]) -> tuple[str, ...]:
    return tuple(
        f"{domain} rests on {count} {_plural(count, 'essay')} awaiting human review: flagged, "
        "or the two scorers disagree."
        for domain, count in sorted(in_review.items())
    )


def _standard_error(p: float, n: int, inflation: float) -> float:
    # se = sqrt(max(p(1-p), 0.25/(n+1)) / n), times sqrt(k) for fallback essays. The floor
    # keeps p = 0 or 1 from claiming certainty after a handful of items.
    return math.sqrt(max(p * (1 - p), 0.25 / (n + 1)) * inflation / n)


def _interval(p: float, n: int, inflation: float) -> tuple[float, float]:
    """Wilson score interval (z = 1.6449), half-width widened by sqrt(k), rounded to 4 places."""
    z2 = Z_90 * Z_90
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z_90 / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    half *= math.sqrt(inflation)
    lower = max(0.0, centre - half)
    upper = min(1.0, centre + half)
    # Wilson always contains p; at p = 0 or 1 the bound equals p only up to float rounding, so
    # the bound is pinned to p rather than let 0.9999999999999999 exclude a perfect score.
    return _round(min(lower, p)), _round(max(upper, p))


def _level_for_width(width: float) -> Level:
    if width <= HIGH_WIDTH_MAX:
        return Level.HIGH
    if width <= MEDIUM_WIDTH_MAX:
        return Level.MEDIUM
    return Level.LOW


def _reasons(
    n: int,
    lower: float,
    upper: float,
    domains: tuple[DomainScore, ...],
    unanswered: int,
    fallback: int,
) -> tuple[str, ...]:
    half = (upper - lower) / 2
    within = f"the overall score is within ±{half:.2f} (90%)."
    # Assessments have 6-10 items, so this is nearly always the first sentence; from 12 items
    # on the interval is still stated, so that reasons are never empty.
    if n < FEW_ITEMS_BELOW:
        reasons = [f"Only {n} scored {_plural(n, 'item')}: {within}"]
    else:
        reasons = [f"{n} scored items: {within}"]
    reasons += [f"{d.domain} rests on one item." for d in domains if d.item_count == 1]
    if unanswered:
        reasons.append(f"{unanswered} of {n} questions were unanswered and count as 0.")
    if fallback:
        verb = "was" if fallback == 1 else "were"
        reasons.append(
            f"{fallback} {_plural(fallback, 'essay')} {verb} scored by the fallback scorer."
        )
    return tuple(reasons)


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else f"{noun}s"


def _normalised(answer: InterestAnswer) -> Fraction:
    # An answer outside its scale is clamped: a 7 on 1..5 is as keen as the scale can say.
    value = min(max(answer.value, answer.scale_min), answer.scale_max)
    return Fraction(value - answer.scale_min, answer.scale_max - answer.scale_min)


def _interest_level(mean: Fraction) -> Level:
    if mean >= INTEREST_HIGH_FROM:
        return Level.HIGH
    if mean >= INTEREST_MEDIUM_FROM:
        return Level.MEDIUM
    return Level.LOW


def _round_half_up(value: Fraction) -> int:
    # round() would round 3.5 to 4 but 2.5 to 2 (banker's rounding); a self-rating of
    # 2.5 on average reads as 3.
    return math.floor(value + Fraction(1, 2))


def _clamp01(value: float) -> float:
    if math.isnan(value):
        return 0.0
    return min(1.0, max(0.0, float(value)))


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def _round(value: float) -> float:
    return round(float(value), PLACES)


# from_dict helpers: the stored JSON is trusted to be ours, but a malformed field should fail
# loudly with its name rather than produce a half-valid profile.


def _field(raw: dict[str, object], name: str) -> object:
    if name not in raw:
        raise ValueError(f"profile field '{name}' is missing")
    return raw[name]


def _number(value: object, name: str) -> float:
    # bool is an int subclass; True is no score.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"profile field '{name}' must be a number")
    return float(value)


def _float(raw: dict[str, object], name: str) -> float:
    return _number(_field(raw, name), name)


def _int(raw: dict[str, object], name: str) -> int:
    value = _field(raw, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"profile field '{name}' must be an integer")
    return value


def _str(raw: dict[str, object], name: str) -> str:
    value = _field(raw, name)
    if not isinstance(value, str):
        raise ValueError(f"profile field '{name}' must be a string")
    return value


def _list(raw: dict[str, object], name: str) -> list[object]:
    value = _field(raw, name)
    if not isinstance(value, list):
        raise ValueError(f"profile field '{name}' must be a list")
    return value


def _strs(raw: dict[str, object], name: str) -> tuple[str, ...]:
    values = _list(raw, name)
    if not all(isinstance(v, str) for v in values):
        raise ValueError(f"profile field '{name}' must be a list of strings")
    return tuple(str(v) for v in values)


def _mapping(raw: dict[str, object], name: str) -> dict[str, object]:
    value = _field(raw, name)
    if not isinstance(value, dict):
        raise ValueError(f"profile field '{name}' must be an object")
    return value


def _mappings(raw: dict[str, object], name: str) -> list[dict[str, object]]:
    values = _list(raw, name)
    if not all(isinstance(v, dict) for v in values):
        raise ValueError(f"profile field '{name}' must be a list of objects")
    return [v for v in values if isinstance(v, dict)]
