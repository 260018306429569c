"""Extreme scales, LAPACK failures and overflow: finite results or a clean error (issue 8)."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import scipy.linalg

from adagroup.cluster import (
    ExhaustiveClustering,
    SDPClustering,
    exhaustive_clustering,
    sdp_clustering,
)
from adagroup.cluster._linalg import eigh_above, top_eigh
from adagroup.cluster._validation import check_affinity, scale_affinity
from adagroup.exceptions import SolverError

_SCALES = [1e-300, 1e-200, 1e-150, 1.0, 1e20, 1e154, 1e200, 1e300, 1e307, 1.7e308]


def _matrix(rng: np.random.Generator, n: int, scale: float, kind: int) -> np.ndarray:
    if kind == 0:  # nonnegative noise
        T = rng.random((n, n))
    elif kind == 1:  # mixed signs
        T = rng.standard_normal((n, n))
    elif kind == 2:  # two planted blocks
        T = np.kron(np.eye(2), np.ones((n, n)))[:n, :n] + 0.1 * rng.random((n, n))
    else:  # a large offset (of either sign) plus small noise
        T = rng.choice([-1.0, 1.0]) + 1e-3 * rng.random((n, n))
    # Keep every entry finite: 1.7e308 * N(0, 1) would overflow while building the input.
    with np.errstate(over="ignore"):
        return np.clip(T * scale, -1.79e308, 1.79e308)


def _finite_or_clean_error(estimator, T: np.ndarray) -> dict | None:
    try:
        est = estimator.fit(T)
    except ValueError as exc:
        # The only error finite input may give: the objective itself leaves float64.
        assert "exceeds the float64 range" in str(exc), exc
        return None
    out = est.to_dict()
    for key in ("objective", "upper_bound", "gap"):
        assert out[key] is None or math.isfinite(out[key]), (key, out)
    json.dumps(out, allow_nan=False)
    if out["upper_bound"] is not None:
        assert out["upper_bound"] >= out["objective"] - 1e-9 * abs(out["objective"])
    return out


@pytest.mark.parametrize("kind", range(4))
@pytest.mark.parametrize("scale", _SCALES)
def test_fuzz_extreme_scales_give_finite_results_or_a_clean_error(scale, kind):
    rng = np.random.default_rng(int(math.log10(scale) + 400) * 4 + kind)
    n = int(rng.integers(2, 9))
    T = _matrix(rng, n, scale, kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes are not the subject here
        for k in range(1, n + 1):
            sdp = _finite_or_clean_error(SDPClustering(n_clusters=k, random_state=0), T)
            exact = _finite_or_clean_error(ExhaustiveClustering(n_clusters=k), T)
            if sdp is not None and exact is not None:
                # Same units: the SDP never beats the optimum and its bound covers it.
                tol = 1e-9 * max(abs(exact["objective"]), np.abs(T).max() * n)
                assert sdp["objective"] <= exact["objective"] + tol
                assert sdp["upper_bound"] >= exact["objective"] - tol


def test_entries_near_float_max_no_longer_overflow_the_symmetrisation():
    T = np.full((4, 4), 1.5e308)
    T[0, 1] = -1.5e308
    S, _ = check_affinity(T)
    assert np.all(np.isfinite(S)) and S[0, 1] == 0.0
    # Before: (A + A.T) / 2 gave inf, and k=2 failed an assertion in the rounding.
    res = sdp_clustering(T / 8, 2, random_state=0)
    assert math.isfinite(res.upper_bound) and math.isfinite(res.objective)


def test_exhaustive_near_float_max_is_a_clean_error_not_a_shift_count():
    rng = np.random.default_rng(0)
    T = rng.random((6, 6)) * 1.7e308
    # Before: "negative shift count" from a NaN-poisoned programme.
    with pytest.raises(ValueError, match="exceeds the float64 range.*Divide T"):
        ExhaustiveClustering(n_clusters=2).fit(T)
    # The labels alone never overflow.
    assert exhaustive_clustering(T, 2).shape == (6,)


def test_huge_but_representable_values_are_reported_in_the_users_units():
    rng = np.random.default_rng(3)
    T = rng.random((7, 7))
    small = SDPClustering(n_clusters=3, random_state=0).fit(T)
    big = SDPClustering(n_clusters=3, random_state=0).fit(T * 1e200)
    assert np.array_equal(small.labels_, big.labels_)
    assert big.objective_ == pytest.approx(small.objective_ * 1e200, rel=1e-12)
    assert big.upper_bound_ == pytest.approx(small.upper_bound_ * 1e200, rel=1e-9)
    assert big.proven_optimal_ == small.proven_optimal_
    # Before: entries >= 1e154 gave an infinite bound labelled "rigorous".
    assert math.isfinite(big.gap_)


def test_scale_affinity_is_a_power_of_two():
    S = np.array([[3e300, 1.0], [1.0, -5e300]])
    Ss, c = scale_affinity(S)
    assert math.frexp(c)[0] == 0.5 and 1.0 <= np.abs(Ss).max() < 2.0
    assert np.array_equal(Ss * c, S)


def _evr_fails(monkeypatch):
    """Make every subset call of scipy's eigh fail as LAPACK's ?syevr sometimes does."""
    original = scipy.linalg.eigh

    def flaky(a, *args, **kwargs):
        if kwargs.get("subset_by_index") is not None:
            raise np.linalg.LinAlgError("Internal Error.")
        return original(a, *args, **kwargs)

    monkeypatch.setattr(scipy.linalg, "eigh", flaky)


def test_lapack_internal_error_falls_back_to_another_driver(monkeypatch):
    rng = np.random.default_rng(9)
    T = rng.random((9, 9))
    ref = SDPClustering(n_clusters=6, random_state=0).fit(T)
    _evr_fails(monkeypatch)
    # Before: LinAlgError("Internal Error.") from _certificate._lambda_max.
    est = SDPClustering(n_clusters=6, random_state=0).fit(T)
    assert np.array_equal(est.labels_, ref.labels_)
    assert est.upper_bound_ == pytest.approx(ref.upper_bound_, rel=1e-9, abs=1e-12)
    auto = SDPClustering(n_clusters="auto", random_state=0).fit(T)
    assert auto.k_table_ is not None


def test_top_eigh_when_subset_returns_nothing(monkeypatch):
    # scipy issue 13913: a subset request may return an empty array instead of failing.
    original = scipy.linalg.eigh

    def empty(a, *args, **kwargs):
        if kwargs.get("subset_by_index") is not None:
            return np.empty(0) if kwargs.get("eigvals_only") else (np.empty(0), np.empty((0, 0)))
        return original(a, *args, **kwargs)

    monkeypatch.setattr(scipy.linalg, "eigh", empty)
    M = np.diag([1.0, 5.0, 3.0])
    w, V = top_eigh(M, 2)
    assert w.tolist() == [3.0, 5.0] and V.shape == (3, 2)
    assert top_eigh(M, 1, vectors=False)[0].tolist() == [5.0]


@pytest.mark.parametrize("failure", ["raises", "nan"])
def test_eigh_above_falls_back_where_the_interval_request_fails(monkeypatch, failure):
    # The projected blocks of the certificate ask ?syevr for the pairs above a level;
    # where that fails (or returns garbage) every pair is computed and those above kept.
    original = scipy.linalg.eigh

    def flaky(a, *args, **kwargs):
        if kwargs.get("subset_by_value") is not None:
            if failure == "raises":
                raise np.linalg.LinAlgError("Internal Error.")
            return np.array([np.nan]), np.zeros((a.shape[0], 1))
        return original(a, *args, **kwargs)

    M = np.diag([1.0, 5.0, 3.0, -2.0])
    monkeypatch.setattr(scipy.linalg, "eigh", flaky)
    w, V = eigh_above(M, 2.0)
    assert w.tolist() == [3.0, 5.0] and np.allclose(np.abs(V[[2, 1]]), np.eye(2))
    assert eigh_above(M, 6.0)[0].size == 0


def test_top_eigh_reports_a_solver_error_when_every_driver_fails(monkeypatch):
    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("Internal Error.")

    monkeypatch.setattr(scipy.linalg, "eigh", broken)
    with pytest.raises(SolverError, match="Every LAPACK eigensolver failed on a 3 x 3"):
        top_eigh(np.eye(3), 1)
