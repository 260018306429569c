"""Exact search: the best partition into exactly ``k`` groups, by a programme over subsets."""

from __future__ import annotations

import logging
import numbers
from typing import Any

import numpy as np

from ._base import BaseTaskClustering, ClusteringResult
from ._objective import density_objective
from ._validation import check_affinity, check_n_clusters, scale_affinity

__all__ = ["ExhaustiveClustering", "exhaustive_clustering", "stirling2"]

logger = logging.getLogger(__name__)

#: Largest ``max_tasks`` accepted: time grows as ``3**n_tasks`` and memory as ``2**n_tasks``.
_HARD_MAX_TASKS = 18


def stirling2(n: int, k: int) -> int:
    """Number of partitions of ``n`` items into exactly ``k`` non-empty groups.

    The Stirling number of the second kind, computed exactly with Python ints.

    Parameters
    ----------
    n : int
        Number of items, ``n >= 0``.
    k : int
        Number of groups, ``k >= 0``.

    Returns
    -------
    int

    Examples
    --------
    >>> stirling2(12, 4)
    611501
    >>> stirling2(16, 4)
    171798901
    """
    if k < 0 or n < 0 or k > n:
        return 0
    if n == 0:
        return 1
    # Row recurrence S(i, j) = j S(i-1, j) + S(i-1, j-1), kept to columns 0..k.
    row = [1] + [0] * k
    for _ in range(n):
        row = [0] + [j * row[j] + row[j - 1] for j in range(1, k + 1)]
    return row[k]


def _check_max_tasks(max_tasks: Any, caller: str) -> int:
    if (
        isinstance(max_tasks, bool)
        or not isinstance(max_tasks, numbers.Integral)
        or not 1 <= int(max_tasks) <= _HARD_MAX_TASKS
    ):
        raise ValueError(
            f"The 'max_tasks' parameter of {caller} must be an int in [1, {_HARD_MAX_TASKS}]. "
            f"Got {max_tasks!r} instead; exact search costs 3**n_tasks steps."
        )
    return int(max_tasks)


def _check_size(n: int, k: int, max_tasks: int) -> None:
    if n > max_tasks:
        raise ValueError(
            f"Exact search over {stirling2(n, k):,} partitions of n_tasks={n} into "
            f"n_clusters={k} is too large (limit max_tasks={max_tasks} tasks); use "
            "method='sdp', which reports a certificate of optimality."
        )


def _subset_densities(S: np.ndarray) -> np.ndarray:
    """``w[mask] = (1/|mask|) sum_{u,v in mask} S[u, v]`` for every bitmask of the tasks."""
    n = S.shape[0]
    masks = np.arange(1 << n, dtype=np.int64)
    B = ((masks[:, None] >> np.arange(n)) & 1).astype(np.float64)
    within = np.einsum("mu,mu->m", B @ S, B)
    sizes = B.sum(axis=1)
    w = np.zeros(1 << n)
    w[1:] = within[1:] / sizes[1:]
    return w


def _rest_choices(unions: np.ndarray, m: int, n: int) -> np.ndarray:
    """For each union ``U`` of ``m`` tasks, every subset of ``U`` minus its lowest task.

    Returns an int64 array of shape ``(2**(m-1), len(unions))``; column ``i``
    lists, in increasing order, the task sets that may be left over once the
    group holding the lowest task of ``unions[i]`` is removed.
    """
    without_low = unions & (unions - 1)
    bits = (without_low[:, None] >> np.arange(n)) & 1
    # Positions of the m-1 set bits of each row, in increasing order.
    m1 = m - 1
    positions = np.nonzero(bits)[1].reshape(len(unions), m1)
    # Row s holds the tasks at the set bits of s: doubling the rows once per task
    # (the upper half adds it) writes each entry once, where an integer matrix
    # product with the 0/1 table of s was the slowest step of the programme.
    out = np.empty((1 << m1, len(unions)), dtype=np.int64)
    out[0] = 0
    for i in range(m1):
        half = 1 << i
        np.add(out[:half], np.int64(1) << positions[:, i], out=out[half : 2 * half])
    return out


class _SubsetProgramme:
    """Exact ``max F`` over partitions into ``k`` non-empty groups, for one or every ``k``.

    ``best[j, U]`` is the best ``F`` of a partition of the task set ``U`` (a
    bitmask) into ``j`` groups. The group holding the lowest task of ``U`` is
    chosen explicitly, so every partition is counted once and the recursion
    ``best[j, U] = max_R w[U - R] + best[j-1, R]`` over subsets ``R`` of ``U``
    without its lowest task visits ``(3**n - 1) / 2`` pairs per layer. Sets are
    taken by increasing size, and the leftover choices of one size serve every
    layer ``j`` (building them costs more than the maximum itself).

    Parameters
    ----------
    S : ndarray of shape (n, n)
    k_max : int
        Largest number of groups asked for.
    every_k : bool, default=False
        Fill the table so that :meth:`solve` answers every ``k <= k_max`` (the
        automatic choice of ``k`` at the price of one programme); otherwise only
        ``k_max`` itself, with layers restricted to sets that can still be
        completed into ``k_max`` groups.
    """

    def __init__(self, S: np.ndarray, k_max: int, *, every_k: bool = False) -> None:
        n = S.shape[0]
        self.n = n
        self.k_max = k_max
        self.every_k = every_k
        self.w = _subset_densities(S)
        masks = np.arange(1 << n, dtype=np.int64)
        popcount = ((masks[:, None] >> np.arange(n)) & 1).sum(axis=1)
        best = np.full((k_max + 1, 1 << n), -np.inf)
        best[0, 0] = 0.0
        for m in range(1, n + 1):
            # Layer j needs sets of >= j tasks that leave >= k_max - j for the other groups
            # (every_k: any set of >= j tasks); the last layer only the full set.
            layers = [
                j
                for j in range(1, min(m, k_max) + 1)
                if every_k or (m <= n - (k_max - j) and (j < k_max or m == n))
            ]
            if not layers:
                continue
            unions = masks[popcount == m]
            rest = _rest_choices(unions, m, n)
            within = self.w[unions[None, :] ^ rest]
            for j in layers:
                best[j, unions] = (within + best[j - 1, rest]).max(axis=0)
        self.best = best

    def solve(self, k: int) -> tuple[np.ndarray, float]:
        """Labels of an optimal partition into ``k`` groups (first by task order) and ``F``."""
        if not (k == self.k_max or (self.every_k and 1 <= k <= self.k_max)):
            raise ValueError(f"this programme answers k={self.k_max} only, not k={k}")
        n, w, best = self.n, self.w, self.best
        full = (1 << n) - 1
        # Walk back from the full set; argmax takes the first maximiser, so ties are
        # broken the same way on every call (the smallest leftover set R).
        labels = np.empty(n, dtype=np.intp)
        U = full
        for j in range(k, 0, -1):
            unions = np.array([U], dtype=np.int64)
            rest = _rest_choices(unions, U.bit_count(), n)[:, 0]
            values = w[U ^ rest] + best[j - 1, rest]
            R = int(rest[int(np.argmax(values))])
            block = U ^ R
            labels[[u for u in range(n) if block >> u & 1]] = k - j
            U = R
        return labels, float(best[k, full])


def _exhaustive_search(S: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    """Exact ``max F`` over partitions into exactly ``k`` non-empty groups: labels and value."""
    return _SubsetProgramme(S, k).solve(k)


def exhaustive_clustering(T: Any, n_clusters: int, *, max_tasks: int = 16) -> np.ndarray:
    """Group tasks by exact search: the partition with the largest density objective.

    Finds the partition of the tasks into exactly ``n_clusters`` non-empty
    groups that maximises

    ``F(C_1..C_k) = sum_c (1/|C_c|) sum_{u,v in C_c} S[u, v]``, ``S = (T + T.T) / 2``.

    Parameters
    ----------
    T : array-like or pandas.DataFrame of shape (n_tasks, n_tasks)
        Affinity of row task to column task, higher is better. It is
        symmetrised as ``(T + T.T) / 2``.
    n_clusters : int
        Number of groups, in ``[1, n_tasks]``.
    max_tasks : int, default=16
        Refuse matrices with more tasks than this (at most 18). Time grows as
        ``3**n_tasks`` and memory as ``(n_clusters + 1) * 2**n_tasks`` floats.

    Returns
    -------
    labels : ndarray of shape (n_tasks,)
        Group of each task, numbered by first appearance (task 0 is in group 0).

    Raises
    ------
    ValueError
        If ``T`` or ``n_clusters`` is invalid, or ``n_tasks > max_tasks`` (the
        message names the number of partitions).

    See Also
    --------
    ExhaustiveClustering : The estimator, which also reports the optimum as a bound.
    adagroup.cluster.SDPClustering : Scales to thousands of tasks, with a certificate.

    Notes
    -----
    Instead of listing all ``S(n, k)`` partitions (Stirling numbers of the second
    kind; ``S(12, 6) = 1,323,652``), a dynamic programme over subsets of tasks
    visits ``(3**n - 1) / 2`` (subset, leftover) pairs per group, vectorised with
    numpy. It is exact: every partition is one path through the programme.
    Ties between partitions of equal ``F`` are broken deterministically.

    Examples
    --------
    >>> import numpy as np
    >>> T = np.array([[1.0, 0.9, 0.0, 0.1],
    ...               [0.9, 1.0, 0.1, 0.0],
    ...               [0.0, 0.1, 1.0, 0.8],
    ...               [0.1, 0.0, 0.8, 1.0]])
    >>> exhaustive_clustering(T, 2)
    array([0, 0, 1, 1])
    """
    caller = "exhaustive_clustering"
    S, _ = check_affinity(T, caller=caller)
    S, _ = scale_affinity(S)  # sums of entries near 1e308 would overflow
    k = check_n_clusters(n_clusters, S.shape[0], caller=caller)
    _check_size(S.shape[0], k, _check_max_tasks(max_tasks, caller))
    labels, _ = _exhaustive_search(S, k)
    return labels


class ExhaustiveClustering(BaseTaskClustering):
    """Exact task grouping: the partition that maximises the density objective.

    Searches all partitions of the tasks into exactly ``n_clusters`` non-empty
    groups (by a dynamic programme over subsets) and returns the best one. The
    optimum is its own certificate: ``upper_bound_ == objective_``, ``gap_ == 0``
    and ``proven_optimal_`` is True. Use it as ground truth on small problems.

    Parameters
    ----------
    n_clusters : int or "auto", default="auto"
        Number of groups. ``"auto"`` tries ``1..max_clusters`` and keeps the
        ``k`` with the largest average density (see
        :func:`adagroup.cluster.select_n_clusters`).
    max_tasks : int, default=16
        Refuse matrices with more tasks than this (at most 18); the error names
        the number of partitions. Time grows as ``3**n_tasks``.
    max_clusters : int or None, default=None
        Largest ``k`` tried by ``n_clusters="auto"``; None means ``min(n_tasks, 10)``.
    random_state : None, int or Generator, default=None
        Ignored: exact search is deterministic. Accepted so that every clusterer
        takes the same arguments.

    Attributes
    ----------
    labels_ : ndarray of shape (n_tasks,)
        Group of each task.
    n_clusters_ : int
        Number of groups (the chosen one for ``"auto"``).
    objective_ : float
        The optimal density objective ``F``.
    upper_bound_ : float
        Equal to ``objective_``: no partition has a larger ``F``.
    gap_ : float
        ``0.0``.
    proven_optimal_ : bool
        True.
    n_iter_ : int
        Number of (subset, leftover) pairs the programme visits per group.
    status_ : str
        ``"optimal"``.
    info_ : dict
        ``n_partitions``: the number of partitions searched, ``S(n_tasks, k)``.
    task_names_ : list of str or None
        Task names when ``T`` was a DataFrame.
    k_table_ : list of dict or None
        The per-``k`` table when ``n_clusters="auto"``.
    seconds_ : float
        Wall time of ``fit``.

    See Also
    --------
    exhaustive_clustering : The function underneath.
    adagroup.cluster.SDPClustering : Certified grouping that scales.

    Notes
    -----
    The programme stores ``best[j, U]``, the best ``F`` of ``j`` groups covering
    the task subset ``U``, and chooses at each step the group holding the lowest
    task of ``U``. Per group it visits ``(3**n - 1) / 2`` pairs: 265,720 at
    ``n = 12`` (milliseconds), 21.5 million at ``n = 16`` (about a second per group).

    Examples
    --------
    >>> import numpy as np
    >>> from adagroup.cluster import ExhaustiveClustering
    >>> T = np.array([[1.0, 0.9, 0.0, 0.1],
    ...               [0.9, 1.0, 0.1, 0.0],
    ...               [0.0, 0.1, 1.0, 0.8],
    ...               [0.1, 0.0, 0.8, 1.0]])
    >>> est = ExhaustiveClustering(n_clusters=2).fit(T)
    >>> est.labels_
    array([0, 0, 1, 1])
    >>> est.proven_optimal_, est.gap_
    (True, 0.0)
    """

    method = "exact"
    _info_in_units_of_T = ("dp_value",)

    def __init__(
        self,
        n_clusters: int | str = "auto",
        *,
        max_tasks: int = 16,
        max_clusters: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.max_tasks = max_tasks
        self.max_clusters = max_clusters
        self.random_state = random_state

    def _fit_k(
        self, S: np.ndarray, k: int, rng: np.random.Generator, **warm: Any
    ) -> ClusteringResult:
        n = S.shape[0]
        _check_size(n, k, _check_max_tasks(self.max_tasks, type(self).__name__))
        labels, value = _exhaustive_search(S, k)
        objective = density_objective(S, labels)
        logger.debug("exact search n=%d k=%d: F=%.6g", n, k, objective)
        return ClusteringResult(
            labels=labels,
            objective=objective,
            # The optimum is its own bound; the same summation as objective_ keeps gap_ at 0.
            upper_bound=objective,
            proven_optimal=True,
            n_iter=(3**n - 1) // 2,
            status="optimal",
            info={"n_partitions": stirling2(n, k), "dp_value": value, "certificate": "exact"},
        )
