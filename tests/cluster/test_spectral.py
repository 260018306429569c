import sys

import numpy as np
import pytest

from adagroup.cluster import SpectralClustering, _spectral, spectral_clustering
from adagroup.datasets import make_planted_affinity

adjusted_rand_score = pytest.importorskip("sklearn.metrics").adjusted_rand_score


def test_tiny_block_matrix():
    T = np.array(
        [
            [1.0, 1.0, 1.0, 0.2, 0.0, 0.0, 0.0],
            [1.0, 1.0, 1.0, 0.2, 0.0, 0.0, 0.0],
            [1.0, 1.0, 1.0, 0.2, 0.0, 0.0, 0.0],
            [0.2, 0.2, 0.2, 1.0, 1.0, 1.0, 1.0],
            [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0],
            [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0],
            [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0],
        ]
    )
    labels = spectral_clustering(T, 2, random_state=0)
    assert adjusted_rand_score(labels, [1, 1, 1, 0, 0, 0, 0]) == 1


def test_embedding_holds_eigenvectors_of_random_walk_matrix():
    T, _ = make_planted_affinity([4, 3, 3], within_std=0.2, between_std=0.2, random_state=2)
    S = (T + T.T) / 2
    U, values, shift = _spectral._spectral_embedding(S, 3)
    W = S + shift
    P = W / W.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(P @ U, U * values, atol=1e-10)
    assert values[0] == pytest.approx(1.0)
    assert np.all(np.diff(values) <= 1e-12)
    assert shift == pytest.approx(-S.min())


def test_negative_entries_are_shifted():
    T, truth = make_planted_affinity(
        [4, 4],
        within_mean=0.5,
        within_std=0.1,
        between_mean=-1.0,
        between_std=0.1,
        random_state=0,
    )
    est = SpectralClustering(n_clusters=2, random_state=0).fit(T)
    assert est.info_["shift"] == pytest.approx(-T.min())
    assert adjusted_rand_score(truth, est.labels_) == 1
    # W = S - min(S) is unchanged by a further constant offset.
    moved = SpectralClustering(n_clusters=2, random_state=0).fit(T - 3.0)
    np.testing.assert_array_equal(moved.labels_, est.labels_)


def test_nonnegative_input_is_not_shifted():
    T, _ = make_planted_affinity(
        [3, 3], within_mean=2.0, within_std=0.1, between_mean=1.0, between_std=0.1, random_state=0
    )
    assert SpectralClustering(n_clusters=2, random_state=0).fit(T).info_["shift"] == 0.0


def test_zero_degree_task_gets_a_valid_label():
    T = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    labels = spectral_clustering(T, 2, random_state=0)
    assert adjusted_rand_score(labels, [0, 0, 1]) == 1


def test_partial_eigensolver_matches_dense(monkeypatch):
    T, truth = make_planted_affinity([20, 20, 20], within_std=0.5, between_std=0.5, random_state=3)
    dense = SpectralClustering(n_clusters=3, random_state=0).fit(T)
    monkeypatch.setattr(_spectral, "_DENSE_LIMIT", 10)
    partial = SpectralClustering(n_clusters=3, random_state=0).fit(T)
    np.testing.assert_allclose(partial.info_["eigenvalues"], dense.info_["eigenvalues"], atol=1e-8)
    assert adjusted_rand_score(partial.labels_, dense.labels_) == 1
    assert adjusted_rand_score(truth, partial.labels_) == 1


def test_constant_matrix_fills_k_groups():
    est = SpectralClustering(n_clusters=3, random_state=0).fit(np.full((6, 6), -2.0))
    assert len(np.unique(est.labels_)) == 3
    assert est.objective_ == pytest.approx(-12.0)


def test_function_matches_estimator(planted):
    T, _ = planted
    labels = spectral_clustering(T, 3, random_state=5)
    est = SpectralClustering(n_clusters=3, random_state=5).fit(T)
    np.testing.assert_array_equal(labels, est.labels_)
    assert est.upper_bound_ is None and est.gap_ is None
    assert est.status_ == "heuristic" and not est.proven_optimal_
    assert est.n_iter_ >= 1


@pytest.mark.parametrize("n_init", [0, -1, 1.5, None])
def test_bad_n_init(n_init):
    with pytest.raises(ValueError, match=r"'n_init' parameter of SpectralClustering .*Got"):
        SpectralClustering(n_clusters=2, n_init=n_init).fit(np.eye(3))
    with pytest.raises(ValueError, match=r"'n_init' parameter of spectral_clustering"):
        spectral_clustering(np.eye(3), 2, n_init=n_init)


def test_function_validates_input():
    with pytest.raises(ValueError, match=r"'n_clusters' parameter of spectral_clustering"):
        spectral_clustering(np.eye(3), 0)
    with pytest.raises(ValueError, match=r"'T' parameter of spectral_clustering"):
        spectral_clustering(np.full((2, 2), np.nan), 1)


def test_missing_sklearn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.cluster", None)
    with pytest.raises(ImportError, match=r'pip install "adagroup\[cluster\]"'):
        spectral_clustering(np.eye(3), 2)
