"""Choice of k, posterior draws of groupings, stability, adjusted Rand index."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from adagroup.adaptive import PairPosterior, RunTable
from adagroup.adaptive._grouping import best_groupings, density, measured_density, merge_path
from adagroup.adaptive._uncertainty import (
    adjusted_rand,
    choose_k_by_draws,
    draw_groupings,
    selection_optimism,
    task_stability,
)


def _blocks(labels, within=1.0, between=-0.5):
    labels = np.asarray(labels)
    S = np.where(labels[:, None] == labels[None, :], within, between)
    np.fill_diagonal(S, 0.0)
    return S.astype(float)


@pytest.mark.parametrize("sizes", [[3, 3, 3], [4, 2], [5, 5, 5, 5], [2, 2, 2, 2, 2, 2]])
def test_density_peaks_at_the_planted_number_of_groups(sizes):
    labels = np.repeat(np.arange(len(sizes)), sizes)
    S = _blocks(labels)
    S -= S[~np.eye(len(S), dtype=bool)].mean() * (1 - np.eye(len(S)))
    path = merge_path(S, min(len(S), 8))
    F = {k: density(S, lab) for k, lab in path.items()}
    k = max(F, key=lambda kk: F[kk])
    assert k == len(sizes)
    assert adjusted_rand(path[k], labels) == 1


def _runs(labels, n_runs, noise, seed):
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    n = len(labels)
    names = [f"t{i}" for i in range(n)]
    runs = []
    for _ in range(n_runs):
        s = rng.choice(n, 3, replace=False)
        scores = {
            names[i]: 1.0
            + sum(1.0 if labels[i] == labels[j] else -0.5 for j in s if j != i)
            + noise * rng.normal()
            for i in s
        }
        runs.append((tuple(names[i] for i in s), scores))
    return names, runs


def _draws(labels, n_runs, noise, seed=0):
    names, runs = _runs(labels, n_runs, noise, seed)
    table = RunTable(runs, names)
    post = PairPosterior(table)
    S = post.S
    measured = table.met() > 0
    point = merge_path(S, 6)
    draws = draw_groupings(
        post, point, n_draws=40, rng=np.random.default_rng(seed), measured=measured
    )
    return point[draws.k], draws


def test_plentiful_evidence_gives_stable_groups_and_a_sharp_coassignment():
    labels = np.repeat(np.arange(3), 4)
    final, draws = _draws(labels, 120, 0.1)
    assert adjusted_rand(final, labels) == 1
    stab = task_stability(draws.labels, final)
    assert stab.min() > 0.95
    C = draws.coassignment()
    same = labels[:, None] == labels[None, :]
    assert C[same].min() > 0.9 and C[~same].max() < 0.1
    assert draws.k == 3 and draws.k_probability[3] > 0.9


def test_scarce_evidence_gives_unstable_groups():
    labels = np.repeat(np.arange(3), 4)
    final, draws = _draws(labels, 8, 0.5, seed=1)
    stab = task_stability(draws.labels, final)
    assert stab.min() < 0.8
    assert np.mean([adjusted_rand(d, final) for d in draws.labels]) < 0.9


def test_task_stability_is_the_mean_jaccard_of_each_tasks_group():
    final = np.array([0, 0, 1, 1])
    reps = np.array([[0, 0, 1, 1], [0, 1, 1, 1]])
    # Task 0: {0,1} then {0}: Jaccard 1 and 1/2. Task 2: {2,3} then {1,2,3}: 1 and 2/3.
    # Task 1: {0,1} then {1,2,3}: 1 and 1/4.
    np.testing.assert_allclose(task_stability(reps, final), [0.75, 0.625, 5 / 6, 5 / 6])


def test_adjusted_rand_matches_scikit_learn():
    rng = np.random.default_rng(0)
    for _ in range(50):
        a, b = rng.integers(0, 4, 15), rng.integers(0, 3, 15)
        assert adjusted_rand(a, b) == pytest.approx(adjusted_rand_score(a, b))
    assert adjusted_rand([0, 0, 0], [1, 1, 1]) == 1.0


def test_measured_density_is_not_diluted_by_pairs_never_trained_together():
    labels = np.repeat(np.arange(2), 6)
    S = _blocks(labels)
    measured = np.random.default_rng(0).random(S.shape) < 0.3
    measured = measured | measured.T
    sparse = np.where(measured, S, 0.0)
    halves = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
    # Unmeasured pairs read as 0, so the plain density may prefer splitting true groups; the
    # measured density keeps each group's mean over the pairs that were trained.
    assert measured_density(sparse, measured, labels) > measured_density(sparse, measured, halves)
    np.testing.assert_allclose(
        measured_density(S, np.ones_like(measured), labels), density(S, labels)
    )


def test_draws_keep_the_chosen_k_unless_they_beat_it_by_a_standard_error():
    # Each draw's k used to need the chosen k to be that draw's exact best (its standard
    # error against itself is 0), so most draws split a group by noise: 44 % kept k here.
    from adagroup.sampling import sample_subsets
    from adagroup.trainers.planted import PlantedTrainer

    trainer = PlantedTrainer(sizes=[6] * 4, noise=0.1, random_state=0)
    names = trainer.task_names
    runs = []
    for s in sample_subsets(24, 3, 120, random_state=0):
        subset = tuple(names[i] for i in s)
        runs.append((subset, trainer(subset, 0)))
    table = RunTable(runs, names)
    post = PairPosterior(table)
    point = best_groupings(post.S, 8)
    k, per_draw = choose_k_by_draws(
        post.sample(np.random.default_rng(0), 100), point, table.met() > 0
    )
    assert k == 4
    assert np.mean(per_draw == k) >= 0.6


def test_one_standard_error_rule_compares_each_k_with_the_best_one():
    from adagroup.adaptive._uncertainty import _fewest_within_se

    ks = [1, 2, 3]
    values = np.array([0.0, 1.0, 1.05])
    se = np.array([[0.0, 0.5, 0.5], [0.5, 0.0, 0.1], [0.5, 0.1, 0.0]])
    assert _fewest_within_se(values, se, ks) == 2
    se[1, 2] = se[2, 1] = 0.01
    assert _fewest_within_se(values, se, ks) == 3


def _noisy_blocks(labels, sd, rng):
    truth = _blocks(labels, within=0.6, between=-0.2)
    noise = rng.normal(0.0, sd, truth.shape)
    out = truth + (noise + noise.T) / np.sqrt(2.0)
    np.fill_diagonal(out, 0.0)
    return out, truth


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_optimism_of_choosing_on_the_same_noise_is_taken_back(seed):
    # The grouping for each k follows the estimate's noise, so without the correction the
    # density rises with k and 6-8 groups are chosen for 4.
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(4), 8)
    S, truth = _noisy_blocks(labels, 0.35, rng)
    draws = np.stack([S + _noisy_blocks(labels, 0.35, rng)[0] - truth for _ in range(50)])
    draws[:, np.arange(32), np.arange(32)] = 0.0
    measured = np.ones_like(S, dtype=bool)
    point = best_groupings(S, 8)
    naive, _ = choose_k_by_draws(draws, point, measured)
    optimism = selection_optimism(S, draws, measured, 8)
    k, _ = choose_k_by_draws(draws, point, measured, optimism)
    assert naive > 4
    assert k == 4 and adjusted_rand(point[k], labels) == 1.0
    # Relative to two groups, and growing with k.
    assert optimism[1] == optimism[2] == 0.0
    assert optimism[8] > optimism[5] > 0.0
    # Asked for more groups than tasks, it stops at one task per group.
    assert max(selection_optimism(S[:6, :6], draws[:, :6, :6], measured[:6, :6], 9)) == 6
