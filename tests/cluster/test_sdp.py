"""Tests of the certified SDP clustering (solver, bound, rounding, API)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _sdp_reference import cvxpy_sdp, partitions
from sklearn.metrics import adjusted_rand_score

from adagroup.cluster import SDPClustering, sdp_clustering
from adagroup.cluster._objective import density_objective
from adagroup.datasets import make_fig2_affinity, make_planted_affinity


def _exact(S: np.ndarray, k: int) -> float:
    return max(density_objective(S, lab) for lab in partitions(S.shape[0], k))


@pytest.mark.parametrize("seed", range(4))
def test_agrees_with_cvxpy_on_random(seed):
    rng = np.random.default_rng(seed)
    T = rng.standard_normal((12, 12))
    S = (T + T.T) / 2
    ref = cvxpy_sdp(S, 3)
    # Exact search off: this checks the SDP solvers, which small n would skip.
    res = sdp_clustering(T, 3, random_state=0, exact_max_tasks=0)
    base = S.sum() / 12
    # Relative to the part of the value the grouping can change (harder than to the value).
    assert abs(res.sdp_value - ref) <= 1e-4 * abs(ref - base)
    assert res.upper_bound >= ref - 1e-6 * abs(ref)


@pytest.mark.parametrize("seed", range(2))
def test_agrees_with_cvxpy_on_planted(seed):
    T, labels = make_planted_affinity(
        [5, 5, 5], within_mean=1.0, within_std=0.3, between_std=0.3, random_state=seed
    )
    S = (T + T.T) / 2
    ref = cvxpy_sdp(S, 3)
    res = sdp_clustering(T, 3, random_state=0)
    assert abs(res.sdp_value - ref) <= 1e-4 * abs(ref)
    assert res.proven_optimal
    assert adjusted_rand_score(res.labels, labels) == 1


@pytest.mark.parametrize("exact_max_tasks", [0, 16])
def test_bound_valid_and_exact_optimum_on_small_matrices(exact_max_tasks):
    rng = np.random.default_rng(0)
    hits = 0
    for trial in range(30):
        n = int(rng.integers(4, 9))
        k = int(rng.integers(2, min(4, n - 1) + 1))
        T = rng.standard_normal((n, n)) if trial % 2 else rng.random((n, n))
        S = (T + T.T) / 2
        best = _exact(S, k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sdp_clustering(T, k, random_state=0, exact_max_tasks=exact_max_tasks)
        assert res.upper_bound >= best - 1e-9 * (1 + abs(best))
        if exact_max_tasks:
            # Small n: every answer is proven, by the SDP bound or by exact search.
            assert res.proven_optimal and res.info["certificate"] in ("rigorous", "exact")
        assert len(np.unique(res.labels)) == k
        if res.proven_optimal:
            assert res.objective >= best - 1e-9 * (1 + abs(best))
        hits += res.objective >= best - 1e-9 * (1 + abs(best))
    assert hits == 30


@pytest.mark.parametrize("seed", range(6))
def test_fig2_recovers_planted_groups(seed):
    T, planted = make_fig2_affinity(150, random_state=seed)
    S = (T + T.T) / 2
    res = sdp_clustering(T, 3, random_state=0)
    assert adjusted_rand_score(res.labels, planted) == 1
    assert res.objective == pytest.approx(density_objective(S, planted), rel=1e-12)
    assert res.upper_bound >= res.objective


@pytest.mark.parametrize("seed", range(2))
def test_large_fig2_is_certified_from_the_grouping(seed):
    T, planted = make_fig2_affinity(900, random_state=seed)
    res = sdp_clustering(T, 3, random_state=0)
    assert adjusted_rand_score(res.labels, planted) == 1
    assert res.proven_optimal
    assert res.sdp_value == pytest.approx(res.objective, rel=1e-12)


def test_barely_tight_fig2_is_certified_without_an_sdp_solve():
    # n = 300, draw 0: tight, but the additive dual has negative entries; the
    # decoupled dual closes the gap, so neither the factor solve nor ADMM runs.
    T, planted = make_fig2_affinity(300, random_state=0)
    res = sdp_clustering(T, 3, random_state=0)
    assert adjusted_rand_score(res.labels, planted) == 1
    assert res.proven_optimal
    assert res.solver == "factor"
    assert res.n_iter == 0


@pytest.mark.parametrize("scale", [1e-12, 1.0, 1e12])
def test_scale_invariance(scale):
    T, planted = make_planted_affinity([6, 6, 6], within_std=0.3, between_std=0.3, random_state=1)
    ref = sdp_clustering(T, 3, random_state=0)
    res = sdp_clustering(T * scale, 3, random_state=0)
    assert adjusted_rand_score(res.labels, ref.labels) == 1
    assert res.proven_optimal == ref.proven_optimal
    assert res.gap == pytest.approx(ref.gap * scale, abs=1e-9 * scale)
    assert res.objective == pytest.approx(ref.objective * scale, rel=1e-9)


def test_shift_invariance():
    T, _ = make_planted_affinity([6, 6, 6], within_std=0.3, between_std=0.3, random_state=1)
    ref = sdp_clustering(T, 3, random_state=0)
    res = sdp_clustering(T + 100.0, 3, random_state=0)
    assert adjusted_rand_score(res.labels, ref.labels) == 1
    assert res.objective == pytest.approx(ref.objective + 100.0 * 18, rel=1e-12)
    assert res.proven_optimal == ref.proven_optimal


def test_warm_start_never_worse_and_reproduces():
    T, planted = make_fig2_affinity(60, random_state=3)
    cold = sdp_clustering(T, 3, random_state=0)
    warm = sdp_clustering(T, 3, random_state=1, init_labels=cold.labels)
    assert warm.objective >= cold.objective - 1e-9
    est = SDPClustering(n_clusters=3, random_state=0).fit(T, init_labels=planted)
    assert est.objective_ >= density_objective((T + T.T) / 2, planted) - 1e-9


@pytest.mark.parametrize("k", [1, 2, 4])
def test_constant_matrix(k):
    T = np.full((4, 4), 2.5)
    res = sdp_clustering(T, k, random_state=0)
    assert len(np.unique(res.labels)) == k
    assert res.proven_optimal
    assert res.objective == pytest.approx(2.5 * 4)
    assert res.upper_bound == pytest.approx(res.objective)


def test_single_task():
    est = SDPClustering(n_clusters=1).fit(np.array([[3.0]]))
    assert est.labels_.tolist() == [0]
    assert est.objective_ == 3.0
    assert est.proven_optimal_


def test_k_equals_n():
    T = np.random.default_rng(0).random((5, 5))
    res = sdp_clustering(T, 5)
    assert sorted(res.labels.tolist()) == [0, 1, 2, 3, 4]
    assert res.upper_bound == pytest.approx(np.trace(T))


def test_deterministic_for_fixed_seed():
    T, _ = make_fig2_affinity(45, random_state=0)
    a = sdp_clustering(T, 3, random_state=7)
    b = sdp_clustering(T, 3, random_state=7)
    assert np.array_equal(a.labels, b.labels)
    assert a.upper_bound == b.upper_bound


def test_estimator_sets_bound_attributes():
    T, planted = make_planted_affinity([4, 4, 4], within_std=0.1, between_std=0.1, random_state=0)
    est = SDPClustering(n_clusters=3, random_state=0).fit(T)
    assert adjusted_rand_score(est.labels_, planted) == 1
    assert est.proven_optimal_ and est.gap_ <= 1e-6 * abs(est.objective_)
    assert est.info_["sdp_value"] == pytest.approx(est.objective_)


def test_k_larger_than_n_raises():
    with pytest.raises(ValueError, match="n_clusters"):
        SDPClustering(n_clusters=5).fit(np.eye(3))


def test_bad_solver_raises():
    with pytest.raises(ValueError, match="'solver'"):
        sdp_clustering(np.eye(3), 2, solver="cvx")
