import math
from itertools import combinations

import numpy as np
import pytest

from adagroup.sampling import (
    adaptive_subsets,
    all_pairs,
    cover_pairs,
    sample_subsets,
    singletons,
)


def _pairs(plan):
    return {p for s in plan for p in combinations(s, 2)}


def test_all_pairs_and_singletons():
    assert all_pairs(4) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert len(all_pairs(10)) == 45
    assert singletons(3) == [(0,), (1,), (2,)]
    with pytest.raises(ValueError, match="'n_tasks' parameter of all_pairs"):
        all_pairs(1)
    with pytest.raises(ValueError, match="'n_tasks' parameter of singletons"):
        singletons(0)


@pytest.mark.parametrize(("n", "size", "m"), [(10, 3, 20), (6, 3, 20), (6, 3, 15), (5, 5, 1)])
def test_sample_subsets_distinct_sorted(n, size, m):
    plan = sample_subsets(n, size, m, random_state=0)
    assert len(plan) == m
    assert len(set(plan)) == m
    assert all(len(s) == size and list(s) == sorted(s) for s in plan)
    assert all(0 <= i < n for s in plan for i in s)
    assert all(isinstance(i, int) for s in plan for i in s)


def test_sample_subsets_all_of_them():
    # Asking for every subset returns every subset (the enumerating branch).
    plan = sample_subsets(6, 3, math.comb(6, 3), random_state=1)
    assert set(plan) == set(combinations(range(6), 3))


def test_sample_subsets_deterministic():
    a = sample_subsets(30, 4, 50, random_state=7)
    assert a == sample_subsets(30, 4, 50, random_state=7)
    assert a != sample_subsets(30, 4, 50, random_state=8)


def test_sample_subsets_is_roughly_uniform():
    # Each task appears in size/n of the subsets on average.
    n, size, m = 12, 3, 200
    plan = sample_subsets(n, size, m, random_state=0)
    freq = np.bincount([i for s in plan for i in s], minlength=n) / m
    assert np.allclose(freq, size / n, atol=0.08)


def test_sample_subsets_exclude():
    done = [(0, 1, 2), (3, 4, 5)]
    plan = sample_subsets(6, 3, 18, random_state=0, exclude=done)
    assert not set(plan) & set(done)
    with pytest.raises(ValueError, match="after excluding 2"):
        sample_subsets(6, 3, 19, random_state=0, exclude=done)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((5, 0, 1), "'size' parameter of sample_subsets must be an int in \\[1, 5\\]"),
        ((5, 6, 1), "'size' parameter"),
        ((5, 2, 11), r"only C\(5, 2\)=10 exist"),
        ((5, 2, -1), "'n_subsets' parameter"),
        ((0, 1, 1), "'n_tasks' parameter"),
        ((5.0, 2, 1), "'n_tasks' parameter"),
        ((5, True, 1), "'size' parameter"),
    ],
)
def test_sample_subsets_errors(args, match):
    with pytest.raises(ValueError, match=match):
        sample_subsets(*args, random_state=0)


def test_cover_pairs_covers_everything():
    for n, size in [(7, 3), (12, 4), (30, 5), (5, 2)]:
        plan = cover_pairs(n, size, random_state=0)
        assert _pairs(plan) == set(combinations(range(n), 2))
        assert len(set(plan)) == len(plan)
        assert all(len(s) == size for s in plan)
        lower = math.ceil(math.comb(n, 2) / math.comb(size, 2))
        assert lower <= len(plan) <= 2 * lower


def test_cover_pairs_subset_of_pairs_and_exclude():
    plan = cover_pairs(10, 3, pairs=[(0, 9), (1, 2)], random_state=0)
    assert {(0, 9), (1, 2)} <= _pairs(plan)
    assert len(plan) <= 2
    # A pair already covered by an excluded subset needs no new subset.
    assert cover_pairs(10, 3, pairs=[(0, 9)], exclude=[(0, 5, 9)], random_state=0) == []
    with pytest.raises(ValueError, match="'pairs' parameter of cover_pairs"):
        cover_pairs(4, 2, pairs=[(0, 4)])
    with pytest.raises(ValueError, match="'pairs' parameter of cover_pairs"):
        cover_pairs(4, 2, pairs=[(1, 1)])


def test_sample_subsets_ensure_coverage():
    plan = sample_subsets(9, 3, 20, random_state=0, ensure_coverage=True)
    assert len(plan) == len(set(plan)) == 20
    assert _pairs(plan) == set(combinations(range(9), 2))
    with pytest.raises(ValueError, match="covering every pair"):
        sample_subsets(9, 3, 5, random_state=0, ensure_coverage=True)


GROUPS = [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
NEW = [10, 11]


def test_adaptive_subsets_one_group_each_and_mixed():
    plan = adaptive_subsets(NEW, GROUPS, size=3, n_subsets=12, random_state=0)
    assert len(plan) == len(set(plan)) == 12
    paired = []
    for s in plan:
        old = set(s) - set(NEW)
        assert set(s) & set(NEW), s  # at least one new task
        assert old, s  # at least one old task
        owners = [g for g, members in enumerate(GROUPS) if old <= set(members)]
        assert len(owners) == 1, s  # old tasks come from exactly one group
        paired.append(owners[0])
    # Round-robin: every group paired, counts differ by at most one.
    counts = np.bincount(paired, minlength=3)
    assert counts.min() >= 1 and counts.max() - counts.min() <= 1


def test_adaptive_subsets_deterministic_and_exclude():
    a = adaptive_subsets(NEW, GROUPS, size=3, n_subsets=6, random_state=3)
    assert a == adaptive_subsets(NEW, GROUPS, size=3, n_subsets=6, random_state=3)
    b = adaptive_subsets(NEW, GROUPS, size=3, n_subsets=6, random_state=3, exclude=a)
    assert not set(a) & set(b)


def test_adaptive_subsets_small_pool_and_first_batch():
    # Pool {5, 0} has 2 tasks: size is clipped to 2.
    assert adaptive_subsets([5], [[0]], size=4, n_subsets=1, random_state=0) == [(0, 5)]
    first = adaptive_subsets([3, 4, 5, 6], [], size=2, n_subsets=6, random_state=0)
    assert set(first) == set(combinations([3, 4, 5, 6], 2))


def test_adaptive_subsets_capacity_error():
    # Pools: {10,11} + group, size 3 with >= 1 new and >= 1 old:
    # group of 4: C(2,1)C(4,2) + C(2,2)C(4,1) = 16; of 3: 6 + 3 = 9 (twice) -> 34.
    assert len(adaptive_subsets(NEW, GROUPS, size=3, n_subsets=34, random_state=0)) == 34
    with pytest.raises(ValueError, match="allow only 34"):
        adaptive_subsets(NEW, GROUPS, size=3, n_subsets=35, random_state=0)


def test_adaptive_subsets_coverage():
    plan = adaptive_subsets(
        NEW, GROUPS, size=3, n_subsets=20, random_state=0, ensure_coverage=True
    )
    want = {(min(a, b), max(a, b)) for a in NEW for g in GROUPS for b in g} | {(10, 11)}
    assert want <= _pairs(plan)
    assert len(set(plan)) == 20


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"new_tasks": [], "groups": GROUPS}, "'new_tasks' parameter"),
        ({"new_tasks": [1], "groups": GROUPS}, "repeats task"),
        ({"new_tasks": [10], "groups": [[0, 1], [1, 2]]}, "repeats task"),
        ({"new_tasks": [10], "groups": [[0], []]}, "non-empty groups"),
        ({"new_tasks": [10, 10], "groups": GROUPS}, "distinct non-negative"),
        ({"new_tasks": ["a"], "groups": GROUPS}, "distinct non-negative"),
    ],
)
def test_adaptive_subsets_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        adaptive_subsets(**kwargs, size=3, n_subsets=2, random_state=0)


def test_adaptive_subsets_rejects_size_one_instead_of_hanging():
    # Regression: size 1 over-counted the free subsets and the sampler looped forever.
    with pytest.raises(
        ValueError, match=r"'size' parameter of adaptive_subsets must be an int >= 2"
    ):
        adaptive_subsets([4, 5], [[0, 1], [2, 3]], size=1, n_subsets=3, random_state=0)
