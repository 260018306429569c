"""``adagroup select SCORES.csv --budget B``: which networks to train and deploy."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ._args import float_arg, int_arg
from ._cluster import _json_ready

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["add_parser", "select_command", "format_selection"]

#: The keys ``--json`` always prints (the issue's contract), then the extras.
JSON_KEYS = ("networks", "serves", "total", "proven_optimal", "seconds", "gap", "bound")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``adagroup select``."""
    p = subparsers.add_parser(
        "select",
        help="choose at most B networks (task subsets, may overlap) that serve every task best",
        description=(
            "Choose at most B networks (task subsets, possibly overlapping) from measured "
            "per-subset scores, serving each task from the chosen network best for it, to "
            "maximise the total score (minimise the total loss with --lower-is-better). Subsets "
            "never trained are predicted from their pairs (Standley et al.'s pair average) "
            "unless --no-predict. Solved exactly as a MILP (HiGHS)."
        ),
    )
    p.add_argument(
        "scores",
        metavar="SCORES.csv",
        help="long CSV with header subset,task,score; subset joins task names with '+' "
        "(e.g. depth+normal,depth,0.71); repeated rows (seeds) are averaged",
    )
    p.add_argument(
        "--budget", type=int_arg(1), required=True, help="most networks to choose (B >= 1)"
    )
    p.add_argument(
        "--lower-is-better", action="store_true", help="scores are losses (minimise the total)"
    )
    p.add_argument("--no-predict", action="store_true", help="choose among measured subsets only")
    p.add_argument(
        "--max-subset-size", type=int_arg(1), default=None, help="largest network considered"
    )
    p.add_argument(
        "--time-limit",
        type=float_arg(),
        default=60.0,
        help="seconds the MILP solver may take (default 60); past it, the best found and its gap",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--plot", metavar="SWEEP.png", help="also write the total against every budget 1..n"
    )
    p.set_defaults(func=select_command)


def select_command(args: argparse.Namespace) -> int:
    """Run ``adagroup select``."""
    if args.plot and not Path(args.plot).resolve().parent.is_dir():
        raise ValueError(
            f"The '--plot' folder {str(Path(args.plot).parent)!r} does not exist; create it "
            "first or write the plot elsewhere."
        )
    if not Path(args.scores).is_file():
        raise ValueError(
            f"SCORES.csv {args.scores!r} is not a file; give the path of a CSV with header "
            "subset,task,score."
        )
    from ..networks import BudgetTooSmallError, budget_sweep, select_networks
    from ..networks._scores import as_score_table

    table = as_score_table(args.scores, lower_is_better=args.lower_is_better)
    options = {
        "predict_unmeasured": not args.no_predict,
        "max_subset_size": args.max_subset_size,
        "time_limit": args.time_limit,
    }
    try:
        selection = select_networks(table, args.budget, **options)
    except BudgetTooSmallError as exc:
        raise ValueError(
            f"--budget {args.budget} is too small: {exc}".replace(
                f"Use a budget >= {exc.min_budget}", f"Use --budget {exc.min_budget} or more"
            )
        ) from None
    result = selection.to_dict()
    if args.plot:
        sweep = budget_sweep(table, **options)
        _write_plot(args.plot, sweep)
        result["plot"] = args.plot
        result["sweep"] = [
            {"budget": b, "total": s.total, "proven_optimal": s.proven_optimal, "gap": s.gap}
            for b, s in sorted(sweep.items())
        ]
    if args.json:
        ordered = {key: result[key] for key in JSON_KEYS}
        ordered.update({k: v for k, v in result.items() if k not in ordered})
        # Strict JSON: a bound that is not finite (no LP solved in time) is written as null.
        sys.stdout.write(json.dumps(_json_ready(ordered), allow_nan=False) + "\n")
    else:
        sys.stdout.write(format_selection(result))
    return 0


def _write_plot(path: str, sweep: dict[int, Any]) -> None:
    from ..networks import plot_budget_sweep

    ax = plot_budget_sweep(sweep)
    import matplotlib.pyplot as plt

    fig = cast("Figure", ax.figure)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def format_selection(result: dict[str, Any]) -> str:
    """Human-readable summary of a ``NetworkSelection.to_dict()``."""
    lines = [
        f"{len(result['networks'])} network(s) for budget {result['budget']}, "
        f"method {result['method']} ({result['n_candidates']} candidates), "
        f"{result['seconds']:.3f} s"
    ]
    for i, (net, predicted) in enumerate(
        zip(result["networks"], result["predicted"], strict=True)
    ):
        served = [t for t, j in result["serves"].items() if j == i]
        mark = " (never trained: predicted)" if predicted else ""
        lines.append(f"  network {i}: {'+'.join(net)}{mark}")
        scored = ", ".join(f"{t} {result['scores'][t]:.4g}" for t in served)
        lines.append(f"    serves {scored}")
    verdict = "proven optimal" if result["proven_optimal"] else "not proven optimal"
    lines.append(
        f"total = {result['total']:.6g}, bound = {result['bound']:.6g}, "
        f"gap = {result['gap']:.3g} ({verdict})"
    )
    if result.get("plot"):
        lines.append(f"budget sweep written to {result['plot']}")
    return "\n".join(lines) + "\n"
