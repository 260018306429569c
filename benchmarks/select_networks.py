"""Network selection under a budget: the MILP against exhaustive search, and an n = 30 case.

Part 1, all subsets measured: random scores (standard normal) for every non-empty subset of
n tasks, both directions (higher is better, and losses), each budget B = 1..n. The
reference is exhaustive: the partition enumeration (tasks split into <= B blocks, each
served by its best superset), checked against the enumeration of every set of <= B networks
where that is small (n = 4). ``match`` counts budgets where the totals agree to 1e-9.

Part 2, n = 30 tasks and 500 measured subsets (30 singletons, all 435 pairs, then either
the 5 planted groups and 30, or 35, random subsets of 3..10 tasks) with scores from a planted
model (task base score + mean affinity to its partners + noise), B = 5. Measured subsets only
(exact), and with Standley's pair-average predictions for every unmeasured subset (2^30
candidates: those up to the largest size fitting in ``max_candidates`` go to the MILP, larger
ones go to column generation; ``gap`` is certified).

Usage::

    python benchmarks/select_networks.py            # part 1 for n = 4..8, part 2 (~30 s)
    python benchmarks/select_networks.py --sizes 4 5 --instances 2
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import numpy as np

from adagroup import select_networks
from adagroup.networks._oracle import brute_force, partition_oracle


def all_subsets(n: int, rng: np.random.Generator) -> dict[tuple[str, ...], dict[str, float]]:
    names = [f"t{i}" for i in range(n)]
    return {
        sub: {t: float(rng.normal()) for t in sub}
        for k in range(1, n + 1)
        for sub in itertools.combinations(names, k)
    }


def part1(sizes: list[int], instances: int) -> None:
    print("| n | candidates | budgets x instances x directions | match | MILP s (median) "
          "| exhaustive s (median) |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for n in sizes:
        names = [f"t{i}" for i in range(n)]
        match = runs = 0
        milp_s, ref_s = [], []
        for seed, sign in itertools.product(range(instances), (1.0, -1.0)):
            scores = all_subsets(n, np.random.default_rng(1000 * n + seed))
            oriented = {s: {t: sign * v for t, v in d.items()} for s, d in scores.items()}
            for budget in range(1, n + 1):
                t0 = time.perf_counter()
                sel = select_networks(scores, budget, lower_is_better=sign < 0)
                milp_s.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                ref = partition_oracle(oriented, names, budget)
                ref_s.append(time.perf_counter() - t0)
                if n == 4:
                    assert abs(brute_force(oriented, budget) - ref) < 1e-12
                runs += 1
                match += abs(sign * sel.total - ref) <= 1e-9 and sel.proven_optimal
        print(f"| {n} | {2**n - 1} | {runs} | {match}/{runs} | {statistics.median(milp_s):.3f} "
              f"| {statistics.median(ref_s):.3f} |")  # fmt: skip


def planted_30(
    rng: np.random.Generator, measure_groups: bool
) -> dict[tuple[str, ...], dict[str, float]]:
    n, groups = 30, 5
    names = [f"t{i:02d}" for i in range(n)]
    group = rng.integers(0, groups, n)
    base = rng.normal(0.7, 0.05, n)
    affinity = np.where(group[:, None] == group[None, :], 0.05, -0.03)
    affinity = affinity + rng.normal(0, 0.02, (n, n))

    def score(sub: tuple[int, ...]) -> dict[str, float]:
        out = {}
        for t in sub:
            gain = np.mean([affinity[t, j] for j in sub if j != t]) if len(sub) > 1 else 0.0
            out[names[t]] = float(base[t] + gain + rng.normal(0, 0.01))
        return out

    subsets = [(i,) for i in range(n)] + list(itertools.combinations(range(n), 2))
    if measure_groups:
        subsets += [tuple(int(i) for i in np.flatnonzero(group == g)) for g in range(groups)]
    while len(subsets) < 500:
        sub = tuple(sorted(int(i) for i in rng.choice(n, int(rng.integers(3, 11)), False)))
        if sub not in subsets:
            subsets.append(sub)
    return {tuple(names[t] for t in sub): score(sub) for sub in subsets}


def part2(budget: int, max_candidates: int) -> None:
    print(f"\nn = 30, 500 measured subsets, B = {budget}\n")
    print("| planted groups | candidates | method | chosen sizes | total | bound | gap "
          "| gap / total | proven | seconds |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for measure_groups in (True, False):
        scores = planted_30(np.random.default_rng(0), measure_groups)
        assert len(scores) == 500
        for label, kwargs in (
            ("measured only", {"predict_unmeasured": False}),
            ("+ predicted", {"max_candidates": max_candidates}),
        ):
            sel = select_networks(scores, budget, **kwargs)
            sizes = ", ".join(str(len(net)) for net in sorted(sel.networks, key=len))
            print(f"| {'measured' if measure_groups else 'not measured'} | {label}: "
                  f"{sel.n_candidates} | {sel.method} | {sizes} | {sel.total:.4f} "
                  f"| {sel.bound:.4f} | {sel.gap:.4f} | {sel.gap / abs(sel.total):.2%} "
                  f"| {sel.proven_optimal} | {sel.seconds:.2f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 5, 6, 7, 8])
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--budget", type=int, default=5)
    parser.add_argument("--max-candidates", type=int, default=20_000)
    args = parser.parse_args()
    part1(args.sizes, args.instances)
    part2(args.budget, args.max_candidates)


if __name__ == "__main__":
    main()
