"""Score every clustering method on the benchmark cases."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..cluster._objective import adjusted_rand as group_ari
from ..cluster._objective import density_objective
from ..cluster._validation import check_affinity
from ._registry import (
    SUITES,
    BenchCase,
    BuildContext,
    CaseData,
    CaseUnavailable,
    get_case,
    list_cases,
)

__all__ = [
    "BenchResult",
    "CaseResult",
    "EXACT_MAX_TASKS",
    "MethodScore",
    "adjusted_rand",
    "run_benchmark",
    "score_case",
]

logger = logging.getLogger(__name__)

#: Exact search runs only on cases with at most this many tasks.
EXACT_MAX_TASKS = 12
# Relative tolerance under which two objective values count as equal (ties).
_REL_TOL = 1e-9


def adjusted_rand(labels_true: ArrayLike, labels_pred: ArrayLike) -> float:
    """Adjusted Rand index of two labelings (1.0 when equal up to renaming)."""
    return group_ari(np.asarray(labels_true), np.asarray(labels_pred))


def _same_value(a: float, b: float) -> bool:
    return abs(a - b) <= _REL_TOL * max(1.0, abs(a), abs(b))


@dataclass
class MethodScore:
    """How one method fared on one case.

    Attributes
    ----------
    method : str
        Key in :data:`adagroup.cluster.METHODS`.
    labels : ndarray or None
        The grouping found (None when the method failed or was skipped).
    k : int or None
        Number of non-empty groups found.
    ari : float or None
        Adjusted Rand index against the true groups.
    objective : float or None
        The density objective ``F`` of the grouping.
    gap_to_sdp_bound : float or None
        SDP upper bound minus ``F``; the bound holds for every partition, so
        this is how much better any grouping could possibly be.
    upper_bound : float or None
        The method's own bound, if it reports one.
    proven_optimal : bool or None
    seconds : float or None
        Wall time of ``fit``.
    status : str
        The method's status, ``"skipped"`` or ``"error"``.
    note : str
        Why a method was skipped or failed, or warnings it raised.
    """

    method: str
    labels: np.ndarray | None = None
    k: int | None = None
    ari: float | None = None
    objective: float | None = None
    gap_to_sdp_bound: float | None = None
    upper_bound: float | None = None
    proven_optimal: bool | None = None
    seconds: float | None = None
    status: str = "ok"
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (labels as a list)."""
        return {
            "method": self.method,
            "k": self.k,
            "ari": self.ari,
            "objective": self.objective,
            "gap_to_sdp_bound": self.gap_to_sdp_bound,
            "upper_bound": self.upper_bound,
            "proven_optimal": self.proven_optimal,
            "seconds": self.seconds,
            "status": self.status,
            "note": self.note,
            "labels": None if self.labels is None else [int(x) for x in self.labels],
        }


@dataclass
class CaseResult:
    """Every method's score on one case, with the truth it is compared against.

    Attributes
    ----------
    name, family, description : str
    n_clusters : int
        Number of groups every method was asked for.
    data : CaseData
        The affinity matrix, true labels and provenance.
    scores : list of MethodScore
    truth_objective : float or None
        ``F`` of the planted grouping.
    sdp_bound : float or None
        The SDP upper bound on ``F`` over all partitions into ``n_clusters``.
    exact_confirms_truth : bool or None
        Whether exact search finds the planted grouping optimal (None when
        exact search did not run).
    build_seconds : float
        Time to build the case (training included).
    end_to_end : EndToEndResult or None
        Training one model per group, when the suite asks for it.
    """

    name: str
    family: str
    description: str
    n_clusters: int
    data: CaseData
    scores: list[MethodScore] = field(default_factory=list)
    truth_objective: float | None = None
    sdp_bound: float | None = None
    exact_confirms_truth: bool | None = None
    build_seconds: float = 0.0
    end_to_end: Any = None

    @property
    def n_tasks(self) -> int:
        """Number of tasks of the case."""
        return int(self.data.T.shape[0])

    def score(self, method: str) -> MethodScore:
        """The score of ``method``; raises ``KeyError`` if it was not run."""
        for s in self.scores:
            if s.method == method:
                return s
        raise KeyError(f"Method {method!r} was not scored on case {self.name!r}.")

    @property
    def truth_gap(self) -> float | None:
        """SDP bound minus the planted grouping's ``F``."""
        if self.sdp_bound is None or self.truth_objective is None:
            return None
        return self.sdp_bound - self.truth_objective

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the matrix itself)."""
        labels = self.data.true_labels
        return {
            "name": self.name,
            "family": self.family,
            "description": self.description,
            "n_tasks": self.n_tasks,
            "n_clusters": self.n_clusters,
            "task_names": list(self.data.task_names),
            "true_labels": None if labels is None else [int(x) for x in labels],
            "truth_objective": self.truth_objective,
            "sdp_bound": self.sdp_bound,
            "truth_gap": self.truth_gap,
            "exact_confirms_truth": self.exact_confirms_truth,
            "build_seconds": self.build_seconds,
            "info": _jsonable(self.data.info),
            "methods": [s.to_dict() for s in self.scores],
            "end_to_end": None if self.end_to_end is None else self.end_to_end.to_dict(),
        }


@dataclass
class BenchResult:
    """The result of one benchmark run.

    Attributes
    ----------
    suite : str
    cases : list of CaseResult
    skipped : list of (str, str)
        Cases that could not be built, with the reason.
    seconds : float
        Wall time of the whole run.
    """

    suite: str
    cases: list[CaseResult] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the ``--json`` output)."""
        return {
            "suite": self.suite,
            "seconds": self.seconds,
            "cases": [c.to_dict() for c in self.cases],
            "skipped": [{"name": n, "reason": r} for n, r in self.skipped],
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _default_methods() -> list[str]:
    from ..cluster import METHODS

    return list(METHODS)


def _fit_method(method: str, S: np.ndarray, k: int, random_state: int) -> MethodScore:
    from ..cluster import METHODS

    cls = METHODS[method]
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est = cls(n_clusters=k, random_state=random_state)
            est.fit(S)
    except Exception as exc:  # a failing method is a result of the benchmark, not a crash
        logger.info("%s failed: %s: %s", method, type(exc).__name__, exc)
        return MethodScore(
            method,
            seconds=time.perf_counter() - start,
            status="error",
            note=f"{type(exc).__name__}: {exc}"[:300],
        )
    seconds = getattr(est, "seconds_", None)
    labels = np.asarray(est.labels_, dtype=np.intp)
    notes = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    return MethodScore(
        method,
        labels=labels,
        k=int(len(np.unique(labels))),
        objective=float(density_objective(S, labels)),
        upper_bound=getattr(est, "upper_bound_", None),
        proven_optimal=getattr(est, "proven_optimal_", None),
        seconds=float(seconds) if seconds is not None else time.perf_counter() - start,
        status=str(getattr(est, "status_", "ok")),
        note="; ".join(notes)[:300],
    )


def _warm_up(methods: Iterable[str]) -> None:
    # The first fit of a method pays for lazy imports (scikit-learn, scipy.linalg); one
    # fit on a tiny matrix keeps that out of the timings of the first case.
    T = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, 0.1], [0.0, 0.1, 1.0]])
    for method in methods:
        _fit_method(method, T, 2, 0)


def score_case(
    data: CaseData,
    n_clusters: int,
    *,
    methods: Iterable[str] | None = None,
    random_state: int = 0,
    name: str = "case",
    family: str = "planted",
    description: str = "",
) -> CaseResult:
    """Run every method on one affinity matrix and score it against the truth.

    Parameters
    ----------
    data : CaseData
        The affinity matrix and its true labels.
    n_clusters : int
        Number of groups asked of every method.
    methods : iterable of str, default=None
        Keys of :data:`adagroup.cluster.METHODS`; None means all of them.
        ``"exact"`` is skipped when the case has more than
        :data:`EXACT_MAX_TASKS` tasks.
    random_state : int, default=0
        Seed given to every method.
    name, family, description : str
        Labels of the case in the result.

    Returns
    -------
    CaseResult
    """
    S, _ = check_affinity(data.T, caller="score_case")
    n = S.shape[0]
    methods = _default_methods() if methods is None else list(methods)
    result = CaseResult(name, family, description, int(n_clusters), data)
    truth = data.true_labels
    if truth is not None:
        truth = np.asarray(truth)
        if truth.shape != (n,):
            raise ValueError(
                f"The true labels of case {name!r} must have shape ({n},). Got {truth.shape}."
            )
        result.truth_objective = float(density_objective(S, truth))
    for method in methods:
        if method == "exact" and n > EXACT_MAX_TASKS:
            result.scores.append(
                MethodScore(method, status="skipped", note=f"n={n} > {EXACT_MAX_TASKS}")
            )
            continue
        logger.info("case %s: fitting %s", name, method)
        result.scores.append(_fit_method(method, S, n_clusters, random_state))
    for s in result.scores:
        if s.method == "sdp" and s.upper_bound is not None:
            result.sdp_bound = float(s.upper_bound)
    for s in result.scores:
        # _fit_method sets labels and objective together.
        if s.labels is None or s.objective is None:
            continue
        if truth is not None:
            s.ari = adjusted_rand(truth, s.labels)
        if result.sdp_bound is not None:
            s.gap_to_sdp_bound = result.sdp_bound - s.objective
    exact = next((s for s in result.scores if s.method == "exact" and s.labels is not None), None)
    # The truth's objective is set exactly when the case has true labels.
    truth_objective = result.truth_objective
    if exact is not None and exact.objective is not None and truth_objective is not None:
        # Ties count: the planted grouping is confirmed when nothing beats it.
        result.exact_confirms_truth = bool(
            exact.ari == 1.0
            or _same_value(exact.objective, truth_objective)
            or truth_objective > exact.objective
        )
    return result


def _select_cases(suite: str, names: Sequence[str] | None) -> list[BenchCase]:
    if suite not in SUITES:
        raise ValueError(f"The 'suite' parameter must be one of {SUITES}. Got {suite!r} instead.")
    if names:
        return [get_case(n) for n in names]
    return list_cases(suite=suite)


def run_benchmark(
    suite: str = "quick",
    *,
    cases: Sequence[str] | None = None,
    methods: Iterable[str] | None = None,
    out: str | Path | None = None,
    retrain: bool = False,
    end_to_end: bool = True,
    n_jobs: int = 1,
    random_state: int = 0,
    progress: bool = False,
    callback: Callable[[CaseResult], None] | None = None,
) -> BenchResult:
    """Build and score the cases of a suite.

    Parameters
    ----------
    suite : {"quick", "full"}, default="quick"
        ``quick`` runs in a few minutes on 2 CPU cores; ``full`` adds larger
        planted cases, more trained cases and the in-context learning case.
    cases : sequence of str, default=None
        Run only these cases (by name, whatever their suite).
    methods : iterable of str, default=None
        Methods to score; None means every method in :data:`adagroup.cluster.METHODS`.
    out : str or Path, default=None
        Folder for studies of trained cases (SQLite, so reruns resume).
        Plots and the report are written by :func:`adagroup.bench.write_report`.
    retrain : bool, default=False
        Measure shipped affinity matrices again (the icl case).
    end_to_end : bool, default=True
        Train one model per group on the cases whose suites ask for it.
    n_jobs : int, default=1
        Worker processes for training.
    random_state : int, default=0
        Seed of the methods and of training.
    progress : bool, default=False
        Show a progress bar while training.
    callback : callable, default=None
        Called with each :class:`CaseResult` as soon as it is scored.

    Returns
    -------
    BenchResult
    """
    from .end_to_end import run_end_to_end

    start = time.perf_counter()
    if retrain and suite != "full":
        raise ValueError(
            f"The 'retrain' option measures the icl case again (about an hour of CPU) and "
            f"belongs to the full suite. Got suite={suite!r}; use --suite full --retrain."
        )
    selected = _select_cases(suite, cases)
    out_path = None if out is None else Path(out)
    if out_path is not None:
        out_path.mkdir(parents=True, exist_ok=True)
    ctx = BuildContext(
        out=out_path,
        retrain=retrain,
        n_jobs=n_jobs,
        random_state=random_state,
        progress=progress,
    )
    bench = BenchResult(suite)
    _warm_up(_default_methods() if methods is None else methods)
    for case in selected:
        if case.needs_retrain and not retrain:
            bench.skipped.append((case.name, "needs --retrain"))
            continue
        logger.info("building case %s", case.name)
        t0 = time.perf_counter()
        try:
            data = case.build(ctx)
        except CaseUnavailable as exc:
            logger.info("case %s skipped: %s", case.name, exc)
            bench.skipped.append((case.name, str(exc)))
            continue
        build_seconds = time.perf_counter() - t0
        result = score_case(
            data,
            case.n_clusters,
            methods=methods,
            random_state=random_state,
            name=case.name,
            family=case.family,
            description=case.description,
        )
        result.build_seconds = build_seconds
        if end_to_end and suite in case.end_to_end and data.trainer is not None:
            logger.info("case %s: end-to-end training", case.name)
            result.end_to_end = run_end_to_end(result, seed=random_state, n_jobs=n_jobs)
        bench.cases.append(result)
        if callback is not None:
            callback(result)
    bench.seconds = time.perf_counter() - start
    return bench
