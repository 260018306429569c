"""Argument checks of the command line, worded in its own flags.

The library's errors name Python parameters (``n_clusters``, ``n_subsets``); a
user of ``adagroup`` typed ``--k`` or ``--n-subsets``. Everything a flag alone
decides is checked by argparse ``type=`` functions (argparse prefixes the
message with ``argument --flag:``), and everything that depends on the data
(the number of tasks, a folder) by the ``check_*`` functions here, before a
subcommand writes anything.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "int_arg",
    "float_arg",
    "n_jobs_arg",
    "parse_task_list",
    "check_out_folder",
    "sqlite_path",
    "check_storage_folder",
    "check_plan",
]


def int_arg(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type=`` accepting an int in ``[low, high]``."""
    bounds = f"in [{low}, {high}]" if high is not None else f">= {low}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be an int {bounds}. Got {text!r}.")
        return value

    return parse


def float_arg(*, positive: bool = True) -> Callable[[str], float]:
    """An argparse ``type=`` accepting a finite number, ``> 0`` when ``positive``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or (positive and value <= 0):
            what = "a number > 0" if positive else "a finite number"
            raise argparse.ArgumentTypeError(f"must be {what} (seconds). Got {text!r}.")
        return value

    return parse


def n_jobs_arg(text: str) -> int:
    """An argparse ``type=`` for ``--n-jobs``: an int >= 1, or -1 for every CPU."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1 and value != -1:
        raise argparse.ArgumentTypeError(
            f"must be an int >= 1, or -1 for every CPU. Got {text!r}; e.g. --n-jobs 2."
        )
    return value


def parse_task_list(text: str, flag: str = "--tasks") -> list[str]:
    """Split ``a,b,c`` into task names; reject an empty list and repeated names."""
    from . import CLIUsageError

    tasks = [t.strip() for t in text.split(",") if t.strip()]
    if not tasks:
        raise CLIUsageError(f"{flag} names no task. Got {text!r}; pass e.g. {flag} a,b,c.")
    repeated = [t for i, t in enumerate(tasks) if t in tasks[:i]]
    if repeated:
        unique = ",".join(dict.fromkeys(tasks))
        raise CLIUsageError(
            f"{flag} names {repeated[0]!r} more than once. Got {text!r}; give each task once, "
            f"e.g. {flag} {unique}."
        )
    return tasks


def check_out_folder(path: str | os.PathLike[str], flag: str) -> None:
    """Raise if the folder that would hold the file ``path`` does not exist."""
    from . import CLIUsageError

    parent = Path(path).parent
    if not parent.is_dir():
        raise CLIUsageError(
            f"The folder of {flag} {str(path)!r} does not exist: {str(parent)!r}. Create it "
            f"first (mkdir -p {parent}) or write {flag} elsewhere."
        )


def sqlite_path(url: str) -> str | None:
    """The file a SQLite storage URL (or bare path) points at; None for other databases."""
    if "://" not in url:
        return url
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///") :].split("?", 1)[0]
    return None if path in ("", ":memory:") else path


def check_storage_folder(url: str, flag: str) -> None:
    """Raise if a SQLite store would be created in a folder that does not exist.

    SQLAlchemy would fail later with "unable to open database file" and a link
    to its documentation; this says which folder is missing.
    """
    from . import CLIUsageError

    path = sqlite_path(url)
    if path is None:
        return
    parent = Path(path).parent
    if not parent.is_dir():
        raise CLIUsageError(
            f"The folder of {flag} {url!r} does not exist: {str(parent)!r}. Create it first "
            f"(mkdir -p {parent}) or put the database elsewhere, e.g. sqlite:///study.db."
        )


def check_plan(n_tasks: int, subset_size: int, n_subsets: int | None) -> None:
    """Check ``--subset-size`` and ``--n-subsets`` against the number of tasks."""
    from . import CLIUsageError

    if subset_size > n_tasks:
        raise CLIUsageError(
            f"--subset-size {subset_size} is larger than the {n_tasks} tasks of the study; "
            f"use --subset-size in [1, {n_tasks}]."
        )
    total = math.comb(n_tasks, subset_size)
    if n_subsets is not None and n_subsets > total:
        raise CLIUsageError(
            f"--n-subsets {n_subsets} asks for more distinct subsets than the {total} of "
            f"--subset-size {subset_size} that {n_tasks} tasks have; use --n-subsets {total} or "
            "fewer, or another --subset-size."
        )
