"""The README's main job: a real AdaGroup study on a synthetic multitask case.

Trains small shared-trunk networks (real PyTorch training, seconds each on a
CPU) on subsets of tasks with planted groups, groups the tasks with AdaGroup
and the certified SDP, then trains one model per group and compares it with
one model for all tasks and with one model per task. Every run goes through a
:class:`~adagroup.study.Study`, so re-running the job resumes: finished runs
are read from the store, never trained again.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .adaptive import AdaGroup
from .bench.end_to_end import EndToEndResult, train_groupings
from .runs import RunState
from .study import Study

__all__ = ["MainJobResult", "run_main_job"]

logger = logging.getLogger(__name__)


@dataclass
class MainJobResult:
    """What the main job found and where it wrote it.

    Attributes
    ----------
    groups : list of list of str
        AdaGroup's groups.
    planted_groups : list of list of str
        The case's planted groups, for comparison.
    ari : float
        Adjusted Rand index of AdaGroup's groups against the planted ones.
    objective, upper_bound, gap : float or None
        The SDP's objective on the measured affinity, its certified upper bound
        over all groupings into the same number of groups, and the difference.
    proven_optimal : bool
    stability : float
        AdaGroup's grouping stability (mean adjusted Rand index of posterior
        draws against the groups).
    stopped_because : str or None
        Why AdaGroup stopped: ``"stable"`` or ``"budget"``.
    n_runs_grouping : int
        Training runs AdaGroup used to find the groups.
    n_runs_total : int
        All COMPLETE runs in the study, the comparison included.
    trained_now : int
        Runs trained by this call (0 when everything was already in the store).
    end_to_end : EndToEndResult
        Average task scores of one model per group, one for all, one per task.
    files : dict of str to str
    seconds : float
    """

    groups: list[list[str]]
    planted_groups: list[list[str]]
    ari: float
    objective: float
    upper_bound: float | None
    gap: float | None
    proven_optimal: bool
    n_runs_grouping: int
    n_runs_total: int
    trained_now: int
    end_to_end: EndToEndResult
    stability: float = 1.0
    stopped_because: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "groups": self.groups,
            "planted_groups": self.planted_groups,
            "ari_vs_planted": self.ari,
            "objective": self.objective,
            "upper_bound": self.upper_bound,
            "gap": self.gap,
            "proven_optimal": self.proven_optimal,
            "n_runs_grouping": self.n_runs_grouping,
            "grouping_stability": self.stability,
            "stopped_because": self.stopped_because,
            "n_runs_total": self.n_runs_total,
            "trained_now": self.trained_now,
            "end_to_end": self.end_to_end.to_dict(),
            "files": self.files,
            "seconds": self.seconds,
        }


def _ari(a: np.ndarray, b: np.ndarray) -> float:
    from .bench._runner import adjusted_rand

    return float(adjusted_rand(a, b))


def _stored_scores(study: Study) -> dict[tuple[frozenset, int], dict[str, float]]:
    return {
        (frozenset(r.subset), int(r.seed)): dict(r.scores)
        for r in study.runs(state=RunState.COMPLETE)
    }


def run_main_job(
    *,
    storage: str = "sqlite:///adagroup-demo.db",
    study_name: str = "demo-synthetic",
    out: str | Path = "adagroup-out",
    n_groups: int = 3,
    tasks_per_group: int = 3,
    batch_size: int | None = None,
    n_jobs: int = 2,
    random_state: int = 0,
    progress: bool = True,
) -> MainJobResult:
    """Run the main job and write ``heatmap.png``, ``report.md`` and ``result.json``.

    Parameters
    ----------
    storage : str, default="sqlite:///adagroup-demo.db"
        Where every training run is recorded (an SQLAlchemy URL or a path).
    study_name : str, default="demo-synthetic"
        Re-running with the same name and storage resumes the study.
    out : str or path, default="adagroup-out"
        Folder for the heatmap, the markdown report and the JSON result.
    n_groups, tasks_per_group : int, default=3, 3
        Size of the synthetic case (planted groups and tasks in each).
    batch_size : int or None, default=None
        Tasks added per AdaGroup step; None means ``2 * tasks_per_group`` (two
        steps on the default case: 6 tasks, then 3 more).
    n_jobs : int, default=2
        Training runs at once (one process and one thread each).
    random_state : int, default=0
        Seed of the case's data and of AdaGroup's sampling.
    progress : bool, default=True
        Show a progress bar while the comparison models train.

    Returns
    -------
    MainJobResult
    """
    from .plot import plot_affinity
    from .trainers.synthetic import SyntheticMultitaskTrainer

    start = time.perf_counter()
    trainer = SyntheticMultitaskTrainer(n_groups, tasks_per_group, random_state=random_state)
    names = list(trainer.task_names)
    study = Study(
        study_name, storage=storage, tasks=names, greater_is_better=trainer.greater_is_better
    )
    before = study.summary()[RunState.COMPLETE]

    ada = AdaGroup(
        study,
        batch_size=batch_size or 2 * tasks_per_group,
        max_clusters=min(len(names), 2 * n_groups),
        n_jobs=n_jobs,
        random_state=random_state,
    )
    ada.run(trainer)
    groups = [list(g) for g in ada.groups_]
    logger.info("AdaGroup found %d groups with %d runs", len(groups), ada.n_runs_)

    planted = [
        [n for n, g in zip(names, trainer.true_labels, strict=True) if g == c]
        for c in range(int(np.max(trainer.true_labels)) + 1)
    ]
    groupings = {"adagroup": groups, "all tasks": [names], "single-task": [[t] for t in names]}
    # Comparison models are runs of the same study, so they too are trained once.
    study.enqueue([tuple(g) for grouping in groupings.values() for g in grouping])
    study.run(trainer, n_jobs=n_jobs, progress=progress)
    stored = _stored_scores(study)

    def lookup(subset: tuple[str, ...], seed: int) -> dict[str, float]:
        return stored[(frozenset(subset), int(seed))]

    e2e = train_groupings(lookup, groupings, names, greater_is_better=trainer.greater_is_better)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    label_of = {t: i for i, g in enumerate(groups) for t in g}
    labels = np.array([label_of[t] for t in names])
    ax = plot_affinity(
        np.asarray(ada.affinity_),
        labels,
        names,
        title=f"AdaGroup on {len(names)} synthetic tasks: {len(groups)} groups",
        colorbar_label="pair effect, standardised per target task (higher = partner helps)",
    )
    heatmap = out / "heatmap.png"
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    fig = ax.figure
    assert isinstance(fig, Figure), "plot_affinity draws on a figure of its own, not a subfigure"
    fig.savefig(heatmap, dpi=120, bbox_inches="tight")
    plt.close(fig)

    after = study.summary()[RunState.COMPLETE]
    result = MainJobResult(
        groups=groups,
        planted_groups=planted,
        ari=_ari(trainer.true_labels, labels),
        objective=float(ada.objective_),
        upper_bound=ada.upper_bound_,
        gap=ada.gap_,
        proven_optimal=bool(ada.proven_optimal_),
        stability=float(ada.grouping_stability_),
        stopped_because=ada.stopped_because_,
        n_runs_grouping=int(ada.n_runs_),
        n_runs_total=int(after),
        trained_now=int(after - before),
        end_to_end=e2e,
    )
    result.files = {
        "heatmap": str(heatmap),
        "report": str(out / "report.md"),
        "result": str(out / "result.json"),
        "storage": storage,
    }
    result.seconds = time.perf_counter() - start
    (out / "report.md").write_text(format_main_job(result, markdown=True))
    (out / "result.json").write_text(json.dumps(result.to_dict(), indent=2))
    return result


def format_main_job(result: MainJobResult, *, markdown: bool = False) -> str:
    """The main job's summary as plain text, or markdown for ``report.md``."""
    e2e = result.end_to_end
    direction = "higher" if e2e.greater_is_better else "lower"
    lines = []
    if markdown:
        lines += ["# adagroup main job", "", "![affinity heatmap](heatmap.png)", ""]
    lines.append(
        f"AdaGroup grouped {sum(map(len, result.groups))} tasks into {len(result.groups)} "
        f"groups with {result.n_runs_grouping} training runs "
        f"(ARI vs planted groups: {result.ari:.3f})."
    )
    why = {"stable": "stopped because the grouping was stable", "budget": "stopped on budget"}
    lines.append(
        f"Grouping stability {result.stability:.2f} "
        f"({why.get(result.stopped_because or '', 'still moving')})."
    )
    lines.append("")
    for i, g in enumerate(result.groups):
        lines.append(f"{'- ' if markdown else '  '}group {i}: {', '.join(g)}")
    lines.append("")
    if result.upper_bound is not None:
        verdict = (
            "proven optimal: no grouping into this many groups has a higher density"
            if result.proven_optimal
            else "not proven optimal"
        )
        lines.append(
            f"Certificate: objective F = {result.objective:.6g}, SDP upper bound = "
            f"{result.upper_bound:.6g}, gap = {result.gap:.3g} ({verdict})."
        )
    lines.append("")
    header = ["grouping", "models", f"mean task score ({direction} is better)", "vs single-task"]
    rows = [
        [
            r.name,
            str(len(r.groups)),
            f"{r.mean_score:.4g}",
            "" if r.vs_single is None else f"{r.vs_single:+.1f}%",
        ]
        for r in e2e.rows
    ]
    if markdown:
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        lines += ["| " + " | ".join(r) + " |" for r in rows]
    else:
        widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=True)]
        for r in [header, *rows]:
            lines.append("  " + "  ".join(x.ljust(w) for x, w in zip(r, widths, strict=True)))
    lines.append("")
    lines.append(
        f"Runs in the study: {result.n_runs_total} complete, {result.trained_now} trained by "
        f"this call ({result.seconds:.1f} s)."
    )
    return "\n".join(lines) + "\n"
