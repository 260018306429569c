"""Which subsets AdaGroup trains: the cover, uniform and targeted subsets."""

from __future__ import annotations

import numpy as np

from adagroup.adaptive._design import cover_groups, targeted_subsets, uniform_subsets


def test_cover_trains_every_new_task_with_every_group_two_groups_per_subset():
    groups = [[0, 1, 2], [3, 4], [5, 6, 7, 8]]
    new = [9, 10, 11]
    plan = cover_groups(new, groups, 3, set(), np.random.default_rng(0))
    # Three groups, two slots: two subsets per new task (one group per subset took three).
    assert len(plan) == len(new) * 2
    for s in plan:
        assert len(set(s) & set(new)) == 1
        olds = set(s) - set(new)
        # One member from each of two groups; the third group alone in a smaller subset.
        assert len(olds) == sum(bool(olds & set(g)) for g in groups)
    assert sorted(len(s) for s in plan) == [2] * len(new) + [3] * len(new)
    for x in new:
        met = {i for s in plan if x in s for i in s}
        assert all(met & set(g) for g in groups)
    # Members take turns: no member of a group is used twice before the others once.
    used = [i for s in plan for i in s if i in groups[2]]
    assert len(used) == len(new) and len(set(used)) == len(used)


def test_cover_with_fewer_groups_than_slots_trains_a_smaller_subset():
    plan = cover_groups([3], [[0, 1, 2]], 3, set(), np.random.default_rng(0))
    assert len(plan) == 1 and len(plan[0]) == 2 and 3 in plan[0]


def test_cover_skips_subsets_already_taken():
    groups = [[0, 1], [3]]
    first = cover_groups([2], groups, 3, set(), np.random.default_rng(0))
    assert len(first) == 1 and len(first[0]) == 3
    assert cover_groups([2], groups, 3, set(first), np.random.default_rng(0)) == []


def test_uniform_subsets_are_distinct_new_and_bounded():
    taken = {(0, 1, 2)}
    plan = uniform_subsets(list(range(5)), 3, 100, taken, np.random.default_rng(0))
    assert len(plan) == 10 - 1 and len(set(plan)) == len(plan)
    assert (0, 1, 2) not in plan
    assert uniform_subsets([0, 1], 3, 5, set(), np.random.default_rng(0)) == [(0, 1)]
    assert uniform_subsets([0], 3, 5, set(), np.random.default_rng(0)) == []


def test_targeted_runs_test_only_unstable_tasks_against_plausible_groups():
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    stability = np.array([1.0, 1.0, 0.4, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    C = (labels[:, None] == labels[None, :]).astype(float)
    # Task 2 goes with group 1 in half of the draws.
    C[2, 3:6] = C[3:6, 2] = 0.5
    met = np.full((9, 9), 3.0)
    plan = targeted_subsets(
        labels, C, stability, met, 3, 4, set(), np.random.default_rng(0), confidence=0.9
    )
    assert plan and all(2 in s for s in plan)
    partners = {i for s in plan for i in s} - {2}
    assert partners <= set(range(6))  # its own group and group 1, never group 2
    assert partners & {0, 1} and partners & {3, 4, 5}
    stable = targeted_subsets(
        labels, C, np.ones(9), met, 3, 4, set(), np.random.default_rng(0), confidence=0.9
    )
    assert stable == []


def test_targeted_runs_reach_groups_the_task_has_barely_met():
    labels = np.array([0, 0, 0, 1, 1, 1])
    C = (labels[:, None] == labels[None, :]).astype(float)
    met = np.full((6, 6), 3.0)
    met[0, 3:] = met[3:, 0] = 0.0
    plan = targeted_subsets(
        labels, C, np.array([0.5, 1, 1, 1, 1, 1]), met, 3, 2, set(),
        np.random.default_rng(0), confidence=0.9,
    )  # fmt: skip
    assert any(set(s) & {3, 4, 5} for s in plan)


def test_targeted_runs_test_a_task_against_its_closest_other_group():
    # Two halves of one true group: the draws agree on the split (no mass on the other half)
    # and the task has met the other half before, so only the affinity proposes it.
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    C = (labels[:, None] == labels[None, :]).astype(float)
    met = np.full((9, 9), 3.0)
    S = np.where(labels[:, None] == labels[None, :], 1.0, -0.5)
    S[np.ix_([0, 1, 2], [6, 7, 8])] = S[np.ix_([6, 7, 8], [0, 1, 2])] = 0.6
    stability = np.array([0.5, 1, 1, 1, 1, 1, 1, 1, 1])
    args = (labels, C, stability, met, 3, 2, set(), np.random.default_rng(0))
    without = targeted_subsets(*args, confidence=0.9)
    assert not any(set(s) & {6, 7, 8} for s in without)
    plan = targeted_subsets(*args, confidence=0.9, affinity=S)
    assert any(0 in s and set(s) & {6, 7, 8} for s in plan)
    assert not any(set(s) & {3, 4, 5} for s in plan)


def _split_group():
    # Groups 0 and 1 are the halves of one true group; group 2 is another group.
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    truth = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1])
    S = np.where(truth[:, None] == truth[None, :], 0.6, -0.4)
    met = np.full((9, 9), 2.0)
    met[np.ix_(range(3), range(3, 6))] = met[np.ix_(range(3, 6), range(3))] = 0.0
    met[0, 3] = met[3, 0] = 1.0  # one of the nine cross pairs was measured
    return labels, S, met


def test_groups_that_attract_but_were_rarely_trained_together_are_contested():
    from adagroup.adaptive._design import contested_groups

    labels, S, met = _split_group()
    assert contested_groups(labels, S, met, 0.5) == [(0, 1)]
    # Once half of the cross pairs are measured, the split stands on its evidence.
    met[np.ix_(range(3), range(3, 6))] = met[np.ix_(range(3, 6), range(3))] = 1.0
    assert contested_groups(labels, S, met, 0.5) == []
    # Groups that repel each other are never contested, however little they met.
    labels, S, met = _split_group()
    assert contested_groups(labels, -S, met, 0.5) == []


def test_merge_tests_train_the_halves_together_on_unmeasured_pairs():
    from adagroup.adaptive._design import merge_test_subsets

    labels, S, met = _split_group()
    plan = merge_test_subsets(labels, [(0, 1)], met, 3, 4, set(), np.random.default_rng(0))
    assert len(plan) == 4
    for s in plan:
        assert set(s) <= set(range(6)) and set(s) & {0, 1, 2} and set(s) & {3, 4, 5}
    cross = [(a, b) for s in plan for a in s for b in s if a < 3 <= b]
    # Each run measures cross pairs no run measured before: the eight unmeasured ones.
    assert len(set(cross)) == len(cross) == 8 and (0, 3) not in cross
