"""Synthetic multitask cases: affinity measured by training small networks for real.

Each case is a :class:`adagroup.trainers.synthetic.SyntheticMultitaskTrainer`
with planted groups (the analogue of the paper's multitask cases). Its
affinity is measured as a user would: a :class:`adagroup.Study` trains
uniformly sampled subsets of tasks (every pair covered), and
:func:`adagroup.estimate_affinity` turns the test losses into ``T``. Task
losses differ in scale by up to two orders of magnitude, so each target's
scores are standardised first. Exact search on the measured ``T`` (n <= 12)
says whether the planted groups are really the best grouping of what was
measured, as the paper checked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._registry import BenchCase, BuildContext, CaseData, register_case

__all__ = ["SYNTHETIC_CASES", "measure_affinity"]

logger = logging.getLogger(__name__)

_STORE = "bench-studies.db"


def _storage(ctx: BuildContext) -> Any:
    if ctx.out is None:
        return None
    ctx.out.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(ctx.out / _STORE).resolve()}"


def measure_affinity(
    trainer: Any,
    task_names: Sequence[str],
    *,
    subset_size: int = 3,
    n_subsets: int = 40,
    seeds: Sequence[int] = (0,),
    plan_seed: int = 0,
    singletons: bool = False,
    relative_to_single: bool = False,
    estimator: str = "mean",
    normalize: str | None = "standardize",
    study_name: str = "bench",
    ctx: BuildContext | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Train sampled subsets through a study and estimate the affinity matrix.

    Parameters
    ----------
    trainer : callable
        ``trainer(subset, seed) -> {task: score}``; its ``greater_is_better``
        attribute (default True) sets the direction.
    task_names : sequence of str
    subset_size : int, default=3
        Tasks per trained subset (the paper's alpha).
    n_subsets : int, default=40
        Subsets to train (the paper's m); every pair of tasks shares at least one.
    seeds : sequence of int, default=(0,)
        Each subset is trained once per seed.
    plan_seed : int, default=0
        Seed of the subset draw.
    singletons : bool, default=False
        Also train every task alone.
    relative_to_single : bool, default=False
        Divide each score by the task's single-task score before estimating
        (needs ``singletons``): ``T[i, j]`` is then the mean of
        ``-score_i(S) / score_i({i})`` for losses.
    estimator : {"mean", "surrogate"}, default="mean"
        Passed to :func:`adagroup.estimate_affinity`.
    normalize : {None, "center", "standardize"}, default="standardize"
        Per-target normalisation passed to :func:`adagroup.estimate_affinity`.
    study_name : str, default="bench"
        Name of the study; a signature of the settings is appended so that a
        stored study of other settings is never resumed by mistake.
    ctx : BuildContext, default=None
        ``ctx.out`` holds the SQLite store (in memory when None); ``ctx.n_jobs``
        runs in parallel.

    Returns
    -------
    T : ndarray of shape (n_tasks, n_tasks)
        The measured affinity, unmeasured entries filled with the row mean.
    info : dict
        Runs, seconds, settings, and the study's name.
    """
    from ..affinity import estimate_affinity
    from ..runs import RunState
    from ..sampling import sample_subsets
    from ..study import Study

    ctx = ctx or BuildContext()
    names = [str(t) for t in task_names]
    if relative_to_single and not singletons:
        raise ValueError(
            "The 'relative_to_single' parameter of measure_affinity needs singletons=True, "
            "since scores are divided by single-task scores."
        )
    greater = bool(getattr(trainer, "greater_is_better", True))
    settings = {
        "trainer": repr(trainer),
        "subset_size": subset_size,
        "n_subsets": n_subsets,
        "seeds": list(seeds),
        "plan_seed": plan_seed,
        "singletons": singletons,
    }
    digest = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]
    name = f"{study_name}-{digest}"
    plan = sample_subsets(
        len(names), subset_size, n_subsets, random_state=plan_seed, ensure_coverage=True
    )
    subsets: list[tuple[int, ...]] = [(i,) for i in range(len(names))] if singletons else []
    subsets += plan
    study = Study(name, storage=_storage(ctx), tasks=names, greater_is_better=greater)
    study.enqueue(subsets, seeds=[int(s) for s in seeds])
    n_stored = len(study.runs(state=RunState.COMPLETE))
    start = time.perf_counter()
    study.run(trainer, n_jobs=ctx.n_jobs, progress=ctx.progress)
    seconds = time.perf_counter() - start
    runs = study.runs(state=RunState.COMPLETE)
    pairs = [(tuple(r.subset), dict(r.scores)) for r in runs]
    if relative_to_single:
        single: dict[str, list[float]] = {}
        for subset, scores in pairs:
            if len(subset) == 1:
                single.setdefault(subset[0], []).append(scores[subset[0]])
        base = {t: float(np.mean(v)) for t, v in single.items()}
        missing = [t for t in names if t not in base or base[t] == 0]
        if missing:
            raise ValueError(
                f"Tasks {missing} have no usable single-task score; relative_to_single needs "
                "every singleton run COMPLETE with a nonzero score."
            )
        pairs = [(s, {t: v / base[t] for t, v in sc.items()}) for s, sc in pairs]
    est = estimate_affinity(
        pairs, names, estimator=estimator, greater_is_better=greater, normalize=normalize
    )
    n_missing = int(np.isnan(est.T).sum())
    info = {
        "study": name,
        "n_runs": len(runs),
        "resumed_runs": n_stored,
        "subset_size": subset_size,
        "estimator": estimator,
        "normalize": normalize if not relative_to_single else "relative to single-task",
        "train_seconds": round(seconds, 1),
        "unmeasured_entries": n_missing,
        "failed_runs": len(study.runs(state=RunState.FAIL)),
    }
    return est.filled(), info


def _synthetic(
    n_groups: int,
    tasks_per_group: int | Sequence[int],
    *,
    random_state: int,
    n_subsets: int,
    subset_size: int = 3,
    **params: Any,
):
    def build(ctx: BuildContext) -> CaseData:
        from ..trainers.synthetic import make_synthetic_case

        trainer, labels = make_synthetic_case(
            n_groups, tasks_per_group, random_state=random_state, **params
        )
        names = list(trainer.task_names)
        T, info = measure_affinity(
            trainer,
            names,
            subset_size=subset_size,
            n_subsets=n_subsets,
            seeds=(ctx.random_state,),
            plan_seed=ctx.random_state,
            study_name=f"bench-mtl-{n_groups}g-rs{random_state}",
            ctx=ctx,
        )
        scales = getattr(trainer, "scales", None)
        if scales is not None:
            scales = np.asarray(scales, dtype=float)
            info["loss_scale_range"] = [round(float(x), 3) for x in (scales.min(), scales.max())]
        return CaseData(
            T,
            np.asarray(labels, dtype=np.intp),
            names,
            trainer=trainer,
            greater_is_better=bool(getattr(trainer, "greater_is_better", False)),
            info=info,
        )

    return build


def _case(
    name: str,
    k: int,
    build,
    description: str,
    suites: tuple[str, ...] = ("quick", "full"),
    end_to_end: tuple[str, ...] = (),
) -> BenchCase:
    return register_case(
        BenchCase(
            name=name,
            family="synthetic-mtl",
            n_clusters=k,
            build=build,
            suites=suites,
            description=description,
            end_to_end=end_to_end,
        )
    )


SYNTHETIC_CASES: list[BenchCase] = [
    _case(
        "mtl-3x3",
        3,
        _synthetic(3, 3, random_state=1, n_subsets=45, loss_scales="log-uniform"),
        "3 groups x 3 tasks, loss scales over 2 decades; 45 subsets of 3",
        end_to_end=("full",),
    ),
    _case(
        "mtl-4x2",
        4,
        _synthetic(4, 2, random_state=2, n_subsets=36, loss_scales="log-uniform"),
        "4 groups x 2 tasks, loss scales over 2 decades; 36 subsets of 3",
        end_to_end=("quick", "full"),
    ),
    _case(
        "mtl-2g-4+2",
        2,
        _synthetic(2, [4, 2], random_state=3, n_subsets=15, loss_scales="log-uniform"),
        "2 groups of 4 and 2 tasks, loss scales over 2 decades; 15 of the 20 subsets of 3",
        end_to_end=("full",),
    ),
    _case(
        "mtl-5x2",
        5,
        _synthetic(5, 2, random_state=4, n_subsets=60, loss_scales="log-uniform"),
        "5 groups x 2 tasks, loss scales over 2 decades; 60 subsets of 3",
        end_to_end=("full",),
    ),
    _case(
        "mtl-6x2",
        6,
        _synthetic(6, 2, random_state=5, n_subsets=80, loss_scales="log-uniform"),
        "6 groups x 2 tasks, loss scales over 2 decades; 80 subsets of 3",
        suites=("full",),
        end_to_end=("full",),
    ),
    _case(
        "mtl-3x4",
        3,
        _synthetic(3, 4, random_state=6, n_subsets=80, loss_scales="log-uniform"),
        "3 groups x 4 tasks, loss scales over 2 decades; 80 subsets of 3",
        suites=("full",),
        end_to_end=("full",),
    ),
    _case(
        "mtl-4x3-unscaled",
        4,
        _synthetic(4, 3, random_state=7, n_subsets=80),
        "4 groups x 3 tasks, equal loss scales; 80 subsets of 3",
        suites=("full",),
        end_to_end=("full",),
    ),
    _case(
        "mtl-6x3",
        6,
        _synthetic(6, 3, random_state=8, n_subsets=150, subset_size=4, loss_scales="log-uniform"),
        "6 groups x 3 tasks (n=18, beyond exact search); 150 subsets of 4",
        suites=("full",),
        end_to_end=("full",),
    ),
]
