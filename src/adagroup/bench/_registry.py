"""The registry of benchmark cases: affinity matrices whose group structure is known."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import AdagroupError

__all__ = [
    "BenchCase",
    "BuildContext",
    "CaseData",
    "CaseUnavailable",
    "FAMILIES",
    "SUITES",
    "get_case",
    "list_cases",
    "register_case",
]

#: Suites a case can belong to. ``quick`` runs in CI in a few minutes on 2 cores.
SUITES = ("quick", "full")
#: Families of cases, in the order reports list them.
FAMILIES = ("planted", "synthetic-mtl", "icl")

# Modules whose import registers the built-in cases.
_CASE_MODULES = ("adagroup.bench.planted", "adagroup.bench.synthetic", "adagroup.bench.icl")


class CaseUnavailable(AdagroupError):
    """A case cannot be built here (a data file is missing, it needs ``--retrain``)."""


@dataclass(frozen=True)
class BuildContext:
    """What a case builder may use besides its own settings.

    Attributes
    ----------
    out : Path or None
        Output folder of the run; training cases keep their SQLite study there
        so that a second run resumes instead of retraining.
    retrain : bool
        Measure shipped affinity matrices again instead of reading them.
    n_jobs : int
        Worker processes a training case may use.
    random_state : int
        Seed of the benchmark run.
    progress : bool
        Show training progress bars.
    """

    out: Path | None = None
    retrain: bool = False
    n_jobs: int = 1
    random_state: int = 0
    progress: bool = False


@dataclass
class CaseData:
    """An affinity matrix with its known group structure, as a case builds it.

    Attributes
    ----------
    T : ndarray of shape (n_tasks, n_tasks)
        Affinity of row task to column task, higher is better.
    true_labels : ndarray of shape (n_tasks,) or None
        The planted group of each task (None when no truth is known).
    task_names : list of str
    trainer : object or None
        The trainer the affinity was measured with, when the case trains; the
        end-to-end comparison trains one model per group with it.
    greater_is_better : bool
        Direction of the trainer's scores.
    info : dict
        Provenance shown in the report (runs, seconds, settings).
    """

    T: np.ndarray
    true_labels: np.ndarray | None
    task_names: list[str]
    trainer: Any = None
    greater_is_better: bool = True
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BenchCase:
    """One benchmark case: a name, a family, its suites and a builder.

    Attributes
    ----------
    name : str
        Unique name, used by ``adagroup bench --case NAME``.
    family : {"planted", "synthetic-mtl", "icl"}
    n_clusters : int
        Number of planted groups; every method is asked for this many.
    build : callable
        ``build(context: BuildContext) -> CaseData``.
    suites : tuple of str
        Suites that include the case.
    description : str
        One line for the report.
    end_to_end : tuple of str
        Suites in which the end-to-end comparison (one model per group) runs.
    needs_retrain : bool
        True when the case is only available with ``--retrain``.
    """

    name: str
    family: str
    n_clusters: int
    build: Callable[[BuildContext], CaseData]
    suites: tuple[str, ...] = ("quick", "full")
    description: str = ""
    end_to_end: tuple[str, ...] = ()
    needs_retrain: bool = False


_REGISTRY: dict[str, BenchCase] = {}
_LOADED = False


def register_case(case: BenchCase) -> BenchCase:
    """Add a case to the registry.

    Parameters
    ----------
    case : BenchCase

    Returns
    -------
    BenchCase
        The case itself, so that it can be used as an expression.

    Raises
    ------
    ValueError
        If the name is taken, or the family or a suite is unknown.
    """
    if case.family not in FAMILIES:
        raise ValueError(
            f"The 'family' of benchmark case {case.name!r} must be one of {FAMILIES}. "
            f"Got {case.family!r} instead."
        )
    for suite in (*case.suites, *case.end_to_end):
        if suite not in SUITES:
            raise ValueError(
                f"The suites of benchmark case {case.name!r} must be among {SUITES}. "
                f"Got {suite!r} instead."
            )
    if case.name in _REGISTRY and _REGISTRY[case.name] is not case:
        raise ValueError(
            f"A benchmark case named {case.name!r} is already registered; pick another name."
        )
    _REGISTRY[case.name] = case
    return case


def _load_builtin_cases() -> None:
    global _LOADED
    if not _LOADED:
        for module in _CASE_MODULES:
            importlib.import_module(module)
        _LOADED = True


def list_cases(suite: str | None = None, family: str | None = None) -> list[BenchCase]:
    """The registered cases, by family then in registration order.

    Parameters
    ----------
    suite : {"quick", "full"} or None, default=None
        Keep only the cases of this suite.
    family : str or None, default=None
        Keep only the cases of this family.

    Returns
    -------
    list of BenchCase
    """
    _load_builtin_cases()
    if suite is not None and suite not in SUITES:
        raise ValueError(f"The 'suite' parameter must be one of {SUITES}. Got {suite!r} instead.")
    if family is not None and family not in FAMILIES:
        raise ValueError(
            f"The 'family' parameter must be one of {FAMILIES}. Got {family!r} instead."
        )
    cases = [
        c
        for c in _REGISTRY.values()
        if (suite is None or suite in c.suites) and (family is None or c.family == family)
    ]
    return sorted(cases, key=lambda c: FAMILIES.index(c.family))


def get_case(name: str) -> BenchCase:
    """The registered case called ``name``.

    Raises
    ------
    ValueError
        If no case has that name; the message lists the names.
    """
    _load_builtin_cases()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"The 'case' parameter must name a benchmark case. Got {name!r}; known cases: "
            f"{', '.join(sorted(_REGISTRY))}."
        ) from None
