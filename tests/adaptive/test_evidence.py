"""RunTable (scale-free scores) and PairPosterior (pooled pair-level affinity with a posterior)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from adagroup.adaptive import PairPosterior, RunTable, pair_affinity


def _additive_runs(theta, subsets, scales, noise=0.0, seed=0, sign=1.0):
    """Scores y_i(S) = scale_i * (1 + sum_{j in S - i} theta[i, j] + noise)."""
    rng = np.random.default_rng(seed)
    names = [f"t{i}" for i in range(len(theta))]
    runs = []
    for s in subsets:
        scores = {
            names[i]: sign
            * scales[i]
            * (1.0 + sum(theta[i, j] for j in s if j != i) + noise * rng.normal())
            for i in s
        }
        runs.append((tuple(names[i] for i in s), scores))
    return names, runs


def _blocks(labels, within=0.5, between=-0.25):
    labels = np.asarray(labels)
    theta = np.where(labels[:, None] == labels[None, :], within, between)
    np.fill_diagonal(theta, 0.0)
    return theta


@pytest.mark.parametrize("normalize", ["standardize", "relative"])
def test_scores_are_invariant_to_each_tasks_loss_scale(normalize):
    theta = _blocks([0, 0, 1, 1, 2, 2])
    subsets = list(itertools.combinations(range(6), 3))
    names, runs = _additive_runs(theta, subsets, np.ones(6), noise=0.1)
    _, scaled = _additive_runs(theta, subsets, 10.0 ** np.arange(-3, 3), noise=0.1)
    a = RunTable(runs, names, normalize=normalize)
    b = RunTable(scaled, names, normalize=normalize)
    np.testing.assert_allclose(a.y, b.y, atol=1e-12)
    np.testing.assert_allclose(pair_affinity(a), pair_affinity(b), atol=1e-10)


def test_losses_are_oriented_so_that_higher_is_better():
    theta = _blocks([0, 0, 1, 1])
    subsets = list(itertools.combinations(range(4), 2))
    names, gains = _additive_runs(theta, subsets, np.ones(4))
    _, losses = _additive_runs(-theta, subsets, np.ones(4))
    S_gain = pair_affinity(RunTable(gains, names))
    S_loss = pair_affinity(RunTable(losses, names, greater_is_better=False))
    np.testing.assert_allclose(S_gain, S_loss, atol=1e-12)
    assert S_gain[0, 1] > 0 > S_gain[0, 2]


def test_bad_normalize_names_the_parameter():
    with pytest.raises(ValueError, match="'normalize' parameter of RunTable"):
        RunTable([], ["a"], normalize="zscore")
    with pytest.raises(ValueError, match="'estimator' parameter of PairPosterior"):
        PairPosterior(RunTable([], ["a"]), estimator="median")


def test_surrogate_separates_a_partner_from_the_one_it_is_always_trained_with():
    # Task 0 meets task 1 only together with task 2 (which hurts it); the mean estimator
    # charges task 1 with task 2's harm, the surrogate does not.
    theta = np.zeros((5, 5))
    theta[0, 1], theta[0, 2], theta[0, 3], theta[0, 4] = 0.5, -1.0, 0.0, 0.0
    subsets = [(0, 1, 2), (0, 2, 3), (0, 2, 4), (0, 3, 4), (0, 1, 3), (0, 1, 4)]
    names, runs = _additive_runs(theta, subsets, np.ones(5))
    post = PairPosterior(RunTable(runs, names))
    mean = PairPosterior(RunTable(runs, names), estimator="mean")
    order = np.argsort(-post.theta[0, 1:]) + 1
    assert order[0] == 1 and order[-1] == 2
    assert post.theta[0, 1] - post.theta[0, 2] > mean.theta[0, 1] - mean.theta[0, 2]


def test_affinity_is_symmetric_with_zero_diagonal_and_zero_for_pairs_never_met():
    theta = _blocks([0, 0, 1, 1, 2, 2])
    subsets = [(0, 1, 2), (2, 3, 4), (0, 4, 5), (1, 3, 5)]
    names, runs = _additive_runs(theta, subsets, np.ones(6), noise=0.05)
    table = RunTable(runs, names)
    S = pair_affinity(table)
    np.testing.assert_array_equal(S, S.T)
    np.testing.assert_array_equal(np.diag(S), 0.0)
    never = (table.met() == 0) & ~np.eye(6, dtype=bool)
    np.testing.assert_array_equal(S[never], 0.0)


def test_posterior_is_wide_where_pairs_never_met_and_narrow_where_they_did():
    labels = np.repeat(np.arange(3), 4)
    theta = _blocks(labels)
    rng = np.random.default_rng(0)
    subsets = [tuple(rng.choice(12, 3, replace=False)) for _ in range(60)]
    names, runs = _additive_runs(theta, subsets, np.ones(12), noise=0.05)
    table = RunTable(runs, names)
    post = PairPosterior(table)
    draws = post.sample(np.random.default_rng(1), 400)
    spread = draws.std(axis=0)
    met = table.met()
    off = ~np.eye(12, dtype=bool)
    often = off & (met >= 3)
    never = off & (met == 0)
    assert never.any() and often.any()
    assert spread[never].mean() > 1.5 * spread[often].mean()
    # The mean of the draws is the point estimate.
    np.testing.assert_allclose(draws.mean(axis=0), post.S, atol=4 * spread.max() / 20)
    # Noisier scores give a larger noise estimate.
    _, noisy = _additive_runs(theta, subsets, np.ones(12), noise=1.0)
    assert PairPosterior(RunTable(noisy, names)).sigma.min() > post.sigma.max()


def test_no_runs_gives_a_zero_matrix():
    S = pair_affinity(RunTable([], ["a", "b"]))
    np.testing.assert_array_equal(S, np.zeros((2, 2)))


def _planted_runs(n_groups: int, per: int, n_runs: int, noise: float) -> tuple[list, tuple]:
    from adagroup.sampling import sample_subsets
    from adagroup.trainers.planted import PlantedTrainer

    trainer = PlantedTrainer(
        sizes=[per] * n_groups, noise=noise, scale=(1e-2, 1e2), random_state=0
    )
    names = trainer.task_names
    plan = sample_subsets(len(names), 3, n_runs, random_state=0)
    runs = []
    for s in plan:
        subset = tuple(names[i] for i in s)
        runs.append((subset, trainer(subset, 0)))
    return runs, names


def test_prior_is_at_its_empirical_bayes_fixed_point():
    # One round from a prior worth one run left that prior's shrinkage in the noise estimate
    # (read 3x too high on planted runs) and halved every pair measured once.
    runs, names = _planted_runs(4, 6, 120, noise=0.05)
    table = RunTable(runs, names)
    post = PairPosterior(table)
    met = table.met()
    np.fill_diagonal(met, 0)
    second = post.theta**2 + post.sigma[:, None] ** 2 * post._var
    assert post.tau**2 == pytest.approx(np.mean(second[met >= 1]), rel=0.05)
    implied = np.clip(post.sigma**2 / post.tau**2, 0.01, 20.0)
    np.testing.assert_allclose(post.ridge, implied, rtol=0.05)
    assert np.median(post.ridge) < 0.5  # a prior worth one run is far from it here


def test_prior_spread_does_not_collapse_on_noisy_runs():
    # Without the posterior variance in tau^2 the rounds drive tau to 0 on noisy runs and
    # every effect to the prior mean.
    runs, names = _planted_runs(3, 4, 60, noise=1.0)
    post = PairPosterior(RunTable(runs, names))
    assert post.tau > 0.1
    assert np.abs(post.S).max() > 0.05
