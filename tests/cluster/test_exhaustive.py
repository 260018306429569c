import numpy as np
import pytest

from adagroup.cluster import (
    ExhaustiveClustering,
    LloydClustering,
    SpectralClustering,
    density_objective,
    exhaustive_clustering,
)
from adagroup.cluster._exhaustive import stirling2
from adagroup.datasets import make_planted_affinity


def _partitions(n):
    """Every partition of range(n) as a restricted growth string (the test's own enumeration)."""

    def grow(prefix, n_blocks):
        if len(prefix) == n:
            yield prefix
            return
        for b in range(n_blocks + 1):
            yield from grow(prefix + [b], max(n_blocks, b + 1))

    yield from grow([0], 1) if n else iter([[]])


def _brute_force(S, k):
    return max(
        density_objective(S, np.array(p)) for p in _partitions(S.shape[0]) if max(p) + 1 == k
    )


def _random_symmetric(n, seed):
    A = np.random.default_rng(seed).normal(size=(n, n))
    return (A + A.T) / 2


@pytest.mark.parametrize(
    ("n", "k", "count"),
    [(1, 1, 1), (4, 2, 7), (10, 3, 9330), (12, 4, 611501), (12, 6, 1323652), (16, 4, 171798901)],
)
def test_stirling2(n, k, count):
    assert stirling2(n, k) == count


def test_stirling2_counts_the_enumerated_partitions():
    for n in range(1, 7):
        blocks = [max(p) + 1 for p in _partitions(n)]
        for k in range(1, n + 1):
            assert blocks.count(k) == stirling2(n, k)
    assert stirling2(3, 4) == 0


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7])
def test_matches_brute_force(n):
    for seed in range(3):
        S = _random_symmetric(n, seed)
        for k in range(1, n + 1):
            labels = exhaustive_clustering(S, k)
            assert len(np.unique(labels)) == k
            assert density_objective(S, labels) == pytest.approx(_brute_force(S, k), abs=1e-10)


def test_exactly_k_groups_even_when_fewer_would_score_higher():
    # All-positive affinity: one big group has the largest F, but k=3 is asked for.
    S = np.full((6, 6), 1.0) + np.eye(6)
    labels = exhaustive_clustering(S, 3)
    assert len(np.unique(labels)) == 3
    assert density_objective(S, labels) == pytest.approx(_brute_force(S, 3))


def test_estimator_reports_a_closed_certificate(planted):
    T, truth = planted
    est = ExhaustiveClustering(n_clusters=3).fit(T)
    assert est.status_ == "optimal"
    assert est.proven_optimal_ is True
    assert est.upper_bound_ == est.objective_
    assert est.gap_ == 0.0
    assert est.info_["n_partitions"] == stirling2(10, 3)
    assert est.info_["dp_value"] == pytest.approx(est.objective_)
    np.testing.assert_array_equal(est.labels_, exhaustive_clustering(T, 3))
    assert est.to_dict()["proven_optimal"] is True


def test_ties_are_broken_deterministically():
    S = np.ones((6, 6))
    first = exhaustive_clustering(S, 3)
    for _ in range(3):
        np.testing.assert_array_equal(exhaustive_clustering(S, 3), first)
    # Labels are numbered by first appearance.
    assert first[0] == 0


def test_recovers_planted_groups_at_twelve_tasks():
    T, truth = make_planted_affinity(
        [5, 4, 3],
        within_mean=1.0,
        within_std=0.3,
        between_mean=0.0,
        between_std=0.3,
        symmetric=False,
        random_state=4,
    )
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, exhaustive_clustering(T, 3)) == 1


@pytest.mark.parametrize("seed", range(6))
def test_beats_or_ties_the_baselines(seed):
    T = np.random.default_rng(seed).normal(size=(8, 8))
    for k in (2, 3, 4):
        best = ExhaustiveClustering(n_clusters=k).fit(T).objective_
        for cls in (SpectralClustering, LloydClustering):
            other = cls(n_clusters=k, random_state=seed).fit(T).objective_
            assert best >= other - 1e-9


def test_refuses_too_many_tasks_naming_the_partition_count():
    T = np.zeros((17, 17))
    with pytest.raises(
        ValueError,
        match=r"Exact search over 21,457,825 partitions of n_tasks=17 into n_clusters=3 is "
        r"too large \(limit max_tasks=16 tasks\); use method='sdp'",
    ):
        ExhaustiveClustering(n_clusters=3).fit(T)
    with pytest.raises(ValueError, match=r"Exact search over 7 partitions of n_tasks=4"):
        exhaustive_clustering(np.eye(4), 2, max_tasks=3)


@pytest.mark.parametrize("max_tasks", [0, 19, 2.5, True, "12"])
def test_bad_max_tasks(max_tasks):
    with pytest.raises(ValueError, match=r"'max_tasks' parameter of ExhaustiveClustering .*Got"):
        ExhaustiveClustering(n_clusters=2, max_tasks=max_tasks).fit(np.eye(3))
    with pytest.raises(ValueError, match=r"'max_tasks' parameter of exhaustive_clustering"):
        exhaustive_clustering(np.eye(3), 2, max_tasks=max_tasks)


def test_function_validates_input():
    with pytest.raises(ValueError, match=r"'n_clusters' parameter of exhaustive_clustering"):
        exhaustive_clustering(np.eye(3), 4)
    with pytest.raises(ValueError, match=r"'T' parameter of exhaustive_clustering"):
        exhaustive_clustering(np.ones((2, 3)), 1)


def test_auto_k_scores_every_candidate_exactly():
    T, _ = make_planted_affinity([3, 2, 2], within_std=0.2, between_std=0.2, random_state=1)
    est = ExhaustiveClustering(n_clusters="auto").fit(T)
    assert [row["k"] for row in est.k_table_] == list(range(1, 8))
    for row in est.k_table_:
        assert row["proven_optimal"] is True
        assert row["upper_bound"] == row["objective"]
        assert row["objective"] == pytest.approx(_brute_force(T, row["k"]), abs=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("k", [3, 6])
def test_sixteen_tasks(k):
    T, truth = make_planted_affinity(
        [6, 5, 5] if k == 3 else [3, 3, 3, 3, 2, 2],
        within_std=0.3,
        between_std=0.3,
        random_state=0,
    )
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, exhaustive_clustering(T, k)) == 1
