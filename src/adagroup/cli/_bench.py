"""``adagroup bench --suite quick|full``: score every method on cases with known groups."""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["add_parser", "bench_command"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``adagroup bench``."""
    p = subparsers.add_parser(
        "bench",
        help="benchmark every clustering method on cases with known groups",
        description=(
            "Build cases with known group structure (planted affinity matrices, small multitask "
            "networks trained for real, the in-context learning case) and score every method "
            "on each: ARI against the truth, objective F, gap to the SDP bound, seconds. "
            "Prints a table per case; with --out also writes heatmaps and report.md."
        ),
    )
    p.add_argument(
        "--suite",
        choices=("quick", "full"),
        default="quick",
        help="quick: a few minutes on 2 cores (CI); full: larger and more trained cases",
    )
    p.add_argument(
        "--case",
        action="append",
        metavar="NAME",
        help="run only this case (repeatable); --list shows the names",
    )
    p.add_argument("--list", action="store_true", help="list the cases of the suite and exit")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="write report.md, results.json and heatmaps here; trained cases keep their "
        "SQLite studies here, so a rerun resumes",
    )
    p.add_argument(
        "--retrain",
        action="store_true",
        help="measure the icl affinity again instead of reading the shipped one (full suite)",
    )
    p.add_argument("--n-jobs", type=int, default=1, help="training processes (default 1)")
    # Both spellings, as in every subcommand: --seed, or --random-state as in the Python API.
    p.add_argument(
        "--seed",
        "--random-state",
        dest="seed",
        type=int,
        default=0,
        help="seed of methods and training",
    )
    p.add_argument(
        "--no-end-to-end",
        action="store_true",
        help="skip training one model per group on the trained cases",
    )
    p.set_defaults(func=bench_command)


def _check_cases(names: list[str], suite: str) -> None:
    """Unknown --case names are refused with the closest known ones, not all of them."""
    import difflib

    from ..bench import list_cases
    from . import CLIUsageError

    known = [c.name for c in list_cases()]
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise CLIUsageError(
                f"--case {name!r} is not a benchmark case; {hint}`adagroup bench --suite "
                f"{suite} --list` shows the cases of that suite."
            )


def bench_command(args: argparse.Namespace) -> int:
    """Run ``adagroup bench``."""
    from ..bench import (
        format_case_table,
        format_end_to_end_table,
        format_summary,
        list_cases,
        run_benchmark,
        write_report,
    )

    if args.n_jobs < 1:
        raise ValueError(f"--n-jobs must be an int >= 1. Got {args.n_jobs}; e.g. --n-jobs 2.")
    _check_cases(args.case or [], args.suite)
    if args.list:
        for case in list_cases(suite=args.suite):
            sys.stdout.write(f"{case.name:<28} {case.family:<14} {case.description}\n")
        return 0

    def show(case) -> None:
        if not args.json:
            sys.stdout.write(format_case_table(case) + "\n")
            e2e = format_end_to_end_table(case)
            if e2e:
                sys.stdout.write(e2e + "\n")
            sys.stdout.flush()

    bench = run_benchmark(
        args.suite,
        cases=args.case,
        out=args.out,
        retrain=args.retrain,
        end_to_end=not args.no_end_to_end,
        n_jobs=args.n_jobs,
        random_state=args.seed,
        progress=not args.json and sys.stderr.isatty(),
        callback=show,
    )
    report = write_report(bench, args.out) if args.out else None
    if args.json:
        result = bench.to_dict()
        if report is not None:
            result["report"] = str(report)
        json.dump(result, sys.stdout)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_summary(bench))
        if report is not None:
            sys.stdout.write(f"report written to {report}\n")
    return 0
