"""Exhaustive references for tiny cases: test and benchmark oracles, never a solver path.

Both take ``value[subset][task]``, oriented (higher is better), for every candidate subset,
and return the best total of at most ``budget`` networks (``-inf`` when none serves all).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence

__all__ = ["brute_force", "partition_oracle"]

Value = Mapping[tuple[str, ...], Mapping[str, float]]


def brute_force(value: Value, budget: int) -> float:
    """Try every set of at most ``budget`` networks (``sum_b C(m, b)`` sets)."""
    tasks = sorted({t for sub in value for t in sub})
    nets = list(value)
    best = -math.inf
    for b in range(1, budget + 1):
        for chosen in itertools.combinations(nets, b):
            total = 0.0
            for t in tasks:
                vals = [value[s][t] for s in chosen if t in value[s]]
                if not vals:
                    break
                total += max(vals)
            else:
                best = max(best, total)
    return best


def partition_oracle(value: Value, tasks: Sequence[str], budget: int) -> float:
    """Split the tasks into at most ``budget`` blocks, each served by its best superset.

    Equal to :func:`brute_force`: the tasks that one chosen network serves form a block,
    and a block is best served by the superset maximising its members' total. Bell(n)
    partitions, so usable to n ~ 8.
    """
    sets = [(frozenset(s), v) for s, v in value.items()]

    def best_block(block: frozenset[str]) -> float:
        return max((sum(v[t] for t in block) for s, v in sets if block <= s), default=-math.inf)

    return max(
        (
            sum(best_block(frozenset(b)) for b in p)
            for p in _partitions(list(tasks))
            if len(p) <= budget
        ),
        default=-math.inf,
    )


def _partitions(items: list[str]) -> Iterator[list[list[str]]]:
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for p in _partitions(rest):
        yield [[first], *p]
        for i in range(len(p)):
            yield [*p[:i], [first, *p[i]], *p[i + 1 :]]
