"""The shared argument checks: one message shape for every layer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adagroup._validation import check_float, check_int, check_random_state


@pytest.mark.parametrize(
    ("kwargs", "value", "shown"),
    [
        ({"low": 0.0, "low_open": True}, 0.0, "a float > 0"),
        ({"low": 0.0}, -1e-9, "a float >= 0"),
        ({"low": 0.0, "high": 1.0, "low_open": True}, 1.5, "a float in (0, 1]"),
        ({"high": 2.0, "high_open": True}, 2.0, "a float < 2"),
        ({}, math.inf, "a float that is finite"),
        ({}, "0.5", "a float that is finite"),
        ({}, True, "a float that is finite"),
    ],
)
def test_check_float_names_parameter_owner_range_and_value(kwargs, value, shown):
    with pytest.raises(ValueError, match=r"The 'x' parameter of Owner must be ") as info:
        check_float(value, "x", caller="Owner", **kwargs)
    assert shown in str(info.value) and repr(value) in str(info.value)


def test_check_float_accepts_numpy_and_ints_and_returns_float():
    assert check_float(np.float32(0.5), "x", caller="O", low=0.0) == 0.5
    out = check_float(3, "x", caller="O", low=0.0, low_open=True)
    assert out == 3.0 and isinstance(out, float)


def test_check_int_range_and_none():
    assert check_int(np.int64(3), "n", caller="O", low=1, high=5) == 3
    assert check_int(None, "n", caller="O", allow_none=True) is None
    with pytest.raises(ValueError, match=r"'n' parameter of O must be an int in \[1, 5\]"):
        check_int(6, "n", caller="O", low=1, high=5)
    with pytest.raises(ValueError, match="must be an int >= 1 or None"):
        check_int(True, "n", caller="O", allow_none=True)


def test_check_random_state_forms():
    a = check_random_state(3).integers(1000)
    assert a == check_random_state(3).integers(1000)
    gen = np.random.default_rng(0)
    assert check_random_state(gen) is gen
    assert isinstance(check_random_state(np.random.RandomState(0)), np.random.Generator)
    with pytest.raises(ValueError, match="'random_state' parameter"):
        check_random_state("seed")
