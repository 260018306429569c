"""Automatic k: warnings of the k that is not chosen stay quiet (issue 8)."""

from __future__ import annotations

import warnings

import numpy as np

from adagroup.cluster import BaseTaskClustering, ClusteringResult
from adagroup.exceptions import ConvergenceWarning


class _Noisy(BaseTaskClustering):
    """Finds the planted 2 groups; warns at every other k."""

    method = "noisy"

    def __init__(self, n_clusters="auto", *, max_clusters=None, random_state=None):
        self.n_clusters = n_clusters
        self.max_clusters = max_clusters
        self.random_state = random_state

    def _fit_k(self, S, k, rng, **warm):
        n = S.shape[0]
        labels = np.arange(n) % k if k != 2 else (np.arange(n) >= n // 2).astype(np.intp)
        warnings.warn(f"trouble at k={k}", ConvergenceWarning, stacklevel=2)
        from adagroup.cluster import density_objective

        return ClusteringResult(labels=labels, objective=density_objective(S, labels))


def test_auto_k_reports_only_the_chosen_ks_warnings():
    T = np.kron(np.eye(2), np.ones((3, 3)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = _Noisy(max_clusters=4).fit(T)
    assert est.n_clusters_ == 2
    assert [str(w.message) for w in caught] == ["trouble at k=2"]
