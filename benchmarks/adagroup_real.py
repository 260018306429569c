"""AdaGroup against non-adaptive designs on real training, at budgets of 1n to 8n runs.

Every case is a :class:`adagroup.trainers.synthetic.SyntheticMultitaskTrainer`
(shared-trunk networks trained for real with PyTorch) with planted groups, its
loss scales equal or spread over ``10 ** U(-2, 2)``. Per case and strategy the
script reports, at each budget of ``B * n`` training runs, whether the grouping
is the planted one (ARI = 1) and its downstream loss: one model trained per
group, each task's test loss divided by its single-task loss, averaged over
tasks (below 1: the grouping helps).

Strategies, all grouped by the same pipeline
(:func:`adagroup.adaptive.group_runs`: scale-free scores, pooled pair-level
surrogate, agglomeration + single-task moves, ``k`` by the zero-diagonal density
peak):

* ``adagroup``: :class:`adagroup.AdaGroup` (batches of ``max(3, n // 3)`` tasks)
  run with ``budget = B n``, as a user with that budget would: its final
  grouping, whether it stopped by itself or ran out of budget ("–" where the
  covers of its batches alone take more than ``B n`` runs). Its verification
  (each group and each task alone, trained once AdaGroup stops) is not counted
  in ``B n``: those are the downstream runs. The ``verified_groups_`` rows score
  the grouping with every group that verified worse than its tasks alone split;
* ``adagroup, one batch``: the same with every task known from the start
  (``batch_size = n``);
* ``uniform``: the first ``B n`` of a random sequence of distinct subsets;
* ``pair cover``: a greedy cover of all pairs by subsets, then uniform ones;
* ``all pairs``: every pair once (``n (n - 1) / 2`` runs, one column).

All runs of a case go through one SQLite study in ``--out``, so a subset is
trained once whichever strategy asks for it, and a rerun trains nothing.

Run from the repository root::

    python benchmarks/adagroup_real.py                       # the grid below
    python benchmarks/adagroup_real.py --shapes 3x3 4x3 --seeds 0 --scales spread
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import warnings
from pathlib import Path

import numpy as np

import adagroup as ag
from adagroup.adaptive import AdaGroup, group_runs
from adagroup.adaptive._evidence import ESTIMATORS
from adagroup.adaptive._uncertainty import adjusted_rand
from adagroup.runs import RunState
from adagroup.sampling import cover_pairs
from adagroup.trainers.synthetic import SyntheticMultitaskTrainer

BUDGETS = (1, 2, 3, 4, 6, 8)


def make_trainer(groups: int, per: int, seed: int, spread: bool) -> SyntheticMultitaskTrainer:
    n = groups * per
    scales = None
    if spread:
        scales = list(10 ** np.random.default_rng(1000 + seed).uniform(-2, 2, n))
    return SyntheticMultitaskTrainer(
        n_groups=groups, tasks_per_group=per, loss_scales=scales, random_state=seed
    )


def grouped(runs, names, estimator: str = "surrogate") -> list[list[str]]:
    """The pipeline every non-adaptive strategy is grouped by (AdaGroup's, in one step)."""
    labels = group_runs(runs, names, greater_is_better=False, estimator=estimator)
    return [[names[i] for i in np.flatnonzero(labels == c)] for c in range(labels.max() + 1)]


def labels_of(groups, names) -> np.ndarray:
    where = {t: c for c, g in enumerate(groups) for t in g}
    return np.array([where[t] for t in names])


def train(study, trainer, subsets, seed: int = 0) -> list:
    study.enqueue([tuple(s) for s in subsets], seeds=(seed,))
    study.run(trainer, progress=False)
    done = {frozenset(r.subset): r for r in study.runs(state=RunState.COMPLETE) if r.seed == seed}
    return [done[frozenset(s)] for s in subsets if frozenset(s) in done]


def downstream(study, trainer, groups, names, seed: int = 0) -> float:
    """Mean over tasks of (loss with its group's model) / (single-task loss)."""
    runs = train(study, trainer, [tuple(g) for g in groups] + [(t,) for t in names], seed)
    by = {frozenset(r.subset): r.scores for r in runs}
    ratios = [by[frozenset(g)][t] / by[frozenset([t])][t] for g in groups for t in g]
    return float(np.mean(ratios))


def adagroup_run(
    study, trainer, batch: int, budget: int, seed: int, estimator: str = "surrogate"
) -> AdaGroup:
    """One AdaGroup trajectory run to its end (stable, or out of ``budget`` runs)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ada = AdaGroup(
            study, batch_size=batch, budget=budget, random_state=seed, estimator=estimator
        )
        return ada.run(trainer)


def run_case(
    shape: str,
    seed: int,
    spread: bool,
    out: Path,
    budgets=BUDGETS,
    design_seeds: int = 1,
    estimator: str = "surrogate",
    heldout_seed: int | None = None,
) -> dict:
    groups, per = (int(x) for x in shape.split("x"))
    trainer = make_trainer(groups, per, seed, spread)
    names = list(trainer.task_names)
    n = len(names)
    truth = trainer.true_labels
    name = f"{shape}-s{seed}-{'spread' if spread else 'equal'}"
    storage = f"sqlite:///{out / (name + '.db')}"
    study = ag.Study(name, storage=storage, tasks=names, greater_is_better=False)
    rows = []

    def record(strategy, budget, n_runs, grouping, extra=None):
        lab = labels_of(grouping, names)
        rows.append(
            {
                "case": name,
                "strategy": strategy,
                "budget": budget,
                "n_runs": n_runs,
                "recovered": bool(adjusted_rand(lab, truth) == 1),
                "k": len(grouping),
                "loss_ratio": downstream(study, trainer, grouping, names),
                **(extra or {}),
            }
        )

    # uniform: nested prefixes of one random order of all distinct triples; a second design
    # seed draws another order and another cover (the first is the data seed itself)
    import itertools

    triples = list(itertools.combinations(names, 3))
    for d in range(design_seeds):
        design = seed + 100 * d
        order = [triples[i] for i in np.random.default_rng(design).permutation(len(triples))]
        cover = [tuple(names[i] for i in s) for s in cover_pairs(n, 3, random_state=design)]
        rest = [s for s in order if frozenset(s) not in {frozenset(c) for c in cover}]
        for b in budgets:
            m = min(b * n, len(triples))
            runs = train(study, trainer, order[:m])
            record("uniform", b, len(runs), grouped(runs, names, estimator))
            plan = (cover + rest)[:m]
            runs = train(study, trainer, plan)
            record("pair cover", b, len(runs), grouped(runs, names, estimator))
    pairs = list(itertools.combinations(names, 2))
    runs = train(study, trainer, pairs)
    record("all pairs", len(pairs) / n, len(runs), grouped(runs, names, estimator))

    def heldout(groups, verified) -> dict:
        # The split was decided on seed 0's runs, which also score it: another seed's runs
        # score both groupings without that selection.
        if heldout_seed is None:
            return {}
        return {
            "heldout_loss": downstream(study, trainer, groups, names, heldout_seed),
            "heldout_verified_loss": downstream(study, trainer, verified, names, heldout_seed),
        }

    summary = {}
    for strategy, batch in (("adagroup", max(3, n // 3)), ("adagroup, one batch", n)):
        full = adagroup_run(study, trainer, batch, 8 * n, seed, estimator)
        summary[strategy] = full
        for b in budgets:
            # A user with a budget of B n runs sets budget=B n. Where the 8n trajectory stopped
            # by itself within B n runs, the budget never bound and the trajectory is the same.
            ada = full
            if full.n_runs_ > b * n:
                ada = adagroup_run(study, trainer, batch, b * n, seed, estimator)
            if ada.n_runs_ > b * n:
                # Covers of new batches are trained past the budget (every task is placed):
                # this budget is too small for the batches.
                rows.append(
                    {"case": name, "strategy": strategy, "budget": b, "n_runs": ada.n_runs_,
                     "recovered": False, "k": None, "loss_ratio": None}
                )  # fmt: skip
                continue
            verified = ada.verified_groups_
            record(
                strategy,
                b,
                ada.n_runs_,
                ada.groups_,
                {
                    "stopped": ada.stopped_because_,
                    "min_stability": float(ada.stability_.min()),
                    # Its own verification warned that a group trained worse than alone.
                    "warned": verified != ada.groups_,
                    "verified_recovered": bool(
                        adjusted_rand(labels_of(verified, names), truth) == 1
                    ),
                    "verified_loss": downstream(study, trainer, verified, names),
                    **heldout(ada.groups_, verified),
                },
            )
    ada = summary["adagroup"]
    return {
        "case": name,
        "n": n,
        "rows": rows,
        "adagroup_runs": ada.n_runs_,
        "adagroup_stopped": ada.stopped_because_,
        "adagroup_stability": float(ada.stability_.min()),
    }


def table(results: list[dict], budgets=BUDGETS) -> str:
    strategies = ["adagroup", "adagroup, one batch", "uniform", "pair cover"]
    lines = [
        "| strategy | " + " | ".join(f"{b}n" for b in budgets) + " |",
        "|---|" + "---|" * len(budgets),
    ]
    for s in strategies:
        cells = []
        for b in budgets:
            rows = [
                r
                for res in results
                for r in res["rows"]
                if r["strategy"] == s and r["budget"] == b
            ]
            if not rows:
                cells.append("–")
                continue
            hits = sum(r["recovered"] for r in rows)
            losses = [r["loss_ratio"] for r in rows if r["loss_ratio"] is not None]
            loss = f"{np.mean(losses):.2f}" if losses else "–"
            cells.append(f"{hits}/{len(rows)} ({loss})")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    for s in ("adagroup", "adagroup, one batch"):
        cells = []
        for b in budgets:
            rows = [
                r
                for res in results
                for r in res["rows"]
                if r["strategy"] == s and r["budget"] == b and r["loss_ratio"] is not None
            ]
            if not rows:
                cells.append("–")
                continue
            hits = sum(r["verified_recovered"] for r in rows)
            cells.append(f"{hits}/{len(rows)} ({np.mean([r['verified_loss'] for r in rows]):.2f})")
        lines.append(f"| {s}: verified_groups_ | " + " | ".join(cells) + " |")
    held = [
        r
        for res in results
        for r in res["rows"]
        if r["strategy"].startswith("adagroup") and "heldout_loss" in r
    ]
    heldout_lines = []
    for s in ("adagroup", "adagroup, one batch"):
        for key, what in (
            ("heldout_loss", "groups_"),
            ("heldout_verified_loss", "verified_groups_"),
        ):
            cells = []
            for b in budgets:
                vals = [r[key] for r in held if r["strategy"] == s and r["budget"] == b]
                worse = sum(v > 1 for v in vals)
                cells.append(f"{np.mean(vals):.2f}, {worse} > 1" if vals else "–")
            heldout_lines.append(f"| {s}: {what} | " + " | ".join(cells) + " |")
    ada = [r for res in results for r in res["rows"] if r["strategy"].startswith("adagroup")]
    worse = [r for r in ada if r["loss_ratio"] is not None and r["loss_ratio"] > 1]
    stable = [r for r in worse if r.get("min_stability", 0) >= 0.9]
    silent = [r for r in stable if not r.get("warned")]
    footer = (
        f"\nAdaGroup groupings worse than single-task training: {len(worse)} of "
        f"{sum(r['loss_ratio'] is not None for r in ada)}, of which {len(stable)} reported "
        "stable (every task's stability >= 0.9), and of those "
        f"{len(stable) - len(silent)} flagged by AdaGroup's verification ({len(silent)} "
        "neither unstable nor flagged)."
    )
    rows = [r for res in results for r in res["rows"] if r["strategy"] == "all pairs"]
    hits = sum(r["recovered"] for r in rows)
    mean_b = np.mean([r["budget"] for r in rows])
    lines.append(
        f"| all pairs (≈{mean_b:.1f}n) | {hits}/{len(rows)} "
        f"({np.mean([r['loss_ratio'] for r in rows]):.2f}) |" + " |" * (len(budgets) - 1)
    )
    if held:
        footer += (
            "\n\nOn the held-out seed: mean downstream loss ÷ single-task, and groupings worse "
            "than single-task:\n| grouping | "
            + " | ".join(f"{b}n" for b in budgets)
            + " |\n|---|"
            + "---|" * len(budgets)
            + "\n"
            + "\n".join(heldout_lines)
        )
    return "\n".join(lines) + footer


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--shapes",
        nargs="+",
        default=["3x3", "4x3", "3x4", "5x3", "4x5"],
        help="groups x tasks per group",
    )
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="data seeds")
    p.add_argument("--scales", nargs="+", default=["equal", "spread"], choices=["equal", "spread"])
    p.add_argument("--out", default="bench-out/adagroup_real", help="studies and results.json")
    p.add_argument(
        "--budgets", nargs="+", type=int, default=list(BUDGETS), help="budgets, in runs per task"
    )
    p.add_argument(
        "--design-seeds",
        type=int,
        default=1,
        help="orders of uniform subsets and pair covers drawn per case (their luck varies)",
    )
    p.add_argument(
        "--estimator",
        default="surrogate",
        choices=list(ESTIMATORS),
        help="pair-level estimator of every strategy (adagroup.adaptive.PairPosterior)",
    )
    p.add_argument(
        "--heldout-seed",
        type=int,
        default=None,
        help="also train AdaGroup's groupings with this seed and score them on it (the "
        "verification that splits groups uses seed 0)",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    start = time.perf_counter()
    for shape in args.shapes:
        for seed in args.seeds:
            for scale in args.scales:
                t = time.perf_counter()
                res = run_case(
                    shape,
                    seed,
                    scale == "spread",
                    out,
                    args.budgets,
                    args.design_seeds,
                    args.estimator,
                    args.heldout_seed,
                )
                results.append(res)
                ada = [r for r in res["rows"] if r["strategy"] == "adagroup"]
                print(
                    f"{res['case']}: adagroup {res['adagroup_runs']} runs "
                    f"({res['adagroup_runs'] / res['n']:.1f}n, {res['adagroup_stopped']}), "
                    f"recovered at {[r['budget'] for r in ada if r['recovered']]}n; "
                    f"{time.perf_counter() - t:.0f} s",
                    flush=True,
                )
                payload = {"estimator": args.estimator, "cases": results}
                (out / "results.json").write_text(json.dumps(payload, indent=1))
    print()
    print("Cases recovered (mean downstream loss ÷ single-task) per budget of B·n runs:")
    print(table(results, args.budgets))
    print(f"\n{len(results)} cases in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
