from __future__ import annotations

import json
import math
import random

import pytest

from domain.profile import (
    Band,
    InterestAnswer,
    ItemScore,
    Level,
    SkillProfile,
    band_for,
    build_profile,
    interest_signals,
)

Z = 1.6449


def _theory(domain: str, score: float, *, answered: bool = True) -> ItemScore:
    return ItemScore(f"t-{domain}-{score}", "theory", domain, score, answered)


def _essay(
    domain: str, score: float, *, answered: bool = True, fallback: bool = False
) -> ItemScore:
    return ItemScore(f"e-{domain}-{score}", "essay", domain, score, answered, fallback)


def _correct(count: int, wrong: int = 0, domain: str = "programming") -> list[ItemScore]:
    return [_theory(domain, 1.0)] * count + [_theory(domain, 0.0)] * wrong


def _wilson(p: float, n: int, inflation: float = 1.0) -> tuple[float, float]:
    """The module docstring's formula, written out again independently of the code."""
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    half *= math.sqrt(inflation)
    return max(0.0, centre - half), min(1.0, centre + half)


def _width_level(width: float) -> Level:
    return Level.HIGH if width <= 0.30 else Level.MEDIUM if width <= 0.50 else Level.LOW


# Band and overall score


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0.0, Band.BEGINNER),
        (0.3999, Band.BEGINNER),
        (0.4, Band.INTERMEDIATE),
        (0.7499, Band.INTERMEDIATE),
        (0.75, Band.ADVANCED),
        (1.0, Band.ADVANCED),
        (-3.0, Band.BEGINNER),
        (7.0, Band.ADVANCED),
        (math.nan, Band.BEGINNER),
    ],
)
def test_band_thresholds(score: float, band: Band) -> None:
    assert band_for(score) is band


def test_overall_weighs_every_item_the_same_and_unanswered_count_as_zero() -> None:
    items = [
        *_correct(4),
        _essay("web", 0.5),
        # Unanswered scores 0 even if a score slipped through.
        _essay("web", 0.9, answered=False),
    ]
    profile = build_profile(items, [])
    # (4 + 0.5 + 0) / 6, not the mean of the kind means (1 + 0.25) / 2 = 0.625.
    assert profile.overall == 0.75
    assert profile.band is Band.ADVANCED


def test_scores_are_clamped_to_zero_one() -> None:
    profile = build_profile([_essay("web", 1.7), _essay("web", -0.4)], [])
    assert profile.overall == 0.5
    assert profile.domains[0].score == 0.5


def test_unknown_item_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="not theory or essay"):
        build_profile([ItemScore("q1", "profile", "data", 1.0)], [])


# Domains, strengths and improvements


def test_domains_ordered_by_score_then_name_with_confidence_by_item_count() -> None:
    items = [
        _theory("web", 1.0),
        *[_theory("databases", 1.0)] * 2,
        *[_essay("algorithms", 0.5)] * 3,
        *[_essay("security", 0.5)] * 4,
        *[_theory("networking", 0.0)] * 5,
    ]
    profile = build_profile(items, [])
    assert [(d.domain, d.score, d.item_count, d.confidence) for d in profile.domains] == [
        ("databases", 1.0, 2, Level.LOW),
        ("web", 1.0, 1, Level.LOW),
        ("algorithms", 0.5, 3, Level.MEDIUM),
        ("security", 0.5, 4, Level.MEDIUM),
        ("networking", 0.0, 5, Level.HIGH),
    ]


def test_strengths_from_0_7_and_improvements_below_0_5_with_a_domain_in_neither() -> None:
    scores = {"ml": 0.9, "cloud": 0.7, "web": 0.6999, "data": 0.5, "security": 0.4999, "os": 0.2}
    profile = build_profile([_essay(domain, score) for domain, score in scores.items()], [])
    assert profile.strengths == ("ml", "cloud")  # best first
    assert profile.improvements == ("os", "security")  # weakest first
    in_neither = {d.domain for d in profile.domains} - {*profile.strengths, *profile.improvements}
    assert in_neither == {"web", "data"}


# Interval, standard error and confidence level


def test_wilson_interval_for_six_items_half_right() -> None:
    profile = build_profile(_correct(3, wrong=3), [])
    lower, upper = profile.confidence.interval
    expected = _wilson(0.5, 6)
    assert lower == pytest.approx(expected[0], abs=5e-5)
    assert upper == pytest.approx(expected[1], abs=5e-5)
    # By hand: z^2/n = 2.7057/6 = 0.45095, so the centre is (0.5 + 0.22547) / 1.45095 = 0.5 and
    # half = 1.6449 / 1.45095 * sqrt(0.25/6 + 2.7057/144) = 1.13367 * 0.24588 = 0.27875.
    assert profile.confidence.interval == (0.2213, 0.7787)
    assert profile.confidence.level is Level.LOW  # width 0.557 > 0.50


def test_wilson_interval_for_ten_items_nine_right() -> None:
    profile = build_profile(_correct(9, wrong=1), [])
    lower, upper = profile.confidence.interval
    expected = _wilson(0.9, 10)
    assert lower == pytest.approx(expected[0], abs=5e-5)
    assert upper == pytest.approx(expected[1], abs=5e-5)
    # By hand: centre (0.9 + 0.13529) / 1.27057 = 0.81482, half 1.29462 * 0.12556 = 0.16255.
    assert profile.confidence.interval == (0.6523, 0.9774)
    # The Wilson centre is pulled towards 0.5, so the interval is not symmetric around p.
    assert 0.9 - lower > upper - 0.9
    assert profile.confidence.level is Level.MEDIUM  # width 0.325


def test_standard_error_without_floor() -> None:
    profile = build_profile(_correct(3, wrong=3), [])
    assert profile.confidence.standard_error == round(math.sqrt(0.25 / 6), 4)


@pytest.mark.parametrize(("right", "wrong"), [(6, 0), (0, 6)])
def test_standard_error_floor_at_p_zero_and_one(right: int, wrong: int) -> None:
    profile = build_profile(_correct(right, wrong), [])
    # p(1 - p) = 0, so the floor 0.25 / (n + 1) takes over: sqrt(0.25 / 7 / 6) = 0.0772.
    assert profile.confidence.standard_error == round(math.sqrt(0.25 / 7 / 6), 4) == 0.0772
    lower, upper = profile.confidence.interval
    assert upper - lower > 0.2  # Wilson does not collapse to a point either


def test_more_than_20_percent_unanswered_lowers_the_level_one_step() -> None:
    # 40 items, so that the interval alone is narrow enough for HIGH.
    exactly_20 = build_profile(_correct(32) + [_theory("web", 0.0, answered=False)] * 8, [])
    over_20 = build_profile(_correct(31) + [_theory("web", 0.0, answered=False)] * 9, [])
    for profile in (exactly_20, over_20):
        lower, upper = profile.confidence.interval
        assert _width_level(upper - lower) is Level.HIGH
    assert exactly_20.confidence.level is Level.HIGH
    assert over_20.confidence.level is Level.MEDIUM
    assert "9 of 40 questions were unanswered and count as 0." in over_20.confidence.reasons


def test_fallback_essays_widen_the_interval_and_lower_the_level() -> None:
    plain = build_profile(_correct(8) + [_essay("web", 1.0)] * 2, [])
    fallback = build_profile(_correct(8) + [_essay("web", 1.0, fallback=True)] * 2, [])
    # k = 1 + 0.5 * 2/10 = 1.1: variance times k, Wilson half-width times sqrt(k).
    lower, upper = fallback.confidence.interval
    assert lower == pytest.approx(_wilson(1.0, 10, 1.1)[0], abs=5e-5)
    assert upper == 1.0
    assert lower < plain.confidence.interval[0]
    expected_se = math.sqrt(0.25 / 11 * 1.1 / 10)
    assert fallback.confidence.standard_error == pytest.approx(expected_se, abs=5e-5)
    assert plain.confidence.level is Level.HIGH
    assert _width_level(upper - lower) is Level.HIGH
    assert fallback.confidence.level is Level.MEDIUM
    assert fallback.confidence.reasons[-1] == "2 essays were scored by the fallback scorer."


def test_both_degradations_stack_down_to_low() -> None:
    items = (
        _correct(29)
        + [_theory("web", 0.0, answered=False)] * 9
        + [_essay("web", 1.0, fallback=True)] * 2
    )
    profile = build_profile(items, [])
    lower, upper = profile.confidence.interval
    assert _width_level(upper - lower) is Level.HIGH
    assert profile.confidence.level is Level.LOW


def test_fallback_flag_only_counts_on_answered_essays() -> None:
    plain = build_profile(_correct(8, wrong=2), [])
    flagged = build_profile(
        [
            ItemScore("t", "theory", "programming", 1.0, fallback=True),
            *_correct(7, wrong=1),
            _essay("programming", 0.0, answered=False, fallback=True),
        ],
        [],
    )
    assert flagged.confidence.interval == plain.confidence.interval
    assert not any("fallback" in reason for reason in flagged.confidence.reasons)


# Reasons


def test_reasons_in_order_with_single_item_domains() -> None:
    items = [
        _theory("security", 1.0),
        _theory("security", 1.0),
        _theory("security", 0.0),
        _theory("web", 1.0),
        _essay("data", 0.0, answered=False),
        _essay("ml", 1.0, fallback=True),
    ]
    profile = build_profile(items, [])
    lower, upper = profile.confidence.interval
    assert profile.confidence.reasons == (
        f"Only 6 scored items: the overall score is within ±{(upper - lower) / 2:.2f} (90%).",
        # Same order as the domains: score descending, then name.
        "ml rests on one item.",
        "web rests on one item.",
        "data rests on one item.",
        "1 of 6 questions were unanswered and count as 0.",
        "1 essay was scored by the fallback scorer.",
    )


def test_first_reason_states_the_half_width() -> None:
    profile = build_profile(_correct(3, wrong=3), [])
    # (0.7787 - 0.2213) / 2 = 0.2787.
    assert profile.confidence.reasons == (
        "Only 6 scored items: the overall score is within ±0.28 (90%).",
    )


def test_many_items_still_state_the_interval() -> None:
    profile = build_profile(_correct(30), [])
    assert profile.confidence.level is Level.HIGH
    assert len(profile.confidence.reasons) == 1
    assert profile.confidence.reasons[0].startswith("30 scored items: ")


def test_no_scored_items() -> None:
    profile = build_profile([], [InterestAnswer("data", 5, 1, 5)])
    assert profile.overall == 0.0
    assert profile.band is Band.BEGINNER
    assert profile.domains == ()
    assert profile.strengths == profile.improvements == ()
    assert profile.confidence.level is Level.LOW
    assert profile.confidence.interval == (0.0, 1.0)
    assert len(profile.confidence.reasons) == 1
    assert "no scored items" in profile.confidence.reasons[0]
    assert [s.area for s in profile.interests] == ["data"]


# Interests


def test_interest_levels_from_the_normalised_mean() -> None:
    signals = interest_signals(
        [
            InterestAnswer("data", 4, 1, 5),  # 0.75: HIGH
            InterestAnswer("web", 3, 1, 5),  # 0.5: MEDIUM
            InterestAnswer("ml", 2, 1, 6),  # 0.2: LOW
            InterestAnswer("cloud", 5, 1, 11),  # 0.4: MEDIUM
            InterestAnswer("security", 1, 0, 3),  # 0.333: LOW
        ]
    )
    assert [(s.area, s.level, s.value) for s in signals] == [
        ("data", Level.HIGH, 4),
        ("web", Level.MEDIUM, 3),
        ("cloud", Level.MEDIUM, 5),
        ("security", Level.LOW, 1),
        ("ml", Level.LOW, 2),
    ]


def test_interest_answers_of_one_area_are_averaged() -> None:
    signals = interest_signals(
        [
            InterestAnswer("data", 5, 1, 5),
            InterestAnswer("data", 2, 1, 5),  # mean normalised (1 + 0.25) / 2 = 0.625
            InterestAnswer("web", 3, 1, 5),
            InterestAnswer("web", 4, 1, 5),  # mean 3.5 rounds half up to 4; 0.625 too
            # A second scale for web: 10 on 0..10 is 1.0, so the mean is (0.5+0.75+1)/3 = 0.75.
            InterestAnswer("web", 10, 0, 10),
        ]
    )
    assert [(s.area, s.level, s.value) for s in signals] == [
        ("web", Level.HIGH, 4),  # 0.75 back on the first answer's 1..5 scale: 4
        ("data", Level.MEDIUM, 4),  # 1 + 0.625 * 4 = 3.5, rounded half up
    ]


def test_interest_ordering_ties_broken_by_area() -> None:
    signals = interest_signals([InterestAnswer(a, 3, 1, 5) for a in ["web", "data", "cloud"]])
    assert [s.area for s in signals] == ["cloud", "data", "web"]


def test_interest_answers_outside_the_scale_are_clamped_and_bad_scales_ignored() -> None:
    signals = interest_signals(
        [
            InterestAnswer("data", 9, 1, 5),
            InterestAnswer("web", -2, 1, 5),
            InterestAnswer("ml", 3, 5, 5),
            InterestAnswer("cloud", 3, 5, 1),
        ]
    )
    assert [(s.area, s.level, s.value) for s in signals] == [
        ("data", Level.HIGH, 5),
        ("web", Level.LOW, 1),
    ]


# Serialisation


def _sample_profile() -> SkillProfile:
    items = [
        _theory("security", 1.0),
        _theory("security", 0.0),
        _essay("web", 0.6667),
        _essay("data", 0.123456789, fallback=True),
        _theory("web", 0.0, answered=False),
        _theory("algorithms", 1.0),
    ]
    answers = [InterestAnswer("data", 4, 1, 5), InterestAnswer("ml", 2, 1, 5)]
    return build_profile(items, answers)


def test_as_dict_is_json_ready() -> None:
    raw = _sample_profile().as_dict()
    assert json.loads(json.dumps(raw)) == raw
    assert raw["band"] == "intermediate"
    confidence = raw["confidence"]
    assert isinstance(confidence, dict)
    assert isinstance(confidence["interval"], list)
    assert confidence["level"] in {"high", "medium", "low"}
    domains = raw["domains"]
    assert isinstance(domains, list)
    assert {"domain": "data", "score": 0.1235, "item_count": 1, "confidence": "low"} in domains


def test_as_dict_from_dict_round_trip() -> None:
    profile = _sample_profile()
    raw = json.loads(json.dumps(profile.as_dict()))
    assert SkillProfile.from_dict(raw) == profile
    assert SkillProfile.from_dict(raw).as_dict() == raw


def test_from_dict_names_a_malformed_field() -> None:
    raw = _sample_profile().as_dict()
    with pytest.raises(ValueError, match="'overall'"):
        SkillProfile.from_dict({**raw, "overall": "high"})
    with pytest.raises(ValueError, match="'strengths'"):
        SkillProfile.from_dict({k: v for k, v in raw.items() if k != "strengths"})


# Invariants over random inputs


def _random_items(rng: random.Random) -> list[ItemScore]:
    domains = ["programming", "databases", "web", "security", "networking"]
    items = []
    for index in range(rng.randint(1, 15)):
        answered = rng.random() > 0.15
        domain = rng.choice(domains)
        if rng.random() < 0.5:
            items.append(ItemScore(f"q{index}", "theory", domain, rng.choice([0.0, 1.0]), answered))
        else:
            fallback = rng.random() < 0.3
            score = rng.choice([0.0, 1.0, rng.random(), rng.uniform(-0.5, 1.5)])
            items.append(ItemScore(f"q{index}", "essay", domain, score, answered, fallback))
    return items


def _random_answers(rng: random.Random) -> list[InterestAnswer]:
    areas = ["data", "web", "ml", "security", "cloud"]
    answers = []
    for _ in range(rng.randint(0, 8)):
        low = rng.randint(0, 2)
        high = low + rng.randint(-1, 6)
        answers.append(InterestAnswer(rng.choice(areas), rng.randint(low - 2, high + 2), low, high))
    return answers


def test_invariants_over_random_inputs() -> None:
    rng = random.Random(20240611)
    for _ in range(500):
        items = _random_items(rng)
        profile = build_profile(items, _random_answers(rng))
        p = profile.overall
        lower, upper = profile.confidence.interval
        assert 0.0 <= p <= 1.0
        # The Wilson centre is not p, but the interval always contains p.
        assert 0.0 <= lower <= p <= upper <= 1.0
        assert profile.confidence.standard_error > 0
        assert profile.band is band_for(p)
        assert sum(d.item_count for d in profile.domains) == len(items)
        assert all(0.0 <= d.score <= 1.0 for d in profile.domains)
        assert not set(profile.strengths) & set(profile.improvements)
        assert f"{len(items)} scored item" in profile.confidence.reasons[0]
        assert SkillProfile.from_dict(json.loads(json.dumps(profile.as_dict()))) == profile
        for signal in profile.interests:
            assert isinstance(signal.level, Level)
        # The same items repeated: same mean, same fallback and unanswered shares, more items.
        width = upper - lower
        for times in (2, 3, 5):
            bigger = build_profile(items * times, []).confidence
            assert bigger.interval[1] - bigger.interval[0] <= width
            assert bigger.interval[0] <= p <= bigger.interval[1]
            width = bigger.interval[1] - bigger.interval[0]


def test_essays_awaiting_review_lower_confidence_and_say_why() -> None:
    review = ItemScore("e-r", "essay", "databases", 0.6, needs_review=True)
    items = [*_correct(12, domain="programming"), *[_theory("databases", 1.0)] * 4]
    calm = build_profile([*items, _essay("databases", 0.6)], [])
    unsure = build_profile([*items, review], [])
    assert unsure.overall == calm.overall  # the score stands until a human changes it
    order = [Level.LOW, Level.MEDIUM, Level.HIGH]
    assert order.index(unsure.confidence.level) == max(order.index(calm.confidence.level) - 1, 0)
    domains = {d.domain: d.confidence for d in unsure.domains}
    calm_domains = {d.domain: d.confidence for d in calm.domains}
    assert calm_domains["databases"] is Level.HIGH
    assert domains["databases"] is Level.MEDIUM  # the domain resting on it, one step lower
    assert domains["programming"] is calm_domains["programming"]
    assert unsure.confidence.reasons[-1] == (
        "databases rests on 1 essay awaiting human review: flagged, or the two scorers disagree."
    )
    assert not any("review" in r for r in calm.confidence.reasons)
    # An unanswered essay is 0 for certain: nothing to review.
    skipped = ItemScore("e-s", "essay", "databases", 0.0, answered=False, needs_review=True)
    assert not any("review" in r for r in build_profile([*items, skipped], []).confidence.reasons)
    assert SkillProfile.from_dict(unsure.as_dict()) == unsure


def test_a_band_is_provisional_exactly_when_confidence_is_low() -> None:
    one_right = build_profile([ItemScore("q1", "theory", "security", 1.0)], [])
    assert (one_right.band, one_right.confidence.level) == (Band.ADVANCED, Level.LOW)
    assert one_right.band_provisional
    twelve = build_profile(
        [ItemScore(f"q{n}", "theory", "programming", 1.0) for n in range(12)], []
    )
    assert twelve.confidence.level is Level.HIGH
    assert not twelve.band_provisional
    assert not SkillProfile.from_dict(twelve.as_dict()).band_provisional
