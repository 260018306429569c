"""The benchmark: cases with known group structure, scored by every clustering method.

A case yields an affinity matrix and its true groups: drawn around planted
groups (``planted``), measured by training small multitask networks for real
(``synthetic-mtl``), or the shipped in-context learning matrix (``icl``).
Every method in :data:`adagroup.cluster.METHODS` is scored on it: ARI against
the truth, objective ``F``, gap to the SDP upper bound, seconds. Trained cases
can also compare the groupings end to end, by training one model per group.

Examples
--------
>>> from adagroup.bench import run_benchmark, format_case_table
>>> bench = run_benchmark("quick", cases=["planted-k2-n8"])  # doctest: +SKIP
>>> print(format_case_table(bench.cases[0]))  # doctest: +SKIP
"""

from __future__ import annotations

from ._registry import (
    FAMILIES,
    SUITES,
    BenchCase,
    BuildContext,
    CaseData,
    CaseUnavailable,
    get_case,
    list_cases,
    register_case,
)
from ._report import (
    format_case_table,
    format_end_to_end_table,
    format_summary,
    to_markdown,
    write_heatmaps,
    write_report,
)
from ._runner import (
    EXACT_MAX_TASKS,
    BenchResult,
    CaseResult,
    MethodScore,
    adjusted_rand,
    run_benchmark,
    score_case,
)
from .end_to_end import EndToEndResult, GroupingScore, run_end_to_end, train_groupings

__all__ = [
    "BenchCase",
    "BenchResult",
    "BuildContext",
    "CaseData",
    "CaseResult",
    "CaseUnavailable",
    "EXACT_MAX_TASKS",
    "EndToEndResult",
    "FAMILIES",
    "GroupingScore",
    "MethodScore",
    "SUITES",
    "adjusted_rand",
    "format_case_table",
    "format_end_to_end_table",
    "format_summary",
    "get_case",
    "list_cases",
    "register_case",
    "run_benchmark",
    "run_end_to_end",
    "score_case",
    "to_markdown",
    "train_groupings",
    "write_heatmaps",
    "write_report",
]
