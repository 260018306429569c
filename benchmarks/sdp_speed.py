"""Speed of adagroup's SDP clustering against cvxpy + SCS, on tight and non-tight matrices.

Families (k = 3 groups):

* ``fig2``: planted matrices with the AdaGroup paper's Fig. 2 parameters, equal
  groups (the relaxation is tight from n ~ 300 on; at n = 100 it is not);
* ``noisy``: planted groups with within- and between-group noise of std 1
  (``make_planted_affinity``), barely tight or not tight;
* ``gauss``: a standard Gaussian matrix (no groups; never tight).

For each family and size: seconds of ours (solve + rounding + certificate;
the median of three runs where one takes under a second, after a first call
on a small matrix that does the one-time set-up, as in the default-threads
child below) and of SCS (one run), the ratio, whether both give the same partition (ARI of the SCS
solution's rounding to ours), the relative objective difference, ``ub_scs``
(our upper bound minus SCS's optimum, relative to SCS's optimum: negative
means below it, within SCS's own accuracy of about 1e-4), our gap and
certificate, and peak memory (tracemalloc, Python-side allocations, measured
in a second run so that tracing does not slow the timed one).

``default_s``/``default_cpu`` time the same solve in a fresh process with
``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` removed
from the environment: what a user gets who sets nothing (the Makefile sets
``OMP_NUM_THREADS=1``; the library limits BLAS threads itself). ``rss_mib`` is
that process's peak resident set size (matrix, imports and solve together).

Usage::

    python benchmarks/sdp_speed.py                 # n = 100, 300 vs SCS; fig2 also 1000, 2000
    python benchmarks/sdp_speed.py --big-scs       # also SCS at n = 500
    python benchmarks/sdp_speed.py --big           # also fig2 at 5000, 10000
    python benchmarks/sdp_speed.py --families fig2 --sizes 150 --no-scs
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
from adagroup.datasets import make_fig2_affinity, make_planted_affinity

FAMILIES = ("fig2", "noisy", "gauss")


def make_family(family: str, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The matrix of ``family`` with ``n`` tasks and its planted labels (None: no groups)."""
    if family == "fig2":
        return make_fig2_affinity(n, random_state=0)
    if family == "noisy":
        sizes = [n // 3, n // 3, n - 2 * (n // 3)]
        return make_planted_affinity(sizes, within_std=1.0, between_std=1.0, random_state=0)
    if family == "gauss":
        return np.random.default_rng(0).standard_normal((n, n)), None
    raise ValueError(f"unknown family {family!r}; choose from {FAMILIES}")


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
sys.path.insert(0, sys.argv[4])
from sdp_speed import make_family
from adagroup.cluster import sdp_clustering
family, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
T, _ = make_family(family, n)
warnings.simplefilter("ignore")
sdp_clustering(T[:20, :20], k, random_state=0)  # imports and first-call set-up
t, c = time.perf_counter(), time.process_time()
sdp_clustering(T, k, random_state=0)
wall, cpu = time.perf_counter() - t, time.process_time() - c
# VmHWM: this process's peak RSS (ru_maxrss would include the parent's before exec).
with open("/proc/self/status") as f:
    rss = next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
print(json.dumps([wall, cpu, rss]))
"""


def run_default_threads(family: str, n: int, k: int) -> tuple[float, float, float]:
    """Wall and CPU seconds of one solve in a process without thread variables, peak RSS."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    }
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, family, str(n), str(k), here],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    wall, cpu, rss = json.loads(out.stdout.strip().splitlines()[-1])
    return wall, cpu, rss


def measure(family: str, n: int, k: int, *, scs: bool, default_threads: bool) -> dict:
    from sklearn.metrics import adjusted_rand_score

    T, planted = make_family(family, n)
    S = (T + T.T) / 2
    base = S.sum() / n
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = sdp_clustering(T, k, random_state=0)
    # One run of a few milliseconds is at the mercy of the machine's other load.
    seconds = [res.seconds]
    while seconds[-1] < 1.0 and len(seconds) < 3:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seconds.append(sdp_clustering(T, k, random_state=0).seconds)
    # Peak memory from a second, traced run: tracemalloc hooks every
    # allocation and would slow the timed run (3x at n = 100).
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sdp_clustering(T, k, random_state=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    row = {
        "family": family,
        "n": n,
        "ours_s": float(np.median(seconds)),
        "solver": res.solver,
        "cert_s": res.info.get("certificate_seconds", float("nan")),
        "gap_rel": res.gap / max(abs(res.objective - base), 1e-300),
        "proven": res.proven_optimal,
        "certificate": res.info.get("certificate"),
        "ari_planted": adjusted_rand_score(res.labels, planted) if planted is not None else None,
        "peak_mib": peak / 2**20,
        "warn": len(caught),
    }
    if default_threads:
        row["default_s"], row["default_cpu"], row["rss_mib"] = run_default_threads(family, n, k)
    if scs:
        secs, lab, val = run_scs(S, k)
        row.update(
            scs_s=secs,
            ratio=secs / row["ours_s"],
            ari=adjusted_rand_score(lab, res.labels),
            obj_rel=abs(density_objective(S, lab) - res.objective) / abs(res.objective),
            ub_scs=(res.upper_bound - val) / abs(val),
        )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-scs", action="store_true", help="SCS also at n=500")
    parser.add_argument("--big", action="store_true", help="fig2 also at n=5000, 10000")
    parser.add_argument("--sizes", type=int, nargs="*", help="override the sizes")
    parser.add_argument("--families", nargs="*", choices=FAMILIES, default=list(FAMILIES))
    parser.add_argument("--no-scs", action="store_true", help="skip SCS")
    parser.add_argument(
        "--no-default-threads", action="store_true", help="skip the default-threads column"
    )
    args = parser.parse_args()
    k = 3
    scs_sizes = [100, 300] + ([500] if args.big_scs else [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sdp_clustering(make_family("fig2", 20)[0], k, random_state=0)  # one-time set-up
    rows = []
    for family in args.families:
        if args.sizes:
            sizes = args.sizes
        elif family == "fig2":
            sizes = sorted(set(scs_sizes + [1000, 2000] + ([5000, 10000] if args.big else [])))
        else:
            sizes = scs_sizes
        for n in sizes:
            row = measure(
                family,
                n,
                k,
                scs=not args.no_scs and n in scs_sizes,
                default_threads=not args.no_default_threads,
            )
            rows.append(row)
            print(row, flush=True)
    cols = [
        ("family", "{}"),
        ("n", "{:d}"),
        ("ours_s", "{:.3f}"),
        ("default_s", "{:.3f}"),
        ("default_cpu", "{:.3f}"),
        ("solver", "{}"),
        ("scs_s", "{:.2f}"),
        ("ratio", "{:.0f}x"),
        ("ari", "{:.3f}"),
        ("obj_rel", "{:.1e}"),
        ("ub_scs", "{:.1e}"),
        ("gap_rel", "{:.1e}"),
        ("proven", "{}"),
        ("certificate", "{}"),
        ("peak_mib", "{:.0f}"),
        ("rss_mib", "{:.0f}"),
    ]
    print("| " + " | ".join(c for c, _ in cols) + " |")
    print("|" + "---|" * len(cols))
    for row in rows:
        cells = [fmt.format(row[c]) if row.get(c) is not None else "-" for c, fmt in cols]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
