"""Input checks shared by every clusterer: one-line errors naming parameter, value and fix."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, Literal, overload

import numpy as np

__all__ = [
    "check_affinity",
    "check_int",
    "check_n_clusters",
    "check_random_state",
    "check_labels",
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


@overload
def check_int(
    value: Any,
    name: str,
    *,
    caller: str,
    low: int = ...,
    high: int | None = ...,
    allow_none: Literal[False] = ...,
) -> int: ...


@overload
def check_int(
    value: Any,
    name: str,
    *,
    caller: str,
    low: int = ...,
    high: int | None = ...,
    allow_none: bool,
) -> int | None: ...


def check_int(
    value: Any,
    name: str,
    *,
    caller: str,
    low: int = 1,
    high: int | None = None,
    allow_none: bool = False,
) -> int | None:
    """Return ``value`` as an int in ``[low, high]`` (or None when allowed).

    Raises a ValueError naming the parameter, its owner, the allowed range and
    the value, the one message every integer argument of adagroup uses.
    """
    if value is None and allow_none:
        return None
    bad = isinstance(value, bool) or not isinstance(value, numbers.Integral)
    if bad or value < low or (high is not None and value > high):
        bounds = f"in [{low}, {high}]" if high is not None else f">= {low}"
        extra = " or None" if allow_none else ""
        raise ValueError(
            f"The {name!r} parameter of {caller} must be an int {bounds}{extra}. "
            f"Got {value!r} instead."
        )
    return int(value)


def check_random_state(random_state: Any) -> np.random.Generator:
    """Turn ``None``, an int, a ``Generator`` or a ``RandomState`` into a ``Generator``."""
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, numbers.Integral):
        return np.random.default_rng(int(random_state))
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    raise ValueError(
        "The 'random_state' parameter must be None, an int, a numpy Generator or RandomState. "
        f"Got {random_state!r} instead."
    )


def check_labels(labels: Sequence[int] | np.ndarray, n_tasks: int, *, param: str = "labels"):
    """Validate a label vector of length ``n_tasks`` and relabel it to 0..k-1 by first use."""
    lab = np.asarray(labels)
    if lab.shape != (n_tasks,):
        raise ValueError(
            f"The {param!r} parameter must have shape (n_tasks,)=({n_tasks},). "
            f"Got shape {lab.shape}; give one group label per task."
        )
    _, first, inverse = np.unique(lab, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse].astype(np.intp)
