"""Brute-force and cvxpy references shared by the SDP and certificate tests."""

from __future__ import annotations

import numpy as np
import pytest


def partitions(n: int, k: int):
    """All partitions of range(n) into exactly k non-empty groups (restricted growth)."""

    def rec(i, lab, m):
        if i == n:
            if m == k:
                yield np.array(lab)
            return
        for g in range(min(m + 1, k)):
            if n - i - 1 < k - max(m, g + 1):
                continue
            lab.append(g)
            yield from rec(i + 1, lab, max(m, g + 1))
            lab.pop()

    yield from rec(0, [], 0)


def cvxpy_sdp(S: np.ndarray, k: int) -> float:
    """The SDP optimum by cvxpy + SCS at tight tolerance (skips the test without cvxpy)."""
    cp = pytest.importorskip("cvxpy")
    n = S.shape[0]
    X = cp.Variable((n, n), PSD=True)
    prob = cp.Problem(
        cp.Maximize(cp.trace(S @ X)), [X @ np.ones(n) == 1, cp.trace(X) == k, X >= 0]
    )
    prob.solve(solver="SCS", eps=1e-9, max_iters=200000)
    return float(prob.value)
