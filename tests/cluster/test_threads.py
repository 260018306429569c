"""BLAS threads are limited inside the clustering core for small matrices (issue 8)."""

from __future__ import annotations

import numpy as np
import pytest

from adagroup.cluster import SDPClustering, _sdp, sdp_clustering
from adagroup.cluster._threads import SINGLE_THREAD_MAX_N, blas_threads_for
from adagroup.datasets import make_fig2_affinity

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> list[int]:
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


@pytest.fixture
def record_threads(monkeypatch):
    """Record the BLAS thread counts seen where the SDP rounds its factor."""
    seen: list[list[int]] = []
    original = _sdp.round_factor

    def spy(*args, **kwargs):
        seen.append(_blas_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(_sdp, "round_factor", spy)
    return seen


def test_estimator_and_function_run_with_one_blas_thread(record_threads):
    T, _ = make_fig2_affinity(60, random_state=0)
    # Whatever the environment allows outside, the solver sees one thread inside.
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        SDPClustering(n_clusters=3, random_state=0).fit(T)
        sdp_clustering(T, 3, random_state=0)
        after = _blas_threads()
    assert record_threads and all(counts and set(counts) == {1} for counts in record_threads)
    # The caller's setting comes back afterwards.
    assert after == before


def test_large_matrices_keep_the_callers_threads():
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        with blas_threads_for(SINGLE_THREAD_MAX_N + 1):
            assert _blas_threads() == before
        with blas_threads_for(SINGLE_THREAD_MAX_N):
            assert set(_blas_threads()) == {1}


def test_missing_threadpoolctl_is_not_an_error(monkeypatch):
    from adagroup.cluster import _threads

    monkeypatch.setattr(_threads, "_controller", lambda: None)
    T = np.kron(np.eye(2), np.ones((3, 3))) + 0.1
    assert SDPClustering(n_clusters=2, random_state=0).fit(T).proven_optimal_
