import sys

import numpy as np
import pytest

from adagroup.cluster import LloydClustering, density_objective, lloyd_clustering
from adagroup.cluster._kmeans import _fill_to_k
from adagroup.datasets import make_planted_affinity

adjusted_rand_score = pytest.importorskip("sklearn.metrics").adjusted_rand_score


def test_groups_tasks_with_similar_rows():
    T, truth = make_planted_affinity([5, 4, 3], within_std=0.2, between_std=0.2, random_state=1)
    assert adjusted_rand_score(truth, lloyd_clustering(T, 3, random_state=0)) == 1


def test_function_matches_estimator(planted):
    T, _ = planted
    labels = lloyd_clustering(T, 3, n_init=3, random_state=2)
    est = LloydClustering(n_clusters=3, n_init=3, random_state=2).fit(T)
    np.testing.assert_array_equal(labels, est.labels_)
    assert est.upper_bound_ is None and est.gap_ is None
    assert est.status_ == "heuristic" and not est.proven_optimal_
    assert est.n_iter_ >= 1
    assert est.info_["inertia"] >= 0


def test_labels_numbered_by_first_appearance(planted):
    T, _ = planted
    labels = lloyd_clustering(T, 3, random_state=0)
    first = [labels.tolist().index(g) for g in range(3)]
    assert first == sorted(first)


def test_fill_to_k_moves_the_cheapest_task():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 6))
    S = (A + A.T) / 2
    labels, moved = _fill_to_k(S, np.array([0, 0, 0, 1, 1, 1]), 3)
    assert moved == 1
    assert len(np.unique(labels)) == 3
    # Compare with every single-task move into a new group.
    best = max(
        density_objective(S, np.where(np.arange(6) == u, 2, [0, 0, 0, 1, 1, 1])) for u in range(6)
    )
    assert density_objective(S, labels) == pytest.approx(best)


def test_fill_to_k_keeps_enough_groups_alone():
    labels, moved = _fill_to_k(np.eye(4), np.array([1, 0, 0, 1]), 2)
    assert moved == 0
    np.testing.assert_array_equal(labels, [0, 1, 1, 0])


def test_duplicate_rows_still_give_k_groups():
    T = np.ones((5, 5))
    est = LloydClustering(n_clusters=4, random_state=0).fit(T)
    assert len(np.unique(est.labels_)) == 4
    assert est.info_["tasks_moved_to_fill_groups"] == 3


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("n_init", 0),
        ("max_iter", 0),
        ("max_iter", 2.5),
        ("tol", -1.0),
        ("tol", np.inf),
        ("tol", "small"),
    ],
)
def test_bad_kmeans_parameters(param, value):
    with pytest.raises(ValueError, match=rf"'{param}' parameter of LloydClustering .*Got"):
        LloydClustering(n_clusters=2, **{param: value}).fit(np.eye(3))
    with pytest.raises(ValueError, match=rf"'{param}' parameter of lloyd_clustering"):
        lloyd_clustering(np.eye(3), 2, **{param: value})


def test_function_validates_input():
    with pytest.raises(ValueError, match=r"'n_clusters' parameter of lloyd_clustering"):
        lloyd_clustering(np.eye(3), 4)
    with pytest.raises(TypeError, match=r"'T' parameter of lloyd_clustering"):
        lloyd_clustering([["x"]], 1)


def test_missing_sklearn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.cluster", None)
    with pytest.raises(ImportError, match=r'pip install "adagroup\[cluster\]"'):
        lloyd_clustering(np.eye(3), 2)
