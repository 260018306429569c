"""End-to-end comparison (the paper's Table 2 analogue): train one model per group.

After grouping, what users care about is the score of the models they train.
For each grouping (each method's, the planted one, all tasks in one model, and
every task alone) this trains one model per group with the case's trainer and
averages the task scores. Runs of the same subset and seed are trained once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["EndToEndResult", "GroupingScore", "groups_of", "run_end_to_end", "train_groupings"]

logger = logging.getLogger(__name__)


@dataclass
class GroupingScore:
    """Scores of the models trained for one grouping.

    Attributes
    ----------
    name : str
        ``"single-task"``, ``"all tasks"``, ``"truth"`` or a method.
    groups : list of list of str
    task_scores : dict of str to float
        Score of each task from the model of its group (mean over seeds).
    mean_score : float
        Average over tasks.
    vs_single : float or None
        Average over tasks of the relative improvement over the single-task
        model, in percent (positive is better, whatever the score direction).
    """

    name: str
    groups: list[list[str]]
    task_scores: dict[str, float]
    mean_score: float
    vs_single: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "name": self.name,
            "groups": self.groups,
            "n_groups": len(self.groups),
            "task_scores": self.task_scores,
            "mean_score": self.mean_score,
            "vs_single_percent": self.vs_single,
        }


@dataclass
class EndToEndResult:
    """Every grouping's trained score on one case.

    Attributes
    ----------
    rows : list of GroupingScore
    greater_is_better : bool
    seeds : tuple of int
    n_runs : int
        Distinct models trained.
    seconds : float
    """

    rows: list[GroupingScore] = field(default_factory=list)
    greater_is_better: bool = True
    seeds: tuple[int, ...] = (0,)
    n_runs: int = 0
    seconds: float = 0.0

    def row(self, name: str) -> GroupingScore:
        """The row called ``name``; raises ``KeyError`` if absent."""
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"No grouping named {name!r} in the end-to-end result.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "greater_is_better": self.greater_is_better,
            "seeds": list(self.seeds),
            "n_runs": self.n_runs,
            "seconds": self.seconds,
            "rows": [r.to_dict() for r in self.rows],
        }


def groups_of(labels: Sequence[int], task_names: Sequence[str]) -> list[list[str]]:
    """Task names of each group, groups ordered by their first task."""
    groups: dict[int, list[str]] = {}
    for lab, name in zip(labels, task_names, strict=True):
        groups.setdefault(int(lab), []).append(str(name))
    return list(groups.values())


def _train_all(
    trainer: Any, jobs: list[tuple[tuple[str, ...], int]], n_jobs: int
) -> dict[tuple[tuple[str, ...], int], dict[str, float]]:
    if n_jobs <= 1 or len(jobs) <= 1:
        return {job: dict(trainer(job[0], job[1])) for job in jobs}
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=min(n_jobs, len(jobs))) as pool:
        futures = {job: pool.submit(trainer, job[0], job[1]) for job in jobs}
        return {job: dict(f.result()) for job, f in futures.items()}


def train_groupings(
    trainer: Any,
    groupings: Mapping[str, Sequence[Sequence[str]]],
    task_names: Sequence[str],
    *,
    greater_is_better: bool = True,
    seeds: Sequence[int] = (0,),
    n_jobs: int = 1,
) -> EndToEndResult:
    """Train one model per group of every grouping and score the tasks.

    Parameters
    ----------
    trainer : callable
        ``trainer(subset, seed) -> {task: score}``.
    groupings : mapping of str to list of list of str
        Name of each grouping and its groups of task names. A grouping called
        ``"single-task"`` is the reference of ``vs_single``; it is added when
        missing.
    task_names : sequence of str
        All tasks; every grouping must cover each exactly once.
    greater_is_better : bool, default=True
    seeds : sequence of int, default=(0,)
        Every group is trained once per seed; task scores are averaged.
    n_jobs : int, default=1
        Worker processes (the trainer must be picklable when > 1).

    Returns
    -------
    EndToEndResult
    """
    start = time.perf_counter()
    names = [str(t) for t in task_names]
    # Lists of str from here on: the rows store them and ``to_dict`` writes them as JSON.
    task_groups: dict[str, list[list[str]]] = {
        k: [list(map(str, g)) for g in v] for k, v in groupings.items()
    }
    task_groups.setdefault("single-task", [[t] for t in names])
    for key, groups in task_groups.items():
        flat = sorted(t for g in groups for t in g)
        if flat != sorted(names):
            raise ValueError(
                f"The grouping {key!r} must hold every task exactly once. Got {groups!r}."
            )
    jobs = sorted(
        {(tuple(g), int(s)) for groups in task_groups.values() for g in groups for s in seeds}
    )
    logger.info("end-to-end: training %d models", len(jobs))
    trained = _train_all(trainer, jobs, n_jobs)
    result = EndToEndResult(
        greater_is_better=bool(greater_is_better), seeds=tuple(int(s) for s in seeds)
    )
    result.n_runs = len(jobs)
    per_grouping: dict[str, dict[str, float]] = {}
    for key, groups in task_groups.items():
        scores: dict[str, float] = {}
        for g in groups:
            for t in g:
                scores[t] = float(np.mean([trained[(tuple(g), int(s))][t] for s in seeds]))
        per_grouping[key] = {t: scores[t] for t in names}
    single = per_grouping["single-task"]
    sign = 1.0 if greater_is_better else -1.0
    for key, groups in task_groups.items():
        scores = per_grouping[key]
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = [
                sign * (scores[t] - single[t]) / abs(single[t]) * 100.0
                for t in names
                if single[t] != 0
            ]
        result.rows.append(
            GroupingScore(
                name=key,
                groups=groups,
                task_scores=scores,
                mean_score=float(np.mean(list(scores.values()))),
                vs_single=float(np.mean(rel)) if rel else None,
            )
        )
    result.seconds = time.perf_counter() - start
    return result


def run_end_to_end(case: Any, *, seed: int = 0, n_jobs: int = 1) -> EndToEndResult:
    """Train the groupings of a scored case (see :func:`train_groupings`).

    Parameters
    ----------
    case : CaseResult
        A scored case whose ``data.trainer`` is set.
    seed : int, default=0
    n_jobs : int, default=1

    Returns
    -------
    EndToEndResult
        Rows: single-task, all tasks, the planted groups ("truth"), then every
        method that produced a grouping.
    """
    data = case.data
    if data.trainer is None:
        raise ValueError(
            f"The case {case.name!r} has no trainer; end-to-end comparison needs a trained case."
        )
    names = list(data.task_names)
    groupings: dict[str, list[list[str]]] = {
        "single-task": [[t] for t in names],
        "all tasks": [names],
    }
    if data.true_labels is not None:
        groupings["truth"] = groups_of(data.true_labels, names)
    for s in case.scores:
        if s.labels is not None:
            groupings[s.method] = groups_of(s.labels, names)
    return train_groupings(
        data.trainer,
        groupings,
        names,
        greater_is_better=data.greater_is_better,
        seeds=(seed,),
        n_jobs=n_jobs,
    )
