import dataclasses
import enum

import numpy as np
import pytest

from adagroup.affinity import AffinityEstimate, estimate_affinity

nan = np.nan
TASKS = ["a", "b", "c", "d"]  # "d" is never trained: its row and column stay NaN
RUNS = [
    (("a", "b"), {"a": 1.0, "b": 4.0}),
    (("a", "c"), {"a": 3.0, "c": 6.0}),
    (("c", "b", "a"), {"a": 2.0, "b": 5.0, "c": 9.0}),  # order of the subset is irrelevant
    (("b",), {"b": 2.0}),
]


class _State(enum.IntEnum):
    WAITING = 0
    COMPLETE = 2
    FAIL = 3


@dataclasses.dataclass(frozen=True)
class _Run:
    subset: tuple
    scores: dict
    state: _State = _State.COMPLETE


def test_mean_exact_values():
    est = estimate_affinity(RUNS, TASKS)
    expected = np.array(
        [
            [2.0, 1.5, 2.5, nan],  # a: all (1,3,2); with b (1,2); with c (3,2)
            [4.5, 11 / 3, 5.0, nan],  # b: with a (4,5); all (4,5,2); with c (5)
            [7.5, 9.0, 7.5, nan],  # c: with a (6,9); with b (9); all (6,9)
            [nan, nan, nan, nan],
        ]
    )
    np.testing.assert_allclose(est.T, expected, equal_nan=True)
    np.testing.assert_array_equal(
        est.counts, [[3, 2, 2, 0], [2, 3, 1, 0], [2, 1, 2, 0], [0, 0, 0, 0]]
    )
    # SE of (1, 2): std 0.7071 / sqrt(2) = 0.5; a single run has no SE.
    assert est.std_error[0, 1] == pytest.approx(0.5)
    assert np.isnan(est.std_error[1, 2])
    assert est.missing[3].all() and est.missing[:, 3].all() and not est.missing[:3, :3].any()
    assert est.task_names == tuple(TASKS)
    assert est.estimator == "mean" and est.n_runs == 4


def test_runs_as_objects_and_non_complete_skipped():
    runs = [_Run(s, sc) for s, sc in RUNS]
    runs.append(_Run(("a", "d"), {}, state=_State.FAIL))
    runs.append(_Run(("a", "d"), {}, state=_State.WAITING))
    est = estimate_affinity(iter(runs), TASKS)
    np.testing.assert_allclose(est.T, estimate_affinity(RUNS, TASKS).T, equal_nan=True)
    assert est.n_runs == 4


def test_tasks_as_int_and_taskset_like():
    runs = [((0, 1), {0: 1.0, 1: 2.0}), (("0", "1"), {"0": 3.0, "1": 4.0})]
    est = estimate_affinity(runs, 2)
    assert est.task_names == ("0", "1")
    np.testing.assert_allclose(est.T, [[2.0, 2.0], [3.0, 3.0]])

    class Names:
        names = ("a", "b", "c", "d")

    np.testing.assert_allclose(
        estimate_affinity(RUNS, Names()).T, estimate_affinity(RUNS, TASKS).T, equal_nan=True
    )


def test_greater_is_better_false_negates():
    up = estimate_affinity(RUNS, TASKS)
    down = estimate_affinity(RUNS, TASKS, greater_is_better=False)
    np.testing.assert_allclose(down.T, -up.T, equal_nan=True)
    np.testing.assert_allclose(down.std_error, up.std_error, equal_nan=True)


def test_surrogate_exact_values_without_ridge():
    est = estimate_affinity(RUNS, TASKS, estimator="surrogate", ridge=0.0)
    # a: th_a + th_b = 1, th_a + th_c = 3, th_a + th_b + th_c = 2 -> (2, -1, 1)
    np.testing.assert_allclose(est.T[0, :3], [2.0, -1.0, 1.0])
    # b: th_b = 2 (alone), th_b + th_a = 4, th_a + th_b + th_c = 5 -> (2, 2, 1)
    np.testing.assert_allclose(est.T[1, :3], [2.0, 2.0, 1.0])
    # c: only th_a + th_c = 6 and th_a + th_b + th_c = 9: th_b = 3 is identified,
    # th_a and th_c are not (only their sum is) and are reported unmeasured.
    assert est.T[2, 1] == pytest.approx(3.0)
    assert np.isnan(est.T[2, 0]) and np.isnan(est.T[2, 2])
    assert np.isnan(est.T[3]).all() and np.isnan(est.T[:, 3]).all()
    # Exact fits leave no residual degrees of freedom: no standard error.
    assert np.isnan(est.std_error[0, 1])


def test_surrogate_ridge_limits():
    tiny = estimate_affinity(RUNS, TASKS, estimator="surrogate", ridge=1e-9)
    np.testing.assert_allclose(tiny.T[0, :3], [2.0, -1.0, 1.0], atol=1e-6)
    # A ridge only shrinks partner effects; the intercept is left free, and with an
    # enormous ridge it tends to the mean of the target's scores.
    huge = estimate_affinity(RUNS, TASKS, estimator="surrogate", ridge=1e12)
    assert huge.T[0, 0] == pytest.approx(2.0, abs=1e-6)
    assert abs(huge.T[0, 1]) < 1e-6
    # Ridge makes everything seen identifiable: c's row is now finite for a, b, c.
    assert np.isfinite(estimate_affinity(RUNS, TASKS, estimator="surrogate").T[2, :3]).all()


def _additive_runs(theta, sizes, n_runs, rng):
    n = len(theta)
    names = [f"t{i}" for i in range(n)]
    runs = []
    for _ in range(n_runs):
        s = np.sort(rng.choice(n, size=int(rng.choice(sizes)), replace=False))
        scores = {
            names[i]: theta[i, i] + sum(theta[i, j] for j in s if j != i) + 0.01 * rng.normal()
            for i in s
        }
        runs.append(([names[i] for i in s], scores))
    return runs, names


def test_surrogate_recovers_additive_model():
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(6, 6))
    runs, names = _additive_runs(theta, [2, 3, 4], 300, rng)
    est = estimate_affinity(runs, names, estimator="surrogate", ridge=1e-6)
    np.testing.assert_allclose(est.T, theta, atol=0.01)
    assert np.all((est.std_error > 0) & (est.std_error < 0.01))


def test_surrogate_one_size_centres_partner_effects():
    # With one subset size, partner indicators sum to size - 1: only effects relative
    # to the row's mean partner effect are identified, and that is what is returned.
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(6, 6))
    runs, names = _additive_runs(theta, [3], 300, rng)
    off = ~np.eye(6, dtype=bool)
    shift = np.where(off, theta, 0).sum(axis=1) / 5
    want = np.where(off, theta - shift[:, None], theta + 2 * shift[:, None])
    for ridge in (0.0, 1e-6):
        est = estimate_affinity(runs, names, estimator="surrogate", ridge=ridge)
        np.testing.assert_allclose(est.T, want, atol=0.01)


def test_pairwise_exact_values():
    runs = [
        (("a",), {"a": 1.0}),
        (("a",), {"a": 3.0}),  # a second seed: a alone averages 2
        (("b",), {"b": 2.0}),
        (("a", "b"), {"a": 5.0, "b": 1.0}),
        (("a", "c"), {"a": 0.0, "c": 4.0}),
        (("a", "b", "c"), {"a": 100.0, "b": 100.0, "c": 100.0}),  # ignored: not a pair
    ]
    est = estimate_affinity(runs, TASKS, estimator="pairwise")
    expected = np.array(
        [
            [0.0, 3.0, -2.0, nan],
            [-1.0, 0.0, nan, nan],  # b with c never trained
            [nan, nan, nan, nan],  # c alone never trained
            [nan, nan, nan, nan],
        ]
    )
    np.testing.assert_allclose(est.T, expected, equal_nan=True)
    assert est.counts[0, 0] == 2 and est.counts[0, 1] == 1 and est.counts[1, 2] == 0
    assert np.isnan(est.std_error[0, 1])  # one pair run: no standard error


def test_center_and_standardize_exact():
    est = estimate_affinity(RUNS, TASKS, normalize="center")
    # a's scores (1, 3, 2) have mean 2.
    np.testing.assert_allclose(est.T[0, :3], [0.0, -0.5, 0.5])
    std = estimate_affinity(RUNS, TASKS, normalize="standardize")
    np.testing.assert_allclose(std.T[0, :3], np.array([0.0, -0.5, 0.5]) / np.sqrt(2 / 3))
    assert std.normalize == "standardize"


@pytest.mark.parametrize("estimator", ["mean", "surrogate", "pairwise"])
def test_standardize_is_scale_invariant_per_row(estimator):
    rng = np.random.default_rng(1)
    names = ["a", "b", "c", "d"]
    runs = [((n,), {n: rng.normal()}) for n in names]
    for _ in range(30):
        s = tuple(rng.choice(names, size=int(rng.integers(2, 4)), replace=False))
        runs.append((s, {t: float(rng.normal()) for t in s}))
    scaled = [(s, {t: v * 1e6 if t == "b" else v for t, v in sc.items()}) for s, sc in runs]
    a = estimate_affinity(runs, names, estimator=estimator, normalize="standardize")
    b = estimate_affinity(scaled, names, estimator=estimator, normalize="standardize")
    np.testing.assert_allclose(a.T, b.T, rtol=1e-9, atol=1e-12, equal_nan=True)
    # Without normalisation, b's row is on another scale entirely.
    raw = estimate_affinity(scaled, names, estimator=estimator)
    assert np.nanmax(np.abs(raw.T[1])) > 1e3


def test_filled_strategies_and_frame():
    est = estimate_affinity(RUNS[:2], ["a", "b", "c"])
    # T = [[2, 1, 3], [4, 4, nan], [6, nan, 6]]
    np.testing.assert_allclose(est.filled(), [[2, 1, 3], [4, 4, 4], [6, 6, 6]])
    np.testing.assert_allclose(est.filled("zero"), [[2, 1, 3], [4, 4, 0], [6, 0, 6]])
    np.testing.assert_allclose(est.filled("global_mean")[1, 2], (1 + 3 + 4 + 6) / 4)
    np.testing.assert_allclose(est.filled("min")[1, 2], 1.0)
    np.testing.assert_allclose(est.filled(value=-7)[2, 1], -7.0)
    assert np.isnan(est.T[1, 2])  # filled() returns a copy
    frame = est.to_frame()
    assert list(frame.index) == ["a", "b", "c"] and frame.loc["a", "c"] == 3.0
    assert est.to_frame("counts").loc["a", "a"] == 2
    with pytest.raises(ValueError, match="'strategy' parameter of AffinityEstimate.filled"):
        est.filled("median")
    with pytest.raises(ValueError, match="'values' parameter"):
        est.to_frame("X")


def test_filled_row_without_measurements_uses_global_mean():
    est = estimate_affinity([(("a", "b"), {"a": 1.0, "b": 3.0})], ["a", "b", "c"])
    np.testing.assert_allclose(est.filled()[2], [2.0, 2.0, 2.0])


def test_estimate_is_immutable():
    est = estimate_affinity(RUNS, TASKS)
    assert isinstance(est, AffinityEstimate)
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.T = np.zeros((4, 4))
    with pytest.raises(ValueError, match="read-only"):
        est.T[0, 0] = 1.0
    assert "missing=7" in repr(est)


@pytest.mark.parametrize(
    ("runs", "kwargs", "exc", "match"),
    [
        (RUNS, {"estimator": "median"}, ValueError, r"\['mean', 'surrogate', 'pairwise'\]"),
        (RUNS, {"normalize": "scale"}, ValueError, "'normalize' parameter"),
        (RUNS, {"ridge": -1.0}, ValueError, "'ridge' parameter"),
        ([(("a", "z"), {"a": 1.0, "z": 2.0})], {}, ValueError, r"unknown task\(s\) \['z'\]"),
        ([(("a", "b"), {"a": 1.0})], {}, ValueError, r"no score for task\(s\) \['b'\]"),
        ([(("a",), {"a": float("nan")})], {}, ValueError, "non-finite"),
        ([(("a", "a"), {"a": 1.0})], {}, ValueError, "each once"),
        ([(("a",), {"a": "x"})], {}, TypeError, "non-numeric"),
        ([42], {}, TypeError, "subset, scores"),
    ],
)
def test_errors(runs, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        estimate_affinity(runs, TASKS, **kwargs)


def test_task_list_errors():
    with pytest.raises(ValueError, match="unique names"):
        estimate_affinity(RUNS, ["a", "a"])
    with pytest.raises(TypeError, match="'tasks' parameter"):
        estimate_affinity(RUNS, "abcd")
    with pytest.raises(ValueError, match="at least one task"):
        estimate_affinity([], [])
