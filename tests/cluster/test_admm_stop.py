"""ADMM stops once its dual bound has converged (issue 8: the non-tight path)."""

from __future__ import annotations

import numpy as np
import pytest
from _sdp_reference import cvxpy_sdp

from adagroup.cluster import sdp_clustering
from adagroup.cluster._sdp_solver import CentredOperator, solve_admm


def test_stop_callback_is_called_and_ends_the_iterations():
    rng = np.random.default_rng(0)
    S = rng.standard_normal((30, 30))
    A = CentredOperator((S + S.T) / 2).dense()
    seen = []

    def stop(X, Lam):
        seen.append((X.shape, float(Lam.min()), np.allclose(Lam, Lam.T)))
        return len(seen) == 3

    res = solve_admm(A, 3, tol=1e-12, max_iter=500, stop=stop, check_every=7)
    assert res.n_iter == 21 and res.converged
    assert all(shape == (30, 30) and low >= 0.0 and sym for shape, low, sym in seen)


@pytest.mark.parametrize("seed", range(3))
def test_early_stop_keeps_the_bound_at_the_sdp_optimum(seed):
    rng = np.random.default_rng(seed)
    T = rng.standard_normal((24, 24))
    S = (T + T.T) / 2
    ref = cvxpy_sdp(S, 3)
    res = sdp_clustering(T, 3, random_state=0, exact_max_tasks=0, bound_tol=0.0)
    base = S.sum() / 24
    assert "psd" in res.solver or "admm" in res.solver
    # The rigorous gap stop: the bound is the SDP optimum to the solver's accuracy.
    assert res.upper_bound >= ref - 1e-6 * abs(ref)
    assert res.upper_bound - ref <= 1e-4 * abs(ref - base)
    assert res.n_iter < 3000


def test_simplex_shift_with_nan_is_a_solver_error_not_an_index_error():
    from adagroup.cluster._sdp_solver import _simplex_shift
    from adagroup.exceptions import SolverError

    assert _simplex_shift(np.array([3.0, 1.0, 0.0]), 2.0) == pytest.approx(1.0)
    with pytest.raises(SolverError, match="non-finite eigenvalues"):
        _simplex_shift(np.array([np.nan, np.nan]), 2.0)
