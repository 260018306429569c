"""Input checks of the clusterers: one-line errors naming parameter, value and fix.

The generic checks (ints, floats, random states) live in :mod:`adagroup._validation`; they
are re-exported here for the clusterers' own imports.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, Literal, overload

import numpy as np

from .._validation import check_int, check_random_state

__all__ = [
    "check_affinity",
    "check_int",
    "check_n_clusters",
    "check_random_state",
    "check_labels",
    "canonical_labels",
    "check_finite_result",
    "scale_affinity",
]


def check_affinity(
    T: Any, *, caller: str = "adagroup", param: str = "T"
) -> tuple[np.ndarray, list[str] | None]:
    """Validate an affinity matrix and return its symmetric part and its task names.

    Parameters
    ----------
    T : array-like or pandas.DataFrame of shape (n_tasks, n_tasks)
        Affinity of target task (row) to partner task (column); higher is better.
    caller : str, default="adagroup"
        Name of the calling function or estimator, quoted in error messages.
    param : str, default="T"
        Name of the parameter, quoted in error messages.

    Returns
    -------
    S : ndarray of shape (n_tasks, n_tasks)
        ``(T + T.T) / 2`` as float64. The objective only sees this part, so an
        asymmetric ``T`` is symmetrised rather than rejected.
    task_names : list of str or None
        The DataFrame's index when ``T`` is a DataFrame, else None.

    Raises
    ------
    TypeError
        If ``T`` is not numeric.
    ValueError
        If ``T`` is empty, not square, not finite, or a DataFrame whose row and
        column labels disagree or repeat.
    """
    names = None
    if hasattr(T, "index") and hasattr(T, "columns") and hasattr(T, "to_numpy"):
        names = [str(x) for x in T.index]
        columns = [str(x) for x in T.columns]
        if len(set(names)) != len(names):
            dup = sorted({x for x in names if names.count(x) > 1})
            raise ValueError(
                f"The task names of {param!r} in {caller} must be unique. Got duplicates "
                f"{dup}; rename them so every row and column names one task."
            )
        if len(names) == len(columns) and names != columns:
            raise ValueError(
                f"The row and column labels of {param!r} in {caller} must name the same tasks "
                f"in the same order. Got rows {names[:5]}... and columns {columns[:5]}...; "
                "reorder with T.loc[names, names]."
            )
        T = T.to_numpy()
    if isinstance(T, np.matrix):
        raise TypeError(
            f"np.matrix is not supported for {param!r} in {caller}; convert with np.asarray(T)."
        )
    try:
        A = np.asarray(T, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"The {param!r} parameter of {caller} must be a numeric square matrix. Got "
            f"non-numeric entries ({exc}); convert every cell to a number."
        ) from None
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(
            f"The {param!r} parameter of {caller} must be a square matrix of shape "
            f"(n_tasks, n_tasks). Got shape {A.shape}; pass one row and one column per task."
        )
    if A.shape[0] == 0:
        raise ValueError(
            f"The {param!r} parameter of {caller} must hold at least one task. Got shape "
            f"{A.shape}; pass a non-empty matrix."
        )
    if not np.all(np.isfinite(A)):
        bad = np.argwhere(~np.isfinite(A))[0]
        raise ValueError(
            f"The {param!r} parameter of {caller} must be finite. Got {A[tuple(bad)]} at "
            f"[{bad[0]}, {bad[1]}] ({int(np.sum(~np.isfinite(A)))} non-finite entries); "
            "fill unmeasured entries, e.g. with the row mean."
        )
    # Halves first: (A + A.T) overflows for entries near the float64 maximum, and
    # halving is exact for normal numbers, so the result is otherwise the same.
    S = 0.5 * A + 0.5 * A.T
    return S, names


def scale_affinity(S: np.ndarray) -> tuple[np.ndarray, float]:
    """Return ``(S / c, c)`` with ``c`` a power of two that brings ``max |S|`` into [1, 2).

    Every clusterer's labels are invariant to a positive factor, and a power of
    two divides without rounding (only entries ``2**-1000`` times smaller than
    the largest underflow), so solvers see entries of order one whatever the
    units: sums of ``n**2`` entries near ``1e308`` no longer overflow and
    entries near ``1e-300`` no longer underflow. Values are multiplied back by
    ``c`` when they are reported.
    """
    top = float(np.max(np.abs(S))) if S.size else 0.0
    if top == 0.0:
        return S, 1.0
    c = math.ldexp(1.0, math.frexp(top)[1] - 1)
    if c == 1.0:
        return S, 1.0
    return S / c, c


def check_finite_result(values: dict[str, Any], scale: float, *, caller: str) -> None:
    """Raise ``ValueError`` when a value reported in the units of ``T`` is not finite.

    After :func:`scale_affinity` the solvers work on entries of order one, so
    only the multiplication back by ``scale`` can overflow: the objective of
    ``n`` tasks can be ``n`` times the largest entry.
    """
    for name, value in values.items():
        if value is not None and not math.isfinite(value):
            raise ValueError(
                f"The {name} of {caller} is {value} in the units of T: it exceeds the float64 "
                f"range (largest |T| entry about {scale:.3g}). Divide T by a constant, e.g. "
                f"T / {scale:.0e}; the groups do not change."
            )


@overload
def check_n_clusters(
    n_clusters: Any,
    n_tasks: int,
    *,
    caller: str = ...,
    allow_auto: Literal[False] = ...,
    param: str = ...,
) -> int: ...


@overload
def check_n_clusters(
    n_clusters: Any,
    n_tasks: int,
    *,
    caller: str = ...,
    allow_auto: bool,
    param: str = ...,
) -> int | Literal["auto"]: ...


def check_n_clusters(
    n_clusters: Any,
    n_tasks: int,
    *,
    caller: str = "adagroup",
    allow_auto: bool = False,
    param: str = "n_clusters",
) -> int | Literal["auto"]:
    """Validate ``n_clusters`` (or another group count named ``param``) against ``n_tasks``.

    Returns the int, or ``"auto"`` when allowed and given.
    """
    if allow_auto and isinstance(n_clusters, str) and n_clusters == "auto":
        return "auto"
    auto = ' or "auto"' if allow_auto else ""
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, numbers.Integral):
        raise ValueError(
            f"The {param!r} parameter of {caller} must be an int in [1, n_tasks]{auto}. "
            f"Got {n_clusters!r} instead."
        )
    if not 1 <= int(n_clusters) <= n_tasks:
        hint = f"; n_tasks={n_tasks} should be >= {param}" if int(n_clusters) > n_tasks else ""
        raise ValueError(
            f"The {param!r} parameter of {caller} must be an int in [1, n_tasks={n_tasks}]"
            f"{auto}. Got {n_clusters!r} instead{hint}."
        )
    return int(n_clusters)


def check_labels(labels: Sequence[int] | np.ndarray, n_tasks: int, *, param: str = "labels"):
    """Validate a label vector of length ``n_tasks`` and relabel it to 0..k-1 by first use."""
    lab = np.asarray(labels)
    if lab.shape != (n_tasks,):
        raise ValueError(
            f"The {param!r} parameter must have shape (n_tasks,)=({n_tasks},). "
            f"Got shape {lab.shape}; give one group label per task."
        )
    return canonical_labels(lab)


def canonical_labels(labels: Sequence[int] | np.ndarray) -> np.ndarray:
    """Relabel groups 0, 1, ... in the order of their first task, so equal partitions are equal."""
    lab = np.asarray(labels)
    if lab.size == 0:
        return np.zeros(0, dtype=np.intp)
    _, first, inverse = np.unique(lab, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse.reshape(-1)].astype(np.intp)
