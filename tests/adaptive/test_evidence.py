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
    implied = np.clip(post.sigma**2 / (post.tau**2 * (1.0 - post.rho**2)), 0.01, 20.0)
    np.testing.assert_allclose(post.ridge, implied, rtol=0.05)
    # A prior worth one run is far from it here (its marginal spread; rho only adds coupling).
    assert np.median(post.sigma**2 / post.tau**2) < 0.5


def test_prior_spread_does_not_collapse_on_noisy_runs():
    # Without the posterior variance in tau^2 the rounds drive tau to 0 on noisy runs and
    # every effect to the prior mean.
    runs, names = _planted_runs(3, 4, 60, noise=1.0)
    post = PairPosterior(RunTable(runs, names))
    assert post.tau > 0.1
    assert np.abs(post.S).max() > 0.05


def _target_system(table: RunTable, post: PairPosterior, i: int):
    """Target i's centred design and posterior precision, built independently of the fit."""
    rows = np.flatnonzero(table.member[:, i])
    X = table.member[rows].copy()
    X[:, i] = 0.0
    Y = np.zeros((table.n_runs, table.n))
    Y[np.nonzero(table.valid)[0], table.idx[table.valid]] = table.y[table.valid]
    Xc = X - X.mean(axis=0)
    yc = Y[rows, i] - Y[rows, i].mean()
    A = Xc.T @ Xc + post.ridge[i] * np.eye(table.n)
    return A, Xc.T @ yc


def test_posterior_variance_is_the_diagonal_of_the_inverse_precision():
    # It was the squared column norms of a triangular solve that read only the diagonal of
    # the factor: up to 2.5x too small, which shrank tau and every pair measured once.
    runs, names = _planted_runs(3, 4, 40, noise=0.1)
    table = RunTable(runs, names)
    post = PairPosterior(table)
    for i in range(table.n):
        A, _ = _target_system(table, post, i)
        np.testing.assert_allclose(post._var[i], np.diag(np.linalg.inv(A)), rtol=1e-8)


def _all_triples(theta, seed=0):
    scales = 10.0 ** np.random.default_rng(seed).uniform(-2, 2, len(theta))
    subsets = list(itertools.combinations(range(len(theta)), 3))
    names, runs = _additive_runs(theta, subsets, scales, noise=0.05, seed=seed)
    return RunTable(runs, names)


def test_correlation_of_the_two_directions_is_read_from_the_runs():
    blocks = _all_triples(_blocks([0, 0, 0, 0, 1, 1, 1, 1]))
    assert PairPosterior(blocks, estimator="coupled").rho > 0.8
    assert PairPosterior(blocks).rho == 0.0  # the per-target fit keeps directions apart
    effects = np.triu(np.random.default_rng(1).normal(0.0, 0.5, (8, 8)), 1)
    opposed = PairPosterior(_all_triples(effects - effects.T), estimator="coupled")
    assert opposed.rho == 0.0


def test_correlated_prior_gives_the_joint_posterior_mean():
    # The conjugate-gradient solve must reach the solution of the coupled system
    # A_i theta_i - ridge_i * rho * theta_{.i} = b_i over every target at once.
    runs, names = _planted_runs(2, 4, 14, noise=0.1)
    table = RunTable(runs, names)
    post = PairPosterior(table, estimator="coupled")
    assert post.rho > 0.0
    n = table.n
    big = np.zeros((n * n, n * n))
    rhs = np.zeros(n * n)
    for i in range(n):
        A, b = _target_system(table, post, i)
        big[i * n : (i + 1) * n, i * n : (i + 1) * n] = A
        rhs[i * n : (i + 1) * n] = b
        for j in range(n):
            big[i * n + j, j * n + i] -= post.ridge[i] * post.rho
    joint = np.linalg.solve(big, rhs).reshape(n, n)
    np.fill_diagonal(joint, 0.0)
    np.testing.assert_allclose(post.theta, joint, atol=1e-5 * np.abs(joint).max())


def test_coupled_draws_are_centred_on_the_mean_and_as_wide_as_the_prior_where_unmeasured():
    # Drawn per target given the other direction, a pair never measured came out with
    # tau^2 (1 - rho^2): at rho = 0.9 a fifth of the prior's spread, so groupings resting on
    # unmeasured pairs looked stable.
    runs, names = _planted_runs(4, 6, 30, noise=0.1)
    table = RunTable(runs, names)
    post = PairPosterior(table, estimator="coupled")
    assert post.rho > 0.1
    draws = post.sample(np.random.default_rng(0), 3000)
    assert np.abs(draws.mean(axis=0) - post.S).max() < 0.06
    met = table.met() > 0
    np.fill_diagonal(met, True)
    prior = post.tau**2 * (1.0 + post.rho) / 2.0
    assert draws.var(axis=0)[~met].mean() == pytest.approx(prior, rel=0.05)


def test_coupling_separates_the_partners_of_a_shared_reading():
    # Symmetric effects, most pairs measured once: the per-target fit splits one reading
    # between the run's two partners; the partners' own readings tell them apart.
    runs, names = _planted_runs(5, 6, 60, noise=0.05)
    table = RunTable(runs, names)
    labels = np.repeat(np.arange(5), 6)
    same = labels[:, None] == labels[None, :]
    met = table.met() > 0
    np.fill_diagonal(met, False)

    def separation(S):
        within, between = S[same & met], S[~same & met]
        return np.mean(within[:, None] > between[None, :])

    coupled = PairPosterior(table, estimator="coupled")
    assert coupled.rho > 0.3
    assert separation(coupled.S) > separation(PairPosterior(table).S)


def test_coupled_correlation_is_not_pulled_to_zero_when_pairs_are_measured_once():
    # From the posterior means alone (no posterior covariance of the two directions) rho read
    # 0.18 below the effects' realised correlation on average over these draws (0.66-0.82
    # for 0.88-0.92); from posterior draws 0.05.
    gaps = []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        n, tau, rho = 12, 0.5, 0.9
        upper = np.triu(rng.standard_normal((n, n)), 1)
        lower = np.triu(rng.standard_normal((n, n)), 1)
        theta = tau * upper + (tau * (rho * upper + np.sqrt(1 - rho**2) * lower)).T
        iu = np.triu_indices(n, 1)
        realised = np.corrcoef(theta[iu], theta.T[iu])[0, 1]
        triples = list(itertools.combinations(range(n), 3))
        chosen = [triples[i] for i in rng.choice(len(triples), size=60, replace=False)]
        names, runs = _additive_runs(theta, chosen, np.ones(n), noise=0.3, seed=seed)
        post = PairPosterior(RunTable(runs, names), estimator="coupled")
        gaps.append(realised - post.rho)
    assert np.mean(gaps) < 0.1
