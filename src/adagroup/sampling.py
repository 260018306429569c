"""Plan which subsets of tasks to train: uniform, all pairs, singletons, adaptive, covering.

Every sampler returns a list of distinct, sorted tuples of task *indices*, ready
for :meth:`adagroup.Study.enqueue` (map them to names with ``TaskSet``). They
are pure functions of their arguments and ``random_state``: the same call gives
the same plan, so re-planning a study is idempotent.

References
----------
.. [1] The AdaGroup paper: higher-order task affinity estimated from random
   subsets of size alpha (Eq. 6), and Procedure 2, which pairs a batch of new
   tasks with one existing group at a time.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ._validation import check_int, check_random_state

__all__ = [
    "adaptive_subsets",
    "all_pairs",
    "cover_pairs",
    "sample_subsets",
    "singletons",
]

Subset = tuple[int, ...]


def _normalize_subsets(subsets: Iterable[Iterable[int]], name: str, caller: str) -> set[Subset]:
    """Turn an iterable of index collections into a set of sorted int tuples."""
    out: set[Subset] = set()
    for s in subsets:
        try:
            out.add(tuple(sorted(int(i) for i in s)))
        except (TypeError, ValueError):
            raise TypeError(
                f"The {name!r} parameter of {caller} must be an iterable of subsets of task "
                f"indices. Got the element {s!r}; pass e.g. [(0, 1), (2, 3)]."
            ) from None
    return out


def all_pairs(n_tasks: int) -> list[Subset]:
    """Return every pair of tasks, the classic pairwise design of n(n-1)/2 runs.

    Parameters
    ----------
    n_tasks : int
        Number of tasks, at least 2.

    Returns
    -------
    list of tuple of int
        ``[(0, 1), (0, 2), ..., (n_tasks - 2, n_tasks - 1)]`` in lexicographic order.

    Examples
    --------
    >>> all_pairs(3)
    [(0, 1), (0, 2), (1, 2)]
    """
    n = check_int(n_tasks, "n_tasks", caller="all_pairs", low=2)
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


def singletons(n_tasks: int) -> list[Subset]:
    """Return one subset per task, for single-task baselines (the pairwise estimator needs them).

    Parameters
    ----------
    n_tasks : int
        Number of tasks, at least 1.

    Returns
    -------
    list of tuple of int
        ``[(0,), (1,), ..., (n_tasks - 1,)]``.

    Examples
    --------
    >>> singletons(3)
    [(0,), (1,), (2,)]
    """
    n = check_int(n_tasks, "n_tasks", caller="singletons", low=1)
    return [(i,) for i in range(n)]


def sample_subsets(
    n_tasks: int,
    size: int,
    n_subsets: int,
    *,
    random_state: Any = None,
    exclude: Iterable[Iterable[int]] = (),
    ensure_coverage: bool = False,
) -> list[Subset]:
    """Draw distinct task subsets of one size uniformly at random (the higher-order design).

    Parameters
    ----------
    n_tasks : int
        Number of tasks, at least 1.
    size : int
        Number of tasks per subset (the paper's alpha), in ``[1, n_tasks]``.
    n_subsets : int
        Number of distinct subsets to return (the paper's m), at most
        ``C(n_tasks, size)`` minus the excluded ones.
    random_state : None, int, numpy Generator or RandomState, default=None
        Seed of the draw.
    exclude : iterable of iterable of int, default=()
        Subsets that must not be drawn again, e.g. those a study already holds.
        Only excluded subsets of the requested ``size`` reduce what is available.
    ensure_coverage : bool, default=False
        If True, start from :func:`cover_pairs` so that every pair of tasks
        shares at least one subset (the mean estimator then has no unmeasured
        entry), and fill the rest uniformly. The plan is then no longer a
        uniform draw. Raises if the cover needs more than ``n_subsets``.

    Returns
    -------
    list of tuple of int
        ``n_subsets`` distinct subsets, each a sorted tuple of ``size`` indices,
        in the order drawn.

    Raises
    ------
    ValueError
        If a parameter is out of range, or more distinct subsets are requested
        than exist.

    Notes
    -----
    When at least half of the available subsets are requested, all of them are
    enumerated and a random selection is taken; otherwise subsets are drawn
    one at a time and repeats are rejected (under two draws per subset on
    average). Both give every distinct set of ``n_subsets`` subsets the same
    probability.

    Examples
    --------
    >>> plan = sample_subsets(6, 3, 4, random_state=0)
    >>> len(plan), len(set(plan)), all(len(s) == 3 for s in plan)
    (4, 4, True)
    """
    caller = "sample_subsets"
    n = check_int(n_tasks, "n_tasks", caller=caller, low=1)
    size = check_int(size, "size", caller=caller, low=1, high=n)
    m = check_int(n_subsets, "n_subsets", caller=caller, low=0)
    excluded = {
        s
        for s in _normalize_subsets(exclude, "exclude", caller)
        if len(s) == size and all(0 <= i < n for i in s) and len(set(s)) == size
    }
    total = math.comb(n, size)
    available = total - len(excluded)
    if m > available:
        extra = f" (after excluding {len(excluded)})" if excluded else ""
        raise ValueError(
            f"The 'n_subsets' parameter of {caller} asks for {m} distinct subsets of size "
            f"{size} from n_tasks={n}, but only C({n}, {size})={total} exist, {available} "
            f"available{extra}. Lower n_subsets or change size."
        )
    rng = check_random_state(random_state)
    chosen: list[Subset] = []
    if ensure_coverage:
        chosen = cover_pairs(n, size, random_state=rng, exclude=excluded)
        if len(chosen) > m:
            raise ValueError(
                f"The 'n_subsets' parameter of {caller} is {m}, but covering every pair of "
                f"{n} tasks with subsets of size {size} took {len(chosen)} subsets (at least "
                f"{_pair_cover_lower_bound(n, size)} are needed). Raise n_subsets or size, or "
                "set ensure_coverage=False."
            )
    taken = excluded | set(chosen)
    chosen += _draw_uniform(n, size, m - len(chosen), rng, taken, available - len(chosen))
    return chosen


def _pair_cover_lower_bound(n: int, size: int) -> int:
    """Schönheim-style counting bound: each subset covers at most C(size, 2) pairs."""
    if size < 2:
        return 0
    return math.ceil(math.comb(n, 2) / math.comb(size, 2))


def _draw_uniform(
    n: int, size: int, m: int, rng: np.random.Generator, taken: set[Subset], available: int
) -> list[Subset]:
    """Draw ``m`` distinct sorted subsets of ``range(n)`` not in ``taken``."""
    if m <= 0:
        return []
    if 2 * m >= available:
        # Dense request: enumerating is cheap because the total is at most about 2 m
        # plus what is taken, and it avoids a rejection loop that would slow to a crawl.
        pool = [s for s in _combinations(n, size) if s not in taken]
        pick = rng.choice(len(pool), size=m, replace=False)
        return [pool[int(i)] for i in pick]
    out: list[Subset] = []
    seen = set(taken)
    while len(out) < m:
        s = tuple(sorted(int(i) for i in rng.choice(n, size=size, replace=False)))
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def _combinations(n: int, size: int) -> Iterable[Subset]:
    from itertools import combinations

    return combinations(range(n), size)


def cover_pairs(
    n_tasks: int,
    size: int,
    *,
    pairs: Iterable[tuple[int, int]] | None = None,
    random_state: Any = None,
    exclude: Iterable[Iterable[int]] = (),
) -> list[Subset]:
    """Return few subsets of one size such that every pair of interest shares a subset.

    A greedy covering design: start each subset from a random uncovered pair,
    then add the task that covers the most still-uncovered pairs with the tasks
    already in it (ties broken at random), until the subset has ``size`` tasks.
    Pairs covered by ``exclude`` (subsets already trained) count as covered.

    Parameters
    ----------
    n_tasks : int
        Number of tasks, at least 2.
    size : int
        Tasks per subset, in ``[2, n_tasks]``.
    pairs : iterable of (int, int), default=None
        The pairs that must be covered; all ``n_tasks (n_tasks - 1) / 2`` pairs
        by default.
    random_state : None, int, numpy Generator or RandomState, default=None
        Seed of the tie-breaking.
    exclude : iterable of iterable of int, default=()
        Subsets already planned: never returned again, and their pairs count
        as covered.

    Returns
    -------
    list of tuple of int
        Distinct sorted subsets of ``size`` tasks. Their number is within a
        small factor of the bound ``ceil(C(n, 2) / C(size, 2))`` for all pairs.

    Raises
    ------
    ValueError
        If a parameter is out of range or a pair names a task outside
        ``[0, n_tasks)`` or the same task twice.

    Examples
    --------
    >>> plan = cover_pairs(5, 3, random_state=0)
    >>> covered = {(a, b) for s in plan for a in s for b in s if a < b}
    >>> len(covered)
    10
    """
    caller = "cover_pairs"
    n = check_int(n_tasks, "n_tasks", caller=caller, low=2)
    size = check_int(size, "size", caller=caller, low=2, high=n)
    rng = check_random_state(random_state)
    need = np.zeros((n, n), dtype=bool)
    if pairs is None:
        need[np.triu_indices(n, 1)] = True
    else:
        for p in pairs:
            a, b = (int(x) for x in p)
            if not (0 <= a < n and 0 <= b < n) or a == b:
                raise ValueError(
                    f"The 'pairs' parameter of {caller} must hold pairs of two different task "
                    f"indices in [0, {n}). Got {tuple(p)!r}; drop it or raise n_tasks."
                )
            need[a, b] = need[b, a] = True
    need = need | need.T
    taken = _normalize_subsets(exclude, "exclude", caller)
    for s in taken:
        idx = np.asarray([i for i in s if 0 <= i < n], dtype=np.intp)
        need[np.ix_(idx, idx)] = False
    np.fill_diagonal(need, False)

    out: list[Subset] = []
    while need.any():
        rows, cols = np.nonzero(np.triu(need))
        k = int(rng.integers(len(rows)))
        members = [int(rows[k]), int(cols[k])]
        in_set = np.zeros(n, dtype=bool)
        in_set[members] = True
        gain = need[members].sum(axis=0)
        while len(members) < size:
            g = np.where(in_set, -1, gain)
            best = np.flatnonzero(g == g.max())
            nxt = int(best[rng.integers(len(best))])
            members.append(nxt)
            in_set[nxt] = True
            gain = gain + need[nxt]
        subset = tuple(sorted(members))
        if subset in taken:
            # Only possible when every pair it covers was already covered, which the
            # seeding pair rules out; kept as a guard against an endless loop.
            raise RuntimeError(f"cover_pairs produced an excluded subset {subset}")
        taken.add(subset)
        out.append(subset)
        idx = np.asarray(subset, dtype=np.intp)
        need[np.ix_(idx, idx)] = False
    return out


def adaptive_subsets(
    new_tasks: Sequence[int],
    groups: Sequence[Sequence[int]],
    *,
    size: int,
    n_subsets: int,
    random_state: Any = None,
    exclude: Iterable[Iterable[int]] = (),
    ensure_coverage: bool = False,
) -> list[Subset]:
    """Plan subsets that mix a batch of new tasks with one existing group (Procedure 2).

    Each subset is drawn from ``new_tasks ∪ group`` for a single existing group,
    so that every run measures how new tasks transfer to and from that group.

    Parameters
    ----------
    new_tasks : sequence of int
        Indices of the tasks arriving in this batch (non-empty, distinct).
    groups : sequence of sequence of int
        The current grouping of the tasks already seen: disjoint, non-empty
        index lists that do not contain new tasks. May be empty (first batch),
        in which case subsets are drawn from the new tasks alone.
    size : int
        Tasks per subset, at least 1. A group whose pool ``new ∪ group`` has
        fewer tasks gets subsets of the whole pool's size instead.
    n_subsets : int
        Number of distinct subsets to return.
    random_state : None, int, numpy Generator or RandomState, default=None
        Seed of the draw.
    exclude : iterable of iterable of int, default=()
        Subsets already planned or trained; they are not drawn again.
    ensure_coverage : bool, default=False
        If True, first cover, inside each group's pool, every pair made of a
        new task and a task of that group (and, with the first group in the
        random order, every pair of new tasks) with :func:`cover_pairs`; then
        fill the rest as usual. Raises if the covers need more than
        ``n_subsets`` subsets.

    Returns
    -------
    list of tuple of int
        Distinct sorted subsets.

    Raises
    ------
    ValueError
        If an argument is out of range, the groups overlap or contain new
        tasks, or fewer distinct subsets exist than requested.

    Notes
    -----
    Choices the paper leaves open, made here:

    * **Which group.** Groups are visited round-robin in a random order, so
      with ``n_subsets >= len(groups)`` every group is paired with the batch
      and the counts per group differ by at most one. A group whose pool has
      no subset left is skipped.
    * **Which tasks.** With ``s = min(size, |pool|)``, a subset is uniform
      among the size-``s`` subsets of the pool that hold at least one new and
      at least one old task (when ``s >= 2``; a subset of one holds a new
      task). This is exact, not by rejection: the number ``k`` of new tasks is
      drawn with probability proportional to ``C(b, k) C(g, s - k)``, then
      ``k`` new and ``s - k`` old tasks are drawn uniformly.

    Examples
    --------
    >>> plan = adaptive_subsets([6, 7], [[0, 1, 2], [3, 4, 5]], size=3, n_subsets=4,
    ...                         random_state=0)
    >>> all(any(t in s for t in (6, 7)) for s in plan)
    True
    >>> all(set(s) - {6, 7} <= {0, 1, 2} or set(s) - {6, 7} <= {3, 4, 5} for s in plan)
    True
    """
    caller = "adaptive_subsets"
    new = _check_index_list(new_tasks, "new_tasks", caller)
    if not new:
        raise ValueError(
            f"The 'new_tasks' parameter of {caller} must hold at least one task index. "
            "Got an empty sequence; pass the indices of the batch being added."
        )
    olds = [_check_index_list(g, "groups", caller) for g in groups]
    seen: set[int] = set()
    for gi, g in enumerate(olds):
        if not g:
            raise ValueError(
                f"The 'groups' parameter of {caller} must hold non-empty groups. Group {gi} "
                "is empty; drop it."
            )
        clash = (seen | set(new)) & set(g)
        if clash:
            raise ValueError(
                f"The 'groups' parameter of {caller} must hold disjoint groups without new "
                f"tasks. Group {gi} repeats task(s) {sorted(clash)}; list each task once."
            )
        seen |= set(g)
    # A subset of one task cannot mix a new task with a group member.
    size = check_int(size, "size", caller=caller, low=2)
    m = check_int(n_subsets, "n_subsets", caller=caller, low=0)
    rng = check_random_state(random_state)
    taken = _normalize_subsets(exclude, "exclude", caller)

    if not olds:
        # First batch: there is no group to pair with, so plan within the batch.
        s = min(size, len(new))
        local = sample_subsets(
            len(new),
            s,
            m,
            random_state=rng,
            exclude=[_to_local(t, new) for t in taken if set(t) <= set(new)],
            ensure_coverage=ensure_coverage and s >= 2,
        )
        return [tuple(sorted(new[i] for i in t)) for t in local]

    order = [int(i) for i in rng.permutation(len(olds))]
    pools = [_Pool(new, olds[gi], size, taken) for gi in order]
    capacity = sum(p.capacity for p in pools)
    if m > capacity:
        raise ValueError(
            f"The 'n_subsets' parameter of {caller} asks for {m} distinct subsets, but the "
            f"{len(olds)} group(s) paired with {len(new)} new task(s) at size {size} allow "
            f"only {capacity}. Lower n_subsets or raise size."
        )
    out: list[Subset] = []
    if ensure_coverage:
        for rank, pool in enumerate(pools):
            out += pool.cover(rng, with_new_pairs=rank == 0)
        if len(out) > m:
            raise ValueError(
                f"The 'n_subsets' parameter of {caller} is {m}, but covering every (new, old) "
                f"pair took {len(out)} subsets. Raise n_subsets or size, or set "
                "ensure_coverage=False."
            )
    turn = 0
    while len(out) < m:
        pool = pools[turn % len(pools)]
        turn += 1
        if pool.remaining > 0:
            out.append(pool.draw(rng))
    return out


def _check_index_list(values: Any, name: str, caller: str) -> list[int]:
    """Validate a sequence of distinct non-negative int indices."""
    try:
        out = [int(v) for v in values]
        ok = all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values)
    except (TypeError, ValueError):
        ok = False
    if not ok or any(v < 0 for v in out) or len(set(out)) != len(out):
        raise ValueError(
            f"The {name!r} parameter of {caller} must hold distinct non-negative int task "
            f"indices. Got {values!r}; map task names to indices with TaskSet."
        )
    return out


def _to_local(subset: Subset, members: Sequence[int]) -> Subset:
    pos = {t: i for i, t in enumerate(members)}
    return tuple(sorted(pos[t] for t in subset))


class _Pool:
    """The valid subsets of ``new ∪ group`` for one group, and which are still free."""

    def __init__(self, new: list[int], group: list[int], size: int, taken: set[Subset]):
        self.new, self.group = new, group
        b, g = len(new), len(group)
        self.s = s = min(size, b + g)
        if s >= 2:
            ks = np.arange(max(1, s - g), min(b, s - 1) + 1)
        else:
            ks = np.array([1])
        self.ks = ks
        self.weights = np.array([math.comb(b, k) * math.comb(g, s - k) for k in ks], float)
        self.taken = taken  # shared across pools: a subset planned anywhere is planned
        members = set(new) | set(group)
        used = sum(1 for t in taken if len(t) == s and set(t) <= members and self._valid(t))
        self.capacity = int(self.weights.sum()) - used
        self.remaining = self.capacity

    def _valid(self, t: Subset) -> bool:
        k = len(set(t) & set(self.new))
        return bool(np.isin(k, self.ks))

    def draw(self, rng: np.random.Generator) -> Subset:
        p = self.weights / self.weights.sum()
        # Rejection sampling; bounded so that a miscounted capacity fails loudly, not forever.
        for _ in range(1000 * (int(self.weights.sum()) + 1)):
            k = int(self.ks[rng.choice(len(self.ks), p=p)])
            picked = list(rng.choice(self.new, size=k, replace=False))
            picked += list(rng.choice(self.group, size=self.s - k, replace=False))
            t = tuple(sorted(int(x) for x in picked))
            if t not in self.taken:
                self._take(t)
                return t
        raise RuntimeError(
            f"No free subset left in the pool of new tasks {self.new} and group {self.group} "
            f"(size {self.s}); ask for fewer subsets."
        )

    def _take(self, t: Subset) -> None:
        self.taken.add(t)
        self.remaining -= 1

    def cover(self, rng: np.random.Generator, *, with_new_pairs: bool) -> list[Subset]:
        if self.s < 2:
            return []
        members = self.new + self.group
        b = len(self.new)
        pairs = [(i, j) for i in range(b) for j in range(b, len(members))]
        if with_new_pairs:
            pairs += [(i, j) for i in range(b) for j in range(i + 1, b)]
        local_taken = [_to_local(t, members) for t in self.taken if set(t) <= set(members)]
        plan = cover_pairs(
            len(members), self.s, pairs=pairs, random_state=rng, exclude=local_taken
        )
        out = []
        for t in plan:
            glob = tuple(sorted(members[i] for i in t))
            if self._valid(glob):
                self._take(glob)
                out.append(glob)
            else:
                # A cover subset made of new tasks only (covering new-new pairs) is outside
                # this group's pool; it still answers the coverage goal, so keep it.
                self.taken.add(glob)
                out.append(glob)
        return out
