"""Tests of the in-context learning trainer: data generators, causality, a tiny run."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from adagroup.trainers.icl import (
    ICL_TASKS,
    FunctionClass,
    ICLTrainer,
    make_icl_model,
    sample_prompts,
)

torch = pytest.importorskip("torch")

TINY = dict(steps=3, batch_size=8, n_test=8, width=16, n_layers=1, n_heads=2, device="cpu")


def test_nine_tasks_in_three_types():
    trainer = ICLTrainer()
    assert len(trainer.task_names) == 9
    assert np.bincount(trainer.true_labels).tolist() == [3, 3, 3]
    assert trainer.greater_is_better is False


@pytest.mark.parametrize("task", ICL_TASKS, ids=lambda t: t.name)
def test_sample_prompts_shapes_and_types(task):
    gen = torch.Generator().manual_seed(0)
    xs, ys = sample_prompts(task, 4, 7, 5, gen)
    assert xs.shape == (4, 7, 5) and ys.shape == (4, 7)
    assert xs.dtype == torch.float32 and ys.dtype == torch.float32
    assert torch.isfinite(ys).all() and ys.std() > 0


def test_tree_takes_at_most_sixteen_values_per_prompt():
    gen = torch.Generator().manual_seed(0)
    _, ys = sample_prompts(FunctionClass("t", "tree"), 3, 200, 5, gen)
    assert all(len(torch.unique(row)) <= 16 for row in ys)


def test_sparse_linear_has_two_active_coordinates():
    gen = torch.Generator().manual_seed(0)
    xs, ys = sample_prompts(FunctionClass("s", "linear", n_nonzero=2), 5, 30, 5, gen)
    w = torch.linalg.lstsq(xs, ys.unsqueeze(-1)).solution.squeeze(-1)
    assert ((w.abs() > 1e-4).sum(dim=1) == 2).all()


def test_unknown_kind_raises():
    gen = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="'kind' of FunctionClass"):
        sample_prompts(FunctionClass("x", "spline"), 2, 3, 5, gen)


def test_model_is_causal():
    torch.manual_seed(0)
    model = make_icl_model(5, 10, width=16, n_layers=2, n_heads=2).eval()
    xs, ys = torch.randn(2, 10, 5), torch.randn(2, 10)
    xs2, ys2 = xs.clone(), ys.clone()
    xs2[:, 6] += 1.0
    ys2[:, 4] += 1.0  # y_4 may influence predictions of y_5 onwards only
    with torch.no_grad():
        before, after = model(xs, ys), model(xs2, ys2)
    assert before.shape == (2, 10)
    torch.testing.assert_close(before[:, :5], after[:, :5])
    assert not torch.allclose(before[:, 5:], after[:, 5:])


def test_tiny_run_returns_finite_scores_for_exactly_the_subset():
    trainer = ICLTrainer(**TINY)
    scores = trainer(("tree", "linear", "relu_net_narrow"), seed=0)
    assert list(scores) == ["tree", "linear", "relu_net_narrow"]
    assert all(np.isfinite(v) and v > 0 for v in scores.values())
    assert trainer(("tree", "linear", "relu_net_narrow"), seed=0) == scores


def test_pickle_roundtrip_keeps_scores():
    trainer = ICLTrainer(**TINY)
    clone = pickle.loads(pickle.dumps(trainer))
    assert clone(("linear",), seed=1) == trainer(("linear",), seed=1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"steps": -1}, "'steps' parameter of ICLTrainer"),
        ({"n_heads": 3}, "must divide 'width'"),
        ({"lr": 0}, "'lr' parameter of ICLTrainer"),
        ({"device": "tpu"}, "'device' parameter of ICLTrainer"),
    ],
)
def test_bad_parameters_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ICLTrainer(**{**TINY, **kwargs})(("linear",), seed=0)


def test_unknown_task_raises():
    with pytest.raises(ValueError, match="unknown tasks"):
        ICLTrainer(**TINY)(("linear", "quadratic"), seed=0)


def test_y_tokens_carry_their_input():
    from adagroup.trainers.icl import _tokens

    xs, ys = torch.randn(2, 3, 4), torch.randn(2, 3)
    tok = _tokens(xs, ys)
    assert tok.shape == (2, 6, 5)
    torch.testing.assert_close(tok[:, 0::2, :4], xs)
    torch.testing.assert_close(tok[:, 1::2, :4], xs)
    assert (tok[:, 0::2, 4] == 0).all()
    torch.testing.assert_close(tok[:, 1::2, 4], ys)


def test_short_run_learns_linear_regression_in_context():
    # Predicting zero (or any constant) scores about 1.0 because every prompt draws a
    # fresh weight vector; only regressing on the prompt's own (x_j, y_j) pairs gets
    # lower (in-context least squares averages about 0.2 over these 10 positions).
    trainer = ICLTrainer(
        steps=300,
        batch_size=32,
        n_points=10,
        n_dims=3,
        width=32,
        n_layers=2,
        n_test=128,
        lr=3e-3,
        device="cpu",
    )
    model_scores = trainer(("linear",), seed=0)
    assert model_scores["linear"] < 0.8


@pytest.mark.slow
def test_training_reaches_in_context_least_squares_quality_on_linear():
    trainer = ICLTrainer(steps=600, random_state=0, device="cpu")
    assert trainer(("linear",), seed=0)["linear"] < 0.4


@pytest.mark.slow
def test_short_training_beats_predicting_zero_on_relu_nets():
    trainer = ICLTrainer(steps=200, random_state=0, device="cpu")
    assert trainer(("relu_net",), seed=0)["relu_net"] < 0.95
