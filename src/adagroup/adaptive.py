"""AdaGroup: group tasks that arrive in batches, training few subsets per batch (Algorithm 3).

Tasks arrive in batches. The first batch is grouped from uniformly sampled
subsets; every later batch is trained only together with one existing group at
a time (Procedure 2), so a step's cost does not grow with the number of tasks
seen so far. After each step the new tasks are placed by a block model fitted to
every run of the trajectory, the group-level affinity is re-estimated and the
tasks are re-clustered by the SDP, warm started from the placement, with ``k``
chosen in ``[current number of groups, max_clusters]``.

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
#: Rounds of confirmation runs (ambiguous new tasks against their two best groups) per step.
_MAX_CONFIRM_ROUNDS = 4
#: A new task is ambiguous when moving it to its runner-up group raises the block model's
#: squared error by less than this many residual variances (about a 4-sigma single reading).
_AMBIGUOUS = 36.0
#: Sweeps of single-task moves when decoding the grouping.
_MAX_SWEEPS = 8
#: Price of one more shared parameter of the block model, in its residual variances (above
#: AIC's 2: the search picks the best of many groupings, which overfits noise).
_PARAM_PENALTY = 4.0
#: Candidate groupings refined by moves, best first (refining every one is the slow part of a
#: step, and it grows with n times k).
_N_REFINED = 2
#: Shrinkage of the per-task scales towards 1, relative to a group's mean fitted signal.
_SCALE_SHRINK = 1.0


class AdaGroup:
    """Adaptive task grouping: batches of new tasks are trained with one existing group at a time.

    The AdaGroup procedure (Algorithm 3 of [1]_) for ``n`` tasks arriving in
    ``s`` batches of ``b = batch_size`` tasks:

    1. **First batch.** Train ``m = n_subsets_per_step`` subsets of
       ``subset_size`` tasks drawn uniformly from the batch; group them as in
       step 3, with ``k`` in ``[1, max_clusters]``.
    2. **Each later batch** (Procedure 2). A cover: for every group, the
       batch is cut into chunks of ``subset_size - 1`` new tasks, each
       completed by one member of that *one* group, so every new task meets
       every group (``ceil(b / (subset_size - 1))`` runs per group). The new
       tasks are placed by the block model (Notes). A new task whose best and
       runner-up groups explain its runs about equally well is *ambiguous*; it
       is trained with ``subset_size - 1`` members of each of the two (clean,
       unconfounded readings), within the step's budget, and placed again.
    3. **Re-cluster.** The affinity of every task to every group is estimated
       from all the trajectory's runs (a per-target ridge surrogate on the
       number of partners from each group), re-clustered by ``clusterer``
       warm-started from the placement, for every ``k`` in ``[current number
       of groups, max_clusters]``, and the grouping (SDP for some ``k``, or the
       placement itself) that best fits the runs is kept (Notes).

    A later step costs about ``k b / (subset_size - 1)`` runs plus a few
    confirmations, however many tasks have been seen, against ``n (n - 1) / 2``
    runs for all pairs (about ``3 n`` runs in all for 5 groups; see
    ``benchmarks/sample_efficiency.py``).

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
        The paper's ``m``; ``3 * batch_size`` by default: the subsets of the
        first batch (capped at the number of distinct ones), and the most runs
        of a later step. The cover of a later step is always trained; the
        confirmations use what is left of ``m``.
    max_clusters : int, default=None
        Largest number of groups, ``k_max``. None means ``min(n_seen, 10)``,
        or the current number of groups if that is already larger.
    estimator : {"mean", "surrogate", "pairwise"}, default="mean"
        Pair-level estimator (:func:`adagroup.estimate_affinity`) reported as
        ``affinity_``; the grouping itself uses the group-level estimate
        (Notes), since most pairs are never trained together. With
        ``"pairwise"`` every batch's singletons are trained as well.
    normalize : {"relative", "standardize", "center", None}, default="relative"
        Per-task rescaling of the scores of ``affinity_`` (the grouping always
        uses relative scores, Notes), since task losses
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
        The symmetrised group-level affinity that was clustered last.
    n_runs_ : int
        Runs of the trajectory that are COMPLETE (each (subset, seed) once).
    n_steps_ : int
        Steps done, one per batch.
    history_ : list of dict
        One entry per step: ``step``, ``n_tasks``, ``n_new``, ``n_planned``
        (runs planned this step), ``n_runs`` (COMPLETE runs so far), ``k``,
        ``objective``, ``upper_bound``, ``n_missing`` (off-diagonal pairs no
        run measured), ``k_table`` (per ``k``: objective, average density,
        upper bound, ``block_error``, ``score``), ``seconds``.
    clusterer_ : BaseTaskClustering
        The fitted clusterer of the last step.

    See Also
    --------
    adagroup.sampling.adaptive_subsets : Procedure 2's random sampler (the cover here is
        its deterministic, every-task-meets-every-group form).
    adagroup.estimate_affinity : the affinity estimators.
    adagroup.SDPClustering : the default clusterer.

    Notes
    -----
    **Relative scores.** Task scores differ by orders of magnitude; each task's
    (oriented) scores are divided by its mean absolute score (or its spread,
    if larger) and centred, so a 1 % change counts the same for every task.

    **Block model and placement.** Most pairs are never trained together, and a
    pair-level estimate confounds a new task's partners (in a run of two new
    tasks and one member, the mean estimator credits the member with the new
    tasks' mutual transfer). The grouping is therefore fitted to the runs
    directly: under labels ``L``, task ``i``'s relative score in subset ``S`` is
    modelled as ``a_i + s_i sum_h E[g(i), h] n_h`` (``n_h``: partners from
    group ``h``): a per-task baseline ``a_i``, effects ``E`` of every group on
    every group, shared by the tasks of a group, and a per-task scale
    ``s_i >= 0`` (tasks respond with different strength). ``E`` is fitted by
    least squares with every ``s_i = 1``, then each ``s_i`` by least squares
    shrunk towards 1 (so a task that met few partners cannot take whatever
    scale suits a wrong group). Its squared error, plus ``4`` residual
    variances (estimated from the runs) per shared parameter (``k (k - 1)``),
    scores ``L``. New tasks start in the group they fit best, then single
    tasks move and whole groups merge while the score drops. The per-task
    parameters do not depend on ``L``, so splitting a true group or merging
    two raises the error: a batch that forms a group of its own opens one
    because its members explain each other's runs. Measured on real training
    (``SyntheticMultitaskTrainer``, 3x3 and 4x3 tasks, 4 seeds, batches of 3
    to 6), this model recovered the groups in 16 of 32 configurations, against
    4 for per-task slopes on own-group and all partners.

    **Group-level affinity and k.** ``affinity_filled_[i, j]`` is the ridge
    coefficient of ``j``'s group in task ``i``'s surrogate (its score on the
    number of partners from each group); groups ``i`` never met get ``i``'s
    lowest coefficient, the diagonal ``i``'s own-group coefficient. Per-row
    constants, which the surrogate cannot identify when all subsets have one
    size, shift every partition's density equally. The clusterer is fitted
    for every candidate ``k`` (warm-started); the average-density rule of
    :func:`adagroup.cluster.select_n_clusters` is reported in ``k_table``, but
    ``k`` is chosen by the block-model score above, among the SDP groupings
    (on this affinity, and near the placement's ``k`` on a pair-level ridge
    surrogate), the placement, and the best two of them refined by moves:
    measured on planted groups, the density rule on estimated affinities
    merged or split groups, and with ``k`` never shrinking a wrong split is
    permanent.

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
        # A subset must hold a new task and a partner: one-task subsets measure no affinity.
        for param, low in (("batch_size", 1), ("subset_size", 2), ("n_jobs", 1)):
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
        from .sampling import sample_subsets, singletons

        state = self._state
        start = time.perf_counter()
        t = state.step
        new = list(state.batches[t])
        names = [*state.names, *new]
        index = {name: i for i, name in enumerate(names)}
        n_old = len(state.names)
        new_idx = [index[x] for x in new]
        rng = np.random.default_rng([state.base_seed, t])
        seeds = tuple(int(s) for s in self.seeds)
        sign = 1.0 if bool(getattr(self.study, "greater_is_better", True)) else -1.0
        size = int(self.subset_size)
        m = self.n_subsets_per_step or 3 * self.batch_size
        planned_here = [tuple(index[x] for x in s) for s in state.planned if set(s) <= set(names)]

        # -- plan and train: uniform on the first batch, else the cover (Procedure 2) ----------
        groups = [[index[x] for x in g] for g in state.groups]
        if groups:
            plan = _cover_groups(new_idx, groups, size, planned_here, rng)
        else:
            s = min(size, len(new))
            cap = math.comb(len(new), s)
            plan = [
                tuple(new_idx[i] for i in sub)
                for sub in sample_subsets(len(new), s, min(m, cap), random_state=rng)
            ]
            if cap < m and s > 2:
                # A small first batch has few distinct subsets; its pairs add readings.
                pairs = sample_subsets(
                    len(new), 2, min(m - cap, math.comb(len(new), 2)), random_state=rng
                )
                plan += [tuple(new_idx[i] for i in sub) for sub in pairs]
        if self.estimator == "pairwise":
            plan += [(new_idx[i],) for (i,) in singletons(len(new_idx))]
        n_planned = self._train(trainer, plan, names, seeds)
        taken = planned_here + plan

        # -- place the new tasks by the block model, then confirm the ambiguous ones -----------
        prev = np.asarray(state.labels, dtype=np.intp)
        data = self._data(names, seeds, sign)
        labels = _decode(data, prev, n_old, rng)
        budget = max(0, m - len(plan)) if groups else 0
        for _round in range(_MAX_CONFIRM_ROUNDS):
            if budget <= 0 or size < 2:
                break
            extra = _confirmations(data, labels, new_idx, size, budget, taken, rng)
            if not extra:
                break
            n_planned += self._train(trainer, extra, names, seeds)
            taken += extra
            budget -= len(extra)
            data = self._data(names, seeds, sign)
            labels = _decode(data, prev, n_old, rng, init=labels)

        # -- group-level affinity, re-clustered by the SDP, warm-started ------------------------
        runs = self._trajectory_runs(set(names), seeds)
        normalize = self.normalize
        reported: list[Any] = runs
        if normalize == "relative":
            reported, normalize = _relative(runs), "center"
        est = estimate_affinity(
            reported,
            names,
            estimator=self.estimator,
            greater_is_better=sign > 0,
            normalize=normalize,
        )
        n_missing = int(np.isnan(_symmetric_part(est.T))[~np.eye(len(names), dtype=bool)].sum())
        filled = _group_affinity(data, labels)
        k_min = max(1, len(state.groups))
        k_max = self.max_clusters if self.max_clusters is not None else min(len(names), 10)
        k_max = max(k_min, min(k_max, len(names), k_min + len(new)))
        fitted, labels, k_table = self._cluster(filled, labels, k_min, k_max, t, data)

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
            "n_planned": n_planned,
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

    def _train(
        self,
        trainer: Callable[..., Mapping[str, float]],
        plan: list[tuple[int, ...]],
        names: list[str],
        seeds: tuple[int, ...],
    ) -> int:
        """Plan ``plan`` (index tuples) for every seed and train what is not COMPLETE."""
        subsets = [tuple(names[i] for i in s) for s in plan]
        if subsets:
            self.study.enqueue(subsets, seeds=seeds)
        for s in subsets:
            self._state.planned.add(frozenset(s))
        self.study.run(trainer, **self._run_kwargs())
        return len(subsets) * len(seeds)

    def _data(self, names: list[str], seeds: tuple[int, ...], sign: float) -> _Runs:
        return _Runs(self._trajectory_runs(set(names), seeds), names, sign)

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
        self,
        S: np.ndarray,
        labels: np.ndarray,
        k_min: int,
        k_max: int,
        step: int,
        data: _Runs,
    ) -> tuple[BaseTaskClustering, np.ndarray, list[dict[str, Any]]]:
        """Fit the clusterer for every k in [k_min, k_max]; keep the grouping that fits the runs.

        Returns the fitted clusterer of the chosen ``k``, the chosen labels and
        the per-``k`` table (average density, block-model error, score).
        """
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
        # Second opinion, free of the current grouping: the SDP on a pair-level surrogate.
        pair_S = _pair_affinity(data)
        pair_fits: list[np.ndarray] = []
        # Only near the placement's k: each SDP fit is a large share of a step's time.
        k_dec = int(np.max(labels)) + 1
        for k in range(max(k_min, k_dec - 1), min(k_max, k_dec + 1) + 1):
            est = copy.deepcopy(fits[k])
            est.fit(pair_S)
            pair_fits.append(_canonical(np.asarray(est.labels_, dtype=np.intp)))
        objectives = {k: float(density_objective(S, f.labels_)) for k, f in fits.items()}
        _, table = select_n_clusters(S, objectives)
        # Candidates: the SDP grouping for every k, each refined by single-task moves under the
        # block model, and the decoded grouping itself; the one that fits the runs best is kept.
        sigma2 = _noise(data, labels)
        per_param = _PARAM_PENALTY * sigma2
        rng = np.random.default_rng([self._state.base_seed, step, 7919])
        candidates: dict[int, np.ndarray] = {}
        errors: dict[int, float] = {}
        pool = [_canonical(np.asarray(f.labels_, dtype=np.intp)) for f in fits.values()]
        pool += [*pair_fits, _canonical(labels)]

        def consider(cand: np.ndarray) -> float:
            k = int(cand.max()) + 1
            err = float(data.sse(cand).sum())
            if k_min <= k <= k_max and (k not in errors or err < errors[k] - 1e-12):
                candidates[k], errors[k] = cand, err
            return err + per_param * data.n_params(cand)

        raw = [consider(lab) for lab in pool]
        for i in np.argsort(raw, kind="stable")[:_N_REFINED]:
            consider(_decode(data, pool[i], len(pool[i]), rng, init=pool[i], sigma2=sigma2))
        for k, f in fits.items():
            if k not in errors:
                candidates[k] = _canonical(np.asarray(f.labels_, dtype=np.intp))
                errors[k] = float(data.sse(candidates[k]).sum())
        score = {k: errors[k] + per_param * data.n_params(candidates[k]) for k in errors}
        best = min(score, key=lambda k: (score[k], k))
        for row in table:
            k = row["k"]
            row["upper_bound"] = getattr(fits[k], "upper_bound_", None)
            row["block_error"] = errors[k]
            row["score"] = score[k]
        return fits[best], candidates[best], table

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


def _symmetric_part(T: np.ndarray) -> np.ndarray:
    """``(T + T.T) / 2``, using the one measured side where only one is."""
    T = np.asarray(T, dtype=np.float64)
    both = np.stack([T, T.T])
    with np.errstate(invalid="ignore"):
        count = (~np.isnan(both)).sum(axis=0)
        total = np.nansum(both, axis=0)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


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


class _Runs:
    """A trajectory's runs as padded arrays of per-task relative, oriented scores.

    ``idx[r, a]`` is the a-th task of run ``r`` (-1 pads), ``y[r, a]`` its score
    divided by the task's typical size (mean absolute score, or its spread if
    larger, so scores near zero are not blown up), oriented so that higher is
    better, and centred per task.
    """

    def __init__(self, runs: Sequence[Any], names: Sequence[str], sign: float) -> None:
        index = {t: i for i, t in enumerate(names)}
        n = len(names)
        width = max((len(r.subset) for r in runs), default=1)
        self.n = n
        self.idx = np.full((len(runs), width), -1, dtype=np.intp)
        raw = np.zeros((len(runs), width))
        for r, run in enumerate(runs):
            sub = [index[x] for x in run.subset]
            self.idx[r, : len(sub)] = sub
            raw[r, : len(sub)] = [sign * float(run.scores[x]) for x in run.subset]
        self.valid = self.idx >= 0
        tasks = self.idx[self.valid]
        vals = raw[self.valid]
        cnt = np.bincount(tasks, minlength=n).astype(np.float64)
        mean = np.bincount(tasks, weights=vals, minlength=n) / np.maximum(cnt, 1.0)
        mabs = np.bincount(tasks, weights=np.abs(vals), minlength=n) / np.maximum(cnt, 1.0)
        var = np.bincount(tasks, weights=(vals - mean[tasks]) ** 2, minlength=n)
        var = var / np.maximum(cnt, 1.0)
        scale = np.maximum(mabs, np.sqrt(var))
        scale[scale <= 0] = 1.0
        y = np.zeros_like(raw)
        y[self.valid] = (vals - mean[tasks]) / scale[tasks]
        self.y = y
        self.count = cnt
        self.n_partners = np.where(self.valid, self.valid.sum(axis=1, keepdims=True) - 1, 0)
        self._onehot: np.ndarray | None = None

    def _group_of(self, labels: np.ndarray) -> np.ndarray:
        return np.where(self.valid, labels[np.where(self.valid, self.idx, 0)], -1)

    def sse(self, labels: np.ndarray) -> np.ndarray:
        """Per-task squared error of the block model under ``labels`` (see AdaGroup Notes)."""
        k = int(labels.max()) + 1
        lab = self._group_of(labels)
        onehot = (lab[:, :, None] == np.arange(k)) & self.valid[:, :, None]
        v = self.valid
        t = self.idx[v]
        n = self.n
        # Partners of each reading's task, counted per group, centred per task (which projects
        # out the per-task baseline; y is centred already).
        X = (onehot.sum(axis=1)[:, None, :] - onehot)[v].astype(np.float64)
        X -= (self._task_sum(X) / np.maximum(self.count, 1.0)[:, None])[t]
        Z = np.concatenate([X, self.y[v][:, None]], axis=1)
        # Per-task cross products of (counts, score): C[i] is (k + 1) x (k + 1).
        C = self._task_sum((Z[:, :, None] * Z[:, None, :]).reshape(len(t), -1))
        C = C.reshape(n, k + 1, k + 1)
        out = np.zeros(n)
        for g in range(k):
            members = np.flatnonzero(labels == g)
            if members.size:
                out[members] = _group_sse(C[members], k)
        return np.maximum(out, 0.0)

    def _task_sum(self, W: np.ndarray) -> np.ndarray:
        """Column sums of ``W`` (one row per reading) per task, shape ``(n, W.shape[1])``."""
        if self._onehot is None:
            t = self.idx[self.valid]
            self._onehot = np.zeros((self.n, len(t)))
            self._onehot[t, np.arange(len(t))] = 1.0
        return self._onehot @ W

    def n_params(self, labels: np.ndarray) -> float:
        """Shared parameters: per group, its effects of the ``k`` groups, less its scale."""
        k = int(labels.max()) + 1
        return float(k * (k - 1))

    def dof(self, labels: np.ndarray) -> float:
        # Two parameters per task (baseline and scale).
        active = float((self.count > 0).sum())
        return max(float(self.valid.sum()) - 2.0 * active - self.n_params(labels), 1.0)


def _group_sse(C: np.ndarray, k: int) -> np.ndarray:
    """Squared error of each task of one group given its cross products ``C`` (m, k+1, k+1).

    Task ``i`` of the group is modelled as ``s_i * (counts @ e)``: effects ``e``
    of partners from each group, shared by the group, times a per-task scale
    ``s_i >= 0`` (tasks respond with different strength). ``e`` is fitted with
    every ``s_i = 1`` (the plain block fit), then each ``s_i`` by least squares
    shrunk towards 1, so a task that met few partners cannot take any scale
    that suits a wrong group.
    """
    A = C[:, :k, :k]
    c = C[:, :k, k]
    syy = C[:, k, k]
    e = np.linalg.pinv(A.sum(axis=0), hermitian=True) @ c.sum(axis=0)
    q = np.einsum("i,mij,j->m", e, A, e)
    p = c @ e
    lam = _SCALE_SHRINK * float(np.mean(q))
    s = np.where(q + lam > 1e-12, np.maximum(p + lam, 0.0) / np.maximum(q + lam, 1e-12), 0.0)
    return syy - 2.0 * s * p + s * s * q


def _move_costs(
    data: _Runs, labels: np.ndarray, x: int, per_param: float = 0.0
) -> dict[int, float]:
    """Penalised block-model error with task ``x`` in each group in use, or alone."""
    out: dict[int, float] = {}
    trial = labels.copy()
    alone = int(np.sum(labels == labels[x])) == 1
    fresh = int(labels.max()) + 1
    for c in [*np.unique(labels).tolist(), fresh]:
        if c == fresh and alone:
            continue
        trial[x] = c
        lab = _canonical(trial)
        out[int(c)] = float(data.sse(lab).sum()) + per_param * data.n_params(lab)
    return out


def _noise(data: _Runs, labels: np.ndarray) -> float:
    return float(data.sse(labels).sum()) / data.dof(labels)


def _greedy_start(data: _Runs, prev: np.ndarray, n_old: int) -> np.ndarray:
    """Old tasks as before; each new task, in turn, joins the existing group it fits best."""
    n = data.n
    labels = np.empty(n, dtype=np.intp)
    labels[:n_old] = prev
    if n_old == 0:
        labels[:] = np.arange(n)
        return labels
    k = int(prev.max()) + 1
    # Unplaced new tasks sit in singleton groups while the others are placed.
    labels[n_old:] = k + np.arange(n - n_old)
    for x in range(n_old, n):
        best, best_err = labels[x], np.inf
        for c in range(k):
            labels[x] = c
            err = float(data.sse(_canonical(labels)).sum())
            if err < best_err:
                best, best_err = c, err
        labels[x] = best
    return _canonical(labels)


def _decode(
    data: _Runs,
    prev: np.ndarray,
    n_old: int,
    rng: np.random.Generator,
    init: np.ndarray | None = None,
    sigma2: float | None = None,
) -> np.ndarray:
    """Grouping that best explains the runs under the block model, by single-task moves.

    New tasks start in the group they fit best (or from ``init``); the new
    tasks, then all tasks, move one at a time to the group (or a fresh group)
    that lowers the penalised error most, and whole groups merge, until no move
    helps.
    """
    n = data.n
    if init is not None:
        labels = _canonical(np.asarray(init, dtype=np.intp).copy())
    else:
        labels = _greedy_start(data, prev, n_old)
    if sigma2 is None:
        sigma2 = _noise(data, labels)
    per_param = _PARAM_PENALTY * sigma2

    def score(lab: np.ndarray) -> float:
        return float(data.sse(lab).sum()) + per_param * data.n_params(lab)

    cur = score(labels)
    tol = 1e-9 * max(abs(cur), 1e-12)
    first = bool(n_old) and init is None
    for _outer in range(_MAX_SWEEPS):
        changed = False
        for sweep in range(_MAX_SWEEPS):
            movable = np.arange(n_old, n) if first and sweep == 0 else np.arange(n)
            moved = False
            for x in rng.permutation(movable):
                costs = _move_costs(data, labels, int(x), per_param)
                best = min(costs, key=lambda c: (costs[c], c != labels[x]))
                if best != labels[x] and costs[best] < cur - tol:
                    labels[x] = best
                    cur = costs[best]
                    labels = _canonical(labels)
                    moved = changed = True
            if not moved:
                break
        first = False
        # Single moves cannot join two halves of one group (each half holds its members),
        # so merges of whole groups are tried too.
        k = int(labels.max()) + 1
        best_merge, best_score = None, cur - tol
        for a in range(k):
            for b in range(a + 1, k):
                trial = _canonical(np.where(labels == b, a, labels))
                value = score(trial)
                if value < best_score:
                    best_merge, best_score = trial, value
        if best_merge is not None:
            labels, cur = best_merge, best_score
            changed = True
        if not changed:
            break
    return _canonical(labels)


def _confirmations(
    data: _Runs,
    labels: np.ndarray,
    new: list[int],
    size: int,
    budget: int,
    taken: list[tuple[int, ...]],
    rng: np.random.Generator,
) -> list[tuple[int, ...]]:
    """Unconfounded runs for new tasks whose best and runner-up groups fit about equally well.

    Each ambiguous task is trained with ``size - 1`` members of each of its two
    best groups (one subset per group), most ambiguous first, within ``budget``.
    """
    sigma2 = _noise(data, labels)
    seen = {tuple(sorted(s)) for s in taken}
    scored = []
    for x in new:
        costs = _move_costs(data, labels, x, _PARAM_PENALTY * sigma2)
        order = sorted(costs, key=lambda c: costs[c])
        if len(order) < 2:
            continue
        margin = costs[order[1]] - costs[order[0]]
        if margin < _AMBIGUOUS * sigma2:
            scored.append((margin, x, order[:2]))
    out: list[tuple[int, ...]] = []
    for _margin, x, options in sorted(scored):
        for c in options:
            members = [int(j) for j in np.flatnonzero(labels == c) if j != x]
            if not members or len(out) >= budget:
                continue
            for _try in range(3):
                pick = rng.permutation(members)[: size - 1]
                subset = tuple(sorted({x, *map(int, pick)}))
                if subset not in seen:
                    seen.add(subset)
                    out.append(subset)
                    break
    return out


def _group_affinity(data: _Runs, labels: np.ndarray, ridge: float = 1e-3) -> np.ndarray:
    """Affinity of every task to every group, by a per-target linear surrogate, as a matrix.

    For target ``i``, its relative score is regressed (ridge) on the number of
    partners from each group: ``T[i, j]`` is the coefficient of ``j``'s group.
    Groups ``i`` never met get ``i``'s lowest measured coefficient; the diagonal
    is ``i``'s coefficient for its own group (its best one if it is alone).
    The matrix is symmetrised. Row constants (the surrogate's coefficients are
    only defined up to one per row when every subset has the same size) change
    every partition's density by the same amount, so they do not matter.
    """
    n = data.n
    k = int(labels.max()) + 1
    lab = data._group_of(labels)
    onehot = (lab[:, :, None] == np.arange(k)) & data.valid[:, :, None]
    counts = onehot.sum(axis=1)[:, None, :] - onehot
    v = data.valid
    t = data.idx[v]
    X = np.concatenate([np.ones((int(v.sum()), 1)), counts[v].astype(np.float64)], axis=1)
    y = data.y[v]
    xtx = np.zeros((n, k + 1, k + 1))
    np.add.at(xtx, t, X[:, :, None] * X[:, None, :])
    xty = np.zeros((n, k + 1))
    np.add.at(xty, t, X * y[:, None])
    pen = np.full(k + 1, ridge)
    pen[0] = 0.0
    theta = np.linalg.solve(xtx + np.diag(pen) + 1e-12 * np.eye(k + 1), xty[:, :, None])
    theta = theta[:, 1:, 0]
    met = np.zeros((n, k))
    np.add.at(met, t, counts[v])
    measured = met > 0
    low = np.min(np.where(measured, theta, np.inf), axis=1)
    high = np.max(np.where(measured, theta, -np.inf), axis=1)
    low = np.where(np.isfinite(low), low, 0.0)
    high = np.where(np.isfinite(high), high, 0.0)
    theta = np.where(measured, theta, low[:, None])
    T = theta[:, labels]
    own = theta[np.arange(n), labels]
    np.fill_diagonal(T, np.where(measured[np.arange(n), labels], own, high))
    return (T + T.T) / 2.0


def _pair_affinity(data: _Runs, ridge: float = 1.0) -> np.ndarray:
    """Per-target ridge surrogate on single partners, symmetrised (0 for pairs never met)."""
    n = data.n
    v = data.valid
    t = data.idx[v]
    member = np.zeros((data.idx.shape[0], n))
    rows = np.repeat(np.arange(data.idx.shape[0]), data.idx.shape[1])[v.ravel()]
    member[rows, t] = 1.0
    X = member[rows]
    X[np.arange(len(t)), t] = 0.0
    mean = np.zeros((n, n))
    np.add.at(mean, t, X)
    mean /= np.maximum(data.count, 1.0)[:, None]
    Xc = X - mean[t]
    y = data.y[v]
    T = np.zeros((n, n))
    for i in range(n):
        sel = t == i
        if not sel.any():
            continue
        A = Xc[sel]
        T[i] = np.linalg.solve(A.T @ A + ridge * np.eye(n), A.T @ y[sel])
    T = (T + T.T) / 2.0
    np.fill_diagonal(T, T.max(axis=1))
    return T


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
