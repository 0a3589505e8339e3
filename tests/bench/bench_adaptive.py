"""`make bench-adaptive`: fixed vs adaptive theory forms, by simulation (issue 19).

Simulated students with known abilities theta ~ N(0, 1) answer, under the Rasch model, the
multiple-choice items of one domain at a time. Item parameters are the priors of the shipped
bank (seeds/questions.yaml: authored difficulty 1..5 -> logits, domain/irt/model.py); every
THEORETICAL item of the domain, whatever its track, is in the pool.

- fixed form: as today, a set of L items of the domain drawn at random for each student
  (domain/selection.py draws within a domain by a seeded generator);
- adaptive form: L items chosen one at a time by domain/irt/adaptive.next_item (maximum
  information at the current EAP estimate, randomesque among the top 3).
Both are scored by the same EAP (N(0, 1) prior), so the difference is the choice of items only.

Printed per length L: RMSE of the estimate against the true theta, mean posterior SD (the
reported SE), the rate of correct band classification and, for adaptive, the largest share of
students shown any one item (exposure). Bands: the true and the estimated ability are mapped to
the 0..1 score (expected proportion correct on the domain's items) and banded by the profile's
thresholds (domain/profile.py: BEGINNER below 0.4, ADVANCED from 0.75).

Then the same on a SYNTHETIC bank (clearly not the shipped one): 60 items per domain with
difficulties spread evenly over [-2.5, 2.5], to show what adaptivity gives once the bank is
deep and wide enough; and calibration recovery: 300 students answer every item of each shipped
domain under "true" difficulties = prior + N(0, 0.5^2) noise, the marginal-ML fit is correlated
with the truth per domain.

Last line: se_reduction=<at L=6 on the shipped bank> items_saved=<adaptive items needed to reach
the fixed form's L=6 SE, as a saved fraction> recovery_r=<mean per-domain r>.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from domain.irt.ability import Posterior
from domain.irt.adaptive import PoolItem, next_item
from domain.irt.calibration import Response, calibrate
from domain.irt.model import expected_score, prior_parameter, probability, theta_for_score
from domain.profile import ADVANCED_FROM, BEGINNER_BELOW

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = ROOT / "seeds" / "questions.yaml"
REFERENCE_LENGTH = 6


@dataclass(frozen=True)
class Row:
    length: int
    rmse: float
    mean_se: float
    band_rate: float
    exposure_max: float


def load_bank(path: Path) -> dict[str, list[PoolItem]]:
    raw = yaml.safe_load(path.read_text())
    bank: dict[str, list[PoolItem]] = {}
    for q in raw["questions"]:
        if q["type"] == "THEORETICAL":
            param = prior_parameter(q["key"], q["domain"], q.get("difficulty"))
            bank.setdefault(q["domain"], []).append(
                PoolItem(param.item, param.domain, param.difficulty)
            )
    return bank


def band(score: float) -> int:
    return 0 if score < BEGINNER_BELOW else (2 if score >= ADVANCED_FROM else 1)


def simulate(
    pool: list[PoolItem], students: int, max_length: int, adaptive: bool, seed: int
) -> list[Row]:
    rng = random.Random(seed)
    reference = [it.difficulty for it in pool]
    errors = [[0.0] * students for _ in range(max_length)]
    ses = [[0.0] * students for _ in range(max_length)]
    bands_ok = [[False] * students for _ in range(max_length)]
    exposure = [Counter[str]() for _ in range(max_length)]
    domain = pool[0].domain
    for s in range(students):
        theta = rng.gauss(0.0, 1.0)
        true_band = band(expected_score(theta, reference))
        posterior = Posterior.prior()
        order = rng.sample(pool, len(pool))
        shown: list[str] = []
        for k in range(max_length):
            if adaptive:
                estimate = posterior.estimate().theta
                item = next_item(pool, shown, {domain: max_length}, {domain: estimate}, rng)
                assert item is not None
            else:
                item = order[k]
            shown.append(item.id)
            correct = rng.random() < probability(theta, item.difficulty)
            posterior = posterior.update(item.difficulty, correct)
            est = posterior.estimate()
            errors[k][s] = est.theta - theta
            ses[k][s] = est.standard_error
            bands_ok[k][s] = band(expected_score(est.theta, reference)) == true_band
            for seen in shown:
                exposure[k][seen] += 1
    return [
        Row(
            k + 1,
            math.sqrt(statistics.fmean(e * e for e in errors[k])),
            statistics.fmean(ses[k]),
            sum(bands_ok[k]) / students,
            max(exposure[k].values()) / students,
        )
        for k in range(max_length)
    ]


def pooled(rows_by_domain: list[list[Row]]) -> list[Row]:
    """Mean over domains, length by length (RMSE pooled as the root of the mean square)."""
    out = []
    for k in range(len(rows_by_domain[0])):
        rows = [r[k] for r in rows_by_domain]
        out.append(
            Row(
                k + 1,
                math.sqrt(statistics.fmean(r.rmse**2 for r in rows)),
                statistics.fmean(r.mean_se for r in rows),
                statistics.fmean(r.band_rate for r in rows),
                max(r.exposure_max for r in rows),
            )
        )
    return out


def print_table(title: str, fixed: list[Row], adaptive: list[Row]) -> None:
    print(f"\n{title}")
    print(
        " L | fixed: rmse  mean_se band_ok | adaptive: rmse  mean_se band_ok exposure_max | se cut"
    )
    for f, a in zip(fixed, adaptive, strict=True):
        cut = 1 - a.mean_se / f.mean_se
        print(
            f"{f.length:2d} |        {f.rmse:.3f}  {f.mean_se:.3f}   {f.band_rate:.3f} |"
            f"           {a.rmse:.3f}  {a.mean_se:.3f}   {a.band_rate:.3f}   {a.exposure_max:.3f}"
            f"      | {cut:+.1%}"
        )


def items_needed(fixed: list[Row], adaptive: list[Row], length: int) -> int | None:
    target = fixed[length - 1].mean_se
    return next((a.length for a in adaptive if a.mean_se <= target), None)


def summary(label: str, fixed: list[Row], adaptive: list[Row], length: int) -> tuple[float, float]:
    reduction = 1 - adaptive[length - 1].mean_se / fixed[length - 1].mean_se
    needed = items_needed(fixed, adaptive, length)
    saved = 1 - needed / length if needed is not None else 0.0
    print(
        f"{label}: at L={length} adaptive cuts the mean SE by {reduction:.1%} (target >= 20%); "
        f"it reaches the fixed form's SE {fixed[length - 1].mean_se:.3f} with "
        f"{needed if needed is not None else 'more than ' + str(len(adaptive))} items "
        f"({saved:.0%} fewer; target >= 25%)"
    )
    return reduction, saved


def recovery(bank: dict[str, list[PoolItem]], students: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    rs = []
    for domain, pool in sorted(bank.items()):
        true = {it.id: it.difficulty + rng.gauss(0.0, 0.5) for it in pool}
        responses = []
        for s in range(students):
            theta = rng.gauss(0.0, 1.0)
            for it in pool:
                correct = rng.random() < probability(theta, true[it.id])
                responses.append(Response(f"s{s}", it.id, correct))
        priors = [prior_parameter(it.id, domain, None) for it in pool]
        fit = calibrate(responses, priors)
        fitted = [p.difficulty for p in fit.parameters]
        r = statistics.correlation(fitted, [true[it.id] for it in pool])
        rs.append(r)
        print(f"  {domain:13s} items={len(pool):2d} converged={fit.converged} r={r:.3f}")
    return rs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    args = parser.parse_args()
    bank = load_bank(args.questions)
    print(f"shipped bank ({args.questions.name}), prior difficulties, {args.students} students")
    for domain, pool in sorted(bank.items()):
        spread = Counter(round(it.difficulty, 1) for it in pool)
        print(f"  {domain:13s} items={len(pool):2d} logits: {dict(sorted(spread.items()))}")
        reference = [it.difficulty for it in pool]
        low, high = (theta_for_score(c, reference) for c in (BEGINNER_BELOW, ADVANCED_FROM))
        print(
            f"  {'':13s} band cuts in logits: beginner < {low:+.2f} <= intermediate < {high:+.2f}"
        )
    length = min(10, min(len(p) for p in bank.values()))
    fixed_rows, adaptive_rows = [], []
    for n, (_, pool) in enumerate(sorted(bank.items())):
        fixed_rows.append(simulate(pool, args.students, length, False, args.seed + n))
        adaptive_rows.append(simulate(pool, args.students, length, True, args.seed + 100 + n))
    fixed, adaptive = pooled(fixed_rows), pooled(adaptive_rows)
    print_table("SHIPPED BANK, per domain, mean over the 8 domains", fixed, adaptive)
    se_reduction, items_saved = summary("shipped", fixed, adaptive, REFERENCE_LENGTH)
    summary("shipped", fixed, adaptive, length)

    synthetic = [PoolItem(f"x{k}", "synthetic", -2.5 + 5 * k / 59) for k in range(60)]
    syn_fixed = simulate(synthetic, args.students, 20, False, args.seed + 7)
    syn_adaptive = simulate(synthetic, args.students, 20, True, args.seed + 8)
    print_table(
        "SYNTHETIC BANK (not shipped): 60 items, b evenly on [-2.5, 2.5]", syn_fixed, syn_adaptive
    )
    summary("synthetic", syn_fixed, syn_adaptive, REFERENCE_LENGTH)
    summary("synthetic", syn_fixed, syn_adaptive, 10)

    # No Rasch item holds more than 0.25 of information, so with the N(0, 1) prior no form of
    # length L can have a posterior SD below about 1 / sqrt(1 + 0.25 L).
    for n in (REFERENCE_LENGTH, 10):
        floor = 1 / math.sqrt(1 + 0.25 * n)
        print(
            f"Rasch floor at L={n}: SE >= {floor:.3f}, i.e. at most "
            f"{1 - floor / syn_fixed[n - 1].mean_se:.1%} below the synthetic fixed form and "
            f"{1 - floor / fixed[min(n, length) - 1].mean_se:.1%} below the shipped one"
        )

    print("\ncalibration recovery: 300 students, true b = prior + N(0, 0.5^2), all items")
    rs = recovery(bank, 300, args.seed + 9)
    recovery_r = statistics.fmean(rs)
    print(f"  mean r={recovery_r:.3f} min r={min(rs):.3f} (target >= 0.9)")
    print(
        f"se_reduction={se_reduction:.3f} items_saved={items_saved:.3f} recovery_r={recovery_r:.3f}"
    )


if __name__ == "__main__":
    main()
