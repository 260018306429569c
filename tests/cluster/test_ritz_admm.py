"""ADMM with warm-started Rayleigh-Ritz projections (issue 8: the non-tight path at n ~ 100)."""

from __future__ import annotations

import numpy as np
import pytest

from adagroup.cluster import _sdp as sdp_module
from adagroup.cluster import sdp_clustering
from adagroup.cluster._sdp_solver import (
    CentredOperator,
    _project_affine_psd,
    _RitzProjection,
    solve_admm,
)
from adagroup.datasets import make_fig2_affinity, make_planted_affinity


def _centred(T: np.ndarray) -> np.ndarray:
    return CentredOperator((T + T.T) / 2).dense()


def _in_affine_psd_set(X: np.ndarray, k: int) -> None:
    n = X.shape[0]
    np.testing.assert_allclose(X.sum(axis=1), 1.0, atol=1e-12)
    assert np.trace(X) == pytest.approx(k, abs=1e-12)
    assert np.linalg.eigvalsh((X + X.T) / 2).min() >= -1e-12
    assert np.abs(X - X.T).max() <= 1e-14 * n


def test_ritz_projection_tracks_the_exact_one_and_stays_feasible():
    # A slowly moving matrix, as ADMM's iterates are: after one full projection the
    # Ritz steps follow the exact projection to round-off, and each is in the set.
    T, _ = make_fig2_affinity(60, random_state=0)
    A = _centred(T)
    k = 3
    rng = np.random.default_rng(0)
    D = rng.standard_normal(A.shape)
    D = (D + D.T) / 2 / np.linalg.norm(D)
    project = _RitzProjection(60, k)
    for step in range(12):
        V = A / 0.05 + 1e-3 * step * D
        X = project(V)
        exact = _project_affine_psd(V, k, None)[0]
        _in_affine_psd_set(X, k)
        assert np.abs(X - exact).max() <= 1e-6
    assert project.n_full == 1


def test_ritz_projection_falls_back_when_the_subspace_is_too_small():
    # Every Ritz value above the threshold (the basis has no room left): LAPACK again.
    rng = np.random.default_rng(1)
    B = rng.standard_normal((40, 40))
    project = _RitzProjection(40, 3)
    project(B + B.T)
    assert project.Q is not None
    project.Q = project.Q[:, -1:]  # one vector: cannot hold the eigenvalues kept
    project.n_pos = 1
    X = project(B + B.T)
    _in_affine_psd_set(X, 3)
    assert project.n_full == 2
    np.testing.assert_allclose(X, _project_affine_psd(B + B.T, 3, None)[0], atol=1e-10)


@pytest.mark.parametrize(
    "T",
    [
        make_fig2_affinity(80, random_state=1)[0],
        make_planted_affinity([20, 20, 20], within_std=1.0, between_std=1.0, random_state=2)[0],
        np.random.default_rng(3).standard_normal((50, 50)),
    ],
    ids=["fig2", "planted", "gaussian"],
)
def test_admm_with_ritz_projections_reaches_the_same_optimum(T):
    A = _centred(T)
    exact = solve_admm(A, 3, tol=1e-7, max_iter=5000, ritz=False)
    ritz = solve_admm(A, 3, tol=1e-7, max_iter=5000)
    assert exact.converged and ritz.converged
    assert ritz.value == pytest.approx(exact.value, rel=1e-5, abs=1e-6)
    # No more iterations to speak of (Fig. 2 n = 100: 70 both ways; Gaussian: 100 both).
    assert ritz.n_iter <= 1.5 * exact.n_iter + 20


def test_clustered_non_tight_matrices_skip_the_low_rank_phase(monkeypatch):
    # Issue 8: the Fig. 2 draw at n = 100 (not tight) spent 715 evaluations of the low-rank
    # phase (53 ms, 9x SCS); ADMM with Ritz projections takes 70 steps (about 22 ms), to a
    # bound as close to the SDP optimum and the same grouping.
    T, _ = make_fig2_affinity(100, random_state=0)
    res = sdp_clustering(T, 3, random_state=0)
    assert res.solver == "factor+admm" and res.status == "optimal"
    monkeypatch.setattr(sdp_module, "_ADMM_FIRST_MAX_GAP", -np.inf)
    old = sdp_clustering(T, 3, random_state=0)
    assert old.solver == "factor+psd"
    assert np.array_equal(res.labels, old.labels)
    assert res.upper_bound == pytest.approx(old.upper_bound, rel=2e-5)
    assert res.upper_bound >= old.upper_bound - 2e-5 * abs(old.upper_bound)


def test_unclustered_matrices_keep_the_low_rank_phase():
    # A Gaussian matrix (no groups: spectral gap 0.3-0.8 of F): its solution has a high
    # rank, where the low-rank phase was faster and its rounding was kept.
    T = np.random.default_rng(0).standard_normal((100, 100))
    assert "psd" in sdp_clustering(T, 3, random_state=0).solver
