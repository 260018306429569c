"""How sure a grouping is: posterior draws of the affinity, each regrouped for every k.

Each draw of the pair-level affinity (:class:`PairPosterior`) is regrouped for
every candidate ``k``, starting from the point estimate's groupings, and picks
its own ``k`` by the density rule. Over the draws this gives a distribution of
the grouping: how often two tasks share a group, how often each task keeps its
group, and how often each ``k`` wins. Pairs never trained together are drawn
from the prior, so a grouping that rests on them comes out unstable: the
uncertainty covers missing evidence, not only noisy evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ._evidence import PairPosterior
from ._grouping import improve, measured_density

__all__ = ["Draws", "draw_groupings", "choose_k", "adjusted_rand", "task_stability"]


@dataclass(frozen=True)
class Draws:
    """Groupings of the posterior draws.

    Attributes
    ----------
    labels : ndarray of int of shape (n_draws, n_tasks)
        Each replicate's grouping at its own chosen ``k``.
    k : ndarray of int of shape (n_draws,)
        Each replicate's chosen ``k``.
    """

    labels: np.ndarray
    k: np.ndarray

    def coassignment(self) -> np.ndarray:
        """Share of replicates that put tasks ``i`` and ``j`` in one group."""
        same = self.labels[:, :, None] == self.labels[:, None, :]
        return same.mean(axis=0)

    def k_probability(self, k_values: list[int]) -> dict[int, float]:
        """Share of replicates that chose each ``k``."""
        return {k: float(np.mean(self.k == k)) for k in k_values}


def choose_k(objectives: Mapping[int, float], scale: float) -> int:
    """The ``k`` of the largest density (zero diagonal); near-ties go to the smaller ``k``.

    With a zero diagonal and centred rows, a grouping's density counts what its
    groups gain from training together: splitting a true group loses its
    positive cross terms, merging two groups adds negative ones, so the density
    peaks at the number of groups the evidence supports. AdaGroup passes the
    measured-pair density (:func:`measured_density`), which pairs never trained
    together do not bias toward many small groups.
    """
    ks = sorted(objectives)
    best = max(objectives[k] for k in ks)
    tol = 1e-9 * max(abs(best), scale, 1e-300)
    return next(k for k in ks if objectives[k] >= best - tol)


def draw_groupings(
    posterior: PairPosterior,
    point: Mapping[int, np.ndarray],
    *,
    n_draws: int,
    rng: np.random.Generator,
    measured: np.ndarray,
) -> Draws:
    """Regroup ``n_draws`` posterior draws of the affinity, each at its own best ``k``.

    Parameters
    ----------
    posterior : PairPosterior
    point : mapping of int to ndarray
        The point estimate's grouping for every candidate ``k``; each draw
        starts its search for that ``k`` there.
    n_draws : int
    rng : numpy Generator
    measured : ndarray of bool of shape (n_tasks, n_tasks)
        Pairs trained together at least once (see :func:`measured_density`).
    """
    n = posterior.n
    labels = np.zeros((n_draws, n), dtype=np.intp)
    chosen = np.zeros(n_draws, dtype=np.intp)
    for b, S in enumerate(posterior.sample(rng, n_draws)):
        fits = {k: improve(S, lab) for k, lab in point.items()}
        objectives = {k: measured_density(S, measured, lab) for k, lab in fits.items()}
        k = choose_k(objectives, float(np.abs(S).max()))
        labels[b] = fits[k]
        chosen[b] = k
    return Draws(labels=labels, k=chosen)


def task_stability(replicates: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per task, the mean Jaccard index of its group in each draw and in ``labels``.

    1 means every draw gave the task exactly the same partners.
    """
    labels = np.asarray(labels)
    final = labels[:, None] == labels[None, :]
    out = np.zeros(len(labels))
    for rep in replicates:
        same = rep[:, None] == rep[None, :]
        inter = (same & final).sum(axis=1)
        union = (same | final).sum(axis=1)
        out += inter / union
    return out / max(len(replicates), 1)


def adjusted_rand(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index of two groupings (1 = identical; 1 when both are one group)."""
    a = np.asarray(a, dtype=np.intp)
    b = np.asarray(b, dtype=np.intp)
    n = len(a)
    if n < 2:
        return 1.0
    table = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(table, (a, b), 1.0)

    def pairs(x: np.ndarray) -> float:
        return float(np.sum(x * (x - 1)) / 2.0)

    index = pairs(table)
    rows, cols = pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
    expected = rows * cols / (n * (n - 1) / 2.0)
    top = (rows + cols) / 2.0
    if top == expected:
        return 1.0
    return float((index - expected) / (top - expected))
