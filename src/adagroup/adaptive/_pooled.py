"""Group tasks from any set of runs at once: AdaGroup's grouping step without the loop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._evidence import PairPosterior, RunTable
from ._grouping import best_groupings
from ._uncertainty import choose_k_by_draws, selection_optimism

__all__ = ["group_runs"]


def group_runs(
    runs: Sequence[Any],
    tasks: Sequence[str],
    *,
    greater_is_better: bool = True,
    estimator: str = "surrogate",
    normalize: str = "standardize",
    max_clusters: int | None = None,
    n_draws: int = 50,
    random_state: int = 0,
) -> np.ndarray:
    """Group ``tasks`` from finished runs the way AdaGroup does, in one step.

    Scores are oriented and made scale-free per task, a pooled pair-level
    affinity is estimated (:class:`PairPosterior`), and the densest grouping of
    the ``k`` chosen by :func:`choose_k_by_draws` (less each ``k``'s
    :func:`selection_optimism`) is returned. Use it to group the runs
    of a non-adaptive design (uniform subsets, a pair cover) on the same terms
    as AdaGroup.

    Parameters
    ----------
    runs : sequence
        Finished runs (``.subset`` and ``.scores``, or ``(subset, scores)``).
    tasks : sequence of str
    greater_is_better : bool, default=True
    estimator : {"surrogate", "coupled", "mean"}, default="surrogate"
    normalize : {"standardize", "relative"}, default="standardize"
    max_clusters : int, default=None
        Largest ``k``; None means ``min(n_tasks, 10)``.
    n_draws : int, default=50
        Posterior draws that choose ``k`` (one-standard-error rule).
    random_state : int, default=0
        Seed of the draws.

    Returns
    -------
    labels : ndarray of int of shape (n_tasks,)

    Examples
    --------
    >>> runs = [(("a", "b"), {"a": 1.0, "b": 1.0}), (("c", "d"), {"c": 1.0, "d": 1.0}),
    ...         (("a", "c"), {"a": 0.0, "c": 0.0}), (("b", "d"), {"b": 0.0, "d": 0.0})]
    >>> group_runs(runs, ["a", "b", "c", "d"]).tolist()
    [0, 0, 1, 1]
    """
    table = RunTable(runs, tasks, greater_is_better=greater_is_better, normalize=normalize)
    posterior = PairPosterior(table, estimator=estimator)
    S = posterior.S
    n = len(tasks)
    k_max = max(1, min(max_clusters or 10, n))
    point = best_groupings(S, k_max)
    draws = posterior.sample(np.random.default_rng(random_state), n_draws)
    measured = table.met() > 0
    optimism = selection_optimism(S, draws, measured, k_max)
    k, _ = choose_k_by_draws(draws, point, measured, optimism)
    return point[k]
