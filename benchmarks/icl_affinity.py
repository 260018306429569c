"""Measure the higher-order task affinity of the in-context learning case (paper §5.1).

Trains :class:`adagroup.trainers.icl.ICLTrainer` on every single task and on
uniformly sampled subsets of size 3 (resampled until every pair of tasks shares at
least one subset), several runs at once with one thread each, then estimates

    T[i, j] = - mean over trained subsets S with i, j in S of  MSE_i(S) / MSE_i({i})

(the negated test error of task ``i`` relative to its single-task error, so higher
is better and -1 means "as good as training alone"); the diagonal averages over every
subset containing ``i``, the singleton included. Writes a CSV (header row and an index
column of task names) and a JSON file with the command, seeds, settings, every run's
scores and wall time, and the date.

Usage::

    python benchmarks/icl_affinity.py --time-one             # time one run and stop
    python benchmarks/icl_affinity.py --steps 1500 --n-subsets 27 --jobs 2
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import itertools
import json
import logging
import multiprocessing as mp
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np

logger = logging.getLogger("icl_affinity")

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "adagroup" / "data"


def plan_subsets(
    n_tasks: int, size: int, n_subsets: int, seed: int, max_draws: int = 100_000
) -> tuple[list[tuple[int, ...]], int]:
    """Draw distinct sorted subsets uniformly, redrawing until every pair is covered.

    Returns the subsets and the number of draws it took.
    """
    rng = np.random.default_rng(seed)
    pairs = set(itertools.combinations(range(n_tasks), 2))
    for draw in range(1, max_draws + 1):
        chosen: set[tuple[int, ...]] = set()
        while len(chosen) < n_subsets:
            chosen.add(tuple(sorted(rng.choice(n_tasks, size=size, replace=False).tolist())))
        covered = {p for s in chosen for p in itertools.combinations(s, 2)}
        if covered >= pairs:
            return sorted(chosen), draw
    raise RuntimeError(
        f"No plan of {n_subsets} subsets of size {size} covered all pairs in {max_draws} "
        f"draws; increase --n-subsets."
    )


def _run_one(trainer, subset: tuple[str, ...], seed: int) -> dict:
    start = time.perf_counter()
    scores = trainer(subset, seed)
    return {
        "subset": list(subset),
        "seed": seed,
        "scores": scores,
        "seconds": time.perf_counter() - start,
    }


def estimate(runs: list[dict], names: list[str]) -> np.ndarray:
    """Higher-order mean affinity from runs, relative to each task's single-task error."""
    n = len(names)
    index = {t: i for i, t in enumerate(names)}
    single = np.full(n, np.nan)
    for run in runs:
        if len(run["subset"]) == 1:
            (t,) = run["subset"]
            single[index[t]] = run["scores"][t]
    sums = np.zeros((n, n))
    counts = np.zeros((n, n))
    for run in runs:
        members = [index[t] for t in run["subset"]]
        for t in run["subset"]:
            i = index[t]
            value = -run["scores"][t] / single[i]
            for j in members:
                sums[i, j] += value
                counts[i, j] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n-subsets", type=int, default=27)
    parser.add_argument("--subset-size", type=int, default=3)
    parser.add_argument("--plan-seed", type=int, default=0, help="seed of the subset plan")
    parser.add_argument("--train-seed", type=int, default=0, help="seed of every run")
    parser.add_argument("--random-state", type=int, default=0, help="seed of test prompts")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--time-one", action="store_true", help="time one run and exit")
    parser.add_argument("--note", default="", help="free text stored in the JSON file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    from adagroup.trainers.icl import ICLTrainer

    trainer = ICLTrainer(
        steps=args.steps,
        batch_size=args.batch_size,
        device=args.device,
        n_threads=1,
        random_state=args.random_state,
    )
    names = trainer.task_names
    if args.time_one:
        run = _run_one(trainer, (names[0], names[3], names[6]), args.train_seed)
        logger.info("one run of %d steps: %.1f s, scores %s", args.steps, run["seconds"], run)
        return 0

    subsets, draws = plan_subsets(len(names), args.subset_size, args.n_subsets, args.plan_seed)
    plan = [(name,) for name in names] + [tuple(names[i] for i in s) for s in subsets]
    logger.info("%d runs (%d singletons, %d subsets)", len(plan), len(names), len(subsets))

    started = time.perf_counter()
    runs: list[dict] = []
    ctx = mp.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=args.jobs, mp_context=ctx) as pool:
        futures = [pool.submit(_run_one, trainer, s, args.train_seed) for s in plan]
        for done, future in enumerate(cf.as_completed(futures), start=1):
            run = future.result()
            runs.append(run)
            logger.info(
                "[%d/%d] %s %.1f s %s",
                done,
                len(plan),
                run["subset"],
                run["seconds"],
                {k: round(v, 4) for k, v in run["scores"].items()},
            )
    wall = time.perf_counter() - started
    order = {tuple(s): k for k, s in enumerate(plan)}
    runs.sort(key=lambda r: order[tuple(r["subset"])])

    T = estimate(runs, names)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = args.out_dir / "icl_affinity.csv"
    with open(csv_path, "w", encoding="utf-8") as fh:
        fh.write("task," + ",".join(names) + "\n")
        for name, row in zip(names, T, strict=True):
            fh.write(name + "," + ",".join(f"{v:.6f}" for v in row) + "\n")
    seconds = [r["seconds"] for r in runs]
    meta = {
        "description": (
            "Higher-order task affinity of the in-context learning case (AdaGroup paper "
            "section 5.1, after Garg et al. 2022). T[i,j] = -mean over trained subsets S "
            "containing i and j of MSE_i(S)/MSE_i({i}); diagonal: mean over all subsets "
            "containing i, the singleton included. Higher is better; -1 = as good as alone."
        ),
        "command": "python benchmarks/icl_affinity.py " + shlex.join(sys.argv[1:]),
        "note": args.note,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "task_names": names,
        "true_labels": trainer.true_labels,
        "settings": {
            "steps": trainer.steps,
            "batch_size": trainer.batch_size,
            "n_points": trainer.n_points,
            "n_dims": trainer.n_dims,
            "width": trainer.width,
            "n_layers": trainer.n_layers,
            "n_heads": trainer.n_heads,
            "lr": trainer.lr,
            "n_test": trainer.n_test,
            "normalize": trainer.normalize,
            "score": (
                f"test MSE averaged over all {trainer.n_points} prompt positions and "
                f"{trainer.n_test} test prompts, divided by the output variance "
                "(1.0 = predicting zero)"
            ),
            "tokens": "interleaved [x_i, 0] and [x_i, y_i] tokens, linear read-in",
            "schedule": "AdamW, linear warm-up over 10% of steps, cosine decay to 0",
            "device": args.device,
            "threads_per_run": 1,
            "jobs": args.jobs,
        },
        "seeds": {
            "plan_seed": args.plan_seed,
            "plan_draws": draws,
            "train_seed": args.train_seed,
            "random_state": args.random_state,
        },
        "plan": {"singletons": len(names), "subset_size": args.subset_size},
        "n_runs": len(runs),
        "wall_seconds_total": round(wall, 1),
        "seconds_per_run": {
            "mean": round(float(np.mean(seconds)), 2),
            "min": round(float(np.min(seconds)), 2),
            "max": round(float(np.max(seconds)), 2),
        },
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
        },
        "runs": [{**r, "seconds": round(r["seconds"], 2), "scores": r["scores"]} for r in runs],
    }
    try:
        import torch

        meta["machine"]["torch"] = torch.__version__
    except ImportError:  # pragma: no cover
        pass
    with open(args.out_dir / "icl_affinity.json", "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=1)
        fh.write("\n")
    logger.info("wrote %s (%d runs, %.1f min wall)", csv_path, len(runs), wall / 60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
