"""Cost of ``SDPClustering(n_clusters="auto")`` in single solves, measured in the same run.

For each matrix the script times (best of ``--repeats``) an automatic-k fit over
``k = 1..10`` and a single fit at the ``k`` it chose, and prints their ratio:
the issue's goal is an automatic k that costs at most a few single solves.

Run from the repository root::

    python benchmarks/auto_k_speed.py
    python benchmarks/auto_k_speed.py --n 100 300 --repeats 7
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from adagroup.cluster import SDPClustering
from adagroup.datasets import make_fig2_affinity, make_planted_affinity


def matrices(n: int, seed: int):
    yield "fig2", make_fig2_affinity(n, random_state=seed)[0]
    sizes = [n // 4] * 3 + [n - 3 * (n // 4)]
    yield (
        "noisy",
        make_planted_affinity(sizes, within_std=1.0, between_std=1.0, random_state=seed)[0],
    )
    G = np.random.default_rng(seed).normal(size=(n, n))
    yield "gauss", (G + G.T) / 2


def best_time(fit, repeats: int) -> tuple[float, object]:
    best, est = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        est = fit()
        best = min(best, time.perf_counter() - t)
    return best, est


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", nargs="+", type=int, default=[100, 300])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    print("| matrix | n | seed | k chosen | auto_s | single_s | auto / single |")
    print("|---|---|---|---|---|---|---|")
    ratios = []
    for n in args.n:
        for seed in args.seeds:
            for name, T in matrices(n, seed):
                auto_s, est = best_time(
                    lambda T=T: SDPClustering(n_clusters="auto", random_state=0).fit(T),
                    args.repeats,
                )
                k = est.n_clusters_
                one_s, _ = best_time(
                    lambda T=T, k=k: SDPClustering(n_clusters=k, random_state=0).fit(T),
                    args.repeats,
                )
                ratios.append(auto_s / one_s)
                print(
                    f"| {name} | {n} | {seed} | {k} | {auto_s:.3f} | {one_s:.3f} | "
                    f"{auto_s / one_s:.1f} |",
                    flush=True,
                )
    print(f"\nmedian auto / single: {np.median(ratios):.1f}; max {max(ratios):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
