"""Tables, heatmaps and the markdown report of a benchmark run."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ._runner import BenchResult, CaseResult

__all__ = [
    "format_case_table",
    "format_end_to_end_table",
    "format_summary",
    "to_markdown",
    "write_heatmaps",
    "write_report",
]

logger = logging.getLogger(__name__)


def _num(value: float | None, fmt: str = ".4g") -> str:
    return "-" if value is None else format(value, fmt)


def _ari(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def _sdp_reaches_exact(case: CaseResult) -> bool:
    """Whether the SDP's F equals exact search's optimum (up to round-off)."""
    sdp, exact = case.score("sdp").objective, case.score("exact").objective
    if sdp is None or exact is None:
        return False
    return sdp >= exact - 1e-9 * max(1.0, abs(exact))


def _case_header(case: CaseResult) -> list[str]:
    lines = [f"{case.name}  [{case.family}, n={case.n_tasks}, k={case.n_clusters}]"]
    if case.description:
        lines.append(f"  {case.description}")
    parts = [f"truth F = {_num(case.truth_objective, '.6g')}"]
    parts.append(f"SDP bound = {_num(case.sdp_bound, '.6g')}")
    if case.truth_gap is not None:
        parts.append(f"bound - truth F = {case.truth_gap:.3g}")
    if case.exact_confirms_truth is None:
        parts.append("exact search: not run")
    else:
        parts.append(f"exact confirms truth optimal: {_yes_no(case.exact_confirms_truth)}")
    lines.append("  " + "; ".join(parts))
    info = case.data.info
    if case.family != "planted" and info:
        keys = (
            "n_runs",
            "resumed_runs",
            "subset_size",
            "estimator",
            "normalize",
            "train_seconds",
            "source",
        )
        shown = [f"{k}={info[k]}" for k in keys if k in info]
        if shown:
            lines.append("  measured: " + ", ".join(shown))
        if "command" in info:
            lines.append(f"  command: {info['command']}")
        # info["note"] holds the measurer's working notes (kept in results.json); the
        # report shows what was measured and how, not those notes.
    return lines


def _method_rows(case: CaseResult) -> list[list[str]]:
    rows = []
    for s in case.scores:
        status = s.status
        if s.note and s.status in ("skipped", "error"):
            status = f"{s.status}: {s.note}"
        rows.append(
            [
                s.method,
                _num(s.k, "d") if s.k is not None else "-",
                _ari(s.ari),
                _num(s.objective, ".6g"),
                _num(s.gap_to_sdp_bound, ".3g"),
                _num(s.seconds, ".3f"),
                _yes_no(s.proven_optimal) if s.upper_bound is not None else "-",
                status[:70],
            ]
        )
    return rows


_METHOD_HEADER = ["method", "k", "ARI", "F", "SDP bound - F", "seconds", "certified", "status"]


def _text_table(header: list[str], rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = indent + "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*header).rstrip(), indent + "  ".join("-" * w for w in widths)]
    out.extend(fmt.format(*r).rstrip() for r in rows)
    return out


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out.extend("| " + " | ".join(str(c).replace("|", "/") for c in r) + " |" for r in rows)
    return out


def _e2e_rows(case: CaseResult) -> tuple[list[str], list[list[str]]]:
    e2e = case.end_to_end
    direction = "higher" if e2e.greater_is_better else "lower"
    header = ["grouping", "groups", f"mean score ({direction} is better)", "vs single-task %"]
    rows = [
        [r.name, str(len(r.groups)), f"{r.mean_score:.5g}", _num(r.vs_single, "+.2f")]
        for r in e2e.rows
    ]
    return header, rows


def format_case_table(case: CaseResult) -> str:
    """The text table of one case: every method's k, ARI, F, gap and time."""
    lines = _case_header(case)
    lines.extend(_text_table(_METHOD_HEADER, _method_rows(case)))
    return "\n".join(lines) + "\n"


def format_end_to_end_table(case: CaseResult) -> str:
    """The text table of a case's end-to-end comparison ('' when it did not run)."""
    if case.end_to_end is None:
        return ""
    e2e = case.end_to_end
    header, rows = _e2e_rows(case)
    lines = [
        f"{case.name}: end to end, one model per group ({e2e.n_runs} models, seeds "
        f"{list(e2e.seeds)}, {e2e.seconds:.1f} s)"
    ]
    lines.extend(_text_table(header, rows))
    return "\n".join(lines) + "\n"


def format_summary(bench: BenchResult) -> str:
    """One paragraph: which structures each method recovered, and the time."""
    lines = [f"suite {bench.suite}: {len(bench.cases)} cases in {bench.seconds:.1f} s"]
    methods: list[str] = []
    for case in bench.cases:
        for s in case.scores:
            if s.method not in methods:
                methods.append(s.method)
    for m in methods:
        scored = [
            c for c in bench.cases if any(s.method == m and s.ari is not None for s in c.scores)
        ]
        hit = [c for c in scored if c.score(m).ari == 1.0]
        lines.append(
            f"  {m:<9} recovered the planted groups (ARI = 1) on {len(hit)}/{len(scored)}"
        )
    confirmed = [c for c in bench.cases if c.exact_confirms_truth]
    if confirmed:
        sdp_hits = [
            c for c in confirmed if any(s.method == "sdp" and s.ari == 1.0 for s in c.scores)
        ]
        lines.append(
            f"  cases whose planted groups exact search confirms optimal: {len(confirmed)}; "
            f"SDP recovers {len(sdp_hits)} of them"
        )
    both = [
        c
        for c in bench.cases
        if all(
            any(s.method == m and s.objective is not None for s in c.scores)
            for m in ("sdp", "exact")
        )
    ]
    if both:
        same = [c for c in both if _sdp_reaches_exact(c)]
        lines.append(f"  SDP reaches the exact optimum F on {len(same)}/{len(both)} cases")
    for name, reason in bench.skipped:
        lines.append(f"  skipped {name}: {reason}")
    return "\n".join(lines) + "\n"


def to_markdown(bench: BenchResult, plots: dict[str, str] | None = None) -> str:
    """The markdown report: a summary, then one section per case.

    Parameters
    ----------
    bench : BenchResult
    plots : dict of str to str, default=None
        Case name -> relative path of its heatmap.

    Returns
    -------
    str
    """
    plots = plots or {}
    lines = [f"# adagroup benchmark — suite `{bench.suite}`", ""]
    lines.append(
        "Every method is asked for the planted number of groups k. ARI compares with the "
        "planted groups; F is the density objective; *SDP bound − F* is how far a grouping "
        "could at most be from the best one (the SDP bound holds for every partition); exact "
        "search runs where n ≤ 12; *certified* says whether a method's own bound proves its "
        f"grouping optimal. Total time {bench.seconds:.1f} s."
    )
    lines += ["", "```", format_summary(bench).rstrip(), "```", ""]
    for case in bench.cases:
        lines.append(f"## {case.name}")
        lines.append("")
        lines.extend(f"{x.strip()}  " for x in _case_header(case)[1:])
        lines.append("")
        lines.extend(_md_table(_METHOD_HEADER, _method_rows(case)))
        lines.append("")
        if case.end_to_end is not None:
            header, rows = _e2e_rows(case)
            lines.append(
                f"End to end: one model per group ({case.end_to_end.n_runs} models trained). "
                "*vs single-task* is the mean over tasks of each task's relative improvement "
                "over its single-task model, so tasks of every loss scale weigh the same; the "
                "mean score is dominated by the tasks with the largest scale."
            )
            lines.append("")
            lines.extend(_md_table(header, rows))
            lines.append("")
        if case.name in plots:
            lines.append(f"![{case.name}]({plots[case.name]})")
            lines.append("")
    if bench.skipped:
        lines.append("## Skipped")
        lines.append("")
        lines.extend(f"- `{n}`: {r}" for n, r in bench.skipped)
        lines.append("")
    return "\n".join(lines)


def write_heatmaps(bench: BenchResult, out: str | Path) -> dict[str, str]:
    """One PNG per case: the affinity grouped by the truth and by each method.

    Returns
    -------
    dict of str to str
        Case name -> file name (relative to ``out``).
    """
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - exercised only without matplotlib
        raise ImportError(
            "The benchmark heatmaps need matplotlib; install it with pip install "
            '"adagroup[cluster]".'
        ) from None
    from ..plot import colorbar_label, plot_affinity

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for case in bench.cases:
        panels: list[tuple[str, Any]] = []
        if case.data.true_labels is not None:
            panels.append((f"truth (F={_num(case.truth_objective)})", case.data.true_labels))
        for s in case.scores:
            if s.labels is not None and s.method != "exact":
                panels.append((f"{s.method} (ARI={_ari(s.ari)})", s.labels))
        if not panels:
            continue
        n = case.n_tasks
        size = min(6.0, 2.5 + 0.12 * n)
        fig, axes = plt.subplots(
            1, len(panels), figsize=(len(panels) * (size + 1.6), size), layout="constrained"
        )
        axes = list(axes) if len(panels) > 1 else [axes]
        # Trained cases say how their affinity was normalised; planted ones are given as is.
        info = case.data.info or {}
        label = colorbar_label(info["normalize"]) if "normalize" in info else None
        for ax, (title, labels) in zip(axes, panels, strict=True):
            plot_affinity(
                case.data.T,
                labels,
                case.data.task_names,
                ax=ax,
                title=title,
                colorbar_label=label,
            )
        fig.suptitle(case.name)
        name = f"{case.name}.png"
        fig.savefig(out / name, dpi=90, bbox_inches="tight")
        plt.close(fig)
        written[case.name] = name
    return written


def write_report(bench: BenchResult, out: str | Path, *, plots: bool = True) -> Path:
    """Write ``report.md``, ``results.json`` and the heatmaps into ``out``.

    Parameters
    ----------
    bench : BenchResult
    out : str or Path
        Folder, created if missing.
    plots : bool, default=True
        Write the heatmaps (needs matplotlib).

    Returns
    -------
    Path
        The path of ``report.md``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    images = write_heatmaps(bench, out) if plots else {}
    report = out / "report.md"
    report.write_text(to_markdown(bench, images), encoding="utf-8")
    (out / "results.json").write_text(json.dumps(bench.to_dict(), indent=1), encoding="utf-8")
    logger.info("report written to %s", report)
    return report
