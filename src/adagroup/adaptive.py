"""AdaGroup: group tasks that arrive in batches, training few subsets per batch (Algorithm 3).

Tasks arrive in batches. The first batch is grouped from uniformly sampled
subsets; every later batch is trained only together with one existing group at
a time (Procedure 2), so a step costs ``n_subsets_per_step`` runs whatever the
number of tasks seen so far. After each step the affinity is re-estimated from
every run of the trajectory and the tasks are re-clustered by the SDP, warm
started from the previous grouping, with ``k`` chosen in
``[current number of groups, max_clusters]``.

Every run goes through a :class:`adagroup.Study`, so it is stored the moment
it finishes and never trained twice: running AdaGroup again on the same study
(after a crash, or with more tasks) replays the finished steps from the store.
"""

from __future__ import annotations

import copy
import inspect
import logging
import math
import numbers
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .cluster._base import BaseTaskClustering, select_n_clusters
from .cluster._objective import density_objective, labels_to_groups
from .cluster._validation import check_random_state

__all__ = ["AdaGroup"]

logger = logging.getLogger(__name__)

_ESTIMATORS = ("mean", "surrogate", "pairwise")
_NORMALIZERS = (None, "center", "standardize", "relative")
#: How far above its best partner a task's self-affinity sits, in units of its spread
#: (best minus mean affinity); see the Notes of AdaGroup.
_SELF_MARGIN = 1.0
#: Rounds of (fill unmeasured entries from the grouping, re-cluster) per step.
_MAX_FILL_ROUNDS = 3


class AdaGroup:
    """Adaptive task grouping: batches of new tasks are trained with one existing group at a time.

    The AdaGroup procedure (Algorithm 3 of [1]_) for ``n`` tasks arriving in
    ``s`` batches of ``b = batch_size`` tasks:

    1. **First batch.** Train ``m = n_subsets_per_step`` subsets of
       ``subset_size`` tasks drawn uniformly from the batch, estimate the
       affinity and cluster it, choosing ``k`` in ``[1, max_clusters]``.
    2. **Each later batch** (Procedure 2). First a small cover: for every
       group, the batch is cut into chunks of ``subset_size - 1`` new tasks,
       each completed by one member of the group, so every new task meets
       every group (``ceil(b / (subset_size - 1))`` runs per group). Then, up
       to ``m`` subsets in all, subsets drawn from
       the new batch together with *one* existing group
       (:func:`adagroup.sampling.adaptive_subsets`: groups visited round-robin,
       every subset holds a new and an old task). Re-estimate the affinity of
       all tasks so far from every COMPLETE run of the trajectory
       (:func:`adagroup.estimate_affinity`), fill the entries no run measured
       (see Notes), and re-cluster with ``clusterer`` warm-started from the
       previous grouping, choosing ``k`` in ``[current number of groups,
       max_clusters]`` by the average-density rule of
       :func:`adagroup.cluster.select_n_clusters`.

    A step therefore costs ``m`` runs however many tasks have been seen, against
    ``n (n - 1) / 2`` runs for all pairs.

    Parameters
    ----------
    study : Study
        Where runs are planned, stored and read back. Its task list, in order,
        is the arrival order; tasks added later (:meth:`Study.add_tasks`, or
        ``run(tasks=...)``) arrive after them.
    clusterer : BaseTaskClustering, default=None
        The clusterer re-run at every step; :class:`adagroup.SDPClustering` by
        default. It is copied, and its ``n_clusters`` is set to each candidate
        ``k`` in turn (its own ``n_clusters`` is ignored). When its ``fit``
        accepts ``init_labels``, the previous grouping (with the new tasks
        placed, see Notes) is passed as warm start. A clusterer whose
        ``random_state`` is None gets one derived from ``random_state``.
    batch_size : int, default=10
        Tasks per batch, the paper's ``b``.
    subset_size : int, default=3
        Tasks per trained subset, the paper's ``alpha``. Use 2 with
        ``estimator="pairwise"``.
    n_subsets_per_step : int, default=None
        Subsets trained per step, the paper's ``m``; ``3 * batch_size`` by
        default, i.e. about ``3 n`` runs in all. Capped at the number of
        distinct subsets a step allows.
    max_clusters : int, default=None
        Largest number of groups, ``k_max``. None means ``min(n_seen, 10)``,
        or the current number of groups if that is already larger.
    estimator : {"mean", "surrogate", "pairwise"}, default="mean"
        Affinity estimator (:func:`adagroup.estimate_affinity`). With
        ``"pairwise"`` every batch's singletons are trained as well.
    normalize : {"relative", "standardize", "center", None}, default="relative"
        Per-task rescaling of the scores before estimation, since task losses
        often differ by orders of magnitude. ``"relative"`` divides each
        task's scores by its mean absolute score over the trajectory's runs and
        centres them (a 1 % change counts the same for every task);
        ``"standardize"`` and ``"center"`` are those of
        :func:`adagroup.estimate_affinity`. Standardising inflates the noise of
        a task whose runs all look alike (it met none of its group yet) to
        unit size, which then reads as affinity; the relative scale does not.
    seeds : sequence of int, default=(0,)
        Seeds every subset is trained with; each (subset, seed) is one run.
    n_jobs : int, default=1
        Worker processes of :meth:`Study.run`.
    executor : {None, "process", "ray"} or object, default=None
        Executor of :meth:`Study.run`.
    random_state : int, numpy Generator or None, default=None
        Seed of the plan. The same seed, study and trainer give the same runs
        and the same groups.

    Attributes
    ----------
    labels_ : ndarray of int of shape (n_tasks_seen,)
        Group of every task seen, in study task order.
    groups_ : list of list of str
        The groups as task names.
    task_names_ : tuple of str
        The tasks seen so far, in arrival (study) order.
    n_clusters_ : int
        Number of groups.
    objective_ : float
        Density objective of the grouping on the filled affinity.
    upper_bound_ : float or None
        The clusterer's bound on the objective for ``n_clusters_`` groups.
    affinity_ : AffinityEstimate
        The last estimate (NaN where unmeasured).
    affinity_filled_ : ndarray of shape (n_tasks_seen, n_tasks_seen)
        The symmetrised, filled matrix that was clustered last.
    n_runs_ : int
        Runs of the trajectory that are COMPLETE (each (subset, seed) once).
    n_steps_ : int
        Steps done, one per batch.
    history_ : list of dict
        One entry per step: ``step``, ``n_tasks``, ``n_new``, ``n_planned``
        (runs planned this step), ``n_runs`` (COMPLETE runs so far), ``k``,
        ``objective``, ``upper_bound``, ``n_missing`` (unmeasured off-diagonal
        entries before filling), ``k_table``, ``seconds``.
    clusterer_ : BaseTaskClustering
        The fitted clusterer of the last step.

    See Also
    --------
    adagroup.sampling.adaptive_subsets : the plan of one step (Procedure 2).
    adagroup.estimate_affinity : the affinity estimators.
    adagroup.SDPClustering : the default clusterer.

    Notes
    -----
    **Unmeasured entries.** By design most pairs are never trained together:
    a new task meets only a few members of each group. Before clustering,
    every unmeasured entry ``S[i, j]`` is set to the mean of the measured
    entries between the group of ``i`` and the group of ``j`` (a block model
    of the current grouping, in which new tasks first join the group they
    score best with, or one fresh group if they score below their own average
    with every group). Pairs of groups with no measured entry at all, which
    the design kept apart, get the lowest block mean. The fill and the
    clustering are alternated until the grouping stops changing (at most
    three rounds per step).

    **Diagonal.** The average-density rule that picks ``k`` depends on the
    diagonal: with the diagonal of centred scores (about 0, below the
    within-group level) it merges groups. Each ``S[i, i]`` is therefore set to
    task ``i``'s best measured affinity plus its spread above its mean
    affinity, a stand-in for "a task transfers to itself at least as well as
    to its best partner".

    **k never shrinks.** As in Algorithm 3, ``k`` is searched in
    ``[current number of groups, max_clusters]`` (and at most ``b`` more
    groups per step), so a group, once opened, is kept; the tasks in it may
    move.

    **Resume and determinism.** The plan of step ``t`` depends only on
    ``random_state``, ``t``, the grouping after step ``t - 1`` and the runs
    already planned, and the affinity of step ``t`` uses only the runs the
    trajectory planned up to ``t`` (runs added to the study by other means
    are ignored), so replaying a study from its store gives the same plan.
    Re-planning is idempotent (:meth:`Study.enqueue`), so a replay trains
    only what is not COMPLETE. A run that keeps failing is left out of the
    estimate. A new ``AdaGroup`` on a study replays all steps; the same object
    continues where it stopped.

    References
    ----------
    .. [1] D. Li, H. R. Zhang et al., "AdaGroup": adaptive task grouping
       from higher-order task affinities with SDP-based clustering
       (Algorithm 3 and Procedure 2; the mean estimator is its Eq. 6).
    .. [2] D. Li, H. Ju, A. Sharma, H. R. Zhang, "Boosting Multitask Learning
       on Graphs through Higher-Order Task Affinities", KDD 2023.
    .. [3] J. Peng and Y. Wei, "Approximating K-means-type Clustering via
       Semidefinite Programming", SIAM J. Optim. 18(1), 2007.
       :doi:`10.1137/050641983`

    Examples
    --------
    >>> import adagroup as ag
    >>> from adagroup.trainers import PlantedTrainer
    >>> trainer = PlantedTrainer(sizes=[4, 4, 4], random_state=0)
    >>> study = ag.Study("demo", tasks=trainer.task_names)
    >>> ada = AdaGroup(study, batch_size=6, n_subsets_per_step=12, random_state=0)
    >>> ada = ada.run(trainer)  # doctest: +SKIP
    >>> ada.n_runs_ < 12 * 11 // 2  # doctest: +SKIP
    True
    """

    def __init__(
        self,
        study: Any,
        *,
        clusterer: BaseTaskClustering | None = None,
        batch_size: int = 10,
        subset_size: int = 3,
        n_subsets_per_step: int | None = None,
        max_clusters: int | None = None,
        estimator: str = "mean",
        normalize: str | None = "relative",
        seeds: Sequence[int] = (0,),
        n_jobs: int = 1,
        executor: Any = None,
        random_state: Any = None,
    ) -> None:
        self.study = study
        self.clusterer = clusterer
        self.batch_size = batch_size
        self.subset_size = subset_size
        self.n_subsets_per_step = n_subsets_per_step
        self.max_clusters = max_clusters
        self.estimator = estimator
        self.normalize = normalize
        self.seeds = seeds
        self.n_jobs = n_jobs
        self.executor = executor
        self.random_state = random_state

    # -- parameters ------------------------------------------------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Get the parameters of this object (scikit-learn protocol)."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        parts = [f"study={getattr(self.study, 'name', self.study)!r}"]
        for name, value in self.get_params().items():
            if name != "study" and defaults.get(name) is not value and defaults.get(name) != value:
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def _check_params(self) -> None:
        name = type(self).__name__
        for param, low in (("batch_size", 1), ("subset_size", 1), ("n_jobs", 1)):
            value = getattr(self, param)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                raise ValueError(
                    f"The {param!r} parameter of {name} must be an int >= {low}. Got "
                    f"{value!r} instead."
                )
        for param in ("n_subsets_per_step", "max_clusters"):
            value = getattr(self, param)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1
            ):
                raise ValueError(
                    f"The {param!r} parameter of {name} must be None or an int >= 1. Got "
                    f"{value!r} instead."
                )
        if self.estimator not in _ESTIMATORS:
            raise ValueError(
                f"The 'estimator' parameter of {name} must be one of {list(_ESTIMATORS)}. Got "
                f"{self.estimator!r} instead."
            )
        if self.normalize not in _NORMALIZERS:
            raise ValueError(
                f"The 'normalize' parameter of {name} must be one of {list(_NORMALIZERS)}. Got "
                f"{self.normalize!r} instead."
            )
        seeds = list(self.seeds) if isinstance(self.seeds, Sequence) else None
        if (
            not seeds
            or any(isinstance(s, bool) or not isinstance(s, numbers.Integral) for s in seeds)
            or len(set(seeds)) != len(seeds)
        ):
            raise ValueError(
                f"The 'seeds' parameter of {name} must be a non-empty sequence of distinct "
                f"ints. Got {self.seeds!r} instead; e.g. seeds=(0,)."
            )
        if self.clusterer is not None and not (
            hasattr(self.clusterer, "fit") and hasattr(self.clusterer, "set_params")
        ):
            raise TypeError(
                f"The 'clusterer' parameter of {name} must be a task clusterer such as "
                f"SDPClustering(). Got {self.clusterer!r} instead."
            )

    # -- the loop --------------------------------------------------------------------------------
    def run(
        self,
        trainer: Callable[[tuple[str, ...], int], Mapping[str, float]],
        tasks: Sequence[str] | None = None,
        n_rounds: int | None = None,
    ) -> AdaGroup:
        """Train, estimate and regroup batch by batch until every task is grouped.

        Parameters
        ----------
        trainer : callable
            ``trainer(subset, seed) -> {task: score}``, passed to
            :meth:`Study.run`.
        tasks : sequence of str, default=None
            New tasks to add to the study (they arrive after all the study's
            tasks, in batches of their own). Tasks the study already holds are
            not added again. None groups the study's tasks.
        n_rounds : int, default=None
            Do at most this many steps (batches) in this call; None does all
            that remain. Call ``run`` again to continue.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            If a parameter is out of range.
        TypeError
            If ``clusterer`` is not a clusterer.
        """
        self._check_params()
        if n_rounds is not None and (
            isinstance(n_rounds, bool)
            or not isinstance(n_rounds, numbers.Integral)
            or n_rounds < 0
        ):
            raise ValueError(
                f"The 'n_rounds' parameter of {type(self).__name__}.run must be None or an int "
                f">= 0. Got {n_rounds!r} instead."
            )
        if tasks is not None:
            if isinstance(tasks, str):
                tasks = [tasks]
            known = set(self._study_tasks())
            fresh = [str(t) for t in tasks if str(t) not in known]
            if fresh:
                self.study.add_tasks(fresh)
        all_tasks = self._study_tasks()
        if not hasattr(self, "_state"):
            self._state = _State.start(self.random_state)
        state = self._state
        # Batches are cut from the tasks not yet scheduled, so tasks added after a finished
        # run form batches of their own and the earlier steps replay unchanged.
        scheduled = sum(len(b) for b in state.batches)
        if tasks is not None and not state.batches:
            # A fresh object told which tasks are new: the study's other tasks came first.
            new_set = {str(t) for t in tasks}
            before = [t for t in all_tasks if t not in new_set]
            state.batches += _cut(before, self.batch_size)
            scheduled = len(before)
        state.batches += _cut(list(all_tasks[scheduled:]), self.batch_size)
        todo = len(state.batches) - state.step
        if n_rounds is not None:
            todo = min(todo, int(n_rounds))
        for _ in range(todo):
            self._step(trainer)
        return self

    def _study_tasks(self) -> tuple[str, ...]:
        return tuple(str(t) for t in self.study.tasks)

    def _step(self, trainer: Callable[..., Mapping[str, float]]) -> None:
        from .affinity import estimate_affinity
        from .sampling import adaptive_subsets, singletons

        state = self._state
        start = time.perf_counter()
        t = state.step
        new = list(state.batches[t])
        names = [*state.names, *new]
        index = {name: i for i, name in enumerate(names)}
        rng = np.random.default_rng([state.base_seed, t])

        # -- plan (Procedure 2) and train ------------------------------------------------------
        new_idx = [index[x] for x in new]
        groups = [[index[x] for x in g] for g in state.groups]
        planned_here = [tuple(index[x] for x in s) for s in state.planned if set(s) <= set(names)]
        m = self.n_subsets_per_step or 3 * self.batch_size
        plan = _cover_groups(new_idx, groups, self.subset_size, planned_here, rng)
        taken = planned_here + plan
        extra = min(m - len(plan), _capacity(new_idx, groups, self.subset_size, taken))
        if extra > 0:
            plan += adaptive_subsets(
                new_idx,
                groups,
                size=self.subset_size,
                n_subsets=extra,
                random_state=rng,
                exclude=taken,
            )
        if self.estimator == "pairwise":
            plan += [(new_idx[i],) for (i,) in singletons(len(new_idx))]
        subsets = [tuple(names[i] for i in s) for s in plan]
        seeds = tuple(int(s) for s in self.seeds)
        if subsets:
            self.study.enqueue(subsets, seeds=seeds)
        for s in subsets:
            state.planned.add(frozenset(s))
        self.study.run(trainer, **self._run_kwargs())

        # -- estimate ------------------------------------------------------------------------
        runs = self._trajectory_runs(set(names), seeds)
        normalize = self.normalize
        data: list[Any] = runs
        if normalize == "relative":
            data, normalize = _relative(runs), "center"
        est = estimate_affinity(
            data,
            names,
            estimator=self.estimator,
            greater_is_better=bool(getattr(self.study, "greater_is_better", True)),
            normalize=normalize,
        )
        S = _symmetric_part(est.T)
        n_missing = int(np.isnan(S[~np.eye(len(S), dtype=bool)]).sum())

        # -- regroup, warm-started -------------------------------------------------------------
        prev = np.asarray(state.labels, dtype=np.intp)
        labels = _place_new(S, prev, len(names))
        k_min = max(1, len(state.groups))
        k_max = self.max_clusters if self.max_clusters is not None else min(len(names), 10)
        k_max = max(k_min, min(k_max, len(names), k_min + len(new)))
        fitted = None
        fill_labels = labels
        for _round in range(_MAX_FILL_ROUNDS):
            filled = _fill_by_blocks(S, fill_labels)
            fitted, k_table = self._cluster(filled, labels, k_min, k_max, t)
            same = _same_partition(fitted.labels_, labels)
            labels = np.asarray(fitted.labels_, dtype=np.intp)
            fill_labels = labels
            if same:
                break
        assert fitted is not None
        filled = _fill_by_blocks(S, labels)
        labels = _canonical(labels)

        state.names = names
        state.labels = labels
        state.groups = labels_to_groups(labels, names)
        state.step += 1

        self.task_names_ = tuple(names)
        self.labels_ = labels
        self.n_clusters_ = int(labels.max()) + 1
        self.objective_ = float(density_objective(filled, labels))
        self.upper_bound_ = getattr(fitted, "upper_bound_", None)
        self.affinity_ = est
        self.affinity_filled_ = filled
        self.clusterer_ = fitted
        self.n_runs_ = len(runs)
        self.n_steps_ = state.step
        entry = {
            "step": t,
            "n_tasks": len(names),
            "n_new": len(new),
            "n_planned": len(subsets) * len(seeds),
            "n_runs": len(runs),
            "k": self.n_clusters_,
            "objective": self.objective_,
            "upper_bound": self.upper_bound_,
            "n_missing": n_missing,
            "k_table": k_table,
            "seconds": time.perf_counter() - start,
        }
        state.history.append(entry)
        self.history_ = list(state.history)
        logger.info(
            "AdaGroup step %d: %d tasks (%d new), %d runs, k=%d, objective=%.4g, %.2fs",
            t,
            len(names),
            len(new),
            len(runs),
            self.n_clusters_,
            self.objective_,
            entry["seconds"],
        )

    def _run_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"n_jobs": int(self.n_jobs), "progress": False}
        if self.executor is not None:
            kwargs["executor"] = self.executor
        return kwargs

    def _trajectory_runs(self, names: set[str], seeds: tuple[int, ...]) -> list[Any]:
        """COMPLETE runs of the subsets this trajectory planned, one per (subset, seed)."""
        from .runs import RunState

        wanted = self._state.planned
        out: dict[tuple[frozenset, int], Any] = {}
        for run in self.study.runs(state=RunState.COMPLETE):
            key = frozenset(run.subset)
            if key in wanted and key <= names and int(run.seed) in seeds:
                # Retries of one (subset, seed) are alternatives, not extra evidence.
                out.setdefault((key, int(run.seed)), run)
        return [out[key] for key in sorted(out, key=lambda kv: (sorted(kv[0]), kv[1]))]

    def _cluster(
        self, S: np.ndarray, labels: np.ndarray, k_min: int, k_max: int, step: int
    ) -> tuple[BaseTaskClustering, list[dict[str, Any]]]:
        """Fit the clusterer for every k in [k_min, k_max] and keep the best average density."""
        base = self.clusterer
        if base is None:
            from .cluster import SDPClustering

            base = SDPClustering()
        warm = _accepts_init_labels(base)
        fits: dict[int, BaseTaskClustering] = {}
        for k in range(k_min, k_max + 1):
            est = copy.deepcopy(base)
            params: dict[str, Any] = {"n_clusters": k}
            if "random_state" in est.get_params() and est.get_params()["random_state"] is None:
                params["random_state"] = int(
                    np.random.default_rng([self._state.base_seed, step, k]).integers(2**31)
                )
            if "max_clusters" in est.get_params():
                params["max_clusters"] = None
            est.set_params(**params)
            if warm:
                est.fit(S, init_labels=_with_k_groups(S, labels, k))
            else:
                est.fit(S)
            fits[k] = est
        objectives = {k: float(density_objective(S, f.labels_)) for k, f in fits.items()}
        best, table = select_n_clusters(S, objectives)
        for row in table:
            row["upper_bound"] = getattr(fits[row["k"]], "upper_bound_", None)
        return fits[best], table

    @property
    def groups_(self) -> list[list[str]]:
        """The groups as lists of task names."""
        return labels_to_groups(self.labels_, self.task_names_)


class _State:
    """What a trajectory has done: batches, plan, grouping, history."""

    def __init__(self, base_seed: int) -> None:
        self.base_seed = base_seed
        self.batches: list[list[str]] = []
        self.step = 0
        self.names: list[str] = []
        self.labels = np.zeros(0, dtype=np.intp)
        self.groups: list[list[str]] = []
        self.planned: set[frozenset] = set()
        self.history: list[dict[str, Any]] = []

    @classmethod
    def start(cls, random_state: Any) -> _State:
        if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
            # An int seeds the plan directly, so a new object on the same study replays it.
            return cls(int(random_state))
        rng = check_random_state(random_state)
        return cls(int(rng.integers(2**63 - 1)))


def _cover_groups(
    new: list[int],
    groups: list[list[int]],
    size: int,
    taken: list[tuple[int, ...]],
    rng: np.random.Generator,
) -> list[tuple[int, ...]]:
    """Subsets in which every new task meets every existing group at least once.

    For each group, the shuffled batch is cut into chunks of ``size - 1`` new
    tasks, and each chunk is completed by one member of the group (members in
    turn): ``ceil(b / (size - 1))`` subsets per group. Without this, a new task
    can miss its own group by chance and then has nothing to be placed by.
    """
    if not groups or size < 2:
        return []
    seen = {tuple(sorted(t)) for t in taken}
    out: list[tuple[int, ...]] = []
    per = max(1, min(size - 1, len(new)))
    for g in (groups[int(i)] for i in rng.permutation(len(groups))):
        order = [new[int(i)] for i in rng.permutation(len(new))]
        members = [g[int(i)] for i in rng.permutation(len(g))]
        for c, start in enumerate(range(0, len(order), per)):
            chunk = order[start : start + per]
            fill = size - len(chunk)
            olds = [members[(c * fill + j) % len(members)] for j in range(min(fill, len(g)))]
            subset = tuple(sorted({*chunk, *olds}))
            if subset not in seen:
                seen.add(subset)
                out.append(subset)
    return out


def _relative(runs: Sequence[Any]) -> list[tuple[tuple[str, ...], dict[str, float]]]:
    """Scores divided by their task's mean absolute score over ``runs`` (scale-free)."""
    total: dict[str, float] = {}
    count: dict[str, int] = {}
    for run in runs:
        for task, value in run.scores.items():
            total[task] = total.get(task, 0.0) + abs(float(value))
            count[task] = count.get(task, 0) + 1
    scale = {t: (total[t] / count[t]) or 1.0 for t in total}
    return [
        (tuple(run.subset), {t: float(v) / scale[t] for t, v in run.scores.items()})
        for run in runs
    ]


def _cut(names: list[str], size: int) -> list[list[str]]:
    return [names[i : i + size] for i in range(0, len(names), size)]


def _capacity(
    new: list[int], groups: list[list[int]], size: int, taken: list[tuple[int, ...]]
) -> int:
    """Distinct subsets :func:`adaptive_subsets` can still draw (its documented rule)."""
    b = len(new)
    taken_sets = [frozenset(s) for s in taken]
    new_set = set(new)
    if not groups:
        s = min(size, b)
        used = sum(1 for t in taken_sets if len(t) == s and t <= new_set)
        return math.comb(b, s) - used
    total = 0
    for g in groups:
        pool = new_set | set(g)
        s = min(size, len(pool))
        ks = range(max(1, s - len(g)), min(b, s - 1) + 1) if s >= 2 else range(1, 2)
        cap = sum(math.comb(b, k) * math.comb(len(g), s - k) for k in ks)
        used = sum(1 for t in taken_sets if len(t) == s and t <= pool and len(t & new_set) in ks)
        total += cap - used
    return total


def _symmetric_part(T: np.ndarray) -> np.ndarray:
    """``(T + T.T) / 2``, using the one measured side where only one is."""
    T = np.asarray(T, dtype=np.float64)
    both = np.stack([T, T.T])
    with np.errstate(invalid="ignore"):
        count = (~np.isnan(both)).sum(axis=0)
        total = np.nansum(both, axis=0)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _place_new(S: np.ndarray, prev: np.ndarray, n: int) -> np.ndarray:
    """Previous labels, plus each new task in its best group or one fresh group."""
    labels = np.empty(n, dtype=np.intp)
    n_old = len(prev)
    labels[:n_old] = prev
    k = int(prev.max()) + 1 if n_old else 0
    fresh = k
    off = ~np.eye(n, dtype=bool)
    for x in range(n_old, n):
        row = S[x]
        measured = off[x] & ~np.isnan(row)
        if k == 0 or not measured.any():
            labels[x] = fresh
            continue
        # A task's own average is the bar: standardised scores centre it at 0 and the
        # raw scale of an unnormalised row does not matter.
        bar = float(row[measured].mean())
        best, best_val = -1, -np.inf
        for c in range(k):
            mask = measured[:n_old] & (prev == c)
            if mask.any():
                val = float(row[:n_old][mask].mean())
                if val > best_val:
                    best, best_val = c, val
        labels[x] = best if best >= 0 and best_val > bar else fresh
    return _canonical(labels)


def _block_means(S: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean of the measured off-diagonal entries of every pair of groups (NaN if none)."""
    k = int(labels.max()) + 1
    M = np.zeros((len(labels), k))
    M[np.arange(len(labels)), labels] = 1.0
    measured = ~np.isnan(S)
    np.fill_diagonal(measured, False)
    sums = M.T @ np.where(measured, S, 0.0) @ M
    counts = M.T @ measured.astype(np.float64) @ M
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1.0), np.nan)


def _fill_by_blocks(S: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Fill unmeasured entries from the grouping (see AdaGroup Notes)."""
    k = int(labels.max()) + 1
    M = np.zeros((len(labels), k))
    M[np.arange(len(labels)), labels] = 1.0
    measured = ~np.isnan(S)
    np.fill_diagonal(measured, False)
    sums = np.where(measured, S, 0.0) @ M
    counts = measured.astype(np.float64) @ M
    with np.errstate(invalid="ignore", divide="ignore"):
        # R[i, g]: task i's mean measured affinity to the tasks of group g.
        R = np.where(counts > 0, sums / np.maximum(counts, 1.0), np.nan)
    both = np.stack([R[:, labels], R[:, labels].T])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fill = np.nanmean(both, axis=0)
    B = _block_means(S, labels)
    low = float(np.nanmin(B)) if np.isfinite(B).any() else 0.0
    B = np.where(np.isnan(B), low, B)
    fill = np.where(np.isnan(fill), B[np.ix_(labels, labels)], fill)
    out = np.where(np.isnan(S), fill, S)
    np.fill_diagonal(out, _self_affinity(S))
    return out


def _self_affinity(S: np.ndarray) -> np.ndarray:
    """Each task's largest measured affinity to another task, its stand-in for ``S[i, i]``."""
    off = np.where(np.eye(len(S), dtype=bool), np.nan, S)
    measured = ~np.isnan(off)
    best = np.max(np.where(measured, off, -np.inf), axis=1)
    fallback = float(np.nanmean(off)) if measured.any() else 0.0
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(np.where(measured, off, np.nan), axis=1)
    best = best + _SELF_MARGIN * (best - mean)
    return np.where(measured.any(axis=1), best, fallback)


def _canonical(labels: np.ndarray) -> np.ndarray:
    """Relabel so groups are numbered 0, 1, ... in the order of their first task."""
    labels = np.asarray(labels, dtype=np.intp)
    uniq, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(uniq), dtype=np.intp)
    rank[np.argsort(first)] = np.arange(len(uniq))
    return rank[inverse.reshape(-1)]


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return len(a) == len(b) and bool(np.array_equal(_canonical(a), _canonical(b)))


def _with_k_groups(S: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Warm-start labels with exactly ``k`` groups: merge the closest or split the loosest."""
    labels = _canonical(np.asarray(labels, dtype=np.intp))
    n = len(labels)
    k = min(k, n)
    while labels.max() + 1 > k:
        B = _block_means(S, labels)
        B = np.where(np.isnan(B), -np.inf, B)
        np.fill_diagonal(B, -np.inf)
        a, b = np.unravel_index(int(np.argmax(B)), B.shape)
        labels = _canonical(np.where(labels == max(a, b), min(a, b), labels))
    while labels.max() + 1 < k:
        sizes = np.bincount(labels)
        g = int(np.argmax(sizes))
        members = np.flatnonzero(labels == g)
        # The member least attached to the rest of its group starts the new group.
        sub = S[np.ix_(members, members)]
        attach = (sub.sum(axis=1) - np.diag(sub)) / max(len(members) - 1, 1)
        labels = labels.copy()
        labels[members[int(np.argmin(attach))]] = labels.max() + 1
    return labels


def _accepts_init_labels(clusterer: Any) -> bool:
    fit_k = getattr(type(clusterer), "_fit_k", None)
    if fit_k is None:
        return False
    params = inspect.signature(fit_k).parameters
    return "init_labels" in params or any(
        p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values()
    )
