"""How sure a grouping is: posterior draws of the affinity, each regrouped for every k.

Draws of the pair-level affinity (:class:`PairPosterior`) first choose ``k``:
the fewest groups whose density is within one standard error of the best, over
the draws. Each draw also chooses its own ``k`` by the same rule and is regrouped
at it, starting from the point estimate's grouping. Over the draws this gives a
distribution of the grouping:
how often two tasks share a group, how often each task keeps its group, and how
often each ``k`` wins. Pairs never trained together are drawn
from the prior, so a grouping that rests on them comes out unstable: the
uncertainty covers missing evidence, not only noisy evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..cluster._objective import adjusted_rand
from ._evidence import PairPosterior
from ._grouping import improve, measured_density

__all__ = [
    "Draws",
    "adjusted_rand",
    "choose_k_by_draws",
    "draw_groupings",
    "task_stability",
]


@dataclass(frozen=True)
class Draws:
    """What the posterior draws say about the grouping.

    Attributes
    ----------
    k : int
        The chosen number of groups (:func:`choose_k_by_draws`).
    labels : ndarray of int of shape (n_draws, n_tasks)
        Each draw's grouping, at the ``k`` the draw itself chose.
    k_probability : dict of int to float
        Share of draws that chose each candidate ``k``.
    """

    k: int
    labels: np.ndarray
    k_probability: dict[int, float]

    def coassignment(self) -> np.ndarray:
        """Share of draws that put tasks ``i`` and ``j`` in one group."""
        same = self.labels[:, :, None] == self.labels[:, None, :]
        return same.mean(axis=0)


def choose_k_by_draws(
    draws: np.ndarray, point: Mapping[int, np.ndarray], measured: np.ndarray
) -> tuple[int, np.ndarray]:
    """The fewest groups whose measured density is within one standard error of the best.

    For every posterior draw of the affinity, the measured density
    (:func:`measured_density`) of the point estimate's grouping for each ``k``
    is computed. ``k*`` has the largest mean; the chosen ``k`` is the smallest
    whose paired difference to ``k*`` is above ``-1`` standard deviation of that
    difference over the draws (the one-standard-error rule). Splitting a true
    group gains only noise, so it never clears the bar; merging two true groups
    loses more than the noise, so it does not either.

    Each draw applies the same rule to its own values: the smallest ``k`` within
    one standard error of *that draw's* best ``k``, the standard error being that
    of the paired difference between the two (never zero, unlike the difference
    of a ``k`` with itself).

    Returns
    -------
    k : int
    per_draw : ndarray of int of shape (n_draws,)
        The same rule applied to each draw alone (its own best ``k``, the
        standard errors of the paired differences to it), so that the draws
        carry the uncertainty about ``k``.
    """
    ks = sorted(point)
    D = np.array([[measured_density(S, measured, point[k]) for k in ks] for S in draws])
    # se[a, b]: spread over the draws of the paired difference between k = ks[a] and ks[b].
    se = (D[:, :, None] - D[:, None, :]).std(axis=0)
    return _fewest_within_se(D.mean(axis=0), se, ks), np.array(
        [_fewest_within_se(row, se, ks) for row in D]
    )


def _fewest_within_se(values: np.ndarray, se: np.ndarray, ks: list[int]) -> int:
    """The smallest ``k`` whose value is within one standard error of the best value."""
    best = int(np.argmax(values))
    return next(k for j, k in enumerate(ks) if values[j] >= values[best] - se[j, best] - 1e-12)


def draw_groupings(
    posterior: PairPosterior,
    point: Mapping[int, np.ndarray],
    *,
    n_draws: int,
    rng: np.random.Generator,
    measured: np.ndarray,
) -> Draws:
    """Choose ``k`` on ``n_draws`` posterior draws, and regroup each draw at its own ``k``.

    Parameters
    ----------
    posterior : PairPosterior
    point : mapping of int to ndarray
        The point estimate's grouping for every candidate ``k``.
    n_draws : int
    rng : numpy Generator
    measured : ndarray of bool of shape (n_tasks, n_tasks)
        Pairs trained together at least once (see :func:`measured_density`).
    """
    draws = posterior.sample(rng, n_draws)
    k, per_draw = choose_k_by_draws(draws, point, measured)
    labels = np.stack([improve(S, point[int(kb)]) for S, kb in zip(draws, per_draw, strict=True)])
    probability = {kk: float(np.mean(per_draw == kk)) for kk in sorted(point)}
    return Draws(k=k, labels=labels, k_probability=probability)


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
