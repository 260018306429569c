"""``adagroup demo``: the main job on the embedded default (SQLite store, synthetic case)."""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["add_parser", "demo_command"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``adagroup demo``."""
    p = subparsers.add_parser(
        "demo",
        help="run a real AdaGroup study on a built-in synthetic multitask case",
        description=(
            "Train small multitask networks on subsets of synthetic tasks with planted groups, "
            "group the tasks with AdaGroup and the certified SDP, and compare one model per "
            "group with one model for all tasks. Re-running resumes from the store."
        ),
    )
    p.add_argument("--storage", default="sqlite:///adagroup-demo.db", help="SQLAlchemy URL")
    p.add_argument("--name", default="demo-synthetic", help="study name")
    p.add_argument("--out", default="adagroup-out", help="folder for heatmap and report")
    p.add_argument("--groups", type=int, default=3, help="planted groups")
    p.add_argument("--tasks-per-group", type=int, default=3)
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="tasks per AdaGroup step (default: 2 x tasks per group)",
    )
    p.add_argument("--n-jobs", type=int, default=2, help="training runs at once")
    # Both spellings, as in cluster, study run and bench.
    p.add_argument("--seed", "--random-state", dest="seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    """Run ``adagroup demo``."""
    from ..main_job import format_main_job, run_main_job
    from ._args import check_storage_folder

    check_storage_folder(args.storage, "--storage")

    result = run_main_job(
        storage=args.storage,
        study_name=args.name,
        out=args.out,
        n_groups=args.groups,
        tasks_per_group=args.tasks_per_group,
        batch_size=args.batch_size,
        n_jobs=args.n_jobs,
        random_state=args.seed,
        progress=not args.no_progress,
    )
    if args.json:
        json.dump(result.to_dict(), sys.stdout)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_main_job(result))
        sys.stdout.write(
            f"Wrote {result.files['heatmap']}, {result.files['report']} and "
            f"{result.files['result']}; runs are stored in {result.files['storage']}.\n"
        )
    return 0
