"""Percentiles and rates behind analytics and the benchmarks."""

from __future__ import annotations

import random
import statistics

import pytest

from domain.stats import percentile, rate


def test_percentile_agrees_with_the_standard_library() -> None:
    generator = random.Random(7)
    for size in (2, 3, 10, 101):
        values = [generator.uniform(0, 100) for _ in range(size)]
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        for q in (1, 50, 95, 99):
            assert percentile(values, q) == pytest.approx(cuts[q - 1])


def test_edges_are_explicit() -> None:
    assert percentile([], 50) is None
    assert percentile([4.0], 95) == 4.0
    assert percentile([1.0, 2.0], 0) == 1.0
    assert percentile([1.0, 2.0], 100) == 2.0
    assert rate(0, 0) is None
    assert rate(1, 4) == 0.25


def test_pearson_and_agreement_on_known_pairs() -> None:
    from domain.stats import agreement, pearson

    assert pearson([0.1, 0.5, 0.9], [0.2, 0.6, 1.0]) == pytest.approx(1.0)
    assert pearson([0.1, 0.5, 0.9], [1.0, 0.6, 0.2]) == pytest.approx(-1.0)
    assert pearson([0.1, 0.5], [0.3, 0.3]) is None  # one side does not vary: undefined
    assert pearson([0.5], [0.5]) is None
    figures = agreement("llm", [(0.0, 0.5), (1.0, 0.5), (0.5, 0.5)])
    assert figures.count == 3
    assert figures.mean_absolute_difference == pytest.approx(1 / 3)
    assert figures.pearson_r is None
    assert agreement("local", []).mean_absolute_difference is None
