"""A fake trainer with planted task groups: instant, deterministic, picklable.

For tests and sample-efficiency benchmarks: the score of each task trained on
a subset follows a known group structure plus noise, with per-task scales that
can span orders of magnitude, like real task losses.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence

import numpy as np

from .._validation import check_random_state

__all__ = ["PlantedTrainer"]


class PlantedTrainer:
    """Score task subsets from a planted group structure, as a stand-in for training.

    The score of task ``i`` trained on subset ``S`` (``i`` in ``S``) is::

        base_i + scale_i * mean_{j in S} A[g(i), g(j)] + scale_i * noise * eps

    with ``A`` holding ``within`` on its diagonal and ``between`` off it,
    ``base_i = base * scale_i`` and ``eps ~ N(0, 1)``. With
    ``greater_is_better=False`` the transfer term is subtracted instead, so the
    scores behave as losses (positive transfer lowers them; with the defaults
    they stay positive up to noise).

    Parameters
    ----------
    labels : sequence of int, default=None
        Group of every task. Give this or ``sizes``.
    sizes : sequence of int, default=None
        Number of tasks per group; labels are then assigned and shuffled with
        ``random_state``.
    within : float, default=1.0
        Transfer between two tasks of the same group (positive: helps).
    between : float or ndarray of shape (n_groups, n_groups), default=-0.5
        Transfer between tasks of different groups (negative: hurts). A matrix
        gives every pair of groups its own value (its diagonal is ignored).
    noise : float, default=0.1
        Standard deviation of the noise, relative to each task's scale.
    scale : float, tuple of two floats or sequence of float, default=1.0
        Per-task scale: one float for all, a tuple ``(low, high)`` for scales
        drawn log-uniformly in that range (e.g. ``(1e-2, 1e2)``), or a list or
        ndarray with one value per task.
    base : float, default=2.0
        Offset of every score, relative to its task's scale.
    greater_is_better : bool, default=True
        Whether the scores are gains (True) or losses (False).
    task_names : sequence of str, default=None
        Names of the tasks; ``"t00", "t01", ...`` by default.
    random_state : int or None, default=0
        Seed of the labels, the scales and, with the subset and seed of each
        call, the noise. None draws a seed once, at construction.
    calls_path : str or os.PathLike, default=None
        If given, every call appends a line ``"<task,task,...>\\t<seed>"`` to this
        file (one ``write`` in append mode), so tests can count calls across
        processes.

    Attributes
    ----------
    task_names : tuple of str
        Names of the tasks, in index order.
    true_labels : ndarray of int of shape (n_tasks,)
        Planted group of every task.
    scales : ndarray of shape (n_tasks,)
        Scale of every task.
    transfer : ndarray of shape (n_groups, n_groups)
        The matrix ``A``.
    greater_is_better : bool
        Direction of the scores.
    n_calls : int
        Calls made through this object in this process.

    Examples
    --------
    >>> trainer = PlantedTrainer(sizes=[2, 2], noise=0.0, random_state=0)
    >>> scores = trainer(trainer.task_names[:2], seed=0)
    >>> sorted(scores) == sorted(trainer.task_names[:2])
    True
    >>> trainer(trainer.task_names[:2], seed=0) == scores
    True
    """

    def __init__(
        self,
        labels: Sequence[int] | None = None,
        *,
        sizes: Sequence[int] | None = None,
        within: float = 1.0,
        between: float | np.ndarray = -0.5,
        noise: float = 0.1,
        scale: float | tuple[float, float] | Sequence[float] = 1.0,
        base: float = 2.0,
        greater_is_better: bool = True,
        task_names: Sequence[str] | None = None,
        random_state: int | None = 0,
        calls_path: str | os.PathLike[str] | None = None,
    ) -> None:
        caller = "PlantedTrainer"
        if random_state is None:
            random_state = int(np.random.default_rng().integers(2**32))
        # ``int`` is listed for mypy, which does not know that it is a ``numbers.Integral``
        # (it would take the check for always true and skip the code after it).
        if isinstance(random_state, bool) or not isinstance(random_state, (int, numbers.Integral)):
            raise ValueError(
                f"The 'random_state' parameter of {caller} must be a non-negative int or None "
                f"(the noise seed is derived from it). Got {random_state!r} instead."
            )
        if random_state < 0:
            raise ValueError(
                f"The 'random_state' parameter of {caller} must be a non-negative int or None. "
                f"Got {random_state} instead."
            )
        self.random_state = int(random_state)
        rng = check_random_state(self.random_state)

        if (labels is None) == (sizes is None):
            raise ValueError(
                f"{caller} needs exactly one of 'labels' (a group per task) or 'sizes' (tasks "
                f"per group). Got labels={labels!r}, sizes={sizes!r}."
            )
        if sizes is not None:
            sz = np.asarray(sizes)
            if sz.ndim != 1 or sz.size == 0 or not np.issubdtype(sz.dtype, np.integer):
                raise ValueError(
                    f"The 'sizes' parameter of {caller} must be a non-empty sequence of ints. "
                    f"Got {sizes!r} instead."
                )
            if np.any(sz < 1):
                raise ValueError(
                    f"The 'sizes' parameter of {caller} must hold positive group sizes. Got "
                    f"{list(sizes)!r}; drop empty groups."
                )
            lab = rng.permutation(np.repeat(np.arange(len(sz)), sz))
        else:
            lab = np.asarray(labels)
            if lab.ndim != 1 or lab.size == 0 or not np.issubdtype(lab.dtype, np.integer):
                raise ValueError(
                    f"The 'labels' parameter of {caller} must be a non-empty sequence of int "
                    f"group labels. Got {labels!r} instead."
                )
            # Relabel to 0..k-1 so that labels index the rows of A.
            _, lab = np.unique(lab, return_inverse=True)
        self.true_labels = lab.astype(np.intp)
        self.true_labels.setflags(write=False)
        n = len(lab)
        k = int(lab.max()) + 1

        A = np.array(between, dtype=np.float64)
        if A.ndim == 0:
            A = np.full((k, k), float(A))
        if A.shape != (k, k) or not np.all(np.isfinite(A)):
            raise ValueError(
                f"The 'between' parameter of {caller} must be a finite float or an array of "
                f"shape (n_groups, n_groups)=({k}, {k}). Got {between!r} instead."
            )
        for name, value in (("within", within), ("noise", noise), ("base", base)):
            # ``float`` is listed for mypy, which does not know that it is a ``numbers.Real``.
            if not isinstance(value, (float, numbers.Real)) or not math.isfinite(value):
                raise ValueError(
                    f"The {name!r} parameter of {caller} must be a finite float. Got "
                    f"{value!r} instead."
                )
        if noise < 0:
            raise ValueError(
                f"The 'noise' parameter of {caller} must be >= 0. Got {noise!r} instead."
            )
        np.fill_diagonal(A, float(within))
        self.transfer = A
        self.within, self.between, self.noise, self.base = within, between, float(noise), base

        if isinstance(scale, tuple):
            if len(scale) != 2 or not 0 < scale[0] <= scale[1] or not np.isfinite(scale[1]):
                raise ValueError(
                    f"The 'scale' parameter of {caller}, given as a tuple, must be a range "
                    f"(low, high) with 0 < low <= high. Got {scale!r}; pass a list for "
                    "per-task values."
                )
            lo, hi = math.log(scale[0]), math.log(scale[1])
            scales = np.exp(rng.uniform(lo, hi, size=n))
        else:
            scales = np.asarray(scale, dtype=np.float64)
            if scales.ndim == 0:
                scales = np.full(n, float(scales))
        if scales.shape != (n,) or not np.all(np.isfinite(scales)) or np.any(scales <= 0):
            raise ValueError(
                f"The 'scale' parameter of {caller} must be a positive float, a (low, high) "
                f"tuple or one positive value per task ({n}). Got {scale!r} instead."
            )
        self.scale = scale
        self.scales = scales
        self.scales.setflags(write=False)

        if task_names is None:
            width = len(str(n - 1))
            names = tuple(f"t{i:0{max(width, 2)}d}" for i in range(n))
        else:
            names = tuple(str(t) for t in task_names)
            if len(names) != n or len(set(names)) != n:
                raise ValueError(
                    f"The 'task_names' parameter of {caller} must hold {n} unique names, one "
                    f"per task. Got {len(names)} ({len(set(names))} unique)."
                )
        self.task_names = names
        self._index = {t: i for i, t in enumerate(names)}
        self.greater_is_better = bool(greater_is_better)
        self.calls_path = None if calls_path is None else os.fspath(calls_path)
        self.n_calls = 0

    @property
    def n_tasks(self) -> int:
        """Number of tasks."""
        return len(self.task_names)

    def expected_scores(self, subset: Sequence[str]) -> dict[str, float]:
        """Return the noise-free scores of the tasks in ``subset``."""
        idx = self._indices(subset)
        g = self.true_labels[idx]
        effect = self.transfer[np.ix_(g, g)].mean(axis=1)
        sign = 1.0 if self.greater_is_better else -1.0
        vals = self.scales[idx] * (self.base + sign * effect)
        return {self.task_names[i]: float(v) for i, v in zip(idx, vals, strict=True)}

    def _indices(self, subset: Sequence[str]) -> np.ndarray:
        if isinstance(subset, str):
            subset = (subset,)
        try:
            idx = [self._index[t] for t in subset]
        except KeyError as exc:
            raise ValueError(
                f"PlantedTrainer got unknown task {exc.args[0]!r}; its tasks are "
                f"{list(self.task_names[:10])}{'...' if self.n_tasks > 10 else ''}."
            ) from None
        if not idx or len(set(idx)) != len(idx):
            raise ValueError(
                f"PlantedTrainer needs a non-empty subset of distinct tasks. Got {subset!r}."
            )
        return np.sort(np.asarray(idx, dtype=np.intp))

    def __call__(self, subset: Sequence[str], seed: int = 0) -> dict[str, float]:
        """Return a score for every task in ``subset``; the same (subset, seed) gives the same."""
        if isinstance(seed, bool) or not isinstance(seed, (int, numbers.Integral)) or seed < 0:
            raise ValueError(
                f"The 'seed' parameter of PlantedTrainer must be a non-negative int. Got "
                f"{seed!r} instead."
            )
        idx = self._indices(subset)
        expected = self.expected_scores([self.task_names[i] for i in idx])
        # Seeded from (random_state, seed, subset) through SeedSequence, never Python's
        # salted hash(), so every process and every order of the subset agrees.
        ss = np.random.SeedSequence([self.random_state, int(seed), len(idx), *idx.tolist()])
        eps = np.random.default_rng(ss).standard_normal(len(idx))
        self.n_calls += 1
        if self.calls_path is not None:
            line = ",".join(self.task_names[i] for i in idx) + f"\t{int(seed)}\n"
            with open(self.calls_path, "a", encoding="utf-8") as fh:
                fh.write(line)
        return {
            self.task_names[i]: expected[self.task_names[i]]
            + float(self.scales[i] * self.noise * e)
            for i, e in zip(idx, eps, strict=True)
        }

    def __repr__(self) -> str:
        k = int(self.true_labels.max()) + 1
        return (
            f"PlantedTrainer(n_tasks={self.n_tasks}, n_groups={k}, noise={self.noise}, "
            f"greater_is_better={self.greater_is_better}, random_state={self.random_state})"
        )
