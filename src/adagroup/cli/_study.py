"""``adagroup study run|status|affinity|list|delete``: plan, train, inspect, estimate, tidy."""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import math
import os
import signal
import sys
from typing import Any

from ..exceptions import AdagroupError, StudyNotFoundError
from ..runs import RunState
from . import one_line
from ._args import (
    check_out_folder,
    check_plan,
    check_storage_folder,
    float_arg,
    int_arg,
    n_jobs_arg,
    parse_task_list,
    sqlite_path,
)

__all__ = ["add_parser", "load_trainer", "default_n_subsets"]

STORAGE_ENV = "ADAGROUP_STORAGE"


def default_n_subsets(n_tasks: int, size: int) -> int:
    """Subsets a non-adaptive ``study run`` plans when ``--n-subsets`` is not given.

    ``5 * n_tasks`` (each task then appears in about ``5 * size`` subsets), capped
    at the number of distinct subsets ``C(n_tasks, size)``.
    """
    return max(1, min(5 * n_tasks, math.comb(n_tasks, size)))


def load_trainer(spec: str) -> Any:
    """Load a trainer named ``module:attribute`` (dotted attributes allowed).

    The attribute may be a trainer (a callable ``train(subset, seed)`` or an object
    with a ``train`` method), or a zero-argument factory (a class or function)
    that returns one. The current directory is importable, as with ``python -m``.

    Raises
    ------
    ValueError
        If ``spec`` is not of the form ``module:attribute``.
    ImportError
        If the module cannot be imported or has no such attribute.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(
            f"--trainer must be MODULE:ATTRIBUTE, e.g. mypkg.train:trainer. Got {spec!r}."
        )
    # The study's own dependencies are imported before the working directory becomes
    # importable, and it is appended, not prepended: a stray sqlalchemy.py (or numpy.py)
    # next to the trainer must not replace the real package.
    _import_study_dependencies()
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(
            f"--trainer {spec!r}: cannot import module {module_name!r} ({exc}). Is it installed, "
            "in the current directory, or on PYTHONPATH?"
        ) from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ImportError(
                f"--trainer {spec!r}: module {module_name!r} has no attribute {attr!r}."
            ) from None
    # A factory takes no arguments at all; train(subset=(), seed=0) is a trainer, not one.
    if inspect.isclass(obj) or (callable(obj) and _n_positional(obj) == 0):
        obj = obj()
    if not callable(obj) and not callable(getattr(obj, "train", None)):
        raise TypeError(
            f"--trainer {spec!r} is a {type(obj).__name__}, not a trainer: expected a callable "
            "train(subset, seed) -> {task: score}, an object with a train method, or a "
            "zero-argument factory returning one."
        )
    return obj


def _import_study_dependencies() -> None:
    import numpy  # noqa: F401

    from .. import execution, study  # noqa: F401

    for name in ("sqlalchemy", "tqdm.auto"):
        try:
            importlib.import_module(name)
        except ImportError:  # optional: the study says what to install when it needs them
            pass


def _n_positional(fn: Any) -> int | None:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    return sum(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params
    )


def _storage_arg(p: argparse.ArgumentParser, name: bool = True) -> None:
    p.add_argument(
        "--storage",
        default=None,
        help=f"SQLAlchemy URL or SQLite file (default: ${STORAGE_ENV})",
    )
    if name:
        p.add_argument("--name", required=True, help="study name")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``adagroup study`` and its actions."""
    p = subparsers.add_parser(
        "study",
        help="plan, train and inspect a study of training runs",
        description="Durable studies: every run is recorded once, and a rerun resumes.",
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    run = sub.add_parser(
        "run",
        help="plan and train (resumes an existing study)",
        description=(
            "Plan --n-subsets random subsets of --subset-size tasks plus every single task "
            "(once per seed), and train every run that is not finished. Running the same "
            "command again resumes: COMPLETE runs are never trained again."
        ),
    )
    _storage_arg(run)
    run.add_argument(
        "--tasks",
        help="comma-separated task names (a new study without it takes the trainer's "
        "task_names attribute)",
    )
    run.add_argument("--trainer", required=True, help="MODULE:ATTR trainer or factory")
    run.add_argument(
        "--subset-size", type=int_arg(1), default=3, help="tasks per subset (default 3)"
    )
    run.add_argument(
        "--n-subsets", type=int_arg(0), default=None, help="subsets to plan (default 5 x n_tasks)"
    )
    run.add_argument(
        "--seeds", type=int_arg(1), default=1, help="seeds 0..S-1 per subset (default 1)"
    )
    run.add_argument(
        "--n-jobs",
        type=n_jobs_arg,
        default=None,
        help="runs at once (default 1; with --executor: every CPU, or the Ray cluster's capacity)",
    )
    run.add_argument("--executor", choices=["process", "ray"], default=None)
    run.add_argument(
        "--gpus-per-run", type=float, default=None, help="GPUs each run needs (--executor ray)"
    )
    run.add_argument(
        "--cpus-per-run", type=float, default=None, help="CPUs each run needs (--executor ray)"
    )
    # Both spellings: --seed as in cluster/bench/demo, --random-state as in the Python API.
    run.add_argument(
        "--random-state",
        "--seed",
        dest="random_state",
        type=int,
        default=0,
        help="seed of the subset plan",
    )
    run.add_argument("--max-retries", type=int_arg(0), default=2, help="retries per failed run")
    run.add_argument(
        "--timeout",
        type=_timeout_arg,
        default="auto",
        help="per-run limit in seconds, 'none', or 'auto' (default: with --n-jobs/--executor, "
        "kill a run after 10 x the slowest completed run, at least 600 s)",
    )
    run.add_argument("--heartbeat-interval", type=float_arg(), default=30.0, help="seconds")
    run.add_argument(
        "--retry-failed",
        action="store_true",
        help="give runs that failed max-retries times one more attempt",
    )
    run.add_argument("--adaptive", action="store_true", help="AdaGroup: tasks in batches")
    run.add_argument("--batch-size", type=int_arg(1), default=None, help="AdaGroup batch size")
    run.add_argument("--max-k", type=int_arg(1), default=None, help="AdaGroup's largest k")
    run.add_argument(
        "--budget",
        type=int_arg(1),
        default=None,
        help="AdaGroup: most training runs before stopping (default 8 x n_tasks)",
    )
    run.add_argument(
        "--confidence",
        type=float,
        default=None,
        help="AdaGroup: stop once every task's stability reaches this (default 0.9)",
    )
    run.add_argument(
        "--pair-estimator",
        choices=["surrogate", "coupled", "mean"],
        default=None,
        help="AdaGroup's pair-level estimator (default surrogate; coupled lets a pair's two "
        "directions inform each other)",
    )
    run.add_argument(
        "--verify",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="AdaGroup: once stopped, train each group in one model and each task alone, and "
        "say which groups train worse than their tasks alone (up to n_tasks + k more runs "
        "per seed; default on, --no-verify skips it)",
    )
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(func=run_command)

    status = sub.add_parser("status", help="count runs per state")
    _storage_arg(status)
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(func=status_command)

    aff = sub.add_parser("affinity", help="estimate the task affinity matrix as CSV")
    _storage_arg(aff)
    aff.add_argument("--estimator", choices=["mean", "surrogate", "pairwise"], default="mean")
    aff.add_argument(
        "--normalize",
        choices=["none", "center", "standardize"],
        default="none",
        help="per-target normalisation (default none)",
    )
    aff.add_argument(
        "--no-fill",
        action="store_true",
        help="keep unmeasured entries empty (NaN) instead of filling them with the row mean",
    )
    aff.add_argument("--out", required=True, help="output .csv, .tsv (tab-separated) or .npy")
    aff.set_defaults(func=affinity_command)

    lst = sub.add_parser("list", help="list the studies of a storage with their run counts")
    _storage_arg(lst, name=False)
    lst.add_argument("--json", action="store_true", help="print one JSON object")
    lst.set_defaults(func=list_command)

    delete = sub.add_parser("delete", help="delete a study with all its runs")
    _storage_arg(delete)
    delete.add_argument("--yes", action="store_true", help="delete without asking back")
    delete.set_defaults(func=delete_command)


def _storage(args: argparse.Namespace) -> str:
    from . import CLIUsageError

    url = args.storage or os.environ.get(STORAGE_ENV)
    if not url:
        raise CLIUsageError(
            f"no storage: pass --storage sqlite:///study.db or set ${STORAGE_ENV}."
        )
    check_storage_folder(url, "--storage" if args.storage else f"${STORAGE_ENV}")
    return url


def _timeout_arg(text: str) -> float | str | None:
    if text.lower() in ("auto", "none"):
        return None if text.lower() == "none" else "auto"
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds > 0, 'auto' or 'none'. Got {text!r}."
        )
    return value


def _ray_resources(args: argparse.Namespace) -> dict[str, float] | None:
    """Per-run Ray resources from --gpus-per-run / --cpus-per-run (None if neither)."""
    given = {"num_gpus": args.gpus_per_run, "num_cpus": args.cpus_per_run}
    given = {k: v for k, v in given.items() if v is not None}
    if not given:
        return None
    if args.executor != "ray":
        raise ValueError(
            "--gpus-per-run and --cpus-per-run need --executor ray (Ray schedules runs on "
            f"resources). Got --executor {args.executor}; add --executor ray."
        )
    for key, value in given.items():
        if not value >= 0:
            flag = "--gpus-per-run" if key == "num_gpus" else "--cpus-per-run"
            raise ValueError(f"{flag} must be >= 0. Got {value}.")
    given.setdefault("num_cpus", 1.0)
    return given


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run_command(args: argparse.Namespace) -> int:
    """``adagroup study run``."""
    from ..study import Study

    # Every argument is checked before a study is created: a corrected rerun must not find a
    # study created from a mistyped command.
    url = _storage(args)
    # Check the arguments before anything is written to the store.
    for flag in ("batch_size", "max_k", "budget", "confidence", "pair_estimator", "verify"):
        if getattr(args, flag) is not None and not args.adaptive:
            raise ValueError(
                f"--{flag.replace('_', '-')} applies to AdaGroup only: add --adaptive, or drop "
                f"--{flag.replace('_', '-')}."
            )
    if args.confidence is not None and not 0 < args.confidence <= 1:
        raise ValueError(
            f"--confidence must be in (0, 1], e.g. --confidence 0.9. Got {args.confidence}."
        )
    if args.adaptive:
        _check_adaptive(args)
    resources = _ray_resources(args)
    trainer = load_trainer(args.trainer)
    declared: Any = getattr(trainer, "task_names", None)
    tasks = None
    if args.tasks:
        tasks = parse_task_list(args.tasks)
        unknown = sorted(set(tasks) - set(declared)) if declared else []
        if unknown:
            raise ValueError(
                f"--tasks {unknown} are not tasks of the trainer {args.trainer!r} (its tasks: "
                f"{list(declared)}). Drop --tasks to use the trainer's own task list."
            )
    if args.executor == "process" or (args.executor is None and args.n_jobs not in (None, 1)):
        _check_picklable(trainer, args)
    direction = getattr(trainer, "greater_is_better", None)
    # Opening without tasks never creates. An existing study is then checked against
    # --tasks (a mismatch is reported as such); a new one takes the trainer's task list.
    try:
        study = Study(args.name, url, greater_is_better=direction)
    except StudyNotFoundError as exc:
        study = None
        if tasks is None and not declared:
            raise StudyNotFoundError(
                f"{exc.__cause__ or exc} Pass --tasks a,b,c to create it."
            ) from None
        tasks = list(declared) if tasks is None else tasks
    if study is not None and tasks is not None:
        study = Study(args.name, url, tasks=tasks, greater_is_better=direction)
    n_tasks = len(study.tasks) if study is not None else len(tasks or ())
    if not args.adaptive:
        check_plan(n_tasks, args.subset_size, args.n_subsets)
    if study is None:
        study = Study(args.name, url, tasks=tasks, greater_is_better=direction)
    seeds = tuple(range(args.seeds))
    if args.n_jobs is None:
        n_jobs = 1 if args.executor is None else -1
    else:
        n_jobs = args.n_jobs
    if args.retry_failed:
        study.retry_failed()
    # SIGTERM (kill, a scheduler's preemption) then leaves the store as Ctrl-C does.
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    ada: Any = None  # an AdaGroup with --adaptive (imported lazily)
    try:
        if args.adaptive:
            ada = _run_adaptive(args, study, trainer, seeds, n_jobs)
        else:
            from ..sampling import sample_subsets, singletons

            n = len(study.tasks)
            m = (
                default_n_subsets(n, args.subset_size)
                if args.n_subsets is None
                else args.n_subsets
            )
            subsets = [
                *singletons(n),
                *sample_subsets(n, args.subset_size, m, random_state=args.random_state),
            ]
            study.enqueue(subsets, seeds=seeds)
            study.run(
                trainer,
                n_jobs=n_jobs,
                executor=args.executor,
                resources=resources,
                max_retries=args.max_retries,
                timeout=args.timeout,
                heartbeat_interval=args.heartbeat_interval,
                progress=not args.no_progress and sys.stderr.isatty(),
            )
    finally:
        signal.signal(signal.SIGTERM, previous)
    counts = study.summary()
    adaptive_ran = ada is not None and bool(getattr(ada, "n_steps_", 0))
    if args.json:
        payload: dict[str, Any] = {"study": study.name}
        payload["runs"] = {s.name: n for s, n in counts.items()}
        if adaptive_ran:
            payload.update(ada.to_dict())
        print(json.dumps(payload, allow_nan=False))
    else:
        print(f"study {study.name}: " + ", ".join(f"{s.name} {n}" for s, n in counts.items()))
        if adaptive_ran:
            print(format_adaptive(ada.to_dict()))
    if counts[RunState.COMPLETE] == 0 and counts[RunState.FAIL] > 0:
        failed = study.runs(RunState.FAIL)[-1]
        last_line = (failed.error or "").strip().splitlines()[-1:] or ["no error recorded"]
        print(
            f"adagroup study run: every run failed; the last one with: {last_line[0]}",
            file=sys.stderr,
        )
        return 1
    plan = study.plan_status()
    if plan.failed:
        print(
            f"adagroup study run: {len(plan.failed)} of {plan.planned} planned runs ended FAIL "
            f"after their retries, so the affinity misses them; the last one with: "
            f"{_last_line(plan.failed[-1].error)}. Fix the cause, then add --retry-failed to "
            "give each one more attempt.",
            file=sys.stderr,
        )
        return 1
    return 0


#: AdaGroup parameters and the ``study run`` flags that set them.
_ADAPTIVE_FLAGS = {
    "batch_size": "--batch-size",
    "subset_size": "--subset-size",
    "n_subsets_per_step": "--n-subsets",
    "max_clusters": "--max-k",
    "budget": "--budget",
    "confidence": "--confidence",
    "seeds": "--seeds",
    "n_jobs": "--n-jobs",
}


def _check_adaptive(args: argparse.Namespace) -> None:
    """AdaGroup's parameter checks, before the study is created, in the flags' words."""
    import re

    from ..adaptive import AdaGroup

    ada = AdaGroup(None, **_adaptive_kwargs(args, tuple(range(max(args.seeds, 1))), 1))
    try:
        ada._check_params()
    except ValueError as exc:
        pattern = r"The '(\w+)' parameter of AdaGroup must be (.*)\. Got (.*) instead"
        m = re.match(pattern, str(exc))
        if not m or m.group(1) not in _ADAPTIVE_FLAGS:
            raise
        # "None" is Python's word for leaving the flag out.
        what = m.group(2).replace(" or None", "")
        raise ValueError(
            f"{_ADAPTIVE_FLAGS[m.group(1)]} must be {what} for --adaptive. Got {m.group(3)}."
        ) from None


def _last_line(error: str | None) -> str:
    lines = (error or "").strip().splitlines()
    return lines[-1] if lines else "no error recorded"


def _check_picklable(trainer: Any, args: argparse.Namespace) -> None:
    """Worker processes receive the trainer pickled; say so before any run fails on it.

    Otherwise every run fails in the pool ("Can't pickle local object") and is
    retried --max-retries times. Ray ships trainers with cloudpickle and is not checked.
    """
    import pickle

    from . import CLIUsageError

    try:
        pickle.dumps(trainer)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        jobs = "--executor process" if args.executor else f"--n-jobs {args.n_jobs}"
        raise CLIUsageError(
            f"--trainer {args.trainer!r} cannot be sent to worker processes ({jobs}): "
            f"{one_line(exc)}. Define it at module level (a def or class, not a lambda or "
            "nested function), or pass --n-jobs 1."
        ) from None


def _run_adaptive(
    args: argparse.Namespace, study: Any, trainer: Any, seeds: tuple[int, ...], n_jobs: int
) -> Any:
    from ..adaptive import AdaGroup

    options = {
        "max_retries": args.max_retries,
        "timeout": args.timeout,
        "heartbeat_interval": args.heartbeat_interval,
        "resources": _ray_resources(args),
    }
    kwargs = _adaptive_kwargs(args, seeds, n_jobs)
    return AdaGroup(study, run_options=options, **kwargs).run(trainer)


def _adaptive_kwargs(
    args: argparse.Namespace, seeds: tuple[int, ...], n_jobs: int
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "subset_size": args.subset_size,
        "seeds": seeds,
        "random_state": args.random_state,
        "max_clusters": args.max_k,
        "n_subsets_per_step": args.n_subsets,
        "budget": args.budget,
    }
    if args.batch_size is not None:
        kwargs["batch_size"] = args.batch_size
    if args.confidence is not None:
        kwargs["confidence"] = args.confidence
    if args.pair_estimator is not None:
        kwargs["estimator"] = args.pair_estimator
    if args.verify is not None:
        kwargs["verify_groups"] = args.verify
    if args.executor is not None:
        kwargs["executor"] = args.executor
    kwargs["n_jobs"] = n_jobs
    return kwargs


def format_adaptive(result: dict[str, Any]) -> str:
    """AdaGroup's result (``AdaGroup.to_dict()``) for people: groups, how sure, why it stopped."""
    stab = result["stability"]
    why = {
        "stable": f"every task stable at confidence {result['confidence']}",
        "budget": "budget spent before every task was stable: the groups are uncertain",
        "exhausted": "every subset trained before every task was stable: the groups are uncertain",
        None: "not finished: run again to continue",
    }[result["stopped_because"]]
    groups = result["groups"]
    checked = result.get("verification_runs")
    extra = f" (+{checked} to verify)" if checked else ""
    lines = [
        f"AdaGroup: {result['k']} groups from {result['n_runs']} runs{extra}: "
        + " | ".join(",".join(g) for g in groups),
        f"  stopped: {why}; grouping stability {result['grouping_stability']:.2f}",
    ]
    for i, g in enumerate(groups):
        shown = ", ".join(f"{t} {stab[t]:.2f}" for t in g)
        lines.append(f"  group {i} (task stability): {shown}")
    for check in result.get("verification") or []:
        change = check["change"]
        said = "n/a" if change is None else f"{100 * change:+.1f} %"
        verdict = "" if change is None else (" helps" if change >= 0 else " HURTS: train apart")
        lines.append(f"  trained together vs alone: {','.join(check['tasks'])} {said}{verdict}")
    verified = result.get("verified_groups")
    if verified is not None and verified != groups:
        lines.append("  train instead: " + " | ".join(",".join(g) for g in verified))
    if result["upper_bound"] is not None:
        verdict = "proven optimal" if result["proven_optimal"] else f"gap {result['gap']:.3g}"
        lines.append(
            f"  density {result['objective']:.4g}, upper bound {result['upper_bound']:.4g} "
            f"({verdict}, certificate: {result['certificate']})"
        )
    return "\n".join(lines)


def _load_existing(args: argparse.Namespace) -> Any:
    """Open a study for reading; never creates a database or a study."""
    from ..study import load_study

    url = _storage(args)
    path = sqlite_path(url)
    if path is not None:
        if not os.path.exists(path):
            raise StudyNotFoundError(
                f"The --storage file {path!r} does not exist; check the path, or create a study "
                f"there with: adagroup study run --storage {url} --name {args.name} "
                "--trainer MODULE:ATTR"
            )
    try:
        return load_study(args.name, url)
    except StudyNotFoundError as exc:
        raise StudyNotFoundError(
            f"{exc.__cause__ or exc} Check --name, or create it with: adagroup study "
            f"run --storage {url} --name {args.name} --trainer MODULE:ATTR"
        ) from None


def status_command(args: argparse.Namespace) -> int:
    """``adagroup study status``."""

    study = _load_existing(args)
    counts = study.summary()
    plan = study.plan_status()
    plan_counts = {
        "planned": plan.planned,
        "complete": plan.complete,
        "failed_for_good": len(plan.failed),
        "unfinished": len(plan.unfinished),
        "replaced_attempts": plan.replaced,
    }
    # What AdaGroup concluded, stored with the study by `study run --adaptive`.
    adaptive = study.attrs.get("adagroup")
    if args.json:
        payload = {**{state.name: n for state, n in counts.items()}, "plan": plan_counts}
        if adaptive is not None:
            payload["adagroup"] = adaptive
        print(json.dumps(payload, allow_nan=False))
        return 0
    total = sum(counts.values())
    print(f"study {study.name}: {len(study.tasks)} tasks, {total} runs")
    for state, n in counts.items():
        print(f"  {state.name:<9}{n:>7}")
    # FAIL above counts attempts; a failed attempt that a retry replaced is no hole.
    print(f"plan: {plan.planned} (subset, seed) pairs")
    for key, n in plan_counts.items():
        if key != "planned":
            print(f"  {key.replace('_', ' '):<18}{n:>7}")
    if adaptive is not None:
        print(format_adaptive(adaptive["result"]))
    return 0


def affinity_command(args: argparse.Namespace) -> int:
    """``adagroup study affinity``."""
    from ..affinity import estimate_affinity
    from ..io import write_affinity

    check_out_folder(args.out, "--out")
    study = _load_existing(args)
    runs = study.runs(state=RunState.COMPLETE)
    if not runs:
        raise AdagroupError(
            f"study {study.name!r} has no COMPLETE run yet; run `adagroup study run` first."
        )
    est = estimate_affinity(
        runs,
        study.tasks.names,
        estimator=args.estimator,
        greater_is_better=study.greater_is_better,
        normalize=None if args.normalize == "none" else args.normalize,
    )
    missing = int(est.missing.sum()) if not callable(est.missing) else int(est.missing().sum())
    T = est.T if args.no_fill else est.filled()
    if missing and not args.no_fill:
        print(
            f"note: {missing} unmeasured entries filled with their row mean "
            "(--no-fill keeps them empty)",
            file=sys.stderr,
        )
    holes = study.plan_status().holes
    if holes:
        tasks = sorted({t for r in holes for t in r.subset}, key=study.tasks.names.index)
        shown = ", ".join(tasks[:10]) + (f" and {len(tasks) - 10} more" if len(tasks) > 10 else "")
        print(
            f"warning: {len(holes)} planned runs have no result (FAIL for good or unfinished): "
            f"entries of tasks {shown} rest on fewer runs than planned. `adagroup study run "
            "... --retry-failed` trains the failed ones again.",
            file=sys.stderr,
        )
    path = write_affinity(args.out, T, list(study.tasks.names))
    print(f"wrote {path} ({len(study.tasks)} tasks, {len(runs)} COMPLETE runs)")
    return 0


def list_command(args: argparse.Namespace) -> int:
    """``adagroup study list``."""
    from ..study import get_all_study_names, load_study

    url = _storage(args)
    path = sqlite_path(url)
    if path is not None and not os.path.exists(path):
        raise StudyNotFoundError(f"The --storage file {path!r} does not exist; check the path.")
    rows = []
    for name in get_all_study_names(url):
        study = load_study(name, url)
        by_state = study.summary()
        rows.append((name, len(study.tasks), {s.name: n for s, n in by_state.items()}))
    if args.json:
        print(json.dumps([{"name": n, "n_tasks": k, "runs": c} for n, k, c in rows]))
        return 0
    if not rows:
        print(f"no study in {url}")
    for name, n_tasks, counts in rows:
        runs = ", ".join(f"{state} {n}" for state, n in counts.items() if n)
        print(f"{name}: {n_tasks} tasks, {sum(counts.values())} runs ({runs or 'none'})")
    return 0


def delete_command(args: argparse.Namespace) -> int:
    """``adagroup study delete``: refuses without ``--yes``, since runs cannot be restored."""
    study = _load_existing(args)
    n_runs = sum(study.summary().values())
    what = f"study {study.name!r} ({len(study.tasks)} tasks, {n_runs} runs)"
    if not args.yes:
        print(
            f"adagroup study delete: would delete {what} and every score in it; pass --yes "
            "to delete.",
            file=sys.stderr,
        )
        return 1
    study.storage.delete_study(study.study_id)
    print(f"deleted {what}")
    return 0
