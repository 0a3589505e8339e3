"""The Rasch model, its calibration, EAP ability and the adaptive item choice (domain/irt)."""

from __future__ import annotations

import math
import random

import pytest

from domain.irt.ability import Posterior, estimate_ability
from domain.irt.adaptive import PoolItem, check_quotas, next_item
from domain.irt.calibration import Response, calibrate
from domain.irt.model import (
    MIN_RESPONSES,
    PRIOR_SE,
    ItemParameter,
    ParameterSource,
    expected_score,
    information,
    prior_difficulty,
    prior_parameter,
    probability,
    theta_for_score,
)
from domain.irt.quadrature import standard_normal_grid


def test_probability_and_information_by_hand() -> None:
    assert probability(0.0, 0.0) == 0.5
    assert probability(1.0, 0.0) == pytest.approx(1 / (1 + math.exp(-1)))
    assert probability(-800.0, 0.0) == pytest.approx(0.0)
    assert probability(800.0, 0.0) == 1.0
    assert information(0.7, 0.7) == 0.25
    assert information(1.7, 0.7) == pytest.approx(0.19661193)


def test_information_peaks_where_ability_equals_difficulty() -> None:
    b = 0.8
    thetas = [b + k / 100 for k in range(-300, 301)]
    best = max(thetas, key=lambda t: information(t, b))
    assert best == pytest.approx(b)
    assert information(b - 1, b) == pytest.approx(information(b + 1, b))


def test_prior_mapping_of_authored_difficulty() -> None:
    assert [prior_difficulty(d) for d in (1, 2, 3, 4, 5)] == pytest.approx(
        [-1.4, -0.7, 0.0, 0.7, 1.4]
    )
    assert prior_difficulty(None) == 0.0
    item = prior_parameter("q", "web", 1)
    assert (item.source, item.standard_error) == (ParameterSource.PRIOR, PRIOR_SE)
    # A typical student answers an easy (1) item right four times out of five.
    assert probability(0.0, item.difficulty) == pytest.approx(0.80, abs=0.01)


def test_score_map_and_its_inverse() -> None:
    reference = [-1.4, -0.7, 0.0]
    assert expected_score(0.0) == 0.5
    assert expected_score(0.0, reference) == pytest.approx(
        (probability(0, -1.4) + probability(0, -0.7) + 0.5) / 3
    )
    for score in (0.1, 0.4, 0.75, 0.99):
        assert expected_score(theta_for_score(score, reference), reference) == pytest.approx(score)
    with pytest.raises(ValueError, match="strictly"):
        theta_for_score(1.0)


def _brute_force_posterior(
    answers: list[tuple[float, bool]], mean: float, sd: float
) -> tuple[float, float]:
    """Posterior mean and sd by a dense trapezoid over [-12, 12] (100 001 points)."""
    step = 24 / 100_000
    total = first = second = 0.0
    for k in range(100_001):
        t = -12 + k * step
        density = math.exp(-((t - mean) ** 2) / (2 * sd * sd))
        for b, x in answers:
            p = probability(t, b)
            density *= p if x else 1 - p
        weight = density * (0.5 if k in (0, 100_000) else 1.0)
        total += weight
        first += weight * t
        second += weight * t * t
    m = first / total
    return m, math.sqrt(second / total - m * m)


@pytest.mark.parametrize(
    ("answers", "mean", "sd"),
    [
        ([], 0.0, 1.0),
        ([(-1.4, True), (0.0, False), (0.7, True)], 0.0, 1.0),
        ([(b / 2, True) for b in range(-4, 6)], 0.0, 1.0),  # all right: EAP stays finite
        ([(b / 2, False) for b in range(-4, 6)], 0.3, 1.4),
        ([(b / 4, b % 3 == 0) for b in range(-20, 20)], 0.0, 1.0),  # 40 items: sharp
    ],
)
def test_eap_matches_a_brute_force_integral(
    answers: list[tuple[float, bool]], mean: float, sd: float
) -> None:
    estimate = estimate_ability(answers, mean, sd)
    m, s = _brute_force_posterior(answers, mean, sd)
    # The 61-point grid ends at +-6 prior sds: what lies beyond is below 1e-5 of a logit.
    assert estimate.theta == pytest.approx(m, abs=1e-5)
    assert estimate.standard_error == pytest.approx(s, abs=1e-5)
    assert estimate.items == len(answers)


def test_eap_is_the_prior_without_answers_and_updates_one_at_a_time() -> None:
    prior = estimate_ability([])
    assert prior.theta == pytest.approx(0.0)
    assert prior.standard_error == pytest.approx(1.0)
    posterior = Posterior.prior().update(0.0, True)
    assert posterior.estimate().theta > 0
    assert posterior.update(0.0, False).estimate().theta == pytest.approx(0.0, abs=1e-12)
    grid = standard_normal_grid()
    assert math.fsum(grid.weights) == pytest.approx(1.0)


def _simulate(
    difficulties: list[float], persons: int, sd: float, seed: int, shown: int | None = None
) -> list[Response]:
    rng = random.Random(seed)
    responses = []
    for p in range(persons):
        theta = rng.gauss(0.0, sd)
        items = range(len(difficulties))
        chosen = rng.sample(items, shown) if shown else items
        for i in chosen:
            correct = rng.random() < probability(theta, difficulties[i])
            responses.append(Response(f"p{p}", f"i{i}", correct))
    return responses


def _priors(count: int, difficulty: float = 0.0) -> list[ItemParameter]:
    return [
        ItemParameter(f"i{i}", "d", difficulty, PRIOR_SE, ParameterSource.PRIOR)
        for i in range(count)
    ]


def test_calibration_recovers_known_difficulties() -> None:
    true = [-2.0, -1.4, -0.9, -0.4, 0.0, 0.3, 0.7, 1.1, 1.6, 2.0]
    # The simulated abilities have mean 0 only in expectation: compare after centring both.
    result = calibrate(_simulate(true, 1500, 1.2, seed=11), _priors(len(true)))
    assert result.converged, result.note
    fitted = [p.difficulty for p in result.parameters]
    shift = sum(fitted) / len(fitted) - sum(true) / len(true)
    for p, b in zip(result.parameters, true, strict=True):
        assert p.source is ParameterSource.FITTED
        assert p.responses == 1500
        assert abs(p.difficulty - shift - b) < max(0.2, 3 * p.standard_error)
        assert 0.04 < p.standard_error < 0.12
    assert result.population_sd == pytest.approx(1.2, abs=0.12)


def test_calibration_on_sparse_forms_recovers_the_order() -> None:
    """Each student sees 3 of 10 items, as on a real form: most have perfect or zero scores."""
    true = [-1.8, -1.2, -0.8, -0.3, 0.0, 0.4, 0.9, 1.3, 1.7, 2.2]
    result = calibrate(_simulate(true, 2000, 1.0, seed=5, shown=3), _priors(len(true)))
    assert result.converged, result.note
    fitted = [p.difficulty for p in result.parameters]
    assert _pearson(fitted, true) > 0.97


def _pearson(xs: list[float], ys: list[float]) -> float:
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy)


def _marginal_log_likelihood(responses: list[Response], b: dict[str, float]) -> float:
    """By brute force: theta ~ N(0, 1) integrated by a dense trapezoid, per person."""
    persons: dict[str, list[Response]] = {}
    for r in responses:
        persons.setdefault(r.person, []).append(r)
    step = 16 / 4000
    total = 0.0
    for answers in persons.values():
        mass = 0.0
        for k in range(4001):
            t = -8 + k * step
            value = math.exp(-t * t / 2) / math.sqrt(2 * math.pi) * step
            for r in answers:
                p = probability(t, b[r.item])
                value *= p if r.correct else 1 - p
            mass += value * (0.5 if k in (0, 4000) else 1.0)
        total += math.log(mass)
    return total


def test_tiny_calibration_is_the_maximum_of_the_marginal_likelihood() -> None:
    """Three items, twelve students, sigma fixed at 1: the fit is where the brute-force
    marginal likelihood is flat and highest."""
    rows = ["110", "100", "111", "010", "100", "110", "000", "101", "100", "111", "110", "000"]
    responses = [
        Response(f"p{n}", f"i{i}", c == "1")
        for n, row in enumerate(rows)
        for i, c in enumerate(row)
    ]
    result = calibrate(responses, _priors(3), min_responses=1, population_sd=1.0, tolerance=1e-8)
    assert result.converged
    b = {p.item: p.difficulty for p in result.parameters}
    assert b["i0"] < b["i1"] < b["i2"]  # 9, 6 and 4 right of 12
    best = _marginal_log_likelihood(responses, b)
    assert result.log_likelihood == pytest.approx(best, abs=1e-4)
    h = 1e-3
    for item in b:
        up = _marginal_log_likelihood(responses, {**b, item: b[item] + h})
        down = _marginal_log_likelihood(responses, {**b, item: b[item] - h})
        assert abs(up - down) / (2 * h) < 1e-3  # the gradient vanishes
        assert up < best
        assert down < best


def test_items_without_enough_or_varied_responses_keep_their_prior() -> None:
    rng = random.Random(3)
    responses = [Response(f"p{n}", "varied", rng.random() < 0.5) for n in range(200)]
    responses += [Response(f"p{n}", "everyone-right", True) for n in range(200)]
    responses += [Response(f"p{n}", "rare", n % 2 == 0) for n in range(MIN_RESPONSES - 1)]
    priors = [
        prior_parameter("varied", "web", 3),
        prior_parameter("everyone-right", "web", 1),
        prior_parameter("rare", "web", 5),
        prior_parameter("unseen", "web", 2),
    ]
    result = calibrate(responses, priors)
    assert result.converged, result.note
    by_item = {p.item: p for p in result.parameters}
    assert by_item["varied"].source is ParameterSource.FITTED
    for item, authored, count in (("everyone-right", 1, 200), ("rare", 5, 29), ("unseen", 2, 0)):
        held = by_item[item]
        assert held.source is ParameterSource.PRIOR
        assert (held.difficulty, held.standard_error) == (prior_difficulty(authored), PRIOR_SE)
        assert held.responses == count
    assert [p.item for p in result.fitted()] == ["varied"]


def test_nothing_to_fit_returns_the_priors() -> None:
    priors = [prior_parameter("a", "web", 2)]
    result = calibrate([], priors)
    assert result.converged
    assert result.parameters[0].difficulty == prior_difficulty(2)


def test_a_calibration_that_cannot_converge_says_so() -> None:
    true = [-1.0, 0.0, 1.0]
    result = calibrate(_simulate(true, 300, 1.0, seed=2), _priors(3), max_iterations=1)
    assert not result.converged
    assert "no convergence" in result.note


def _pool() -> list[PoolItem]:
    items = [PoolItem(f"w{k}", "web", b) for k, b in enumerate([-2.0, -1.0, 0.0, 1.0, 2.0])]
    items += [PoolItem(f"s{k}", "sec", b) for k, b in enumerate([-1.5, -0.5, 0.5, 1.5])]
    return items


def test_next_item_is_the_most_informative_within_quotas() -> None:
    pool = _pool()
    rng = random.Random(0)
    first = next_item(pool, set(), {"web": 2, "sec": 1}, {}, rng, top_k=1)
    assert first is not None
    assert first.id == "w2"
    second = next_item(pool, {"w2"}, {"web": 2, "sec": 1}, {"web": 1.2}, rng, top_k=1)
    assert second is not None
    assert second.domain == "sec"
    assert second.id in {"s1", "s2"}  # both 0.5 from the prior mean; the id breaks the tie
    third = next_item(pool, {"w2", "s1"}, {"web": 2, "sec": 1}, {"web": 1.2}, rng, top_k=1)
    assert third is not None
    assert third.id == "w3"
    assert next_item(pool, {"w2", "s1", "w3"}, {"web": 2, "sec": 1}, {}, rng) is None


def test_randomesque_exposure_spreads_the_first_item_and_is_reproducible() -> None:
    pool = _pool()
    picks = [
        next_item(pool, set(), {"web": 3}, {}, random.Random(seed), top_k=3) for seed in range(300)
    ]
    ids = {p.id for p in picks if p is not None}
    assert ids == {"w1", "w2", "w3"}  # the three most informative at theta = 0
    again = [
        next_item(pool, set(), {"web": 3}, {}, random.Random(seed), top_k=3) for seed in range(300)
    ]
    assert picks == again


def test_check_quotas_names_the_domain_that_lacks_items() -> None:
    assert check_quotas(_pool(), {"web": 5, "sec": 4}) == []
    assert check_quotas(_pool(), {"web": 6, "sec": 4, "cloud": 1}) == ["web", "cloud"]
