"""Planted benchmark cases: affinity matrices drawn around a known grouping.

Besides the paper's Fig. 2 case, the families vary what the paper says breaks
spectral clustering and Lloyd's k-means on task affinities: groups of unequal
sizes and densities, conflicting (negative) transfer between groups, and
per-task loss scales that differ by orders of magnitude, which scale whole
rows of ``T``. Cases with ``n <= 12`` tasks are small enough for exact search
to confirm that the planted grouping is the optimum of the objective.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import check_random_state
from ..datasets import make_fig2_affinity, make_planted_affinity
from ._registry import BenchCase, BuildContext, CaseData, register_case

__all__ = ["make_row_scaled_affinity", "PLANTED_CASES"]


def make_row_scaled_affinity(
    sizes: Sequence[int],
    *,
    decades: float = 2.0,
    random_state: Any = None,
    **planted: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A planted affinity matrix whose rows are scaled like task losses.

    An affinity measured from raw losses inherits each target task's loss
    scale: row ``u`` of ``T`` is multiplied by that task's scale. This draws a
    planted matrix and multiplies row ``u`` by ``10**e_u``, ``e_u`` uniform in
    ``[-decades/2, decades/2]``.

    Parameters
    ----------
    sizes : sequence of int
        Number of tasks in each group.
    decades : float, default=2.0
        Orders of magnitude between the smallest and the largest possible scale.
    random_state : None, int or numpy Generator
    **planted
        Passed on to :func:`adagroup.datasets.make_planted_affinity`.

    Returns
    -------
    T : ndarray of shape (n_tasks, n_tasks)
    labels : ndarray of shape (n_tasks,)
    scales : ndarray of shape (n_tasks,)
        The factor of each row.
    """
    if not decades >= 0:
        raise ValueError(f"The 'decades' parameter must be >= 0. Got {decades!r} instead.")
    rng = check_random_state(random_state)
    T, labels = make_planted_affinity(sizes, symmetric=False, random_state=rng, **planted)
    scales = 10.0 ** rng.uniform(-decades / 2, decades / 2, size=labels.size)
    return T * scales[:, None], labels, scales


def _names(n: int) -> list[str]:
    width = len(str(n - 1))
    return [f"t{i:0{width}d}" for i in range(n)]


def _fig2(n_tasks: int, seed: int):
    def build(ctx: BuildContext) -> CaseData:
        T, labels = make_fig2_affinity(n_tasks, random_state=seed)
        return CaseData(T, labels, _names(n_tasks), info={"seed": seed})

    return build


def _planted(sizes: Sequence[int], seed: int, **params: Any):
    def build(ctx: BuildContext) -> CaseData:
        T, labels = make_planted_affinity(sizes, random_state=seed, **params)
        return CaseData(T, labels, _names(len(labels)), info={"seed": seed, "sizes": list(sizes)})

    return build


def _row_scaled(sizes: Sequence[int], seed: int, decades: float, **params: Any):
    def build(ctx: BuildContext) -> CaseData:
        T, labels, scales = make_row_scaled_affinity(
            sizes, decades=decades, random_state=seed, **params
        )
        info = {
            "seed": seed,
            "sizes": list(sizes),
            "row_scale_range": [float(scales.min()), float(scales.max())],
        }
        return CaseData(T, labels, _names(len(labels)), info=info)

    return build


def _case(name: str, k: int, build, description: str, suites=("quick", "full")) -> BenchCase:
    return register_case(
        BenchCase(
            name=name,
            family="planted",
            n_clusters=k,
            build=build,
            suites=tuple(suites),
            description=description,
        )
    )


# Small families (n <= 12, checked by exact search): name, k, builder(seed), description,
# the seed in the quick suite. The quick seeds are draws where exact search confirms the
# planted groups and spectral or Lloyd miss them; the full suite adds five more draws each.
_SMALL_FAMILIES: list[tuple[str, int, Any, str, int]] = [
    (
        "planted-k2-n11",
        2,
        lambda seed: _planted(
            [8, 3],
            seed,
            within_mean=[0.5, 3.0],
            within_std=0.5,
            between_mean=0.3,
            between_std=0.5,
        ),
        "2 groups: a large sparse one (8 tasks, 0.5) and a small dense one (3 tasks, 3.0)",
        4,
    ),
    (
        "planted-unequal-n10-k3",
        3,
        lambda seed: _planted(
            [6, 2, 2],
            seed,
            within_mean=[0.6, 3.0, 2.5],
            within_std=[0.3, 0.5, 0.5],
            between_mean=np.array([[0, 0.3, 0.3], [0.3, 0, 1.8], [0.3, 1.8, 0]]),
            between_std=0.3,
        ),
        "unequal sizes (6+2+2) and densities: a large sparse group, two small dense groups "
        "close to each other",
        2,
    ),
    (
        "planted-sparse-dense-n12-k3",
        3,
        lambda seed: _planted(
            [7, 3, 2],
            seed,
            within_mean=[1.0, 4.0, 4.0],
            within_std=0.5,
            between_mean=np.array([[0, 0.5, 0.5], [0.5, 0, 2.5], [0.5, 2.5, 0]]),
            between_std=0.5,
        ),
        "a large sparse group (7 tasks) and two small dense groups (3+2) with 2.5 between them",
        0,
    ),
    (
        "planted-conflict-n10-k4",
        4,
        lambda seed: _planted(
            [4, 2, 2, 2],
            seed,
            within_mean=[0.5, 1.0, 1.5, 2.0],
            within_std=0.3,
            between_mean=-0.5,
            between_std=0.3,
        ),
        "4 groups (4+2+2+2), densities 0.5..2, negative transfer between groups",
        4,
    ),
    (
        "planted-k5-n11",
        5,
        lambda seed: _planted(
            [3, 2, 2, 2, 2],
            seed,
            within_mean=[0.5, 1.0, 1.5, 2.0, 2.5],
            within_std=0.4,
            between_mean=0.0,
            between_std=0.4,
        ),
        "5 groups (3+2+2+2+2), densities 0.5..2.5, noisy (std 0.4)",
        3,
    ),
    (
        "planted-rowscale-n11-k3",
        3,
        lambda seed: _row_scaled(
            [6, 3, 2],
            seed,
            3.0,
            within_mean=1.0,
            within_std=0.1,
            between_mean=0.0,
            between_std=0.1,
        ),
        "3 unequal groups (6+3+2), rows scaled over 3 decades (losses of different scales)",
        2,
    ),
    (
        "planted-rowscale-n12-k4",
        4,
        lambda seed: _row_scaled(
            [5, 3, 2, 2],
            seed,
            4.0,
            within_mean=[0.5, 1.0, 1.0, 2.0],
            within_std=0.05,
            between_mean=-0.2,
            between_std=0.05,
        ),
        "4 unequal groups (5+3+2+2) and densities, conflicts, rows scaled over 4 decades",
        2,
    ),
    (
        "planted-rowscale-n12-k6",
        6,
        lambda seed: _row_scaled(
            [2] * 6,
            seed,
            2.0,
            within_mean=1.0,
            within_std=0.15,
            between_mean=-0.2,
            between_std=0.15,
        ),
        "6 pairs of tasks, conflicts, rows scaled over 2 decades",
        3,
    ),
]

PLANTED_CASES: list[BenchCase] = [
    _case(
        "planted-fig2",
        3,
        _fig2(150, 0),
        "the paper's Fig. 2: n=150, one sparse group (12±4), two dense close groups (14±2, "
        "13 between them)",
    ),
    *[
        _case(
            f"planted-fig2-seed{s}",
            3,
            _fig2(150, s),
            f"Fig. 2 parameters, draw {s}",
            suites=("full",),
        )
        for s in (1, 2, 3, 4)
    ],
]
for _name, _k, _make, _description, _seed in _SMALL_FAMILIES:
    PLANTED_CASES.append(_case(_name, _k, _make(_seed), f"{_description} (draw {_seed})"))
    for _other in [s for s in range(6) if s != _seed][:5]:
        PLANTED_CASES.append(
            _case(
                f"{_name}-seed{_other}",
                _k,
                _make(_other),
                f"{_description} (draw {_other})",
                suites=("full",),
            )
        )
PLANTED_CASES += [
    _case(
        "planted-unequal-n60-k4",
        4,
        _planted(
            [30, 15, 10, 5],
            6,
            within_mean=[0.5, 1.0, 2.0, 4.0],
            within_std=0.5,
            between_mean=0.0,
            between_std=0.5,
        ),
        "n=60: unequal sizes (30+15+10+5) and densities (0.5..4)",
    ),
    _case(
        "planted-rowscale-n60-k5",
        5,
        _row_scaled(
            [12] * 5,
            7,
            3.0,
            within_mean=1.0,
            within_std=0.3,
            between_mean=0.0,
            between_std=0.3,
        ),
        "n=60: 5 equal groups, rows scaled over 3 decades",
    ),
    _case(
        "planted-mixed-n120-k6",
        6,
        _row_scaled(
            [40, 30, 20, 15, 10, 5],
            8,
            2.0,
            within_mean=[0.5, 0.8, 1.0, 1.5, 2.0, 3.0],
            within_std=0.4,
            between_mean=-0.2,
            between_std=0.4,
        ),
        "n=120: 6 unequal groups and densities, conflicts, rows scaled over 2 decades",
        suites=("full",),
    ),
]
