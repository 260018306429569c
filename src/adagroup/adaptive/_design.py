"""Which subsets AdaGroup trains next: the cover of new tasks, targeted and uniform runs.

All functions work on task indices and return sorted index tuples that are not in
``taken`` (the subsets the trajectory already planned), so a plan never repeats a
run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from ..sampling import cover_pairs

__all__ = [
    "contested_groups",
    "cover_groups",
    "first_batch_cover",
    "merge_test_subsets",
    "targeted_subsets",
    "uniform_subsets",
]

Subset = tuple[int, ...]


def _key(items: Iterable[int]) -> Subset:
    return tuple(sorted(int(i) for i in set(items)))


def cover_groups(
    new: Sequence[int],
    groups: Sequence[Sequence[int]],
    size: int,
    taken: set[Subset],
    rng: np.random.Generator,
) -> list[Subset]:
    """Subsets in which every new task meets every existing group (Procedure 2's cover).

    Each subset holds one new task and one member of each of ``size - 1``
    different groups (members in turn), so a new task meets all ``k`` groups in
    ``ceil(k / (size - 1))`` subsets; its last one is smaller when fewer groups
    are left. One new task per subset keeps its readings clean: with two new
    tasks in a subset, their mutual effect and the group's cannot be told apart.
    The members read the new task cleanly too, since their effects on each other
    are known from earlier rounds. Measured on real training against one group
    per subset (``size - 1`` members of it, ``k`` subsets per new task): with
    spread loss scales 4, 8, 13 of 15 cases at 2n, 3n, 6n runs instead of 0, 4,
    11; with equal scales 11 and 13 at 3n and 4n instead of 9 and 12, but 2
    instead of 4 at 2n. Filling the smaller last subset with more members of its
    groups did worse with spread scales (0, 4, 11 of 15 at 2n, 3n, 6n). Without a
    cover a new task can miss its own group by chance and then nothing places it.
    """
    if not groups or not new or size < 2:
        return []
    slots = size - 1
    order = [groups[int(i)] for i in rng.permutation(len(groups))]
    members = [[g[int(i)] for i in rng.permutation(len(g))] for g in order]
    turn = [0] * len(order)
    out: list[Subset] = []
    seen = set(taken)
    for x in (new[int(i)] for i in rng.permutation(len(new))):
        visit = [int(c) for c in rng.permutation(len(order))]
        for start in range(0, len(visit), slots):
            picks = []
            for c in visit[start : start + slots]:
                if members[c]:
                    picks.append(members[c][turn[c] % len(members[c])])
                    turn[c] += 1
            subset = _key([x, *picks])
            if len(subset) > 1 and subset not in seen:
                seen.add(subset)
                out.append(subset)
    return out


def first_batch_cover(
    tasks: Sequence[int], size: int, taken: set[Subset], rng: np.random.Generator
) -> list[Subset]:
    """Subsets of ``size`` in which every pair of ``tasks`` is trained together at least once.

    A greedy covering design (:func:`adagroup.cover_pairs`), about
    ``C(b, 2) / C(size, 2)`` subsets. Measured on real training, grouping from a
    pair cover beat uniform subsets of the same count at low budgets: the
    pooled pair-level estimate needs every pair seen once more than it needs
    any pair seen twice.
    """
    tasks = list(tasks)
    if len(tasks) < 2 or size < 2:
        return []
    size = min(size, len(tasks))
    seed = int(rng.integers(2**31))
    plan = [_key(tasks[i] for i in s) for s in cover_pairs(len(tasks), size, random_state=seed)]
    return [s for s in plan if s not in taken]


def uniform_subsets(
    tasks: Sequence[int],
    size: int,
    count: int,
    taken: set[Subset],
    rng: np.random.Generator,
) -> list[Subset]:
    """Up to ``count`` distinct subsets of ``size`` of ``tasks`` drawn uniformly, new ones only."""
    size = min(size, len(tasks))
    if count <= 0 or size < 2:
        return []
    available = math.comb(len(tasks), size)
    out: list[Subset] = []
    seen = set(taken)
    tasks = list(tasks)
    # Rejection sampling is bounded: most draws are new unless nearly every subset is taken.
    for _ in range(20 * count + 20):
        if len(out) >= count or len(seen) >= available + len(taken):
            break
        subset = _key(tasks[int(i)] for i in rng.choice(len(tasks), size, replace=False))
        if subset not in seen:
            seen.add(subset)
            out.append(subset)
    return out


def targeted_subsets(
    labels: np.ndarray,
    coassignment: np.ndarray,
    stability: np.ndarray,
    met: np.ndarray,
    size: int,
    count: int,
    taken: set[Subset],
    rng: np.random.Generator,
    *,
    confidence: float,
    affinity: np.ndarray | None = None,
) -> list[Subset]:
    """Runs that test unstable tasks against the groups they might belong to.

    Tasks whose stability is below ``confidence`` are taken least stable first.
    A task's candidate groups are its own, every other group that shares
    it in at least 10 % of the posterior draws or that it has met in
    fewer than two runs, and (given ``affinity``) the other group it is
    closest to on average, most plausible first. The closest group is tested
    even when the draws agree: a true group split in two is only merged again
    once its halves are trained together, and the draws cannot propose what the
    runs never measured. Each pass over the tasks trains
    every task once with ``size - 1`` members of its next candidate group (those
    it has met least first), until ``count`` subsets are planned.
    """
    labels = np.asarray(labels)
    n = len(labels)
    if count <= 0 or size < 2 or n < 2:
        return []
    k = int(labels.max()) + 1
    members = [np.flatnonzero(labels == c) for c in range(k)]
    order = [int(x) for x in np.argsort(stability, kind="stable") if stability[x] < confidence]
    plans: list[list[int]] = []
    for x in order:
        others = [m[m != x] for m in members]
        mass = np.array([coassignment[x, m].mean() if m.size else 0.0 for m in others])
        runs_with = np.array([met[x, m].sum() if m.size else np.inf for m in others])
        near = -1
        if affinity is not None and k > 1:
            pull = np.array(
                [affinity[x, m].mean() if m.size and c != labels[x] else -np.inf
                 for c, m in enumerate(others)]
            )  # fmt: skip
            near = int(np.argmax(pull))
        plausible = [c for c in range(k) if mass[c] >= 0.1 or runs_with[c] < 2 or c == near]
        plausible.sort(key=lambda c: (-mass[c], runs_with[c]))
        plans.append([x, *plausible])
    out: list[Subset] = []
    seen = set(taken)
    # Round r tests every unstable task against its r-th candidate (cycling), so the budget
    # is spread over tasks before any task gets a second run.
    for r in range(4):
        for x, *cands in plans:
            if len(out) >= count:
                return out
            if not cands:
                continue
            pool = members[cands[r % len(cands)]]
            pool = pool[pool != x]
            if pool.size == 0:
                continue
            # Least-met partners first, ties broken at random.
            keys = met[x, pool] + rng.random(pool.size) * 0.5
            for attempt in range(3):
                if attempt == 0:
                    pick = pool[np.argsort(keys)][: size - 1]
                else:
                    pick = rng.choice(pool, min(size - 1, pool.size), replace=False)
                subset = _key([x, *pick.tolist()])
                if len(subset) > 1 and subset not in seen:
                    seen.add(subset)
                    out.append(subset)
                    break
    return out


def contested_groups(
    labels: np.ndarray, affinity: np.ndarray, met: np.ndarray, min_coverage: float
) -> list[tuple[int, int]]:
    """Pairs of groups that attract each other but were rarely trained together.

    Two groups are contested when the mean affinity over their measured cross
    pairs is positive (their tasks help each other more than an average partner
    does) while fewer than ``min_coverage`` of the cross pairs were ever trained
    together. A true group split in two looks like this: the pairs across the
    split are the ones the design measured least, and a pair measured once reads
    lower than one measured often (its run's two partners share one reading), so
    the split stays until the halves are trained together.
    """
    labels = np.asarray(labels)
    k = int(labels.max()) + 1 if labels.size else 0
    out = []
    for a in range(k):
        for b in range(a + 1, k):
            block = np.ix_(labels == a, labels == b)
            seen = met[block] > 0
            if seen.any() and affinity[block][seen].mean() > 0 and seen.mean() < min_coverage:
                out.append((a, b))
    return out


def merge_test_subsets(
    labels: np.ndarray,
    contested: Sequence[tuple[int, int]],
    met: np.ndarray,
    size: int,
    count: int,
    taken: set[Subset],
    rng: np.random.Generator,
) -> list[Subset]:
    """Runs that train contested groups together: one task of one with ``size - 1`` of the other.

    Tasks take turns from both sides, least-trained-across first, each with the
    members of the other group it has met least, so every run measures cross
    pairs that were not measured yet where there are any.
    """
    labels = np.asarray(labels)
    met = np.array(met, dtype=np.float64)  # counts the runs planned here too
    out: list[Subset] = []
    seen = set(taken)
    for a, b in contested:
        sides = [np.flatnonzero(labels == a), np.flatnonzero(labels == b)]
        turns = [(int(x), 1) for x in rng.permutation(sides[0])]
        turns += [(int(x), 0) for x in rng.permutation(sides[1])]
        turns.sort(key=lambda t: met[t[0], sides[t[1]]].sum())
        for x, other in turns:
            if len(out) >= count:
                return out
            pool = sides[other]
            keys = met[x, pool] + rng.random(pool.size) * 0.5
            subset = _key([x, *pool[np.argsort(keys)][: size - 1].tolist()])
            if len(subset) > 1 and subset not in seen:
                seen.add(subset)
                out.append(subset)
                met[np.ix_(subset, subset)] += 1.0
    return out
