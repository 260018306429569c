"""Training runs needed to recover planted task groups: AdaGroup vs uniform sampling vs all pairs.

On :class:`adagroup.trainers.PlantedTrainer` (planted groups, noise, per-task
scales spread over four orders of magnitude), count the runs each design needs
until the grouping matches the planted one (ARI = 1) at ``--consecutive``
consecutive checkpoints:

* **uniform**: subsets of ``--subset-size`` tasks drawn uniformly, added
  ``n / 2`` at a time; after each addition the runs are grouped as AdaGroup
  groups them (:func:`adagroup.adaptive.group_runs`). This is an oracle's
  count: it stops at the first checkpoints that are right, which no user can
  know without the planted groups.
* **AdaGroup**: one full adaptive pass (batches of ``max(5, n // 10)``,
  budget ``--budget`` runs per task) per plan seed; its cost is every run that
  pass trained, and it counts only if its final grouping is the planted one
  (ARI = 1). It stops by itself (stable, or out of budget). "right from" is
  the run count after which every later round's grouping was the planted one:
  what an oracle stop would have spent (the rest confirms it). The
  verification that follows the stop is left out (``verify_groups=False``):
  the planted groups neither help nor hurt against their tasks alone.
* **all pairs**: ``n (n - 1) / 2``, for reference.

Run from the repository root::

    python benchmarks/sample_efficiency.py                 # n = 20, 50; noise 0.05, 0.2, 0.5
    python benchmarks/sample_efficiency.py --n 100 --noise 0.05

Prints a markdown table.
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings

import numpy as np

import adagroup as ag
from adagroup.adaptive import AdaGroup, group_runs
from adagroup.adaptive._evidence import ESTIMATORS
from adagroup.sampling import sample_subsets
from adagroup.trainers.planted import PlantedTrainer


def _ari(a, b) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(a, b))


def _first_stable(costs: list[int], hits: list[bool], consecutive: int) -> int | None:
    for i in range(len(hits) - consecutive + 1):
        if all(hits[i : i + consecutive]):
            return costs[i]
    return None


def uniform_runs(
    trainer: PlantedTrainer,
    size: int,
    consecutive: int,
    max_runs: int,
    seed: int,
    estimator: str = "surrogate",
):
    """Runs of uniform sampling until ARI = 1 at ``consecutive`` checkpoints in a row."""
    n = trainer.n_tasks
    step = max(n // 2, 1)
    plan = sample_subsets(n, size, max_runs, random_state=seed)
    runs = []
    costs, hits = [], []
    for stop in range(step, max_runs + 1, step):
        for s in plan[len(runs) : stop]:
            subset = tuple(trainer.task_names[i] for i in s)
            runs.append((subset, trainer(subset, 0)))
        labels = group_runs(runs, trainer.task_names, estimator=estimator)
        costs.append(stop)
        hits.append(_ari(trainer.true_labels, labels) == 1)
        found = _first_stable(costs, hits, consecutive)
        if found is not None:
            return found
    return None


def first_right(ada: AdaGroup, trainer: PlantedTrainer) -> int | None:
    """Runs after which AdaGroup's grouping was the planted one in every later round."""
    index = {t: i for i, t in enumerate(trainer.task_names)}
    first = None
    for entry in ada.history_:
        labels = np.full(trainer.n_tasks, -1)
        for c, group in enumerate(entry["groups"]):
            labels[[index[t] for t in group]] = c
        right = entry["n_tasks"] == trainer.n_tasks and _ari(trainer.true_labels, labels) == 1
        first = (first or entry["n_runs"]) if right else None
    return first


def adagroup_runs(
    trainer: PlantedTrainer, batch: int, seeds: list[int], budget: int, estimator: str
):
    """One AdaGroup pass per plan seed: runs, recovered, why it stopped, runs when first right."""
    out = []
    for seed in seeds:
        study = ag.Study(f"ada{seed}", tasks=trainer.task_names)
        ada = AdaGroup(
            study,
            batch_size=batch,
            budget=budget,
            random_state=seed,
            estimator=estimator,
            verify_groups=False,
        ).run(trainer)
        out.append(
            (
                ada.n_runs_,
                _ari(trainer.true_labels, ada.labels_) == 1,
                ada.stopped_because_,
                first_right(ada, trainer),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[20, 50])
    parser.add_argument("--groups", type=int, default=5, help="planted groups (equal sizes)")
    parser.add_argument("--noise", type=float, nargs="+", default=[0.05, 0.2, 0.5])
    parser.add_argument("--subset-size", type=int, default=3)
    parser.add_argument("--consecutive", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="planted trainer seed")
    parser.add_argument("--plan-seeds", type=int, default=3, help="AdaGroup passes per n")
    parser.add_argument("--budget", type=int, default=8, help="AdaGroup budget, in runs per task")
    parser.add_argument(
        "--estimator",
        default="surrogate",
        choices=list(ESTIMATORS),
        help="pair-level estimator (adagroup.adaptive.PairPosterior)",
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.WARNING)
    print(
        f"PlantedTrainer: {args.groups} equal groups, within=1, between=-0.5, noise x scale, "
        f"scales log-uniform in [1e-2, 1e2]; subsets of {args.subset_size}; uniform: success = "
        f"ARI 1 at {args.consecutive} consecutive checkpoints; AdaGroup budget "
        f"{args.budget}n; estimator {args.estimator}.\n"
    )
    print(
        "| n | noise | all pairs | uniform runs | AdaGroup runs (per plan seed) | recovered "
        "| AdaGroup max / n | right from (runs) | seconds |"
    )
    print("|---:|---:|---:|---:|---|---:|---:|---|---:|")
    for noise in args.noise:
        for n in args.n:
            start = time.perf_counter()
            sizes = [n // args.groups + (i < n % args.groups) for i in range(args.groups)]
            trainer = PlantedTrainer(
                sizes=sizes, noise=noise, scale=(1e-2, 1e2), random_state=args.seed
            )
            pairs = n * (n - 1) // 2
            uni = uniform_runs(
                trainer, args.subset_size, args.consecutive, 2 * pairs, args.seed, args.estimator
            )
            batch = max(5, n // 10)
            ada = adagroup_runs(
                trainer, batch, list(range(args.plan_seeds)), args.budget * n, args.estimator
            )
            runs = ", ".join(
                f"{r}{'' if ok else ' (missed)'}{' (budget)' if why == 'budget' else ''}"
                for r, ok, why, _ in ada
            )
            n_ok = sum(ok for _, ok, _, _ in ada)
            worst = max(r for r, _, _, _ in ada)
            right = ", ".join("–" if f is None else str(f) for *_, f in ada)
            print(
                f"| {n} | {noise} | {pairs} | {uni if uni is not None else '> ' + str(2 * pairs)}"
                f" | {runs} | {n_ok}/{len(ada)} | {worst / n:.2f} | {right} | "
                f"{time.perf_counter() - start:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
