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
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import LinearConstraint, linprog, milp

from ._scores import Candidates, grow_cliques, predict

__all__ = ["Solution", "solve", "min_cover", "certify"]

#: Relative MIP gap at which HiGHS stops; far below any difference of scores we report.
MIP_REL_GAP = 1e-9
LP_METHOD = "highs"


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


def certify(
    cands: Candidates,
    n_tasks: int,
    budget: int,
    P: np.ndarray,
    *,
    price_cap: int = 300_000,
    rounds: int = 20,
    per_round: int = 50,
    node_limit: int = 20_000,
    time_limit: float = math.inf,
) -> tuple[Candidates, float]:
    """Column generation over the predicted subsets left out of ``cands``, and a bound.

    Returns the candidates with the columns it added and an upper bound on the best
    selection among *all* predictable subsets. Any multipliers ``lambda`` give the
    dual-feasible point ``mu_ts = max(0, v_ts - lambda_t)``, ``pi = max(0, max_s sum_t
    mu_ts)``, whose value ``sum lambda + B pi`` bounds the LP, hence the MILP, over every
    candidate. ``lambda`` comes from the LP relaxation over the current columns. Left-out
    sizes with at most ``price_cap`` subsets are priced exactly (and their best columns
    added, which improves ``lambda``); larger sizes by a branch-and-bound search over
    cliques of the pair graph (:func:`_search_cliques`). Stops adding columns after
    ``time_limit`` seconds; the bound of the last round is valid all the same.
    """
    deadline = time.perf_counter() + time_limit
    subsets, values = list(cands.subsets), list(cands.values)
    predicted = list(cands.predicted)
    known = set(subsets)
    adjacent = ~np.isnan(P)
    priced, relaxed_from = _enumerate_left_out(cands, adjacent, known, price_cap)
    priced_values = {k: predict(C, P) for k, C in priced.items()}
    taken = {k: np.zeros(len(C), dtype=bool) for k, C in priced.items()}
    bound = math.inf
    for _ in range(rounds):
        current = Candidates(subsets, values, predicted, False, cands.largest_size, cands.max_size)
        lam = _lp_duals(current, n_tasks, budget, deadline - time.perf_counter())
        if lam is None:
            break
        model = _Model(current, n_tasks, budget)
        excess = np.maximum(0.0, model.value - lam[model.task])
        included = float(np.bincount(model.owner, weights=excess, minlength=model.m).max())
        worst = included
        new: list[tuple[int, np.ndarray]] = []
        extra: list[tuple[int, ...]] = []
        for k, C in priced.items():
            rc = np.maximum(0.0, priced_values[k] - lam[C]).sum(axis=1)
            worst = max(worst, float(rc.max(initial=0.0)))
            rc[taken[k]] = -np.inf
            best = np.argsort(rc)[::-1][:per_round]
            best = best[rc[best] > included + 1e-9 * max(1.0, included)]
            taken[k][best] = True
            new += [(k, row) for row in best]
        for k in range(relaxed_from, cands.max_size + 1):
            top, found = _search_cliques(
                P, adjacent, lam, k, included, node_limit, per_round, known
            )
            worst = max(worst, top)
            for _, clique in sorted(found, reverse=True)[:per_round]:
                known.add(clique)
                extra.append(clique)
        bound = min(bound, float(lam.sum()) + budget * worst)
        if (not new and not extra) or time.perf_counter() > deadline:
            break
        for k, row in new:
            subsets.append(tuple(int(t) for t in priced[k][row]))
            values.append(tuple(float(v) for v in priced_values[k][row]))
            predicted.append(True)
        for clique in extra:
            subsets.append(clique)
            values.append(tuple(predict(np.array([clique]), P)[0].tolist()))
            predicted.append(True)
    out = Candidates(subsets, values, predicted, False, cands.largest_size, cands.max_size)
    return out, bound


def _search_cliques(
    P: np.ndarray,
    adjacent: np.ndarray,
    lam: np.ndarray,
    k: int,
    floor: float,
    node_limit: int,
    max_found: int = 1_000_000,
    skip: frozenset[tuple[int, ...]] | set[tuple[int, ...]] = frozenset(),
) -> tuple[float, list[tuple[float, tuple[int, ...]]]]:
    """Bound ``max rc(S)`` over the ``k``-cliques ``S``, ``rc(S) = sum_t max(0, v_t(S) - lam_t)``.

    Returns ``(upper, found)``: ``upper >= max(floor, max rc)``, and the cliques found with
    ``rc > floor``, leaving out those in ``skip`` (columns already). Depth-first over
    cliques; a node (clique ``S``, candidates ``R``, ``m`` tasks still to add) is pruned
    by the optimistic bound in which each member of ``S`` gets its ``m`` best partners in
    ``R``, and each of the ``m`` best tasks of ``R`` its ``m - 1`` best partners in ``R``
    (so the root's bound is: every task with its ``k - 1`` best pair scores). Past
    ``node_limit`` nodes, or once ``max_found`` cliques are found, it stops expanding
    nodes and bounds the rest by their optimistic bounds.
    """
    n = len(lam)
    Pz = np.where(adjacent, P, 0.0)  # the diagonal is NaN in P, so 0 here
    found: list[tuple[float, tuple[int, ...]]] = []
    best = floor
    nodes = 0
    # Once out of nodes (or with enough columns found), nodes are no longer expanded:
    # the largest optimistic bound among them covers every clique below them.
    frontier = -math.inf

    def optimistic(S: list[int], acc: np.ndarray, R: np.ndarray, m: int) -> tuple[float, Any]:
        inside = -np.sort(-Pz[S][:, R], axis=1)[:, :m].sum(axis=1)
        in_terms = np.maximum(0.0, (acc[S] + inside) / (k - 1) - lam[S])
        RR = np.where(adjacent[R][:, R], Pz[R][:, R], -np.inf)
        out = -np.sort(-RR, axis=1)[:, : m - 1].sum(axis=1)
        out_terms = np.maximum(0.0, (acc[R] + out) / (k - 1) - lam[R])
        order = np.argsort(-out_terms, kind="stable")
        return float(in_terms.sum() + out_terms[order[:m]].sum()), R[order]

    def visit(S: list[int], acc: np.ndarray, R: np.ndarray) -> None:
        nonlocal nodes, best, frontier
        nodes += 1
        m = k - len(S)
        if m == 0:
            clique = tuple(sorted(S))
            if clique in skip:  # a column already, with its own (measured) scores
                return
            rc = float(np.maximum(0.0, acc[S] / (k - 1) - lam[S]).sum())
            if rc > floor and len(found) < max_found:
                found.append((rc, clique))
            best = max(best, rc)
            return
        if len(R) < m:
            return
        top, order = optimistic(S, acc, R, m)
        if top <= best + 1e-12:
            return
        if nodes > node_limit or len(found) >= max_found:
            frontier = max(frontier, top)
            return
        for i, u in enumerate(order):
            rest = order[i + 1 :]
            if len(rest) < m - 1:
                break
            visit([*S, int(u)], acc + Pz[:, u], rest[adjacent[u, rest]])

    visit([], np.zeros(n), np.arange(n))
    return max(best, frontier), found


def _lp_duals(
    cands: Candidates, n_tasks: int, budget: int, time_limit: float = math.inf
) -> np.ndarray | None:
    """The LP relaxation's multipliers of the task rows (max sense); None if not solved."""
    model = _Model(cands, n_tasks, budget)
    n = model.n
    res = linprog(
        model.c,
        A_ub=model.A[n:],
        b_ub=model.ub[n:],
        A_eq=model.A[:n],
        b_eq=model.ub[:n],
        bounds=(0, 1),
        # HiGHS's own choice. These LPs are degenerate, so their duals are not unique, and
        # which ones come back decides how well the clique search prunes (measured on the
        # benchmark's n = 30 cases: interior point was faster per LP but proved less).
        method=LP_METHOD,
        options={"time_limit": max(time_limit, 0.1)} if math.isfinite(time_limit) else {},
    )
    if res.status != 0:
        return None
    return -np.asarray(res.eqlin.marginals, dtype=float)


def _enumerate_left_out(
    cands: Candidates, adjacent: np.ndarray, known: set[tuple[int, ...]], price_cap: int
) -> tuple[dict[int, np.ndarray], int]:
    """Cliques of each left-out size with at most ``price_cap`` of them, and the first size
    past that (bounded by relaxation instead)."""
    n = adjacent.shape[0]
    level = np.array([(i, j) for i in range(n) for j in range(i + 1, n) if adjacent[i, j]])
    level = level.reshape(-1, 2)
    for _ in range(3, cands.largest_size + 1):
        grown_all = grow_cliques(level, adjacent, None)
        # With no room limit every level is built.
        assert grown_all is not None
        level = grown_all
    priced: dict[int, np.ndarray] = {}
    for k in range(cands.largest_size + 1, cands.max_size + 1):
        grown = grow_cliques(level, adjacent, price_cap)
        if grown is None:
            return priced, k
        if not len(grown):
            break
        if any(len(s) == k for s in known):  # measured ones are columns already
            keep = [tuple(row) not in known for row in grown.tolist()]
            priced[k] = grown[np.array(keep, dtype=bool)]
        else:
            priced[k] = grown
        level = grown
    return priced, cands.max_size + 1


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
