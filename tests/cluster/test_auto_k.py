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


def test_sdp_auto_k_screens_candidates_and_solves_only_the_chosen_k(monkeypatch):
    from adagroup.cluster import SDPClustering, _sdp
    from adagroup.datasets import make_planted_affinity

    calls = []
    original = _sdp._solve

    def spy(S, k, rng, **kwargs):
        calls.append((k, kwargs.get("screen", False)))
        return original(S, k, rng, **kwargs)

    monkeypatch.setattr(_sdp, "_solve", spy)
    T, planted = make_planted_affinity(
        [10, 10, 10, 10], within_std=0.6, between_std=0.6, random_state=0
    )
    est = SDPClustering(n_clusters="auto", max_clusters=6, random_state=0).fit(T)
    # Before: every candidate ran the full solver chain (87 s at n = 300).
    assert [k for k, screen in calls if screen] == [1, 2, 3, 4, 5, 6]
    full = [k for k, screen in calls if not screen]
    assert full in ([], [est.n_clusters_])
    assert est.n_clusters_ == 4
    single = SDPClustering(n_clusters=4, random_state=0).fit(T)
    assert est.objective_ >= single.objective_ - 1e-9 * abs(single.objective_)
    assert est.proven_optimal_ == single.proven_optimal_
    for row in est.k_table_:
        # Candidates keep a valid bound (the spectral one when not certified).
        assert row["upper_bound"] >= row["objective"] - 1e-9 * abs(row["objective"])


def test_sdp_auto_k_candidates_share_one_spectrum_and_few_restarts(monkeypatch):
    # Every candidate used to decompose the same centred matrix again for its spectral bound
    # (14 eigendecompositions at n = 300) and round with all 8 restarts.
    from adagroup.cluster import SDPClustering, _certificate, _sdp
    from adagroup.datasets import make_planted_affinity

    decompositions = []
    original_top = _certificate.top_eigh

    def count_top(M, m, **kwargs):
        decompositions.append(m)
        return original_top(M, m, **kwargs)

    restarts = []
    original_search = _sdp._Search

    def count_search(*args, **kwargs):
        restarts.append(kwargs["n_init"])
        return original_search(*args, **kwargs)

    monkeypatch.setattr(_certificate, "top_eigh", count_top)
    monkeypatch.setattr(_sdp, "_Search", count_search)
    T, _ = make_planted_affinity([40, 40, 40], within_std=1.0, between_std=1.0, random_state=0)
    est = SDPClustering(n_clusters="auto", random_state=0).fit(T)
    assert est.n_clusters_ == 3
    # One spectrum serves every candidate; the rest certify the chosen k.
    assert decompositions.count(_certificate._TOP_CACHE_SIZE) == 1
    assert len(decompositions) < len(est.k_table_)
    assert restarts[: len(est.k_table_) - 1] == [_sdp._SCREEN_N_INIT] * (len(est.k_table_) - 1)


def test_sdp_auto_k_prunes_candidates_whose_spectral_bound_cannot_win(monkeypatch):
    # Issue 8: on Fig. 2 matrices the chosen k = 2 is tight and cheap, but every other
    # candidate still paid for k-means restarts, single moves and a bound (auto-k cost
    # 6.6-9.3 single solves). Their spectral bound already proves they cannot be chosen.
    from adagroup.cluster import SDPClustering, _sdp
    from adagroup.datasets import make_fig2_affinity

    T, _ = make_fig2_affinity(100, random_state=0)
    grouped = []
    original = _sdp._Search.spectral_grouping

    def count(self, *args, **kwargs):
        grouped.append(self.k)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(_sdp._Search, "spectral_grouping", count)
    est = SDPClustering(n_clusters="auto", random_state=0).fit(T)
    assert est.n_clusters_ == 2 and est.proven_optimal_
    # Only the candidate k = 2 is grouped; the full solve certifies its grouping as it is.
    assert grouped == [2]
    table = {row["k"]: row for row in est.k_table_}
    assert [k for k, row in table.items() if row["pruned"]] == list(range(3, 11))
    S = (T + T.T) / 2
    offset = S.shape[0] * S.mean()
    best = table[2]["average_density"]
    for k in range(3, 11):
        row = table[k]
        # The reason for pruning, checked here: the bound's average density is below the best.
        assert (row["upper_bound"] - offset) / k <= best
        assert row["objective"] <= row["upper_bound"]

    # The same rule computed without pruning chooses the same k and grouping.
    monkeypatch.setattr(_sdp._Search, "pruned_grouping", lambda self, eig, must_beat: False)
    full = SDPClustering(n_clusters="auto", random_state=0).fit(T)
    assert full.n_clusters_ == est.n_clusters_
    assert full.objective_ == est.objective_
    np.testing.assert_array_equal(full.labels_, est.labels_)
    assert not any(row["pruned"] for row in full.k_table_)
