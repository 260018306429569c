"""The argument checks every layer shares: one-line errors naming the parameter, the value and
the allowed range.

Each check raises ``ValueError("The 'name' parameter of Caller must be ... Got ... instead.")``,
so a message reads the same whichever module raised it. Checks specific to one layer (affinity
matrices, labels) live next to that layer's code.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Literal, overload

import numpy as np

__all__ = ["check_float", "check_int", "check_random_state"]


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


def check_float(
    value: Any,
    name: str,
    *,
    caller: str,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite float within the bounds, or raise one ValueError.

    ``low``/``high`` of None mean unbounded on that side; ``low_open`` and
    ``high_open`` exclude the bound itself (``low=0, low_open=True`` is "> 0").
    """
    ok = isinstance(value, (int, float, numbers.Real)) and not isinstance(value, bool)
    if ok:
        x = float(value)
        ok = math.isfinite(x)
        if ok and low is not None:
            ok = x > low if low_open else x >= low
        if ok and high is not None:
            ok = x < high if high_open else x <= high
    if not ok:
        if low is not None and high is not None:
            bounds = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        elif low is not None:
            bounds = f"{'>' if low_open else '>='} {low:g}"
        elif high is not None:
            bounds = f"{'<' if high_open else '<='} {high:g}"
        else:
            bounds = "that is finite"
        raise ValueError(
            f"The {name!r} parameter of {caller} must be a float {bounds}. Got {value!r} instead."
        )
    return float(value)
