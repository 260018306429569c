import itertools

import numpy as np
import pytest

from adagroup.cluster import density_objective, labels_to_groups
from adagroup.cluster._base import select_n_clusters


def test_density_objective_by_hand():
    S = np.array([[1.0, 2.0, 0.0], [2.0, 3.0, 1.0], [0.0, 1.0, 5.0]])
    # groups {0,1} and {2}: (1 + 2 + 2 + 3) / 2 + 5 / 1
    assert density_objective(S, [0, 0, 1]) == pytest.approx(9.0)
    # one group: sum / 3
    assert density_objective(S, [0, 0, 0]) == pytest.approx(15.0 / 3)


def test_density_objective_equals_trace_with_partition_matrix(rng):
    S = rng.normal(size=(7, 7))
    labels = rng.integers(0, 3, size=7)
    Z = np.eye(labels.max() + 1)[labels]
    X = Z @ np.diag(1.0 / Z.sum(axis=0)) @ Z.T
    assert density_objective(S, labels) == pytest.approx(np.sum(S * X))


def test_density_objective_ignores_asymmetry_and_shifts_by_n(rng):
    T = rng.normal(size=(6, 6))
    labels = [0, 1, 0, 2, 1, 2]
    assert density_objective(T, labels) == pytest.approx(density_objective((T + T.T) / 2, labels))
    assert density_objective(T + 3.0, labels) == pytest.approx(
        density_objective(T, labels) + 3.0 * 6
    )


def test_labels_to_groups():
    assert labels_to_groups(np.array([1, 0, 1]), ["a", "b", "c"]) == [["b"], ["a", "c"]]
    assert labels_to_groups(np.array([0, 2, 2])) == [[0], [1, 2]]


def test_select_n_clusters_finds_planted_k(planted):
    T, labels = planted
    S = (T + T.T) / 2
    # Score each k by its best partition among coarsenings/refinements of the truth.
    objectives = {}
    for k in range(1, 6):
        best = -np.inf
        for assign in itertools.product(range(k), repeat=3):
            if len(set(assign)) != k:
                continue
            best = max(best, density_objective(S, np.array(assign)[labels]))
        if k > 3:  # split the largest group further
            lab = labels.copy()
            lab[np.flatnonzero(labels == 0)[: k - 3]] = np.arange(3, k)
            best = density_objective(S, lab)
        objectives[k] = best
    k, table = select_n_clusters(S, objectives)
    assert k == 3
    assert [row["k"] for row in table] == [1, 2, 3, 4, 5]


def test_select_n_clusters_is_shift_invariant_and_prefers_small_k_on_ties():
    S = np.ones((4, 4))
    k, _ = select_n_clusters(S, {1: 4.0, 2: 4.0, 3: 4.0})
    assert k == 1
