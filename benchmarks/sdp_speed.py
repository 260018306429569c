"""Speed of adagroup's SDP clustering against cvxpy + SCS on planted matrices.

Planted matrices use the AdaGroup paper's Fig. 2 parameters with 3 equal groups.
For each size: seconds of ours (solve + rounding + certificate) and of SCS,
the ratio, whether both give the same partition (ARI of the SCS solution's
rounding to ours), the relative objective difference, our gap and
certificate, and peak memory (tracemalloc, Python-side allocations, measured
in a second run so that tracing does not slow the timed one).

``default_s``/``default_cpu`` time the same solve in a fresh process with
``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` removed
from the environment: what a user gets who sets nothing (the Makefile sets
``OMP_NUM_THREADS=1``; the library limits BLAS threads itself).

Usage::

    python benchmarks/sdp_speed.py                 # n = 100, 300 vs SCS; ours at 1000, 2000
    python benchmarks/sdp_speed.py --big-scs       # also SCS at n = 500, 1000 (~3 min)
    python benchmarks/sdp_speed.py --big           # also ours at 5000, 10000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tracemalloc
import warnings

import numpy as np

from adagroup.cluster import sdp_clustering
from adagroup.cluster._objective import density_objective
from adagroup.cluster._rounding import round_factor
from adagroup.datasets import make_fig2_affinity


def run_scs(S: np.ndarray, k: int) -> tuple[float, np.ndarray, float]:
    import cvxpy as cp

    n = S.shape[0]
    X = cp.Variable((n, n), PSD=True)
    prob = cp.Problem(
        cp.Maximize(cp.trace(S @ X)), [X @ np.ones(n) == 1, cp.trace(X) == k, X >= 0]
    )
    t = time.perf_counter()
    prob.solve(solver="SCS")
    secs = time.perf_counter() - t
    w, V = np.linalg.eigh((X.value + X.value.T) / 2)
    Y = V[:, -2 * k :] * np.sqrt(np.maximum(w[-2 * k :], 0))
    labels, _ = round_factor(Y, S, k, np.random.default_rng(0))
    return secs, labels, float(prob.value)


_CHILD = """
import json, sys, time, warnings
from adagroup.cluster import sdp_clustering
from adagroup.datasets import make_fig2_affinity
n, k = int(sys.argv[1]), int(sys.argv[2])
T, _ = make_fig2_affinity(n, random_state=0)
warnings.simplefilter("ignore")
sdp_clustering(T[:20, :20], k, random_state=0)  # imports and first-call set-up
t, c = time.perf_counter(), time.process_time()
sdp_clustering(T, k, random_state=0)
print(json.dumps([time.perf_counter() - t, time.process_time() - c]))
"""


def run_default_threads(n: int, k: int) -> tuple[float, float]:
    """Wall and CPU seconds of one solve in a process without thread variables."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    }
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(n), str(k)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    wall, cpu = json.loads(out.stdout.strip().splitlines()[-1])
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-scs", action="store_true", help="SCS also at n=500, 1000")
    parser.add_argument("--big", action="store_true", help="ours also at n=5000, 10000")
    parser.add_argument("--sizes", type=int, nargs="*", help="override the sizes (ours only)")
    parser.add_argument(
        "--no-default-threads", action="store_true", help="skip the default-threads column"
    )
    args = parser.parse_args()
    from sklearn.metrics import adjusted_rand_score

    scs_sizes = [100, 300] + ([500, 1000] if args.big_scs else [])
    sizes = args.sizes or sorted(
        set(scs_sizes + [1000, 2000] + ([5000, 10000] if args.big else []))
    )
    k = 3
    rows = []
    for n in sizes:
        T, planted = make_fig2_affinity(n, random_state=0)
        S = (T + T.T) / 2
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = sdp_clustering(T, k, random_state=0)
        # Peak memory from a second, traced run: tracemalloc hooks every
        # allocation and would slow the timed run (3x at n = 100).
        tracemalloc.start()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sdp_clustering(T, k, random_state=0)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        row = {
            "n": n,
            "ours_s": res.seconds,
            "solver": res.solver,
            "cert_s": res.info.get("certificate_seconds", float("nan")),
            "gap_rel": res.gap / max(abs(res.objective - S.sum() / n), 1e-300),
            "proven": res.proven_optimal,
            "ari_planted": adjusted_rand_score(res.labels, planted),
            "peak_mib": peak / 2**20,
            "warn": len(caught),
        }
        if not args.no_default_threads:
            row["default_s"], row["default_cpu"] = run_default_threads(n, k)
        if n in scs_sizes:
            secs, lab, val = run_scs(S, k)
            row.update(
                scs_s=secs,
                ratio=secs / res.seconds,
                ari=adjusted_rand_score(lab, res.labels),
                obj_rel=abs(density_objective(S, lab) - res.objective) / abs(res.objective),
                sdp_rel=abs(val - res.sdp_value) / abs(val),
            )
        rows.append(row)
        print(row, flush=True)
    cols = [
        ("n", "{:d}"),
        ("ours_s", "{:.3f}"),
        ("cert_s", "{:.3f}"),
        ("default_s", "{:.3f}"),
        ("default_cpu", "{:.3f}"),
        ("solver", "{}"),
        ("scs_s", "{:.2f}"),
        ("ratio", "{:.0f}x"),
        ("ari", "{:.3f}"),
        ("obj_rel", "{:.1e}"),
        ("sdp_rel", "{:.1e}"),
        ("gap_rel", "{:.1e}"),
        ("proven", "{}"),
        ("ari_planted", "{:.3f}"),
        ("peak_mib", "{:.0f}"),
    ]
    print("| " + " | ".join(c for c, _ in cols) + " |")
    print("|" + "---|" * len(cols))
    for row in rows:
        cells = [fmt.format(row[c]) if c in row else "-" for c, fmt in cols]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
