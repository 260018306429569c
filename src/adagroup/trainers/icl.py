"""In-context learning of function classes with a small causal transformer.

The AdaGroup paper's §5.1 case, after Garg et al. (2022): a GPT-2-style transformer
reads a prompt ``(x_1, f(x_1), ..., x_n, f(x_n))`` where ``f`` is a fresh random
function for every prompt, and predicts each ``f(x_i)`` from the points before it.
A task is a distribution over functions and inputs; nine tasks come in three types
(linear regression, depth-4 decision trees, two-layer ReLU networks), each in three
distribution variants chosen so that variants of one type transfer to each other:

==================  ======  ==============================================================
task                type    distribution
==================  ======  ==============================================================
``linear``          linear  ``w ~ N(0, I)``, ``x ~ N(0, I)``, ``f(x) = w . x``
``linear_wscale``   linear  weights scaled: ``w ~ N(0, 2^2 I)``
``linear_sparse``   linear  2 of the ``n_dims`` weights non-zero, ``N(0, 1)``
``tree``            tree    depth-4 binary tree, split coordinate uniform, threshold 0,
                            leaf values ``N(0, 1)``
``tree_shift``      tree    thresholds drawn per node from ``N(0, 0.5^2)``
``tree_xscale``     tree    inputs scaled: ``x ~ N(0, 2^2 I)`` (threshold 0, so only the
                            token scale changes)
``relu_net``        relu    ``sqrt(2/r) * a . relu(W x)``, width ``r = 100``,
                            ``W, a ~ N(0, 1)``
``relu_net_narrow`` relu    width ``r = 10``
``relu_net_xscale`` relu    width 100, inputs ``x ~ N(0, 0.5^2 I)``
==================  ======  ==============================================================

Variants change scales, split thresholds and widths only; large mean shifts of the
inputs or outputs were avoided on purpose, because the model treats them as unrelated
tasks rather than variants. Each task's loss is divided by the variance of its
outputs, so tasks whose outputs differ in scale weigh the same in a mixed batch.

References
----------
.. [1] S. Garg, D. Tsipras, P. Liang, G. Valiant. "What Can Transformers Learn
   In-Context? A Case Study of Simple Function Classes." NeurIPS 2022.
   :arxiv:`2208.01066`.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._validation import check_int
from ._torch import check_subset, import_torch, limit_threads, make_generator, resolve_device

__all__ = ["ICLTrainer", "ICL_TASKS", "FunctionClass", "sample_prompts", "make_icl_model"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FunctionClass:
    """A distribution over functions and inputs: one in-context learning task.

    Parameters
    ----------
    name : str
        Task name.
    kind : {"linear", "tree", "relu"}
        Function type.
    x_scale : float, default=1.0
        Standard deviation of each input coordinate.
    weight_scale : float, default=1.0
        Standard deviation of linear weights (``kind="linear"``).
    n_nonzero : int or None, default=None
        Number of non-zero linear weights; None means all (``kind="linear"``).
    depth : int, default=4
        Tree depth (``kind="tree"``).
    threshold_std : float, default=0.0
        Standard deviation of split thresholds; 0 splits at zero (``kind="tree"``).
    width : int, default=100
        Hidden width of the ReLU network (``kind="relu"``).
    """

    name: str
    kind: str
    x_scale: float = 1.0
    weight_scale: float = 1.0
    n_nonzero: int | None = None
    depth: int = 4
    threshold_std: float = 0.0
    width: int = 100


#: The nine tasks of the paper's §5.1 case, in type order.
ICL_TASKS: tuple[FunctionClass, ...] = (
    FunctionClass("linear", "linear"),
    FunctionClass("linear_wscale", "linear", weight_scale=2.0),
    FunctionClass("linear_sparse", "linear", n_nonzero=2),
    FunctionClass("tree", "tree"),
    FunctionClass("tree_shift", "tree", threshold_std=0.5),
    FunctionClass("tree_xscale", "tree", x_scale=2.0),
    FunctionClass("relu_net", "relu", width=100),
    FunctionClass("relu_net_narrow", "relu", width=10),
    FunctionClass("relu_net_xscale", "relu", width=100, x_scale=0.5),
)

_KINDS = ("linear", "tree", "relu")


def sample_prompts(
    task: FunctionClass, n_prompts: int, n_points: int, n_dims: int, generator: Any
) -> tuple[Any, Any]:
    """Draw prompts of one task: inputs and function values, a fresh function per prompt.

    Parameters
    ----------
    task : FunctionClass
        The task to sample.
    n_prompts : int
        Number of prompts (independent functions).
    n_points : int
        Points per prompt.
    n_dims : int
        Input dimension.
    generator : torch.Generator
        Source of randomness (CPU).

    Returns
    -------
    xs : torch.Tensor of shape (n_prompts, n_points, n_dims)
        Inputs, float32.
    ys : torch.Tensor of shape (n_prompts, n_points)
        Function values, float32.
    """
    torch = import_torch()
    g = generator
    xs = torch.randn(n_prompts, n_points, n_dims, generator=g) * task.x_scale
    if task.kind == "linear":
        w = torch.randn(n_prompts, n_dims, generator=g) * task.weight_scale
        if task.n_nonzero is not None and task.n_nonzero < n_dims:
            # A random subset of coordinates per prompt: argsort of uniform noise.
            order = torch.rand(n_prompts, n_dims, generator=g).argsort(dim=1)
            w = w * (order < task.n_nonzero).to(w.dtype)
        ys = torch.einsum("bnd,bd->bn", xs, w)
    elif task.kind == "tree":
        n_internal = 2**task.depth - 1
        feat = torch.randint(0, n_dims, (n_prompts, n_internal), generator=g)
        thr = torch.randn(n_prompts, n_internal, generator=g) * task.threshold_std
        leaves = torch.randn(n_prompts, n_internal + 1, generator=g) * task.weight_scale
        node = torch.zeros(n_prompts, n_points, dtype=torch.long)
        for _ in range(task.depth):
            f = feat.gather(1, node)
            value = xs.gather(2, f.unsqueeze(-1)).squeeze(-1)
            node = 2 * node + 1 + (value > thr.gather(1, node)).long()
        ys = leaves.gather(1, node - n_internal)
    elif task.kind == "relu":
        r = task.width
        w1 = torch.randn(n_prompts, r, n_dims, generator=g) * task.weight_scale
        a = torch.randn(n_prompts, r, generator=g)
        hidden = torch.relu(torch.einsum("bnd,brd->bnr", xs, w1))
        ys = math.sqrt(2.0 / r) * torch.einsum("bnr,br->bn", hidden, a)
    else:
        raise ValueError(
            f"The 'kind' of FunctionClass {task.name!r} must be one of {list(_KINDS)}. "
            f"Got {task.kind!r} instead."
        )
    return xs, ys


def _tokens(xs: Any, ys: Any) -> Any:
    """Interleave ``x`` tokens ``[x_i, 0]`` and ``y`` tokens ``[x_i, y_i]`` into one sequence.

    The ``y`` token repeats its input so that one attention step from a query ``x``
    token sees whole ``(x_j, y_j)`` pairs. With ``[0, y_i]`` tokens (Garg et al.'s
    read-in) the model must first learn to copy ``x_j`` into the next token before it
    can regress, and at 1500 steps it never left the plateau of predicting zero on
    linear regression (normalised MSE 1.00); with ``[x_i, y_i]`` it reaches 0.40 after
    250 steps. The prompt and causality are unchanged: the prediction of ``y_i`` at
    the ``x_i`` token still sees only ``x_1, y_1, ..., x_i``.
    """
    torch = import_torch()
    b, n, d = xs.shape
    x_tok = torch.cat([xs, torch.zeros(b, n, 1, dtype=xs.dtype, device=xs.device)], dim=2)
    y_tok = torch.cat([xs, ys.unsqueeze(-1)], dim=2)
    return torch.stack([x_tok, y_tok], dim=2).reshape(b, 2 * n, d + 1)


def make_icl_model(
    n_dims: int, n_points: int, width: int = 64, n_layers: int = 3, n_heads: int = 2
) -> Any:
    """Build the GPT-2-style causal transformer that reads prompts.

    Pre-norm blocks (causal self-attention, 4x GELU MLP), learned positions, a linear
    read-in of ``[x_i, 0]``/``[x_i, y_i]`` tokens and a scalar read-out. Calling the model
    on ``(xs, ys)`` returns the prediction of each ``y_i`` made at the ``x_i`` token,
    which sees only ``x_1, y_1, ..., x_i``.

    Parameters
    ----------
    n_dims : int
        Input dimension.
    n_points : int
        Maximum number of points per prompt.
    width : int, default=64
        Embedding width.
    n_layers : int, default=3
        Number of transformer blocks.
    n_heads : int, default=2
        Attention heads per block; must divide ``width``.

    Returns
    -------
    torch.nn.Module
        ``model(xs, ys) -> preds`` of shape (n_prompts, n_points).
    """
    torch = import_torch()  # fails with the extra to install when torch is missing
    # A module import (not ``torch.nn`` through the untyped ``torch`` above) so that the
    # classes below have a base class the type checker knows.
    from torch import nn

    functional = torch.nn.functional

    class _Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln1 = nn.LayerNorm(width)
            self.qkv = nn.Linear(width, 3 * width)
            self.proj = nn.Linear(width, width)
            self.ln2 = nn.LayerNorm(width)
            self.mlp = nn.Sequential(
                nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width)
            )

        def forward(self, h):
            b, t, _ = h.shape
            q, k, v = self.qkv(self.ln1(h)).split(width, dim=2)
            shape = (b, t, n_heads, width // n_heads)
            q, k, v = (z.view(shape).transpose(1, 2) for z in (q, k, v))
            att = functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            h = h + self.proj(att.transpose(1, 2).reshape(b, t, width))
            return h + self.mlp(self.ln2(h))

    class _PromptTransformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.read_in = nn.Linear(n_dims + 1, width)
            self.pos = nn.Embedding(2 * n_points, width)
            self.blocks = nn.ModuleList([_Block() for _ in range(n_layers)])
            self.ln_f = nn.LayerNorm(width)
            self.read_out = nn.Linear(width, 1)

        def forward(self, xs, ys):
            tokens = _tokens(xs, ys)
            positions = torch.arange(tokens.shape[1], device=tokens.device)
            h = self.read_in(tokens) + self.pos(positions)
            for block in self.blocks:
                h = block(h)
            out = self.read_out(self.ln_f(h)).squeeze(-1)
            return out[:, ::2]

    if width % n_heads:
        raise ValueError(
            f"The 'n_heads' parameter must divide 'width'. Got width={width}, "
            f"n_heads={n_heads}; use e.g. n_heads=2 with width=64."
        )
    return _PromptTransformer()


class ICLTrainer:
    """Train a small causal transformer on a mix of in-context learning tasks.

    Calling the trainer with a subset of task names trains one model from scratch on
    prompts of those tasks (each batch split evenly between them, each task's loss
    divided by its output variance) and returns every task's test MSE, by default
    normalised by the task's output variance (1.0 is the error of predicting 0).
    The error is averaged over every prompt position, the first ones included, where
    no learner can do well yet (in-context least squares averages about 0.15 over 20
    points in 5 dimensions); mixing tasks shows up there too, since the model must
    also tell from the prompt which function type it is reading.

    Parameters
    ----------
    steps : int, default=1500
        Optimiser steps (AdamW, linear warm-up over 10% then cosine decay).
    batch_size : int, default=64
        Prompts per step, split between the subset's tasks.
    n_points : int, default=20
        Points per prompt.
    n_dims : int, default=5
        Input dimension.
    width, n_layers, n_heads : int, default=64, 3, 2
        Transformer size.
    lr : float, default=1e-3
        Peak learning rate.
    n_test : int, default=500
        Test prompts per task; the test set depends only on ``random_state``, so
        every run is scored on the same prompts.
    normalize : bool, default=True
        Divide each task's test MSE by its output variance on the test set.
    tasks : sequence of FunctionClass or None, default=None
        Tasks; None uses :data:`ICL_TASKS`.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where to train; "auto" uses CUDA when available.
    n_threads : int or None, default=1
        torch CPU threads during a call (one per run; run several runs at once).
    random_state : int, default=0
        Seed of the test prompts.

    Attributes
    ----------
    task_names : list of str
        Names of the tasks.
    true_labels : list of int
        Function type of each task (0 linear, 1 tree, 2 ReLU net).
    greater_is_better : bool
        False: scores are errors.

    Examples
    --------
    >>> from adagroup.trainers.icl import ICLTrainer
    >>> trainer = ICLTrainer(steps=5, batch_size=8, n_test=16, width=16, n_layers=1)
    >>> scores = trainer(("linear", "tree"), seed=0)
    >>> sorted(scores)
    ['linear', 'tree']
    """

    greater_is_better = False

    def __init__(
        self,
        *,
        steps: int = 1500,
        batch_size: int = 64,
        n_points: int = 20,
        n_dims: int = 5,
        width: int = 64,
        n_layers: int = 3,
        n_heads: int = 2,
        lr: float = 1e-3,
        n_test: int = 500,
        normalize: bool = True,
        tasks: Sequence[FunctionClass] | None = None,
        device: str = "auto",
        n_threads: int | None = 1,
        random_state: int = 0,
    ) -> None:
        self.steps = steps
        self.batch_size = batch_size
        self.n_points = n_points
        self.n_dims = n_dims
        self.width = width
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.lr = lr
        self.n_test = n_test
        self.normalize = normalize
        self.tasks = tuple(ICL_TASKS if tasks is None else tasks)
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state

    @property
    def task_names(self) -> list[str]:
        """Names of the tasks, in order."""
        return [t.name for t in self.tasks]

    @property
    def true_labels(self) -> list[int]:
        """Function type of each task: 0 linear, 1 tree, 2 ReLU net."""
        return [_KINDS.index(t.kind) for t in self.tasks]

    def __repr__(self) -> str:
        return (
            f"ICLTrainer(steps={self.steps}, batch_size={self.batch_size}, "
            f"n_points={self.n_points}, n_dims={self.n_dims}, width={self.width}, "
            f"n_layers={self.n_layers}, n_heads={self.n_heads}, device={self.device!r}, "
            f"random_state={self.random_state})"
        )

    def _validate(self) -> None:
        for name, low in (
            ("steps", 0),
            ("batch_size", 1),
            ("n_points", 1),
            ("n_dims", 1),
            ("width", 1),
            ("n_layers", 1),
            ("n_heads", 1),
            ("n_test", 1),
        ):
            check_int(getattr(self, name), name, caller="ICLTrainer", low=low)
        # ``float`` is listed for mypy, which does not know that it is a ``numbers.Real``
        # (it would take the check for always true and skip the code after it).
        if not isinstance(self.lr, (float, numbers.Real)) or not self.lr > 0:
            raise ValueError(
                f"The 'lr' parameter of ICLTrainer must be a float > 0. Got {self.lr!r} instead."
            )
        names = self.task_names
        if len(set(names)) != len(names):
            raise ValueError(f"The 'tasks' parameter of ICLTrainer repeats names: {names}.")

    def _test_set(self, index: int) -> tuple[Any, Any]:
        gen = make_generator(int(self.random_state) * 1_000_003 + 7919 * (index + 1))
        return sample_prompts(self.tasks[index], self.n_test, self.n_points, self.n_dims, gen)

    def __call__(self, subset: Sequence[str], seed: int = 0) -> dict[str, float]:
        """Train on the subset's tasks and return each task's test error.

        Parameters
        ----------
        subset : sequence of str
            Task names to train together.
        seed : int, default=0
            Seed of model initialisation and training prompts.

        Returns
        -------
        dict of str to float
            Test MSE of each task in ``subset`` (normalised if ``normalize``).
        """
        subset = check_subset(subset, self.task_names, caller="ICLTrainer")
        self._validate()
        torch = import_torch()
        device = resolve_device(self.device, caller="ICLTrainer")
        with limit_threads(self.n_threads):
            return self._train(subset, int(seed), device, torch)

    def _train(self, subset: tuple, seed: int, device: str, torch: Any) -> dict[str, float]:
        index = {name: i for i, name in enumerate(self.task_names)}
        chosen = [index[name] for name in subset]
        tests = [self._test_set(i) for i in chosen]
        variances = [max(float(ys.var()), 1e-8) for _, ys in tests]

        torch.manual_seed(seed)  # parameter init draws from the default generator
        gen = make_generator(seed)
        model = make_icl_model(
            self.n_dims, self.n_points, self.width, self.n_layers, self.n_heads
        ).to(device)
        opt = torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=0.0)
        warmup = max(1, self.steps // 10)

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            progress = (step - warmup) / max(1, self.steps - warmup)
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
        k = len(chosen)
        model.train()
        for step in range(self.steps):
            # Even split of the batch; the remainder rotates so no task is favoured.
            counts = [self.batch_size // k] * k
            for j in range(self.batch_size % k):
                counts[(step + j) % k] += 1
            batch = [
                sample_prompts(self.tasks[i], counts[j], self.n_points, self.n_dims, gen)
                for j, i in enumerate(chosen)
            ]
            xs = torch.cat([b[0] for b in batch]).to(device)
            ys = torch.cat([b[1] for b in batch]).to(device)
            # One forward pass for the whole mixed batch; each task's squared error is
            # divided by its output variance so that no task dominates by scale.
            weights = torch.cat(
                [torch.full((c,), 1.0 / v) for c, v in zip(counts, variances, strict=True)]
            ).to(device)
            err = ((model(xs, ys) - ys) ** 2).mean(dim=1)
            loss = (err * weights).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()

        model.eval()
        scores: dict[str, float] = {}
        with torch.no_grad():
            for j, name in enumerate(subset):
                xs, ys = tests[j]
                total = 0.0
                for start in range(0, xs.shape[0], 256):
                    bx = xs[start : start + 256].to(device)
                    by = ys[start : start + 256].to(device)
                    total += float(((model(bx, by) - by) ** 2).sum())
                mse = total / ys.numel()
                scores[name] = mse / variances[j] if self.normalize else mse
        logger.debug("ICLTrainer %s seed=%d -> %s", subset, seed, scores)
        return scores
