"""Network selection under a budget: which (overlapping) task subsets to train and deploy.

Standley et al. (2020) and TAG (Fifty et al., 2021) choose at most ``B`` networks, each
trained on a subset of the tasks, and serve every task from the chosen network that does
best on it. :func:`select_networks` solves that choice exactly as a MILP (HiGHS through
SciPy), from measured per-subset scores and, for subsets never trained, Standley's
pair-average prediction.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .._validation import check_float
from ._scores import ScoreTable, as_score_table, candidate_networks, pair_matrix, read_scores_csv

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "NetworkSelection",
    "select_networks",
    "budget_sweep",
    "plot_budget_sweep",
    "read_scores_csv",
]

METHODS = ("auto", "exact")
#: Relative gap under which the restricted method calls its selection proven optimal.
RESTRICTED_REL_GAP = 1e-5


class BudgetTooSmallError(ValueError):
    """No ``budget`` candidate networks together contain every task."""

    def __init__(self, message: str, min_budget: int | None) -> None:
        super().__init__(message)
        self.min_budget = min_budget


@dataclass(frozen=True)
class NetworkSelection:
    """The networks to train, which one serves each task, and how sure we are it is best.

    Attributes
    ----------
    networks : list of tuple of str
        The chosen task subsets, each in task order.
    serves : dict of str to int
        For each task, the index in ``networks`` of the network that serves it.
    total : float
        Sum over tasks of the score of its serving network, in the input's units
        (a loss when ``lower_is_better``).
    proven_optimal : bool
        Whether no selection of at most ``budget`` candidate networks does better
        (HiGHS proved it; for ``method="restricted"``, the bound is within a relative 1e-5).
    gap : float
        ``|bound - total|``, in score units (0 when proven optimal).
    bound : float
        The best total any selection could reach (a lower bound on the loss when
        lower is better): HiGHS's dual bound, or the Lagrangian bound of the
        restricted method.
    seconds : float
        Wall time of the call.
    method : str
        ``"exact"`` (every candidate in the MILP) or ``"restricted"`` (predicted
        subsets above some size left out of the MILP and bounded instead).
    budget : int
        The ``budget`` asked for.
    scores : dict of str to float
        Each task's score in its serving network.
    predicted : list of bool
        Whether each chosen network was never trained (its scores are predictions).
    n_candidates : int
        Candidate networks given to the MILP.
    """

    networks: list[tuple[str, ...]]
    serves: dict[str, int]
    total: float
    proven_optimal: bool
    gap: float
    bound: float
    seconds: float
    method: str
    budget: int
    scores: dict[str, float] = field(default_factory=dict)
    predicted: list[bool] = field(default_factory=list)
    n_candidates: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (networks as lists of names)."""
        out = asdict(self)
        out["networks"] = [list(net) for net in self.networks]
        return out


def select_networks(
    scores: Any,
    budget: int,
    *,
    lower_is_better: bool | None = None,
    predict_unmeasured: bool = True,
    max_subset_size: int | None = None,
    method: str = "auto",
    max_candidates: int = 20_000,
    time_limit: float = 60.0,
) -> NetworkSelection:
    """Choose at most ``budget`` networks (task subsets, may overlap) that serve every task best.

    Maximises the sum over tasks of the best score that a chosen network containing the
    task gets on it (scores oriented so that higher is better). Every task must be in a
    chosen network; a singleton is a network like any other when it was measured.

    Parameters
    ----------
    scores : mapping, Study, iterable of rows, or path
        Per-subset, per-task scores: ``{subset: {task: score}}`` with ``subset`` a tuple,
        frozenset or ``"a+b"`` string and ``score`` a number or a list of numbers (seeds,
        averaged); a :class:`~adagroup.Study` (its COMPLETE runs, averaged over seeds; its
        tasks and direction); rows ``(subset, task, score)`` or dicts with those keys; or the
        path of a long CSV with header ``subset,task,score`` (:func:`read_scores_csv`).
    budget : int
        Most networks to choose, >= 1.
    lower_is_better : bool or None, default=None
        True for losses. None: the study's direction, else higher is better.
    predict_unmeasured : bool, default=True
        Also consider subsets never trained, with predicted scores (see Notes). False
        selects among measured subsets only.
    max_subset_size : int or None, default=None
        Largest network considered (measured or predicted); None: any size.
    method : {"auto", "exact"}, default="auto"
        ``"exact"`` puts every candidate in the MILP and refuses when there are more than
        ``max_candidates``. ``"auto"`` does that when they fit, and otherwise leaves out
        predicted subsets from the smallest size that does not fit upwards and bounds them
        (the reported ``method`` is then ``"restricted"``, with a certified ``gap``).
    max_candidates : int, default=20000
        Most candidate networks given to the MILP.
    time_limit : float, default=60.0
        Seconds for the whole call (column generation, then the MILP; the MILP gets at
        least 1 s); past it the best selection found is returned with
        ``proven_optimal=False`` and its gap.

    Returns
    -------
    NetworkSelection

    Raises
    ------
    ValueError
        For bad input, a task in no candidate network, or a budget below the fewest
        networks that contain every task (the message gives that number).

    Notes
    -----
    **Prediction** is Standley et al.'s higher-order approximation: the score of task ``i``
    in an untrained subset ``S`` of three or more tasks is the mean of its scores in the
    measured pairs ``{i, j}``, ``j`` in ``S \\ {i}``. A subset is predicted only when all its
    pairs were measured. Measured scores always take precedence over predictions.

    **Solver.** Binary ``x_s`` per candidate, assignment ``y_ts <= x_s`` with
    ``sum_s y_ts = 1`` per task and ``sum_s x_s <= budget``, solved by HiGHS
    (``scipy.optimize.milp``) to a relative gap of 1e-9; ``proven_optimal`` comes from its
    status. The restricted method's bound is Lagrangian: the LP duals of the assignment
    rows, extended to every left-out subset through an upper bound on its predicted scores
    (the mean of a task's best pair scores), bound the LP over all candidates, hence the
    optimum.

    References
    ----------
    .. [1] T. Standley et al., "Which Tasks Should Be Learned Together in Multi-task
       Learning?", ICML 2020.
    .. [2] C. Fifty et al., "Efficiently Identifying Task Groupings for Multi-Task
       Learning", NeurIPS 2021.

    Examples
    --------
    >>> scores = {
    ...     ("a",): {"a": 0.70}, ("b",): {"b": 0.60}, ("c",): {"c": 0.80},
    ...     ("a", "b"): {"a": 0.75, "b": 0.66}, ("b", "c"): {"b": 0.50, "c": 0.79},
    ... }
    >>> sel = select_networks(scores, budget=2)
    >>> sel.networks, sel.serves, round(sel.total, 2), sel.proven_optimal
    ([('c',), ('a', 'b')], {'a': 1, 'b': 1, 'c': 0}, 2.21, True)
    """
    start = time.perf_counter()
    _check_args(budget, max_subset_size, method, max_candidates, time_limit)
    table = scores if isinstance(scores, ScoreTable) else as_score_table(scores, lower_is_better)
    n = len(table.tasks)
    cands = candidate_networks(
        table,
        predict_unmeasured=predict_unmeasured,
        max_size=max_subset_size,
        max_candidates=max_candidates,
    )
    if not cands.complete and method == "exact":
        raise ValueError(
            f"method='exact' needs every predictable subset up to size {cands.max_size}, more "
            f"than max_candidates={max_candidates}; pass a smaller max_subset_size, a larger "
            "max_candidates, or method='auto' (certified gap)."
        )
    _check_covered(table, cands)

    from ._solve import certify, min_cover, solve

    bound = math.inf
    if not cands.complete:
        cands, bound = certify(cands, n, budget, pair_matrix(table), time_limit=time_limit)
    sol = solve(cands, n, budget, max(1.0, time_limit - (time.perf_counter() - start)))
    if sol is None:
        need = min_cover(cands, n)
        raise BudgetTooSmallError(
            f"budget={budget} networks cannot serve every task: covering all {n} tasks takes "
            f"at least {need} of the candidate networks. Use a budget >= {need}, or measure "
            "larger subsets.",
            need,
        )
    bound = max(sol.objective, min(bound, sol.bound) if cands.complete else bound)
    gap = max(0.0, bound - sol.objective)
    # The restricted bound rests on LP duals from an interior-point solve, accurate to about
    # 1e-6 relative; HiGHS's own MIP gap (exact method) is 1e-9.
    tol = (1e-9 if cands.complete else RESTRICTED_REL_GAP) * max(1.0, abs(sol.objective))
    order = {s: i for i, s in enumerate(sol.chosen)}
    return NetworkSelection(
        networks=[tuple(table.tasks[t] for t in cands.subsets[s]) for s in sol.chosen],
        serves={table.tasks[t]: order[sol.assign[t]] for t in range(n)},
        total=table.raw(sol.objective),
        proven_optimal=bool(sol.optimal and gap <= tol),
        # HiGHS's dual bound is exact to 1e-9; the restricted gap is shown as measured.
        gap=0.0 if cands.complete and gap <= tol and sol.optimal else gap,
        bound=table.raw(bound),
        seconds=time.perf_counter() - start,
        method="exact" if cands.complete else "restricted",
        budget=budget,
        scores={
            table.tasks[t]: table.raw(
                cands.values[sol.assign[t]][cands.subsets[sol.assign[t]].index(t)]
            )
            for t in range(n)
        },
        predicted=[cands.predicted[s] for s in sol.chosen],
        n_candidates=len(cands.subsets),
    )


def budget_sweep(
    scores: Any, budgets: Iterable[int] | None = None, **kwargs: Any
) -> dict[int, NetworkSelection]:
    """:func:`select_networks` for each budget (default ``1..n_tasks``), as Standley's figures.

    Budgets too small to serve every task are left out of the result. ``kwargs`` are passed
    on to :func:`select_networks`.
    """
    table = scores
    if not isinstance(scores, ScoreTable):
        table = as_score_table(scores, kwargs.pop("lower_is_better", None))
    else:
        kwargs.pop("lower_is_better", None)
    out = {}
    for b in range(1, len(table.tasks) + 1) if budgets is None else budgets:
        try:
            out[b] = select_networks(table, b, **kwargs)
        except BudgetTooSmallError:
            continue
    return out


def plot_budget_sweep(sweep: dict[int, NetworkSelection], ax: Axes | None = None) -> Axes:
    """Plot total against budget; hollow markers where optimality is not proven.

    Needs matplotlib (``pip install adagroup[cluster]``).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    budgets = sorted(sweep)
    totals = [sweep[b].total for b in budgets]
    ax.plot(budgets, totals, "-", color="C0", label="total of the selection")
    proven = [b for b in budgets if sweep[b].proven_optimal]
    other = [b for b in budgets if not sweep[b].proven_optimal]
    ax.plot(proven, [sweep[b].total for b in proven], "o", color="C0", label="proven optimal")
    if other:
        ax.plot(
            other, [sweep[b].total for b in other], "o", mfc="none", color="C0", label="not proven"
        )
        ax.plot(other, [sweep[b].bound for b in other], "_", color="C3", ms=12, label="bound")
    ax.set_xlabel("budget B (networks)")
    # More networks never serve a task worse, so the sweep's direction tells the score's.
    if totals[-1] < totals[0]:
        ax.set_ylabel("total loss over tasks (lower is better)")
    elif totals[-1] > totals[0]:
        ax.set_ylabel("total score over tasks (higher is better)")
    else:
        ax.set_ylabel("total score over tasks")
    ax.set_xticks(budgets)
    ax.legend(fontsize="small")
    return ax


def _check_args(
    budget: Any, max_subset_size: Any, method: Any, max_candidates: Any, time_limit: Any
) -> None:
    def is_int(v: Any) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    if not is_int(budget) or budget < 1:
        raise ValueError(
            f"The 'budget' parameter of select_networks must be an int >= 1. Got {budget!r}."
        )
    if max_subset_size is not None and (not is_int(max_subset_size) or max_subset_size < 1):
        raise ValueError(
            "The 'max_subset_size' parameter of select_networks must be an int >= 1 or None. "
            f"Got {max_subset_size!r}."
        )
    if method not in METHODS:
        raise ValueError(
            f"The 'method' parameter of select_networks must be one of {METHODS}. Got {method!r}."
        )
    if not is_int(max_candidates) or max_candidates < 1:
        raise ValueError(
            "The 'max_candidates' parameter of select_networks must be an int >= 1. "
            f"Got {max_candidates!r}."
        )
    check_float(time_limit, "time_limit", caller="select_networks", low=0.0, low_open=True)


def _check_covered(table: ScoreTable, cands: Any) -> None:
    covered = {t for s in cands.subsets for t in s}
    for t, name in enumerate(table.tasks):
        if t not in covered:
            raise ValueError(
                f"Task {name!r} is in no candidate network (measured subsets of size <= "
                f"{cands.max_size}), so no selection can serve it; measure a subset with it "
                "or raise max_subset_size."
            )
