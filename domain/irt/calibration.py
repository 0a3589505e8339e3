"""Fitting item difficulties of one domain to stored multiple-choice responses.

Method: marginal maximum likelihood (Bock and Aitkin's EM) of the Rasch model, with abilities
theta ~ N(0, sigma^2) integrated out on a fixed grid (quadrature.py). The mean ability is fixed
at 0 (that sets the scale's origin); sigma is estimated unless given.

Why marginal rather than joint maximum likelihood: a student meets only a few items of a
domain (one to three on the default form), so almost every student answers all of them right
or all wrong. Joint ML must drop those students (their ability estimate is infinite) and its
item estimates are biased outward for short tests, by more than the (n-1)/n correction undoes
at n = 2 or 3. Marginal ML uses every student, perfect and zero scores included (they say where
the population lies), and is consistent as students grow with the items held fixed: the case
here. The data are sparse by design (items not shown are missing, not wrong) and the fit only
looks at what each student answered.

Which items are fitted: an item with at least `min_responses` responses that some answered right
and some wrong. The others keep their prior (model.prior_difficulty) and are held at it during
the fit, as anchors: an item everybody answered correctly has no finite maximum-likelihood
difficulty, and one seen by a handful of students would be noise. Their responses still inform
sigma and the students' posteriors.

Standard errors: the inverse of the cross-product (empirical) information, the sum over
students of the outer product of each student's score vector of the marginal log likelihood,
the estimate Bock and Aitkin give and mirt calls "crossprod". If that matrix is singular, an
item falls back to 1 / sqrt(its expected information), which understates the SE.

Convergence: every parameter moving less than `tolerance` between EM cycles within
`max_iterations`, and no difficulty beyond +-DIFFICULTY_BOUND logits. Otherwise the result says
converged=False and why; the caller keeps the previous parameters (issue 19: bad input).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from domain.irt.model import MIN_RESPONSES, ItemParameter, ParameterSource, probability
from domain.irt.quadrature import standard_normal_grid

GRID_POINTS = 41
DIFFICULTY_BOUND = 8.0
SD_MIN, SD_MAX = 0.05, 10.0
MAX_STEP = 1.0


@dataclass(frozen=True)
class Response:
    person: str  # the unit that answered: one assessment
    item: str
    correct: bool


@dataclass(frozen=True)
class Calibration:
    parameters: tuple[ItemParameter, ...]  # in the order of the priors given
    population_sd: float
    converged: bool
    iterations: int
    log_likelihood: float
    note: str = ""  # why it did not converge; empty when it did

    def fitted(self) -> tuple[ItemParameter, ...]:
        return tuple(p for p in self.parameters if p.source is ParameterSource.FITTED)


# One answer pattern: the (item index, correct) pairs of a student, sorted.
Pattern = tuple[tuple[int, bool], ...]


def calibrate(
    responses: Iterable[Response],
    priors: Sequence[ItemParameter],
    min_responses: int = MIN_RESPONSES,
    population_sd: float | None = None,
    max_iterations: int = 500,
    tolerance: float = 1e-4,
) -> Calibration:
    """Fit the domain's items. `priors` are every item of the domain with its prior (or current)
    parameter; responses to other items are ignored, and a person's repeated answer to one item
    counts once (the last)."""
    index = {p.item: i for i, p in enumerate(priors)}
    answers: dict[str, dict[int, bool]] = {}
    for response in responses:
        i = index.get(response.item)
        if i is not None:
            answers.setdefault(response.person, {})[i] = response.correct
    patterns: Counter[Pattern] = Counter(tuple(sorted(a.items())) for a in answers.values())
    counts = [0] * len(priors)
    rights = [0] * len(priors)
    for pattern, n in patterns.items():
        for i, x in pattern:
            counts[i] += n
            rights[i] += n * x
    free = [counts[i] >= min_responses and 0 < rights[i] < counts[i] for i in range(len(priors))]
    start = [p.difficulty for p in priors]
    if not any(free):
        return Calibration(
            tuple(_held(p, counts[i]) for i, p in enumerate(priors)),
            population_sd or 1.0,
            True,
            0,
            0.0,
        )
    fit = _em(patterns, start, free, population_sd, max_iterations, tolerance)
    parameters = tuple(
        ItemParameter(
            p.item, p.domain, fit.difficulties[i], fit.errors[i], ParameterSource.FITTED, counts[i]
        )
        if free[i]
        else _held(p, counts[i])
        for i, p in enumerate(priors)
    )
    return Calibration(
        parameters, fit.sd, fit.converged, fit.iterations, fit.log_likelihood, fit.note
    )


def _held(prior: ItemParameter, responses: int) -> ItemParameter:
    return ItemParameter(
        prior.item,
        prior.domain,
        prior.difficulty,
        prior.standard_error,
        ParameterSource.PRIOR,
        responses,
    )


@dataclass(frozen=True)
class _Fit:
    difficulties: list[float]
    errors: list[float]
    sd: float
    converged: bool
    iterations: int
    log_likelihood: float
    note: str


@dataclass
class _Expected:
    """The E step: expected answers and right answers per item and node, and the posteriors."""

    n: list[list[float]]
    r: list[list[float]]
    log_likelihood: float
    posteriors: list[tuple[Pattern, int, list[float]]]


def _em(
    patterns: Counter[Pattern],
    b: list[float],
    free: list[bool],
    fixed_sd: float | None,
    max_iterations: int,
    tolerance: float,
) -> _Fit:
    grid = standard_normal_grid(GRID_POINTS)
    z = grid.nodes
    log_w = [math.log(w) for w in grid.weights]
    sd = fixed_sd if fixed_sd is not None else 1.0
    b = list(b)
    converged = False
    note = ""
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 - reported after the loop
        table = _table(b, sd, z)
        expected = _expect(patterns, table, log_w, len(b), keep=False)
        change = 0.0
        for i in range(len(b)):
            if not free[i]:
                continue
            grad = hess = 0.0
            for q, p in enumerate(table[i]):
                grad += expected.n[i][q] * p - expected.r[i][q]
                hess += expected.n[i][q] * p * (1 - p)
            step = max(-MAX_STEP, min(MAX_STEP, grad / hess)) if hess > 0 else 0.0
            b[i] += step
            change = max(change, abs(step))
        if fixed_sd is None:
            grad = hess = 0.0
            for i in range(len(b)):
                for q, p in enumerate(table[i]):
                    grad += (expected.r[i][q] - expected.n[i][q] * p) * z[q]
                    hess += expected.n[i][q] * p * (1 - p) * z[q] * z[q]
            step = max(-0.5, min(0.5, grad / hess)) if hess > 0 else 0.0
            new_sd = max(SD_MIN, min(SD_MAX, sd + step))
            change = max(change, abs(new_sd - sd))
            sd = new_sd
        if any(abs(v) > DIFFICULTY_BOUND for v in b):
            note = f"a difficulty left +-{DIFFICULTY_BOUND} logits: the data do not bound it"
            break
        if change < tolerance:
            converged = True
            break
    else:
        note = f"no convergence within {max_iterations} EM cycles"
    table = _table(b, sd, z)
    final = _expect(patterns, table, log_w, len(b), keep=True)
    errors = _standard_errors(final, table, z, free, fixed_sd is None)
    return _Fit(b, errors, sd, converged, iterations, final.log_likelihood, note)


def _table(b: Sequence[float], sd: float, z: Sequence[float]) -> list[list[float]]:
    """P(correct) per item and node."""
    return [[probability(sd * zq, bi) for zq in z] for bi in b]


def _expect(
    patterns: Counter[Pattern],
    table: list[list[float]],
    log_w: Sequence[float],
    items: int,
    keep: bool,
) -> _Expected:
    nodes = len(log_w)
    log_p = [[math.log(max(p, 1e-300)) for p in row] for row in table]
    log_q = [[math.log(max(1 - p, 1e-300)) for p in row] for row in table]
    n = [[0.0] * nodes for _ in range(items)]
    r = [[0.0] * nodes for _ in range(items)]
    total = 0.0
    kept: list[tuple[Pattern, int, list[float]]] = []
    for pattern, count in patterns.items():
        log_post = list(log_w)
        for i, x in pattern:
            row = log_p[i] if x else log_q[i]
            for q in range(nodes):
                log_post[q] += row[q]
        top = max(log_post)
        post = [math.exp(v - top) for v in log_post]
        mass = math.fsum(post)
        total += count * (top + math.log(mass))
        post = [v / mass for v in post]
        for i, x in pattern:
            ni, ri = n[i], r[i]
            for q in range(nodes):
                ni[q] += count * post[q]
                if x:
                    ri[q] += count * post[q]
        if keep:
            kept.append((pattern, count, post))
    return _Expected(n, r, total, kept)


def _standard_errors(
    expected: _Expected,
    table: list[list[float]],
    z: Sequence[float],
    free: list[bool],
    with_sd: bool,
) -> list[float]:
    columns = [i for i, f in enumerate(free) if f]
    position = {i: k for k, i in enumerate(columns)}
    size = len(columns) + (1 if with_sd else 0)
    info = [[0.0] * size for _ in range(size)]
    for pattern, count, post in expected.posteriors:
        g = [0.0] * size
        for i, x in pattern:
            mean_p = math.fsum(w * p for w, p in zip(post, table[i], strict=True))
            if i in position:
                # d/db log P(x | theta) = P - x, averaged over the posterior.
                g[position[i]] = mean_p - x
            if with_sd:
                # d/dsigma: (x - P) * z at each node, averaged over the posterior.
                g[-1] += math.fsum(
                    w * (x - p) * zq for w, p, zq in zip(post, table[i], z, strict=True)
                )
        for a in range(size):
            if g[a]:
                row = info[a]
                for c in range(size):
                    row[c] += count * g[a] * g[c]
    inverse = _invert(info)
    errors = [math.nan] * len(free)
    for i, k in position.items():
        if inverse is not None and inverse[k][k] > 0:
            errors[i] = math.sqrt(inverse[k][k])
        else:
            expected_info = math.fsum(
                n * p * (1 - p) for n, p in zip(expected.n[i], table[i], strict=True)
            )
            errors[i] = 1 / math.sqrt(expected_info) if expected_info > 0 else math.inf
    return errors


def _invert(matrix: list[list[float]]) -> list[list[float]] | None:
    """Gauss-Jordan with partial pivoting; None when (numerically) singular."""
    size = len(matrix)
    a = [row[:] + [1.0 if r == c else 0.0 for c in range(size)] for r, row in enumerate(matrix)]
    scale = max((abs(v) for row in matrix for v in row), default=0.0)
    if scale == 0:
        return None
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-12 * scale:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        head = a[col][col]
        a[col] = [v / head for v in a[col]]
        for r in range(size):
            if r != col and a[r][col]:
                factor = a[r][col]
                a[r] = [v - factor * w for v, w in zip(a[r], a[col], strict=True)]
    return [row[size:] for row in a]
