"""``adagroup cluster MATRIX --k K``: group the tasks of an affinity matrix."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ._args import int_arg

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["add_parser", "cluster_command", "format_result"]

#: The keys of ``adagroup.cluster.METHODS``, spelled out so that building the parser
#: (``adagroup --help``) does not import numpy, scipy and the solvers.
METHOD_NAMES = ("exact", "lloyd", "sdp", "spectral")


def _k_argument(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        k = int(text)
    except ValueError:
        k = 0
    if k < 1:
        raise argparse.ArgumentTypeError(
            f"must be an int >= 1 or 'auto'. Got {text!r}; e.g. --k 3 or --k auto."
        )
    return k


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``adagroup cluster``."""
    p = subparsers.add_parser(
        "cluster",
        help="group the tasks of an affinity matrix",
        description=(
            "Group the tasks of an affinity matrix T (row = target task, column = partner task, "
            "higher is better) to maximise the average within-group density. T is symmetrised."
        ),
    )
    p.add_argument(
        "matrix",
        metavar="MATRIX",
        help=".csv/.tsv/.txt (comma, semicolon, tab or blanks; header row and index column of "
        "task names, or either, or numbers only) or .npy",
    )
    p.add_argument("--k", type=_k_argument, required=True, help="number of groups, or 'auto'")
    p.add_argument("--method", choices=METHOD_NAMES, default="sdp")
    p.add_argument(
        "--max-k", type=int_arg(1), default=None, help="largest k tried by --k auto (only with it)"
    )
    # Both spellings: --seed here and in bench/demo, --random-state in study run.
    p.add_argument(
        "--seed", "--random-state", dest="seed", type=int, default=0, help="random_state"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--plot", metavar="OUT.png", help="write a heatmap reordered by group")
    p.set_defaults(func=cluster_command)


def cluster_command(args: argparse.Namespace) -> int:
    """Run ``adagroup cluster``."""
    if args.max_k is not None and args.k != "auto":
        raise ValueError(
            f"--max-k {args.max_k} only applies to --k auto; got --k {args.k}. Drop --max-k, "
            "or use --k auto --max-k K to try 1..K groups."
        )
    from ..cluster import METHODS
    from ..cluster._validation import check_affinity
    from ..io import read_affinity

    if args.plot and not Path(args.plot).resolve().parent.is_dir():
        raise ValueError(
            f"The '--plot' folder {str(Path(args.plot).parent)!r} does not exist; create it "
            "first or write the plot elsewhere."
        )
    T, names = read_affinity(args.matrix)
    # Checked here too so that errors name the command's argument, not the estimator's T.
    check_affinity(T, caller="adagroup cluster", param="MATRIX")
    _check_k(args, n_tasks=T.shape[0])
    params = {"n_clusters": args.k, "random_state": args.seed}
    if args.max_k is not None:
        params["max_clusters"] = args.max_k
    estimator = METHODS[args.method](**params)
    estimator.fit(T)
    estimator.task_names_ = names
    result = estimator.to_dict()
    k_table = getattr(estimator, "k_table_", None)
    if k_table is not None:
        result["k_table"] = k_table
    if args.plot:
        _write_plot(args.plot, T, estimator, names)
        result["plot"] = args.plot
    if args.json:
        # Strict JSON: a value that is not finite is written as null, never Infinity/NaN.
        sys.stdout.write(json.dumps(_json_ready(result), allow_nan=False) + "\n")
    else:
        sys.stdout.write(format_result(result, k_table))
    return 0


def _check_k(args: argparse.Namespace, n_tasks: int) -> None:
    """Check --k against the matrix, in the flag's own words."""
    from . import CLIUsageError

    if args.k != "auto" and args.k > n_tasks:
        raise CLIUsageError(
            f"--k {args.k} asks for more groups than the {n_tasks} tasks of {args.matrix!r}; "
            f"use --k in [1, {n_tasks}] or --k auto."
        )


def _json_ready(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers and non-finite floats as None."""
    if isinstance(value, dict):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalar
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_plot(path: str, T, estimator, names: list[str]) -> None:
    from ..plot import plot_affinity

    ax = plot_affinity(
        T,
        estimator.labels_,
        names,
        title=f"{estimator.method}: k={estimator.n_clusters_}, F={estimator.objective_:.4g}",
    )
    import matplotlib.pyplot as plt

    # plot_affinity made this figure (no ax was passed), so it is a Figure, not a SubFigure.
    fig = cast("Figure", ax.figure)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def format_result(result: dict, k_table: list[dict] | None = None) -> str:
    """Human-readable summary of a ``to_dict()`` result."""
    lines = [f"method {result['method']}, k={result['k']}, {result['seconds']:.3f} s"]
    for i, group in enumerate(result["groups"]):
        lines.append(f"  group {i} ({len(group)}): {', '.join(group)}")
    lines.append(f"objective F = {result['objective']:.6g}")
    if result["upper_bound"] is not None:
        verdict = "proven optimal" if result["proven_optimal"] else "not proven optimal"
        if result.get("certificate"):
            verdict += f", certificate {result['certificate']}"
        lines.append(
            f"upper bound = {result['upper_bound']:.6g}, gap = {result['gap']:.3g} ({verdict})"
        )
    else:
        lines.append("upper bound: none (this method gives no certificate)")
    if k_table:
        lines.append("k    objective    average density (rule: largest wins)")
        for row in k_table:
            mark = "  <-" if row["k"] == result["k"] else ""
            lines.append(
                f"{row['k']:<4} {row['objective']:<12.6g} {row['average_density']:.6g}{mark}"
            )
    if result.get("plot"):
        lines.append(f"heatmap written to {result['plot']}")
    return "\n".join(lines) + "\n"
