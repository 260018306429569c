"""Group tasks from any set of runs at once: AdaGroup's grouping step without the loop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._evidence import PairPosterior, RunTable
from ._grouping import best_groupings, measured_density
from ._uncertainty import choose_k

__all__ = ["group_runs"]


def group_runs(
    runs: Sequence[Any],
    tasks: Sequence[str],
    *,
    greater_is_better: bool = True,
    estimator: str = "surrogate",
    normalize: str = "standardize",
    max_clusters: int | None = None,
) -> np.ndarray:
    """Group ``tasks`` from finished runs the way AdaGroup does, in one step.

    Scores are oriented and made scale-free per task, a pooled pair-level
    affinity is estimated (:class:`PairPosterior`), and the densest grouping of
    the ``k`` at which the measured-pair density peaks is returned. Use it to group the runs
    of a non-adaptive design (uniform subsets, a pair cover) on the same terms
    as AdaGroup.

    Parameters
    ----------
    runs : sequence
        Finished runs (``.subset`` and ``.scores``, or ``(subset, scores)``).
    tasks : sequence of str
    greater_is_better : bool, default=True
    estimator : {"surrogate", "mean"}, default="surrogate"
    normalize : {"standardize", "relative"}, default="standardize"
    max_clusters : int, default=None
        Largest ``k``; None means ``min(n_tasks, 10)``.

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
    S = PairPosterior(table, estimator=estimator).S
    n = len(tasks)
    k_max = max(1, min(max_clusters or 10, n))
    point = best_groupings(S, k_max)
    measured = table.met() > 0
    objectives = {k: measured_density(S, measured, lab) for k, lab in point.items()}
    k = choose_k(objectives, float(np.abs(S).max()))
    return point[k]
