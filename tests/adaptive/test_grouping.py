"""Fast groupings for every k: density, single-task moves, agglomeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from adagroup.adaptive._grouping import canonical, density, improve, merge_path, with_k_groups
from adagroup.cluster import density_objective


def _noisy_blocks(labels, noise, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    S = np.where(labels[:, None] == labels[None, :], 1.0, -0.5) + noise * rng.normal(
        size=(len(labels),) * 2
    )
    S = (S + S.T) / 2
    np.fill_diagonal(S, 0.0)
    return S


def _best_by_brute_force(S, k):
    n = len(S)
    best, arg = -np.inf, None
    for lab in itertools.product(range(k), repeat=n):
        if len(set(lab)) != k:
            continue
        f = density(S, np.array(lab))
        if f > best:
            best, arg = f, np.array(lab)
    return best, arg


def test_density_matches_the_package_objective():
    S = _noisy_blocks([0, 0, 1, 1, 2], 0.3)
    lab = np.array([0, 1, 0, 1, 2])
    assert density(S, lab) == pytest.approx(density_objective(S, lab))


def test_improve_never_lowers_density_and_keeps_k():
    rng = np.random.default_rng(0)
    for seed in range(20):
        S = _noisy_blocks(np.repeat(np.arange(3), 4), 1.0, seed)
        start = rng.integers(0, 4, 12)
        start[:4] = np.arange(4)  # four non-empty groups
        out = improve(S, start)
        assert len(np.unique(out)) == 4
        assert density(S, out) >= density(S, start) - 1e-12


@pytest.mark.parametrize("seed", range(5))
def test_merge_path_reaches_the_exact_optimum_on_small_noisy_blocks(seed):
    S = _noisy_blocks([0, 0, 0, 1, 1, 2, 2], 0.4, seed)
    path = merge_path(S, 4)
    assert sorted(path) == [1, 2, 3, 4]
    for k, lab in path.items():
        assert len(np.unique(lab)) == k
        best, _ = _best_by_brute_force(S, k)
        assert density(S, lab) == pytest.approx(best, abs=1e-9)


def test_with_k_groups_merges_and_splits_to_exactly_k():
    S = _noisy_blocks(np.repeat(np.arange(4), 3), 0.1)
    lab = np.repeat(np.arange(4), 3)
    for k in range(1, 13):
        assert len(np.unique(with_k_groups(S, lab, k))) == k
    # Merging joins the two closest groups, keeping the others intact.
    three = with_k_groups(S, lab, 3)
    assert len({tuple(np.flatnonzero(three == c)) for c in range(3)} & {(9, 10, 11)}) <= 1


def test_canonical_numbers_groups_by_first_task():
    np.testing.assert_array_equal(canonical([5, 5, 2, 7, 2]), [0, 0, 1, 2, 1])
    np.testing.assert_array_equal(canonical([-1, -2, -1]), [0, 1, 0])
