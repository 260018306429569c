"""The network-selection MILP (HiGHS through ``scipy.optimize.milp``) and its certified bound.

Model (uncapacitated facility location with a budget), on oriented scores ``v[t, s]``::

    max  sum_{t, s ∋ t} v[t, s] y[t, s]
    s.t. sum_{s ∋ t} y[t, s] = 1      for every task t      (dual lambda_t, free)
         y[t, s] <= x[s]               for every t in s      (dual mu_ts >= 0)
         sum_s x[s] <= B                                     (dual pi >= 0)
         x binary, 0 <= y <= 1

``y`` needs no integrality: once ``x`` is integral, each task's best open network is a
vertex of its assignment constraints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import LinearConstraint, linprog, milp

from ._scores import Candidates

__all__ = ["Solution", "solve", "min_cover", "lagrangian_bound"]

#: Relative MIP gap at which HiGHS stops; far below any difference of scores we report.
MIP_REL_GAP = 1e-9


@dataclass(frozen=True)
class Solution:
    """What the MILP found, in oriented units (higher is better)."""

    chosen: list[int]
    assign: dict[int, int]
    objective: float
    bound: float
    optimal: bool


class _Model:
    """The sparse MILP of a candidate set; ``y`` variables follow the ``x`` ones."""

    def __init__(self, cands: Candidates, n_tasks: int, budget: int) -> None:
        m = len(cands.subsets)
        owner = np.repeat(np.arange(m), [len(s) for s in cands.subsets])
        task = np.fromiter((t for s in cands.subsets for t in s), dtype=np.int64)
        value = np.fromiter((v for vs in cands.values for v in vs), dtype=float)
        ny = len(task)
        ys = m + np.arange(ny)
        # Rows: n task equalities, ny links y - x <= 0, one budget row.
        rows = np.concatenate([task, n_tasks + np.arange(ny), n_tasks + np.arange(ny)])
        cols = np.concatenate([ys, ys, owner])
        data = np.concatenate([np.ones(ny), np.ones(ny), -np.ones(ny)])
        rows = np.concatenate([rows, np.full(m, n_tasks + ny)])
        cols = np.concatenate([cols, np.arange(m)])
        data = np.concatenate([data, np.ones(m)])
        self.A = sparse.csr_array((data, (rows, cols)), shape=(n_tasks + ny + 1, m + ny))
        self.lb = np.concatenate([np.ones(n_tasks), np.full(ny, -np.inf), [-np.inf]])
        self.ub = np.concatenate([np.ones(n_tasks), np.zeros(ny), [budget]])
        self.c = np.concatenate([np.zeros(m), -value])
        self.m, self.n, self.ny = m, n_tasks, ny
        self.owner, self.task, self.value = owner, task, value


def solve(cands: Candidates, n_tasks: int, budget: int, time_limit: float) -> Solution | None:
    """Solve the MILP over ``cands``; None when no ``budget`` networks serve every task."""
    model = _Model(cands, n_tasks, budget)
    integrality = np.concatenate([np.ones(model.m), np.zeros(model.ny)])
    res = milp(
        model.c,
        constraints=LinearConstraint(model.A, model.lb, model.ub),
        integrality=integrality,
        bounds=(0, 1),
        options={"time_limit": time_limit, "mip_rel_gap": MIP_REL_GAP},
    )
    if res.x is None:
        if res.status == 2:
            return None
        raise RuntimeError(f"HiGHS found no selection within {time_limit} s: {res.message}")
    x = res.x[: model.m] > 0.5
    # Each task goes to its best open network (ties: the first), which is what an
    # optimal y does anyway, and is exact where y came back fractional.
    best: dict[int, tuple[float, int]] = {}
    for k in range(model.ny):
        s, t, v = int(model.owner[k]), int(model.task[k]), float(model.value[k])
        if x[s] and (t not in best or v > best[t][0]):
            best[t] = (v, s)
    assign = {t: s for t, (_, s) in best.items()}
    objective = sum(v for v, _ in best.values())
    dual = getattr(res, "mip_dual_bound", None)
    bound = -float(dual) if dual is not None and math.isfinite(dual) else math.inf
    return Solution(
        chosen=sorted(set(assign.values())),
        assign=assign,
        objective=objective,
        bound=max(bound, objective),
        optimal=res.status == 0,
    )


def lagrangian_bound(
    cands: Candidates,
    n_tasks: int,
    budget: int,
    pairs: dict[int, dict[int, float]],
) -> float:
    """An upper bound on the best selection among *all* predictable subsets, not only ``cands``.

    Any multipliers ``lambda`` give the dual-feasible point ``mu_ts = max(0, v_ts - lambda_t)``,
    ``pi = max(0, max_s sum_t mu_ts)``, whose value ``sum lambda + B pi`` bounds the LP, hence
    the MILP, over every candidate. ``lambda`` comes from the LP relaxation over ``cands``; for
    the left-out subsets of size ``k`` a task's predicted score is a mean of ``k - 1`` of its
    pair scores, so at most the mean of its ``k - 1`` best, which bounds their ``sum_t mu_ts``
    by the ``k`` largest such terms.
    """
    model = _Model(cands, n_tasks, budget)
    n = model.n
    res = linprog(
        model.c,
        A_ub=model.A[n:],
        b_ub=model.ub[n:],
        A_eq=model.A[:n],
        b_eq=model.ub[:n],
        bounds=(0, 1),
        method="highs",
    )
    if res.status != 0:
        return math.inf
    lam = -np.asarray(res.eqlin.marginals, dtype=float)
    excess = np.maximum(0.0, model.value - lam[model.task])
    per_network = np.bincount(model.owner, weights=excess, minlength=model.m)
    worst = float(per_network.max(initial=0.0))
    ranked = {t: sorted(p.values(), reverse=True) for t, p in pairs.items()}
    for k in range(cands.largest_size + 1, cands.max_size + 1):
        terms = [
            max(0.0, sum(r[: k - 1]) / (k - 1) - lam[t])
            for t, r in ranked.items()
            if len(r) >= k - 1
        ]
        if len(terms) < k:
            break  # no task has k - 1 partners in enough places: no k-clique
        worst = max(worst, sum(sorted(terms, reverse=True)[:k]))
    return float(lam.sum()) + budget * worst


def min_cover(cands: Candidates, n_tasks: int) -> int | None:
    """The fewest candidates that contain every task (None if some task is in none)."""
    m = len(cands.subsets)
    rows = [t for s in cands.subsets for t in s]
    cols = [i for i, s in enumerate(cands.subsets) for _ in s]
    A = sparse.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n_tasks, m))
    res = milp(
        np.ones(m),
        constraints=LinearConstraint(A, 1, np.inf),
        integrality=np.ones(m),
        bounds=(0, 1),
        options={"time_limit": 10.0},
    )
    return None if res.x is None else round(float(res.x.sum()))
