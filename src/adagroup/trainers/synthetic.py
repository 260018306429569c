"""Synthetic multitask networks with planted groups: real training in a fraction of a second.

Every task is a regression problem whose target is a nonlinear map of the input
shared by its group, read out by a task-specific head:

.. math::

    y_t = \\sqrt{s_t}\\,\\bigl(b_t^\\top \\tanh(\\gamma A_g x) / \\gamma
          + \\varepsilon\\bigr),
    \\qquad x \\sim N(0, I), \\quad \\varepsilon \\sim N(0, \\sigma^2),

where ``A_g`` (``latent_dim x n_features``, orthonormal rows) belongs to group ``g``,
the groups' row spaces are mutually orthogonal (when ``n_features`` allows), ``b_t``
is the group's head plus a small per-task perturbation, ``gamma`` (``gain``) sets how
nonlinear the map is, and ``s_t`` is the task's loss scale. The model is a shared trunk
``tanh(W x + c)`` of width ``hidden`` (by default ``latent_dim = 1``: a bottleneck that
holds one group's map but not two) with one linear head per task, trained full batch
with Adam on the sum of the subset's training MSEs. ``n_init`` networks train side by
side from small random weights and the one with the lowest training loss is scored,
which keeps a narrow tanh trunk out of its rare poor local minima.

Why the groups show up in measured affinity: tasks of one group need the same trunk,
so training them together pools their few samples and lowers every task's test error;
tasks of different groups need orthogonal trunks that do not fit in the bottleneck
together, so training them together raises test error.

Scores are test MSEs (``greater_is_better = False``) in each task's own units, so a
task with loss scale ``s_t`` has errors about ``s_t`` times larger: with
``loss_scales="log-uniform"`` the scores differ by up to two orders of magnitude.
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import check_float, check_int, check_random_state
from ._torch import check_subset, import_torch, limit_threads

__all__ = ["SyntheticMultitaskTrainer", "make_synthetic_case", "default_trainer"]

logger = logging.getLogger(__name__)


_CALLER = "SyntheticMultitaskTrainer"


class SyntheticMultitaskTrainer:
    """Train a shared-trunk network with per-task heads on tasks with planted groups.

    Parameters
    ----------
    n_groups : int, default=3
        Number of planted groups, 1 to 12.
    tasks_per_group : int or sequence of int, default=3
        Tasks in each group (one int for all groups, or one per group).
    n_features : int, default=12
        Input dimension. Groups get orthogonal latent subspaces while
        ``n_groups * latent_dim <= n_features``, random ones beyond.
    latent_dim : int, default=1
        Rank of each group's latent map.
    hidden : int or None, default=None
        Width of the shared trunk; None means ``latent_dim`` (a bottleneck that
        holds one group's map but not two).
    n_train : int, default=30
        Training samples per task; few samples make pooling a group pay off.
    n_test : int, default=400
        Test samples per task.
    noise : float, default=0.3
        Standard deviation of the target noise (before loss scaling).
    perturbation : float, default=0.2
        Size of each task's head perturbation relative to its group's head.
    gain : float, default=1.0
        Slope of tanh in the latent map; 0 makes it linear.
    loss_scales : None, "log-uniform" or sequence of float, default=None
        Multiplier of each task's MSE (targets scale by its square root). None
        means 1 for all; "log-uniform" draws ``10 ** U(-1, 1)`` per task.
    steps : int, default=300
        Full-batch Adam steps.
    lr : float, default=0.05
        Adam learning rate.
    n_init : int, default=4
        Networks trained side by side (one batched computation) per call; the
        lowest training loss wins.
    shuffle : bool, default=True
        Permute tasks so that groups are not contiguous in ``task_names``.
    n_threads : int or None, default=1
        torch CPU threads during a call.
    random_state : int, default=0
        Seed of the data (maps, heads, samples, loss scales); the ``seed`` of a
        call seeds only the model initialisation.

    Attributes
    ----------
    task_names : list of str
        ``"t00"``, ``"t01"``, ...
    true_labels : ndarray of shape (n_tasks,)
        Planted group of each task.
    scales : ndarray of shape (n_tasks,)
        Loss scale of each task.
    greater_is_better : bool
        False: scores are test MSEs.

    See Also
    --------
    make_synthetic_case : Build a trainer and return it with its planted labels.

    Examples
    --------
    >>> from adagroup.trainers.synthetic import SyntheticMultitaskTrainer
    >>> trainer = SyntheticMultitaskTrainer(n_groups=2, tasks_per_group=2, random_state=0)
    >>> trainer.task_names
    ['t00', 't01', 't02', 't03']
    >>> scores = trainer(("t00", "t01"), seed=0)
    >>> sorted(scores)
    ['t00', 't01']
    """

    greater_is_better = False

    def __init__(
        self,
        n_groups: int = 3,
        tasks_per_group: int | Sequence[int] = 3,
        *,
        n_features: int = 12,
        latent_dim: int = 1,
        hidden: int | None = None,
        n_train: int = 30,
        n_test: int = 400,
        noise: float = 0.3,
        perturbation: float = 0.2,
        loss_scales: str | Sequence[float] | None = None,
        gain: float = 1.0,
        steps: int = 300,
        lr: float = 0.05,
        n_init: int = 4,
        shuffle: bool = True,
        n_threads: int | None = 1,
        random_state: int = 0,
    ) -> None:
        self.n_groups = n_groups
        self.tasks_per_group = tasks_per_group
        self.n_features = n_features
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.n_train = n_train
        self.n_test = n_test
        self.noise = noise
        self.perturbation = perturbation
        self.loss_scales = loss_scales
        self.gain = gain
        self.steps = steps
        self.lr = lr
        self.n_init = n_init
        self.shuffle = shuffle
        self.n_threads = n_threads
        self.random_state = random_state
        self._data: dict[str, Any] | None = None

    # The generated data is a cache: drop it when pickling so that shipping the trainer
    # to a worker stays cheap; the worker regenerates it from random_state.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_data"] = None
        return state

    def __repr__(self) -> str:
        return (
            f"SyntheticMultitaskTrainer(n_groups={self.n_groups}, "
            f"tasks_per_group={self.tasks_per_group!r}, n_features={self.n_features}, "
            f"steps={self.steps}, loss_scales={self.loss_scales!r}, "
            f"random_state={self.random_state})"
        )

    def _sizes(self) -> list[int]:
        check_int(self.n_groups, "n_groups", caller=_CALLER, low=1, high=12)
        # ``int`` is listed for mypy, which does not know that it is a ``numbers.Integral``
        # (it would check the int case in the ``else`` branch).
        if isinstance(self.tasks_per_group, (int, numbers.Integral)):
            sizes = [int(self.tasks_per_group)] * int(self.n_groups)
        else:
            sizes = [int(s) for s in self.tasks_per_group]
            if len(sizes) != self.n_groups:
                raise ValueError(
                    f"The 'tasks_per_group' parameter of SyntheticMultitaskTrainer must be an "
                    f"int or have one entry per group ({self.n_groups}). Got {sizes!r}."
                )
        for s in sizes:
            check_int(s, "tasks_per_group", caller=_CALLER, low=1)
        return sizes

    @property
    def n_tasks(self) -> int:
        """Total number of tasks."""
        return sum(self._sizes())

    @property
    def task_names(self) -> list[str]:
        """Task names ``t00``, ``t01``, ..."""
        return [f"t{i:02d}" for i in range(self.n_tasks)]

    @property
    def true_labels(self) -> np.ndarray:
        """Planted group of each task."""
        return self.data()["labels"].copy()

    @property
    def scales(self) -> np.ndarray:
        """Loss scale of each task."""
        return self.data()["scales"].copy()

    def _validate(self) -> None:
        self._sizes()
        check_int(self.n_features, "n_features", caller=_CALLER, low=1)
        check_int(self.latent_dim, "latent_dim", caller=_CALLER, low=1)
        if self.hidden is not None:
            check_int(self.hidden, "hidden", caller=_CALLER, low=1)
        check_int(self.n_train, "n_train", caller=_CALLER, low=1)
        check_int(self.n_test, "n_test", caller=_CALLER, low=1)
        check_int(self.steps, "steps", caller=_CALLER, low=0)
        check_int(self.n_init, "n_init", caller=_CALLER, low=1)
        check_float(self.noise, "noise", caller=_CALLER, low=0.0, low_open=False)
        check_float(self.perturbation, "perturbation", caller=_CALLER, low=0.0, low_open=False)
        check_float(self.gain, "gain", caller=_CALLER, low=0.0, low_open=False)
        check_float(self.lr, "lr", caller=_CALLER, low=0.0, low_open=True)

    def _draw_scales(self, rng: np.random.Generator, n_tasks: int) -> np.ndarray:
        spec = self.loss_scales
        if spec is None:
            return np.ones(n_tasks)
        if isinstance(spec, str):
            if spec != "log-uniform":
                raise ValueError(
                    f"The 'loss_scales' parameter of SyntheticMultitaskTrainer must be None, "
                    f"'log-uniform' or a sequence of {n_tasks} positive floats. "
                    f"Got {spec!r} instead."
                )
            return 10.0 ** rng.uniform(-1.0, 1.0, size=n_tasks)
        scales = np.asarray(spec, dtype=np.float64)
        if scales.shape != (n_tasks,) or not np.all(np.isfinite(scales)) or np.any(scales <= 0):
            raise ValueError(
                f"The 'loss_scales' parameter of SyntheticMultitaskTrainer must be None, "
                f"'log-uniform' or a sequence of {n_tasks} positive floats. Got {spec!r}."
            )
        return scales

    def data(self) -> dict[str, np.ndarray]:
        """Generate (once) and return the case's data, deterministic in ``random_state``.

        Returns
        -------
        dict
            ``X_train`` (n_tasks, n_train, n_features), ``y_train`` (n_tasks, n_train),
            ``X_test`` (n_tasks, n_test, n_features), ``y_test`` (n_tasks, n_test),
            ``labels`` (n_tasks,), ``scales`` (n_tasks,), ``maps``
            (n_groups, latent_dim, n_features), ``heads`` (n_tasks, latent_dim).
        """
        if self._data is not None:
            return self._data
        self._validate()
        sizes = self._sizes()
        rng = check_random_state(self.random_state)
        k, d, r = len(sizes), int(self.n_features), int(self.latent_dim)
        n_tasks = sum(sizes)
        # Orthonormal rows from one QR so that groups live in orthogonal subspaces;
        # past n_features rows the extra groups get random orthonormal maps.
        maps = np.empty((k, r, d))
        basis = np.linalg.qr(rng.standard_normal((d, d)))[0].T
        for g in range(k):
            if (g + 1) * r <= d:
                maps[g] = basis[g * r : (g + 1) * r]
            else:
                q = np.linalg.qr(rng.standard_normal((d, r)))[0]
                maps[g] = q.T
        group_heads = rng.standard_normal((k, r))
        group_heads /= np.linalg.norm(group_heads, axis=1, keepdims=True)
        labels = np.repeat(np.arange(k), sizes)
        if self.shuffle:
            labels = labels[rng.permutation(n_tasks)]
        heads = group_heads[labels] + self.perturbation * rng.standard_normal((n_tasks, r)) / (
            np.sqrt(r)
        )
        scales = self._draw_scales(rng, n_tasks)

        def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
            X = rng.standard_normal((n_tasks, n, d))
            # Latent inputs have unit variance; the gain makes tanh visibly nonlinear.
            U = np.einsum("tnd,trd->tnr", X, maps[labels])
            Z = np.tanh(self.gain * U) / self.gain if self.gain > 0 else U
            y = np.einsum("tnr,tr->tn", Z, heads) + self.noise * rng.standard_normal((n_tasks, n))
            return X, y * np.sqrt(scales)[:, None]

        X_train, y_train = draw(int(self.n_train))
        X_test, y_test = draw(int(self.n_test))
        self._data = {
            "X_train": X_train.astype(np.float32),
            "y_train": y_train.astype(np.float32),
            "X_test": X_test.astype(np.float32),
            "y_test": y_test.astype(np.float32),
            "labels": labels,
            "scales": scales,
            "maps": maps,
            "heads": heads,
        }
        return self._data

    def __call__(self, subset: Sequence[str], seed: int = 0) -> dict[str, float]:
        """Train one network on the subset's tasks and return each task's test MSE.

        Parameters
        ----------
        subset : sequence of str
            Task names to train together.
        seed : int, default=0
            Seed of the model initialisation.

        Returns
        -------
        dict of str to float
            Test MSE of each task in ``subset`` (lower is better).
        """
        subset = check_subset(subset, self.task_names, caller="SyntheticMultitaskTrainer")
        data = self.data()
        torch = import_torch()
        index = {name: i for i, name in enumerate(self.task_names)}
        rows = np.array([index[t] for t in subset])
        with limit_threads(self.n_threads):
            gen = torch.Generator().manual_seed(int(seed) % (2**63 - 1))
            X = torch.from_numpy(data["X_train"][rows])
            y = torch.from_numpy(data["y_train"][rows])
            h = int(self.hidden if self.hidden is not None else self.latent_dim)
            d, m, r = int(self.n_features), len(rows), int(self.n_init)
            # n_init independent networks train side by side in one batched computation
            # (no extra Python overhead); the one with the lowest training loss is scored.
            # Small initial weights start in tanh's linear regime, where the trunk first
            # turns toward the subset's dominant shared direction.
            W = (0.01 * torch.randn(r, d, h, generator=gen)).requires_grad_()
            c = torch.zeros(r, 1, 1, h, requires_grad=True)
            V = (0.01 * torch.randn(r, m, h, generator=gen)).requires_grad_()
            v0 = torch.zeros(r, m, 1, requires_grad=True)
            opt = torch.optim.Adam([W, c, V, v0], lr=float(self.lr))

            def predict(inputs):
                trunk = torch.tanh(torch.einsum("tnd,rdh->rtnh", inputs, W) + c)
                return torch.einsum("rtnh,rth->rtn", trunk, V) + v0

            for _ in range(int(self.steps)):
                opt.zero_grad(set_to_none=True)
                # Sum of raw MSEs: tasks with larger loss scales pull harder on the trunk,
                # as in real multitask training without loss balancing.
                loss = ((predict(X) - y) ** 2).mean(dim=2).sum()
                loss.backward()
                opt.step()
            with torch.no_grad():
                train_loss = ((predict(X) - y) ** 2).mean(dim=2).sum(dim=1)
                best = int(torch.argmin(train_loss))
                err = predict(torch.from_numpy(data["X_test"][rows]))[best] - torch.from_numpy(
                    data["y_test"][rows]
                )
                mse = (err**2).mean(dim=1).tolist()
        return {name: float(v) for name, v in zip(subset, mse, strict=True)}


def make_synthetic_case(
    n_groups: int = 3,
    tasks_per_group: int | Sequence[int] = 3,
    random_state: int = 0,
    **params: Any,
) -> tuple[SyntheticMultitaskTrainer, np.ndarray]:
    """Build a synthetic multitask trainer and return it with its planted groups.

    Parameters
    ----------
    n_groups : int, default=3
        Number of planted groups.
    tasks_per_group : int or sequence of int, default=3
        Tasks per group.
    random_state : int, default=0
        Seed of the case's data.
    **params
        Other :class:`SyntheticMultitaskTrainer` parameters (``loss_scales``,
        ``steps``, ...).

    Returns
    -------
    trainer : SyntheticMultitaskTrainer
        The trainer; ``trainer(subset, seed)`` returns test MSEs.
    labels : ndarray of shape (n_tasks,)
        Planted group of each task, aligned with ``trainer.task_names``.
    """
    trainer = SyntheticMultitaskTrainer(
        n_groups, tasks_per_group, random_state=random_state, **params
    )
    return trainer, trainer.true_labels


#: The CLI's default synthetic case (``adagroup.trainers.synthetic:default_trainer``):
#: three groups of three tasks. Building it generates no data and imports no torch.
default_trainer = SyntheticMultitaskTrainer(3, 3, random_state=0)
