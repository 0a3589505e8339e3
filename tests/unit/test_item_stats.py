"""domain/item_stats.py against figures worked out by hand."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from domain.item_stats import (
    Contribution,
    ItemFlag,
    OptionRate,
    ScoredItem,
    Sums,
    changes,
    contributions,
    decode,
    encode,
    statistics,
)

# Five students answer one multiple-choice item (key A). (x, rest score, option picked):
FIVE = [(1, 0.8, "A"), (1, 0.6, "A"), (0, 0.4, "B"), (1, 0.2, "A"), (0, 0.0, "C")]


def _sums(rows: Sequence[tuple[float, float, str | None]], question: str = "q") -> Sums:
    sums = Sums()
    for x, rest, option in rows:
        sums.add(Contribution(question, x, rest, option))
    return sums


def test_the_figures_of_a_hand_computed_item() -> None:
    sums = _sums(FIVE)
    # n = 5, Sx = 3, Sxx = 3, Sr = 2.0, Srr = 1.2, Sxr = 1.6
    assert (sums.n, sums.sum_x, sums.sum_x2) == (5, 3, 3)
    assert sums.sum_rest == pytest.approx(2.0)
    assert sums.sum_rest2 == pytest.approx(1.2)
    assert sums.sum_x_rest == pytest.approx(1.6)
    stats = statistics(sums, "theory", ["A", "B", "C", "D"], correct="A")
    assert stats.responses == 5
    assert stats.facility == 0.6
    # (5*1.6 - 3*2) / sqrt((5*3 - 9) * (5*1.2 - 4)) = 2 / sqrt(12) = 0.57735; the same as the
    # point-biserial (M1 - M0) / s * sqrt(pq) = (0.5333 - 0.2) / 0.28284 * sqrt(0.24).
    assert stats.discrimination == 0.5774
    assert stats.options == (
        OptionRate("A", 3, 0.6, True), OptionRate("B", 1, 0.2, False),
        OptionRate("C", 1, 0.2, False), OptionRate("D", 0, 0.0, False),
    )  # fmt: skip
    assert stats.flags == ()  # D was never chosen, but 5 responses are too few to say so


def test_flags_need_thirty_responses() -> None:
    easy = _sums([(1, 0.1 * (i % 10), "A") for i in range(29)])
    assert statistics(easy, "theory", ["A", "B", "C"], "A").flags == ()
    easy.add(Contribution("q", 1, 0.5, "A"))
    stats = statistics(easy, "theory", ["A", "B", "C"], "A")
    assert stats.facility == 1.0
    assert stats.discrimination is None  # everyone right: nothing to correlate
    assert stats.flags == (ItemFlag.TOO_EASY, ItemFlag.DISTRACTOR_NEVER_CHOSEN)


def test_too_hard_and_negative_discrimination() -> None:
    hard = _sums([(0, 0.5, "B"), (0, 0.6, "C")] * 15)
    assert statistics(hard, "theory", ["A", "B", "C"], "A").flags == (ItemFlag.TOO_HARD,)
    # Those who do well elsewhere get it wrong: a miskeyed item, most likely.
    backwards = _sums([(1, 0.2, "A"), (0, 0.8, "B"), (0, 0.7, "C")] * 10)
    stats = statistics(backwards, "theory", ["A", "B", "C"], "A")
    assert stats.discrimination is not None
    assert stats.discrimination < 0
    assert stats.flags == (ItemFlag.NEGATIVE_DISCRIMINATION,)


def test_essays_have_a_mean_score_and_no_options() -> None:
    essay = _sums([(0.9, 0.8, None), (0.5, 0.4, None), (0.1, 0.3, None)])
    stats = statistics(essay, "essay")
    assert stats.facility == 0.5
    assert stats.options == ()
    # Sx = 1.5, Sxx = 1.07, Sr = 1.5, Srr = 0.89, Sxr = 0.95:
    # (3*0.95 - 2.25) / sqrt((3.21 - 2.25) * (2.67 - 2.25)) = 0.6 / sqrt(0.4032) = 0.9449
    assert stats.discrimination == 0.9449


def test_a_pick_under_an_old_version_of_the_item_is_still_listed() -> None:
    stats = statistics(_sums([(0, 0.5, "E"), (1, 0.5, "A")]), "theory", ["A", "B"], "A")
    assert [o.key for o in stats.options] == ["A", "B", "E"]


def test_contributions_use_the_rest_of_the_assessment() -> None:
    items = [
        ScoredItem("q1", "theory", 1.0, True, "A"),
        ScoredItem("q2", "theory", 0.0, True, "B"),
        ScoredItem("q3", "essay", 0.5, True),
        ScoredItem("q4", "theory", 0.0, False),  # omitted: counts 0 in others' rest, no response
        ScoredItem(None, "essay", 1.0, True),  # its bank question was deleted
    ]
    # total = 2.5 over 5 items; rest = (2.5 - x) / 4
    assert contributions(items) == (
        Contribution("q1", 1.0, 0.375, "A"),
        Contribution("q2", 0.0, 0.625, "B"),
        Contribution("q3", 0.5, 0.5, None),
    )
    assert contributions(items[:1]) == ()  # one item: no rest score to compare against


def test_a_rescore_changes_only_what_changed_and_round_trips() -> None:
    first = contributions([ScoredItem("q1", "theory", 1.0, True, "A"),
                           ScoredItem("q2", "essay", 0.2, True)])  # fmt: skip
    assert decode(encode(first)) == first
    assert changes(first, first) == {}
    again = contributions([ScoredItem("q1", "theory", 1.0, True, "A"),
                           ScoredItem("q2", "essay", 0.8, True)])  # fmt: skip
    delta = changes(first, again)
    assert set(delta) == {"q1", "q2"}  # q1's rest score moved with q2's score
    total = Sums()
    for c in first:
        total.add(c)
    for change in delta.values():
        total.merge(change)
    expected = Sums()
    for c in again:
        expected.add(c)
    assert total.n == expected.n == 2
    assert total.sum_x == pytest.approx(expected.sum_x)
    assert total.sum_x_rest == pytest.approx(expected.sum_x_rest)
    assert total.options == expected.options == {"A": 1}
    assert decode(None) == ()
