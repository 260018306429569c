"""Small matrices: exact search certifies what the SDP bound cannot (issue 8)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from adagroup.cluster import ExhaustiveClustering, SDPClustering, _exhaustive, sdp_clustering
from adagroup.cluster._exhaustive import _exhaustive_search, _SubsetProgramme
from adagroup.cluster._objective import density_objective


def _noisy(n: int, seed: int) -> np.ndarray:
    # Noise without planted groups: the relaxation is not tight and the dual bound stays open.
    return np.random.default_rng(seed).random((n, n))


@pytest.mark.parametrize("n", [6, 9, 12, 14])
def test_small_noisy_matrices_are_proven_optimal_by_exact_search(n):
    T = _noisy(n, n)
    for k in (2, 3, 4):
        est = SDPClustering(n_clusters=k, random_state=0).fit(T)
        exact = ExhaustiveClustering(n_clusters=k).fit(T)
        # Before: proven_optimal_ False with a "rigorous" but open bound.
        assert est.proven_optimal_ and est.certificate_ == "exact"
        assert est.to_dict()["certificate"] == "exact"
        assert est.objective_ == pytest.approx(exact.objective_, rel=1e-12)
        assert est.upper_bound_ == pytest.approx(est.objective_, rel=1e-12)
        assert "exact" in est.info_["solver"] and est.info_["sdp_solved"] is False


def test_exact_max_tasks_zero_keeps_the_sdp_path():
    T = _noisy(9, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = SDPClustering(n_clusters=3, random_state=0, exact_max_tasks=0).fit(T)
    assert est.certificate_ == "rigorous"
    assert "exact" not in est.info_["solver"]
    best = ExhaustiveClustering(n_clusters=3).fit(T).objective_
    assert est.upper_bound_ >= best - 1e-9


def test_tight_cases_above_the_exact_first_size_keep_the_dual_certificate():
    # Two clean groups of 7: the first phase closes, exact search never runs.
    T = np.kron(np.eye(2), np.ones((7, 7))) + 0.01 * np.random.default_rng(0).random((14, 14))
    res = sdp_clustering(T, 2, random_state=0)
    assert res.proven_optimal and res.info["certificate"] == "rigorous"
    assert res.solver == "factor"


def test_other_solvers_are_not_replaced_by_exact_search():
    T = _noisy(8, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sdp_clustering(T, 3, random_state=0, solver="admm")
    assert res.solver == "admm" and res.info["certificate"] == "rigorous"


def test_warm_start_is_kept_when_it_ties_the_optimum():
    T = np.kron(np.eye(2), np.ones((3, 3)))
    # Groups {0,1,2}, {3,4,5}, numbered the other way round.
    init = np.array([1, 1, 1, 0, 0, 0])
    res = sdp_clustering(T, 2, random_state=0, init_labels=init)
    assert res.info["certificate"] == "exact"
    assert density_objective(T, res.labels) == pytest.approx(6.0)


def test_auto_k_runs_one_exact_programme_for_every_k(monkeypatch):
    built = []
    original = _exhaustive._SubsetProgramme.__init__

    def counting(self, S, k_max, *, every_k=False):
        built.append((k_max, every_k))
        original(self, S, k_max, every_k=every_k)

    monkeypatch.setattr(_exhaustive._SubsetProgramme, "__init__", counting)
    T = _noisy(10, 3)
    est = SDPClustering(n_clusters="auto", max_clusters=5, random_state=0).fit(T)
    assert built == [(5, True)]
    assert all(row["proven_optimal"] for row in est.k_table_)
    for row in est.k_table_:
        exact = ExhaustiveClustering(n_clusters=row["k"]).fit(T).objective_
        assert row["objective"] == pytest.approx(exact, rel=1e-12)
    assert est._shared == {}  # tables are not kept after fit


@pytest.mark.parametrize("n", [7, 11])
def test_every_k_programme_matches_the_single_k_one(n):
    S = _noisy(n, 5)
    S = (S + S.T) / 2
    programme = _SubsetProgramme(S, n, every_k=True)
    for k in range(1, n + 1):
        labels, value = programme.solve(k)
        ref_labels, ref_value = _exhaustive_search(S, k)
        assert value == pytest.approx(ref_value, rel=1e-12)
        assert len(np.unique(labels)) == k
        assert density_objective(S, labels) == pytest.approx(value, rel=1e-12)
    with pytest.raises(ValueError, match="answers k=3 only"):
        _SubsetProgramme(S, 3).solve(2)


@pytest.mark.parametrize("bad", [-1, 19, 2.5, True])
def test_exact_max_tasks_is_validated(bad):
    with pytest.raises(ValueError, match="'exact_max_tasks' parameter of SDPClustering"):
        SDPClustering(n_clusters=2, exact_max_tasks=bad).fit(np.eye(4))


@pytest.mark.slow
def test_sixteen_tasks_are_proven_optimal():
    T = _noisy(16, 16)
    est = SDPClustering(n_clusters=4, random_state=0).fit(T)
    assert est.proven_optimal_ and est.certificate_ == "exact"
