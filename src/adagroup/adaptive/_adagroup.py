"""AdaGroup: group tasks that arrive in batches, training few subsets, and say how sure it is."""

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

from .._validation import check_float, check_int, check_random_state
from ..cluster._base import BaseTaskClustering
from ..cluster._objective import labels_to_groups
from ..cluster._threads import blas_threads_for
from ..exceptions import UnstableGroupingWarning
from ._design import (
    contested_groups,
    cover_groups,
    first_batch_cover,
    merge_test_subsets,
    targeted_subsets,
    uniform_subsets,
)
from ._evidence import ESTIMATORS, NORMALIZERS, PairPosterior, RunTable
from ._grouping import best_groupings, canonical, density, measured_density
from ._uncertainty import adjusted_rand, draw_groupings, task_stability

__all__ = ["AdaGroup"]

logger = logging.getLogger(__name__)

#: Share of a round's targeted budget spent on uniform subsets over every seen task, so
#: that evidence keeps arriving where the current grouping would not look.
_UNIFORM_SHARE = 0.25
#: Share of its group a task must have been trained with before AdaGroup stops.
_MIN_COVERAGE = 0.5


class AdaGroup:
    """Adaptive task grouping with posterior uncertainty and a stopping rule.

    Tasks arrive in batches of ``batch_size``. Each **round** plans a few
    training runs, trains them through the study, and regroups *every* task
    seen so far from scratch on the pooled evidence of all the runs:

    1. **Plan.** The first batch gets a pair cover of itself (every pair of
       its tasks trained together once; about ``b^2 / 6`` subsets of 3),
       topped up with uniform subsets to ``n_subsets_per_step``. Each
       later batch gets Procedure 2's cover (every new task meets every
       existing group: one new task per subset, so that its readings are not
       confounded with another new task's, with one member of each of
       ``subset_size - 1`` groups), then the rest of the round's
       ``n_subsets_per_step`` runs go where the grouping is uncertain: first
       contested groups (they attract each other but were rarely trained
       together) are trained together, then each unstable task with
       ``subset_size - 1`` members of each group it might belong to and of its
       closest other group, plus a quarter of uniform subsets over all seen
       tasks. Once every task has arrived, further rounds plan only such
       runs.
    2. **Estimate.** Scores are oriented and made scale-free per task
       (``normalize``), then a pair-level affinity is estimated from every run
       of the trajectory (``estimator``; a per-target ridge surrogate by
       default, ``"coupled"`` to let a pair's two directions inform each
       other), symmetrised, with a zero diagonal.
    3. **Group.** For every ``k`` in ``[1, max_clusters]``: greedy
       agglomeration and the previous grouping (as a warm start), each improved
       by single-task moves. ``k`` is the fewest groups whose density over the
       pairs trained together (:func:`measured_density`), less the optimism of
       choosing each grouping on the same noisy estimate (estimated on ten
       posterior draws), is within one standard error of the best, over
       posterior draws of the affinity (step 4; the
       zero diagonal and centred rows make the density peak at the number of
       groups the evidence supports: splitting a group loses its positive
       terms, merging two adds negative ones, and unmeasured pairs do not
       dilute large groups). The clusterer (the SDP by default) then regroups
       at that ``k``, warm-started, and certifies the result.
    4. **Uncertainty.** ``n_draws`` draws from the Gaussian posterior of the
       pair effects (:class:`adagroup.adaptive.PairPosterior`; pairs never
       trained together are drawn from the prior) choose ``k``; each draw also
       chooses its own ``k`` the same way and is regrouped at it by
       single-task moves, so the draws carry the uncertainty about ``k`` too.
       They give ``coassignment_`` (how often two
       tasks share a group), ``stability_`` (per task, the mean Jaccard index
       of its group across draws) and ``grouping_stability_`` (mean adjusted
       Rand index of the draws' groupings against the grouping).
    5. **Stop** when every task has arrived and the grouping is unchanged
       from the previous round with every task's ``stability_ >= confidence``
       and every task trained with at least half of its group (pairs never
       trained together are all that posterior draws can vary, and they
       rarely outweigh one strong measured pair, so stability alone can be
       high for a task that met too few of its group), and no two groups
       contested, or when ``budget``
       runs are spent (``stopped_because_`` says which; a
       budget stop below the confidence warns :class:`UnstableGroupingWarning`).
    6. **Verify** (``verify_groups=True``): once stopped, each group is trained
       in one model and each of its tasks alone (:meth:`verify`); a group that
       trained worse than its tasks alone warns, and ``verified_groups_``
       splits it. On real training with loss scales 10^4 apart, planted groups
       whose pairs all help often trained worse as one model.

    Nothing is derived from the current labels before grouping, so tasks
    placed together early can still be split later, and ``k`` can shrink as
    well as grow.

    Parameters
    ----------
    study : Study
        Where runs are planned, stored and read back. Its task list, in order,
        is the arrival order; tasks added later (:meth:`Study.add_tasks`, or
        ``run(tasks=...)``) arrive after them.
    clusterer : BaseTaskClustering, default=None
        Regroups the point estimate at the chosen ``k`` and certifies it;
        :class:`adagroup.SDPClustering` by default. It is copied and its
        ``n_clusters`` set; its grouping is kept when its density is at least
        that of the local search's.
    batch_size : int, default=10
        Tasks per batch, the paper's ``b``.
    subset_size : int, default=3
        Tasks per trained subset, the paper's ``alpha`` (>= 2).
    n_subsets_per_step : int, default=None
        Runs planned per round, the paper's ``m``; a batch's cover is always
        trained and may exceed it. None means ``max(batch_size, n_seen // 2)``.
    max_clusters : int, default=None
        Largest number of groups. None means ``min(n_seen, 10)``.
    budget : int, default=None
        Most runs (COMPLETE runs of the trajectory, each (subset, seed) once)
        before stopping without confidence. Covers of new batches are trained
        even past it, so that every task is placed. None means ``8 * n_tasks``.
    confidence : float, default=0.9
        Stability every task must reach before stopping, in (0, 1].
    n_draws : int, default=50
        Posterior draws per round.
    verify_groups : bool, default=True
        Once AdaGroup stops, train each group in one model and each of its
        tasks alone (:meth:`verify`): the pair-level evidence cannot see a
        group whose tasks help each other in twos and threes but interfere
        all together. Up to ``n_tasks + n_groups`` runs per seed, outside
        ``budget``; they are the models a user trains next anyway.
    estimator : {"surrogate", "coupled", "mean"}, default="surrogate"
        Pair-level estimator (:func:`adagroup.adaptive.pair_affinity`).
    normalize : {"standardize", "relative"}, default="standardize"
        Per-task rescaling of the scores (:class:`adagroup.adaptive.RunTable`).
    seeds : sequence of int, default=(0,)
        Seeds every subset is trained with; each (subset, seed) is one run.
    n_jobs : int or None, default=1
        Runs in flight at once (:meth:`Study.run`'s ``n_jobs``: -1 is one per
        CPU, or the whole Ray cluster; None is 1, or the cluster with Ray).
    executor : {None, "process", "ray"} or object, default=None
        Executor of :meth:`Study.run`.
    run_options : dict, default=None
        Further keyword arguments of :meth:`Study.run`, e.g. ``max_retries``,
        ``timeout`` or ``resources`` (``{"GPU": 1}`` per run on Ray).
    random_state : int, numpy Generator or None, default=None
        Seed of the plan and of the posterior draws. The same seed, study and trainer
        give the same runs and the same groups.

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
        Density of the grouping on ``affinity_``.
    upper_bound_, gap_ : float or None
        The clusterer's bound on the density of any grouping into
        ``n_clusters_`` groups, and the distance to it.
    proven_optimal_ : bool
        True when the bound closes: no grouping into ``n_clusters_`` groups
        has a higher density on ``affinity_``.
    certificate_ : str or None
        What the bound rests on (the clusterer's ``info_["certificate"]``).
    affinity_ : ndarray of shape (n_tasks_seen, n_tasks_seen)
        The pooled pair-level affinity that was grouped last.
    coassignment_ : ndarray of shape (n_tasks_seen, n_tasks_seen)
        Share of posterior draws in which two tasks share a group.
    stability_ : ndarray of shape (n_tasks_seen,)
        Per task, the mean Jaccard index between its group in a draw and in
        ``labels_`` (1: always the same partners).
    grouping_stability_ : float
        Mean adjusted Rand index of the draws' groupings against ``labels_``.
    k_probability_ : dict of int to float
        Share of draws that chose each ``k`` (by the same rule, alone).
    k_table_ : list of dict
        Per candidate ``k``: ``k``, ``objective`` (best density found),
        ``measured_density`` (its density over pairs trained together at least
        once, which chooses ``k``), ``probability``.
    stopped_because_ : str or None
        ``"stable"``, ``"budget"``, ``"exhausted"`` (every subset the design
        can plan is trained: few tasks), or None while tasks remain or the
        grouping is still moving.
    n_runs_ : int
        COMPLETE runs of the trajectory.
    n_steps_ : int
        Rounds done.
    history_ : list of dict
        One entry per round: ``step``, ``kind`` (``"batch"`` or
        ``"refine"``), ``n_tasks``, ``n_new``, ``n_planned``, ``n_runs``, ``k``,
        ``objective``, ``upper_bound``, ``grouping_stability``,
        ``min_stability``, ``min_coverage`` (least share of its group a task
        was trained with), ``changed``, ``groups`` (task names), ``seconds``.
    clusterer_ : BaseTaskClustering
        The fitted clusterer of the last round.
    verification_ : list of dict or None
        Set by :meth:`verify` (which :meth:`run` calls once AdaGroup stops,
        unless ``verify_groups=False``): per group of two or more tasks,
        ``tasks``, ``change`` (mean over its tasks of the relative change of a
        task's score when trained with its group instead of alone, oriented so
        that positive helps; averaged over seeds) and ``per_task``; None until
        verified, and again after a later round.
    verified_groups_ : list of list of str or None
        ``groups_`` with every group that trained worse than its tasks alone
        split into its tasks; None until verified.
    n_verification_runs_ : int or None
        COMPLETE runs the verification compared (groups and single tasks, per
        seed), outside ``n_runs_``; None until verified, like ``verification_``.

    See Also
    --------
    adagroup.sampling.adaptive_subsets : Procedure 2's random sampler.
    adagroup.SDPClustering : the default clusterer.

    Notes
    -----
    **Why pooled evidence.** An earlier design placed new tasks by a model of
    the current grouping and fed the clusterer a matrix built from those
    labels; tasks placed together then had identical columns, the clusterer
    could not split them, and 93 % of the final mistakes were made when the
    tasks were first seen. Regrouping from the pair-level estimate of all runs
    lets later runs undo early mistakes.

    **Resume and determinism.** Round ``t``'s plan depends only on
    ``random_state``, ``t`` and the runs of earlier rounds, and only runs the
    trajectory planned are used, so replaying a study from its store (a new
    ``AdaGroup`` with the same parameters) trains nothing and gives the same
    groups. A run that keeps failing is left out of the estimate.

    References
    ----------
    .. [1] D. Li, H. R. Zhang et al., "AdaGroup": adaptive task grouping from
       higher-order task affinities with SDP-based clustering (Algorithm 3,
       Procedure 2; the mean estimator is its Eq. 6).
    .. [2] C. M. Bishop, "Pattern Recognition and Machine Learning", Springer,
       2006, Sec. 3.3 (the Gaussian posterior of a ridge regression).
    .. [3] J. Peng and Y. Wei, "Approximating K-means-type Clustering via
       Semidefinite Programming", SIAM J. Optim. 18(1), 2007.
       :doi:`10.1137/050641983`

    Examples
    --------
    >>> import adagroup as ag
    >>> from adagroup.trainers import PlantedTrainer
    >>> trainer = PlantedTrainer(sizes=[4, 4, 4], noise=0.05, random_state=0)
    >>> study = ag.Study("demo", tasks=trainer.task_names)
    >>> ada = AdaGroup(study, batch_size=6, random_state=0).run(trainer)
    >>> ada.n_clusters_, ada.stopped_because_
    (3, 'stable')
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
        budget: int | None = None,
        confidence: float = 0.9,
        n_draws: int = 50,
        verify_groups: bool = True,
        estimator: str = "surrogate",
        normalize: str = "standardize",
        seeds: Sequence[int] = (0,),
        n_jobs: int | None = 1,
        executor: Any = None,
        run_options: Mapping[str, Any] | None = None,
        random_state: Any = None,
    ) -> None:
        self.study = study
        self.clusterer = clusterer
        self.batch_size = batch_size
        self.subset_size = subset_size
        self.n_subsets_per_step = n_subsets_per_step
        self.max_clusters = max_clusters
        self.budget = budget
        self.confidence = confidence
        self.n_draws = n_draws
        self.verify_groups = verify_groups
        self.estimator = estimator
        self.normalize = normalize
        self.seeds = seeds
        self.n_jobs = n_jobs
        self.executor = executor
        self.run_options = run_options
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
        for param, low in (("batch_size", 1), ("subset_size", 2)):
            check_int(getattr(self, param), param, caller=name, low=low)
        if self.n_jobs != -1:
            check_int(self.n_jobs, "n_jobs", caller=name, low=1, allow_none=True)
        reserved = {"n_jobs", "executor", "progress"} & set(self.run_options or {})
        if reserved:
            raise ValueError(
                f"The 'run_options' parameter of {name} must not set {sorted(reserved)}: "
                "pass them as AdaGroup's own parameters."
            )
        check_int(self.n_draws, "n_draws", caller=name, low=2)
        if not isinstance(self.verify_groups, (bool, np.bool_)):
            raise ValueError(
                f"The 'verify_groups' parameter of {name} must be True or False. Got "
                f"{self.verify_groups!r} instead."
            )
        for param in ("n_subsets_per_step", "max_clusters", "budget"):
            check_int(getattr(self, param), param, caller=name, low=1, allow_none=True)
        check_float(self.confidence, "confidence", caller=name, low=0.0, high=1.0, low_open=True)
        for param, allowed in (("estimator", ESTIMATORS), ("normalize", NORMALIZERS)):
            value = getattr(self, param)
            if value not in allowed:
                raise ValueError(
                    f"The {param!r} parameter of {name} must be one of {list(allowed)}. Got "
                    f"{value!r} instead."
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
        """Train, estimate and regroup round by round until stable or out of budget.

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
            Do at most this many rounds in this call; None goes on until the
            stopping rule holds. Call ``run`` again to continue.

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
        if n_rounds is not None:
            check_int(n_rounds, "n_rounds", caller=f"{type(self).__name__}.run", low=0)
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
        # run form batches of their own and the earlier rounds replay unchanged.
        scheduled = sum(len(b) for b in state.batches)
        if tasks is not None and not state.batches:
            new_set = {str(t) for t in tasks}
            before = [t for t in all_tasks if t not in new_set]
            state.batches += _cut(before, self.batch_size)
            scheduled = len(before)
        fresh_batches = _cut(list(all_tasks[scheduled:]), self.batch_size)
        if fresh_batches:
            state.batches += fresh_batches
            state.stopped = None
        done = 0
        while n_rounds is None or done < n_rounds:
            if state.stopped is not None and state.n_batches_done >= len(state.batches):
                break
            self._round(trainer)
            done += 1
        finished = state.stopped is not None and state.n_batches_done >= len(state.batches)
        if finished and self.verify_groups and getattr(self, "verification_", None) is None:
            self._verify(trainer, stacklevel=3)
        return self

    def _study_tasks(self) -> tuple[str, ...]:
        return tuple(str(t) for t in self.study.tasks)

    def _round(self, trainer: Callable[..., Mapping[str, float]]) -> None:
        state = self._state
        start = time.perf_counter()
        t = state.step
        rng = np.random.default_rng([state.base_seed, t])
        batch_round = state.n_batches_done < len(state.batches)
        new = list(state.batches[state.n_batches_done]) if batch_round else []
        names = [*state.names, *new]
        index = {name: i for i, name in enumerate(names)}
        seeds = tuple(int(s) for s in self.seeds)
        size = int(self.subset_size)
        n = len(names)
        m = self.n_subsets_per_step or max(int(self.batch_size), n // 2)
        budget = self.budget if self.budget is not None else 8 * len(self._study_tasks())
        taken = {tuple(sorted(index[x] for x in s)) for s in state.planned if set(s) <= set(names)}
        done = self._trajectory_runs(set(names), seeds)
        n_done = len(done) // len(seeds)
        left = max(0, budget // len(seeds) - n_done)

        # -- plan ------------------------------------------------------------------------------
        new_idx = [index[x] for x in new]
        groups = [[index[x] for x in g] for g in state.groups]
        plan: list[tuple[int, ...]] = []
        if batch_round and not groups:
            plan = first_batch_cover(new_idx, size, taken, rng)[: max(1, left)]
            fill = min(m, left) - len(plan)
            plan += uniform_subsets(new_idx, size, fill, taken | set(plan), rng)
            if len(plan) < min(m, left) and size > 2:
                # A small first batch has few distinct subsets; its pairs add readings.
                plan += uniform_subsets(new_idx, 2, min(m, left) - len(plan), taken, rng)
        elif batch_round:
            plan = cover_groups(new_idx, groups, size, taken, rng)
        rest = min(m - len(plan), left - len(plan))
        if rest > 0 and groups:
            plan += self._targeted(names, done, rest, size, taken | set(plan), rng)
        n_planned = self._train(trainer, plan, names, seeds)

        # -- estimate, group, draw ---------------------------------------------------------
        # One BLAS thread for the many small solves of a round (measured: a round took twice
        # as long with the default thread count).
        with blas_threads_for(n):
            runs = self._trajectory_runs(set(names), seeds)
            sign = bool(getattr(self.study, "greater_is_better", True))
            table = RunTable(runs, names, greater_is_better=sign, normalize=self.normalize)
            posterior = PairPosterior(table, estimator=self.estimator)
            S = posterior.S
            k_max = self.max_clusters if self.max_clusters is not None else min(n, 10)
            k_max = max(1, min(k_max, n))
            prev = np.concatenate([state.labels, -1 - np.arange(len(new))]) if n else state.labels
            point = best_groupings(S, k_max, prev)
            met = table.met()
            measured = met > 0
            by_measured = {kk: measured_density(S, measured, lab) for kk, lab in point.items()}
            objectives = {kk: density(S, lab) for kk, lab in point.items()}
            boot = draw_groupings(
                posterior,
                point,
                n_draws=int(self.n_draws),
                rng=rng,
                measured=measured,
                warm=prev,
            )
            k = boot.k
            fitted, labels = self._certify(S, point[k], k, t)
            objectives[k] = density(S, labels)
            by_measured[k] = measured_density(S, measured, labels)
            stability = task_stability(boot.labels, labels)
            coverage = _coverage(met, labels)
            contested = contested_groups(labels, S, met, _MIN_COVERAGE)
            agreement = float(np.mean([adjusted_rand(rep, labels) for rep in boot.labels]))
            k_prob = boot.k_probability

        changed = len(state.labels) != n or not np.array_equal(canonical(state.labels), labels)
        state.names = names
        state.labels = labels
        state.groups = labels_to_groups(labels, names)
        state.step += 1
        if batch_round:
            state.n_batches_done += 1
        n_runs = len(runs)
        state.stopped = stop_reason(
            all_arrived=state.n_batches_done >= len(state.batches),
            refining=not batch_round,
            changed=changed,
            stability=stability,
            coverage=coverage,
            n_contested=len(contested),
            confidence=float(self.confidence),
            n_subsets=n_runs // len(seeds),
            budget_subsets=budget // len(seeds),
            n_planned=n_planned,
        )
        self.task_names_ = tuple(names)
        self.labels_ = labels
        self.n_clusters_ = int(labels.max()) + 1
        self.objective_ = float(density(S, labels))
        self.upper_bound_ = getattr(fitted, "upper_bound_", None)
        self.gap_ = (
            None
            if self.upper_bound_ is None
            else max(0.0, float(self.upper_bound_) - self.objective_)
        )
        self.proven_optimal_ = bool(getattr(fitted, "proven_optimal_", False))
        info = getattr(fitted, "info_", {}) or {}
        self.certificate_ = info.get("certificate") if self.upper_bound_ is not None else None
        self.affinity_ = S
        self.coassignment_ = boot.coassignment()
        self.stability_ = stability
        self._coverage = coverage
        self._contested = contested
        self.grouping_stability_ = agreement
        self.k_probability_ = k_prob
        self.k_table_ = [
            {
                "k": kk,
                "objective": objectives[kk],
                "measured_density": by_measured[kk],
                "probability": k_prob[kk],
            }
            for kk in sorted(point)
        ]
        self.clusterer_ = fitted
        self.verification_: list[dict[str, Any]] | None = None
        self.n_verification_runs_: int | None = None
        self.n_runs_ = n_runs
        self.n_steps_ = state.step
        self.stopped_because_ = state.stopped
        entry = {
            "step": t,
            "kind": "batch" if batch_round else "refine",
            "n_tasks": n,
            "n_new": len(new),
            "n_planned": n_planned,
            "n_runs": n_runs,
            "k": self.n_clusters_,
            "objective": self.objective_,
            "upper_bound": self.upper_bound_,
            "grouping_stability": agreement,
            "min_stability": float(stability.min()) if n else 1.0,
            "min_coverage": float(coverage.min()) if n else 1.0,
            "n_contested": len(contested),
            "changed": bool(changed),
            "groups": [list(g) for g in state.groups],
            "seconds": time.perf_counter() - start,
        }
        state.history.append(entry)
        self.history_ = list(state.history)
        logger.info(
            "AdaGroup round %d: %d tasks (%d new), %d runs, k=%d, stability %.2f%s",
            t,
            n,
            len(new),
            n_runs,
            self.n_clusters_,
            agreement,
            f", stopped: {state.stopped}" if state.stopped else "",
        )
        self._publish()
        if state.stopped in ("budget", "exhausted") and float(stability.min()) < self.confidence:
            fix = (
                "Raise 'budget' to train more subsets."
                if state.stopped == "budget"
                else "Every subset is trained: add seeds (e.g. seeds=(0, 1, 2)) to average noise."
            )
            warnings.warn(
                f"AdaGroup stopped ({state.stopped}: {n_runs} runs of a budget of {budget}) "
                f"before every task was stable at "
                f"confidence={self.confidence}: the groups are uncertain (least stable task: "
                f"{names[int(np.argmin(stability))]}, {float(stability.min()):.2f}; grouping "
                f"stability {agreement:.2f}). {fix}",
                UnstableGroupingWarning,
                stacklevel=3,
            )

    def verify(self, trainer: Callable[[tuple[str, ...], int], Mapping[str, float]]) -> AdaGroup:
        """Train every group in one model and every task alone, and say which groups hurt.

        The grouping rests on pair-level evidence; a group can still train
        worse as one model than its tasks alone (measured on real training
        with loss scales 100x apart: a planted group whose pairs all help
        trained 22 % worse than single-task). This trains each group of two or
        more tasks and each task alone for every seed (through the study, so
        what is already trained is reused) and sets ``verification_``. Every
        group whose tasks lose on average warns
        :class:`UnstableGroupingWarning`. One seed's difference includes two
        runs' noise, which the pair-level fit cannot measure reliably (with
        few runs per task it reads it 2-3x low or high on the planted
        trainer): a group is judged by its sign, and ``seeds`` average the
        noise away.
        It costs at most ``n_tasks + n_groups`` runs per seed, outside the budget.
        :meth:`run` calls it once AdaGroup stops, unless ``verify_groups=False``.

        ``verified_groups_`` is then the grouping with every hurting group
        split into its tasks: on the seeds trained, no group of it trains
        worse than its tasks alone.

        Parameters
        ----------
        trainer : callable
            ``trainer(subset, seed) -> {task: score}``.

        Returns
        -------
        self
        """
        return self._verify(trainer, stacklevel=3)

    def _verify(self, trainer: Callable[..., Mapping[str, float]], stacklevel: int) -> AdaGroup:
        if getattr(self, "labels_", None) is None:
            raise ValueError(
                "This AdaGroup has no grouping yet: call run(trainer) before verify(trainer)."
            )
        groups = [tuple(g) for g in self.groups_ if len(g) > 1]
        # Tasks already alone in the grouping have nothing to be compared with.
        alone = [(t,) for g in groups for t in g]
        if groups:
            self.study.enqueue(groups + alone, seeds=tuple(self.seeds))
            self.study.run(trainer, **self._run_kwargs())
        seeds = sorted({int(x) for x in self.seeds})
        runs = self._complete_runs({frozenset(x) for x in groups + alone}, seeds)
        scores = {key: run.scores for key, run in runs.items()}
        sign = 1.0 if bool(getattr(self.study, "greater_is_better", True)) else -1.0

        def paired_change(group: frozenset, task: str) -> float | None:
            # Per seed, on seeds where both runs finished: seeds can shift every score alike,
            # so a group run of one seed is never compared with a single run of another.
            single = frozenset([task])
            changes = []
            for seed in seeds:
                if (group, seed) in scores and (single, seed) in scores:
                    together = float(scores[(group, seed)][task])
                    apart = float(scores[(single, seed)][task])
                    if apart != 0:
                        changes.append(sign * (together - apart) / abs(apart))
            return float(np.mean(changes)) if changes else None

        report: list[dict[str, Any]] = []
        for group in groups:
            per_task = {task: paired_change(frozenset(group), task) for task in group}
            known = [v for v in per_task.values() if v is not None]
            change = float(np.mean(known)) if known else None
            report.append({"tasks": list(group), "change": change, "per_task": per_task})
        self.verification_ = report
        self.n_verification_runs_ = len(runs)
        self._publish()
        hurt = [r for r in report if r["change"] is not None and r["change"] < 0]
        if hurt:
            shown = "; ".join(f"{','.join(r['tasks'])} {100 * r['change']:+.1f} %" for r in hurt)
            warnings.warn(
                f"{len(hurt)} of {len(report)} groups trained worse in one model than their "
                f"tasks alone ({shown}): the grouping is not confirmed. Train those tasks apart "
                "(verified_groups_), or train more seeds where the difference may be noise.",
                UnstableGroupingWarning,
                stacklevel=stacklevel,
            )
        return self

    @property
    def verified_groups_(self) -> list[list[str]] | None:
        """The groups, each group that trained worse than its tasks alone split; None unverified.

        A group hurts when its tasks' mean relative change (``change`` of
        ``verification_``) is below zero on the seeds trained.
        """
        if getattr(self, "verification_", None) is None:
            return None
        hurt = {
            frozenset(r["tasks"])
            for r in self.verification_ or []
            if r["change"] is not None and r["change"] < 0
        }
        out: list[list[str]] = []
        for group in self.groups_:
            out.extend([[t] for t in group] if frozenset(group) in hurt else [list(group)])
        return out

    def _targeted(
        self,
        names: list[str],
        done: list[Any],
        count: int,
        size: int,
        taken: set[tuple[int, ...]],
        rng: np.random.Generator,
    ) -> list[tuple[int, ...]]:
        """Merge tests of contested groups, targeted runs for unstable tasks, then uniform ones.

        A share of the round (``_UNIFORM_SHARE``) is kept for uniform subsets over
        every seen task; contested groups (see ``contested_groups``) come first.

        ``done`` are the trajectory's COMPLETE runs before this round's plan.
        """
        n = len(names)
        n_old = len(self._state.labels)
        # Tasks new this round have no stability yet: they count as unstable.
        stability = np.zeros(n)
        coassign = np.zeros((n, n))
        labels = np.concatenate([self._state.labels, np.full(n - n_old, -1)]).astype(np.intp)
        affinity = None
        if n_old and hasattr(self, "stability_") and len(self.stability_) == n_old:
            affinity = self.affinity_
            # A task that met few of its group is not settled, however stable it looks: the
            # pairs it never met are all the draws can vary, and they rarely outweigh one strong
            # pair.
            stability[:n_old] = np.minimum(self.stability_, self._coverage / _MIN_COVERAGE)
            coassign[:n_old, :n_old] = self.coassignment_
        uniform = int(round(_UNIFORM_SHARE * count))
        plan: list[tuple[int, ...]] = []
        old = labels >= 0
        if old.any():
            old_met = RunTable(done, names).met()[np.ix_(old, old)]
            old_taken = {s for s in taken if max(s) < n_old}
            if affinity is not None:
                # The contested groups of the last round's grouping, on the same runs.
                plan = merge_test_subsets(
                    labels[old], self._contested, old_met, size, count - uniform, old_taken, rng
                )
            plan += targeted_subsets(
                labels[old],
                coassign[np.ix_(old, old)],
                stability[old],
                old_met,
                size,
                count - uniform - len(plan),
                old_taken | set(plan),
                rng,
                confidence=float(self.confidence),
                affinity=affinity,
            )
        plan += uniform_subsets(list(range(n)), size, count - len(plan), taken | set(plan), rng)
        return plan

    def _certify(
        self, S: np.ndarray, labels: np.ndarray, k: int, step: int
    ) -> tuple[BaseTaskClustering, np.ndarray]:
        """Regroup at ``k`` with the clusterer, warm-started; keep the denser grouping."""
        base = self.clusterer
        if base is None:
            from ..cluster import SDPClustering

            base = SDPClustering()
        est = copy.deepcopy(base)
        params: dict[str, Any] = {"n_clusters": k}
        current = est.get_params()
        if "random_state" in current and current["random_state"] is None:
            params["random_state"] = int(
                np.random.default_rng([self._state.base_seed, step, k]).integers(2**31)
            )
        if "max_clusters" in current:
            params["max_clusters"] = None
        est.set_params(**params)
        with warnings.catch_warnings():
            # A clusterer that finds fewer groups than k is compared by density below.
            warnings.simplefilter("ignore")
            if _accepts_init_labels(est):
                est.fit(S, init_labels=labels)
            else:
                est.fit(S)
        theirs = canonical(np.asarray(est.labels_, dtype=np.intp))
        if int(theirs.max()) + 1 == k and density(S, theirs) >= density(S, labels) - 1e-12 * max(
            1.0, float(np.abs(S).max())
        ):
            return est, theirs
        return est, labels

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

    def _run_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {**(self.run_options or {}), "progress": False}
        kwargs["n_jobs"] = self.n_jobs
        if self.executor is not None:
            kwargs["executor"] = self.executor
        return kwargs

    def _trajectory_runs(self, names: set[str], seeds: tuple[int, ...]) -> list[Any]:
        """COMPLETE runs of the subsets this trajectory planned, one per (subset, seed)."""
        wanted = {key for key in self._state.planned if key <= names}
        out = self._complete_runs(wanted, seeds)
        return [out[key] for key in sorted(out, key=lambda kv: (sorted(kv[0]), kv[1]))]

    def _complete_runs(
        self, wanted: set[frozenset], seeds: Sequence[int]
    ) -> dict[tuple[frozenset, int], Any]:
        """The first COMPLETE run of every wanted (subset, seed)."""
        from ..runs import RunState

        chosen = {int(s) for s in seeds}
        out: dict[tuple[frozenset, int], Any] = {}
        for run in self.study.runs(state=RunState.COMPLETE):
            key = frozenset(run.subset)
            if key in wanted and int(run.seed) in chosen:
                # Retries of one (subset, seed) are alternatives, not extra evidence.
                out.setdefault((key, int(run.seed)), run)
        return out

    def _publish(self) -> None:
        """Store the parameters and the latest result with the study, for `study status`."""
        set_attr = getattr(self.study, "set_attr", None)
        if set_attr is None:
            return
        params: dict[str, Any] = {
            name: value if isinstance(value, (int, float, str, bool, type(None))) else repr(value)
            for name, value in self.get_params().items()
            if name not in ("study", "seeds", "run_options")
        }
        params["seeds"] = [int(x) for x in self.seeds]
        set_attr("adagroup", {"params": params, "result": self.to_dict()})

    @property
    def groups_(self) -> list[list[str]]:
        """The groups as lists of task names."""
        return labels_to_groups(self.labels_, list(self.task_names_))

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-ready dict (the CLI's ``study run --adaptive --json`` object)."""
        names = list(self.task_names_)
        C = self.coassignment_
        pairs = [
            {"tasks": [names[i], names[j]], "probability": float(C[i, j])}
            for i in range(len(names))
            for j in range(i + 1, len(names))
            if C[i, j] > 0
        ]
        return {
            "groups": [list(g) for g in self.groups_],
            "k": int(self.n_clusters_),
            "n_runs": int(self.n_runs_),
            "n_rounds": int(self.n_steps_),
            "stopped_because": self.stopped_because_,
            "confidence": float(self.confidence),
            "grouping_stability": _finite(self.grouping_stability_),
            "stability": {t: _finite(v) for t, v in zip(names, self.stability_, strict=True)},
            "coassignment": pairs,
            "k_probability": {str(k): v for k, v in self.k_probability_.items()},
            "objective": _finite(self.objective_),
            "upper_bound": _finite(self.upper_bound_),
            "gap": _finite(self.gap_),
            "proven_optimal": self.proven_optimal_ if self.upper_bound_ is not None else None,
            "certificate": self.certificate_,
            "verification": getattr(self, "verification_", None),
            "verified_groups": self.verified_groups_,
            "verification_runs": getattr(self, "n_verification_runs_", None),
        }


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class _State:
    """What a trajectory has done: batches, plan, grouping, history."""

    def __init__(self, base_seed: int) -> None:
        self.base_seed = base_seed
        self.batches: list[list[str]] = []
        self.n_batches_done = 0
        self.step = 0
        self.names: list[str] = []
        self.labels = np.zeros(0, dtype=np.intp)
        self.groups: list[list[str]] = []
        self.planned: set[frozenset] = set()
        self.history: list[dict[str, Any]] = []
        self.stopped: str | None = None

    @classmethod
    def start(cls, random_state: Any) -> _State:
        if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
            # An int seeds the plan directly, so a new object on the same study replays it.
            return cls(int(random_state))
        rng = check_random_state(random_state)
        return cls(int(rng.integers(2**63 - 1)))


def stop_reason(
    *,
    all_arrived: bool,
    refining: bool,
    changed: bool,
    stability: np.ndarray,
    coverage: np.ndarray,
    confidence: float,
    n_subsets: int,
    n_contested: int = 0,
    budget_subsets: int,
    n_planned: int,
) -> str | None:
    """Why AdaGroup stops after a round, or None to go on.

    ``"stable"``: every task has arrived, the round only refined (no new batch),
    the grouping did not change, every task's stability reaches ``confidence``,
    every task was trained with at least half of its group and no two groups are
    contested (:func:`~adagroup.adaptive._design.contested_groups`: they attract
    each other, but less than half of their cross pairs were trained together).
    ``"budget"``:
    every task has arrived and the budget is spent. ``"exhausted"``: a
    refining round found no subset left to plan.
    """
    if not all_arrived:
        return None
    settled = (
        refining
        and not changed
        and float(np.min(stability, initial=1.0)) >= confidence
        and float(np.min(coverage, initial=1.0)) >= _MIN_COVERAGE
        and n_contested == 0
    )
    if settled:
        return "stable"
    if n_subsets >= budget_subsets:
        return "budget"
    if refining and n_planned == 0:
        # Every subset the design could plan is trained (few tasks): nothing left to learn.
        return "exhausted"
    return None


def _coverage(met: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per task, the share of the other members of its group it was trained with at least once."""
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    mates = same.sum(axis=1)
    seen = (same & (met > 0)).sum(axis=1)
    return np.where(mates > 0, seen / np.maximum(mates, 1), 1.0)


def _cut(names: list[str], size: int) -> list[list[str]]:
    return [names[i : i + size] for i in range(0, len(names), size)]


def _accepts_init_labels(clusterer: Any) -> bool:
    fit_k = getattr(type(clusterer), "_fit_k", None)
    if fit_k is None:
        return False
    params = inspect.signature(fit_k).parameters
    return "init_labels" in params or any(
        p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values()
    )
