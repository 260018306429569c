import pickle
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from adagroup.affinity import estimate_affinity
from adagroup.cluster import SDPClustering
from adagroup.cluster._base import BaseTaskClustering
from adagroup.sampling import sample_subsets
from adagroup.trainers import PlantedTrainer


def _names(trainer, subset):
    return tuple(trainer.task_names[i] for i in subset)


def test_scores_follow_the_formula_without_noise():
    tr = PlantedTrainer([0, 0, 1], within=1.0, between=-0.5, noise=0.0, scale=[1.0, 10.0, 100.0])
    assert tr.task_names == ("t00", "t01", "t02")
    s = tr(("t00", "t01", "t02"), seed=0)
    # t00: base 2 + mean(A[0,0], A[0,0], A[0,1]) = 2 + (1 + 1 - 0.5) / 3
    assert s["t00"] == pytest.approx(2 + 1.5 / 3)
    assert s["t01"] == pytest.approx(10 * (2 + 1.5 / 3))
    assert s["t02"] == pytest.approx(100 * (2 + 0.0 / 3))  # (-0.5 - 0.5 + 1) / 3 = 0
    loss = PlantedTrainer([0, 0, 1], noise=0.0, greater_is_better=False)
    # Losses: positive transfer lowers them.
    assert loss(("t00", "t01"), 0)["t00"] == pytest.approx(1.0)
    assert loss(("t00", "t02"), 0)["t00"] == pytest.approx(2.0 - 0.25)
    assert loss(("t00",), 0)["t00"] < loss(("t00", "t02"), 0)["t00"]


def test_deterministic_and_order_free():
    tr = PlantedTrainer(sizes=[3, 3], noise=0.3, scale=(1e-2, 1e2), random_state=5)
    a = tr(("t00", "t03", "t05"), seed=1)
    assert tr(("t05", "t00", "t03"), seed=1) == a
    assert (
        PlantedTrainer(sizes=[3, 3], noise=0.3, scale=(1e-2, 1e2), random_state=5)(
            ("t00", "t03", "t05"), seed=1
        )
        == a
    )
    assert tr(("t00", "t03", "t05"), seed=2) != a
    assert PlantedTrainer(sizes=[3, 3], noise=0.3, random_state=6)(("t00", "t03", "t05"), 1) != a
    assert tr.n_calls == 3


def test_same_scores_in_another_process():
    # The noise seed must not depend on Python's per-process salted hash().
    tr = PlantedTrainer(sizes=[2, 2], noise=0.5, random_state=3)
    code = (
        "from adagroup.trainers import PlantedTrainer;"
        "print(repr(PlantedTrainer(sizes=[2, 2], noise=0.5, random_state=3)(('t01', 't02'), 4)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert eval(out) == tr(("t01", "t02"), 4)


def test_pickle_round_trip_and_attributes(tmp_path):
    path = tmp_path / "calls.txt"
    tr = PlantedTrainer(
        sizes=[4, 3, 3],
        scale=(1e-2, 1e2),
        greater_is_better=False,
        random_state=0,
        calls_path=path,
    )
    clone = pickle.loads(pickle.dumps(tr))
    assert clone(("t00", "t01"), 0) == tr(("t00", "t01"), 0)
    assert path.read_text().splitlines() == ["t00,t01\t0", "t00,t01\t0"]
    assert clone.greater_is_better is False
    assert np.bincount(tr.true_labels).tolist() == [4, 3, 3]
    assert 1e-2 <= tr.scales.min() and tr.scales.max() <= 1e2
    assert tr.scales.max() / tr.scales.min() > 100  # spans orders of magnitude
    assert "n_groups=3" in repr(tr)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "exactly one of 'labels'"),
        ({"labels": [0, 1], "sizes": [1, 1]}, "exactly one of 'labels'"),
        ({"sizes": [2, 0]}, "'sizes' parameter"),
        ({"labels": [0.5, 1]}, "'labels' parameter"),
        ({"sizes": [2], "scale": (1.0, 0.1)}, "'scale' parameter"),
        ({"sizes": [2], "scale": [1.0, 2.0, 3.0]}, "'scale' parameter"),
        ({"sizes": [2], "noise": -1.0}, "'noise' parameter"),
        ({"sizes": [2, 2], "between": np.zeros((3, 3))}, "'between' parameter"),
        ({"sizes": [2], "task_names": ["a", "a"]}, "'task_names' parameter"),
        ({"sizes": [2], "random_state": -1}, "'random_state' parameter"),
    ],
)
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PlantedTrainer(**kwargs)


def test_call_errors():
    tr = PlantedTrainer(sizes=[2])
    with pytest.raises(ValueError, match="unknown task 'zz'"):
        tr(("t00", "zz"), 0)
    with pytest.raises(ValueError, match="distinct tasks"):
        tr(("t00", "t00"), 0)
    with pytest.raises(ValueError, match="'seed' parameter"):
        tr(("t00",), -1)


def _planted_estimate(estimator):
    tr = PlantedTrainer(
        sizes=[5, 5, 5, 5],
        noise=0.05,
        scale=(1e-2, 1e2),
        greater_is_better=False,
        random_state=0,
    )
    plan = sample_subsets(tr.n_tasks, 4, 120, random_state=0)
    runs = [(_names(tr, s), tr(_names(tr, s), seed=0)) for s in plan]
    est = estimate_affinity(
        runs,
        tr.task_names,
        estimator=estimator,
        greater_is_better=tr.greater_is_better,
        normalize="standardize",
    )
    return tr, est


@pytest.mark.parametrize("estimator", ["mean", "surrogate"])
def test_estimate_separates_planted_groups(estimator):
    tr, est = _planted_estimate(estimator)
    S = est.filled()
    S = (S + S.T) / 2
    same = tr.true_labels[:, None] == tr.true_labels[None, :]
    off = ~np.eye(tr.n_tasks, dtype=bool)
    # A clusterer-free check: every task's best partner is in its own group.
    best = np.where(off, S, -np.inf).argmax(axis=1)
    assert np.array_equal(tr.true_labels[best], tr.true_labels)
    assert S[same & off].mean() > S[~same].mean() + 0.5


@pytest.mark.parametrize("estimator", ["mean", "surrogate"])
def test_sdp_recovers_planted_groups(estimator):
    if SDPClustering._fit_k is BaseTaskClustering._fit_k:
        pytest.skip("SDPClustering is still a placeholder (cluster/_sdp.py); the lead wires it")
    tr, est = _planted_estimate(estimator)
    labels = SDPClustering(n_clusters=4, random_state=0).fit(est.filled()).labels_
    assert adjusted_rand_score(labels, tr.true_labels) == 1
