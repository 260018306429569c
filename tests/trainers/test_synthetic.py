"""Tests of the synthetic multitask trainer: determinism, validation, planted structure."""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest

from adagroup.trainers.synthetic import (
    SyntheticMultitaskTrainer,
    default_trainer,
    make_synthetic_case,
)

pytest.importorskip("torch")


def test_data_shapes_and_labels():
    trainer, labels = make_synthetic_case(3, [2, 3, 1], random_state=0, n_train=7, n_test=5)
    data = trainer.data()
    assert trainer.task_names == [f"t{i:02d}" for i in range(6)]
    assert data["X_train"].shape == (6, 7, 12)
    assert data["y_train"].shape == (6, 7)
    assert data["X_test"].shape == (6, 5, 12)
    assert data["X_train"].dtype == np.float32
    assert sorted(np.bincount(labels).tolist()) == [1, 2, 3]
    np.testing.assert_array_equal(trainer.true_labels, labels)


def test_data_deterministic_in_random_state():
    a = SyntheticMultitaskTrainer(2, 2, random_state=3).data()
    b = SyntheticMultitaskTrainer(2, 2, random_state=3).data()
    c = SyntheticMultitaskTrainer(2, 2, random_state=4).data()
    np.testing.assert_array_equal(a["X_train"], b["X_train"])
    assert not np.array_equal(a["y_train"], c["y_train"])


def test_call_returns_finite_scores_for_subset_and_is_seeded():
    trainer = SyntheticMultitaskTrainer(2, 2, steps=50, random_state=0)
    first = trainer(("t03", "t01"), seed=1)
    assert list(first) == ["t03", "t01"]
    assert all(np.isfinite(v) and v > 0 for v in first.values())
    assert trainer(("t03", "t01"), seed=1) == first
    assert trainer.greater_is_better is False


def test_loss_scales_make_scores_differ_by_orders_of_magnitude():
    scales = [100.0, 1.0, 0.01, 1.0]
    trainer = SyntheticMultitaskTrainer(2, 2, loss_scales=scales, steps=100, random_state=0)
    scores = [trainer((name,), seed=0)[name] for name in trainer.task_names]
    assert scores[0] > 30 * scores[1] > 30 * 30 * scores[2]
    logs = SyntheticMultitaskTrainer(3, 3, loss_scales="log-uniform").scales
    assert logs.min() >= 0.1 and logs.max() <= 10 and logs.max() / logs.min() > 5


def test_pickle_roundtrip_keeps_scores():
    trainer = SyntheticMultitaskTrainer(2, 2, steps=30, random_state=1)
    expected = trainer(("t00", "t02"), seed=0)
    clone = pickle.loads(pickle.dumps(trainer))
    assert clone._data is None
    assert clone(("t00", "t02"), seed=0) == expected


def test_default_trainer_is_three_by_three():
    assert default_trainer.task_names == [f"t{i:02d}" for i in range(9)]
    assert np.bincount(default_trainer.true_labels).tolist() == [3, 3, 3]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_groups": 0}, "'n_groups' parameter of SyntheticMultitaskTrainer"),
        ({"tasks_per_group": [2, 2]}, "one entry per group"),
        ({"steps": -1}, "'steps'"),
        ({"lr": 0.0}, "'lr'"),
        ({"loss_scales": "huge"}, "'loss_scales'"),
        ({"loss_scales": [1.0] * 8}, "'loss_scales'"),
    ],
)
def test_bad_parameters_raise(kwargs, match):
    params = {"n_groups": 3, "tasks_per_group": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        SyntheticMultitaskTrainer(**params)(("t00",), seed=0)


@pytest.mark.parametrize(
    "subset, error, match",
    [
        ("t00", TypeError, "not a string"),
        ((), ValueError, "at least one task"),
        (("t00", "t00"), ValueError, "must not repeat"),
        (("t00", "nope"), ValueError, "unknown tasks"),
    ],
)
def test_bad_subsets_raise(subset, error, match):
    with pytest.raises(error, match=match):
        default_trainer(subset, seed=0)


def test_pairwise_affinity_recovers_planted_groups():
    # Train every singleton and pair of a 3 x 2 case; a partner from the same group
    # must lower a task's test error and a partner from another group must raise it.
    trainer, labels = make_synthetic_case(3, 2, random_state=0)
    names = trainer.task_names
    single = {t: trainer((t,), seed=0)[t] for t in names}
    T = np.zeros((6, 6))
    for i, j in itertools.combinations(range(6), 2):
        scores = trainer((names[i], names[j]), seed=0)
        T[i, j] = 1 - scores[names[i]] / single[names[i]]
        T[j, i] = 1 - scores[names[j]] / single[names[j]]
    same = labels[:, None] == labels[None, :]
    off = ~np.eye(6, dtype=bool)
    assert T[same & off].min() > T[~same].max()
