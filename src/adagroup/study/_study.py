"""The Study facade: a named, durable plan of training runs, read and written through a storage."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..exceptions import (
    AdagroupError,
    RunUpdateError,
    StudyMismatchError,
    StudyNotFoundError,
)
from ..runs import PlanStatus, RunRecord, RunState
from ..storage import BaseStorage, get_storage
from ..tasks import TaskSet
from ._failures import (
    INFRA_RETRIES,
    REAP_RETRIES,
    STALE,
    failure_kind,
)
from ._loop import (
    _RunLoop,
)
from ._workers import (
    _is_dead_local_worker,
    worker_id,
)

_logger = logging.getLogger(__name__)


class Study:
    """A named study: which task subsets to train, and every run's outcome, in a storage.

    ``Study(name, storage, tasks=...)`` creates the study, or resumes it if a study
    of that name exists. Plan runs with :meth:`enqueue` (idempotent), train them
    with :meth:`run` (resume = call it again), read them with :meth:`runs`.

    Parameters
    ----------
    name : str
        Study name, unique in the storage.
    storage : None, str or BaseStorage, default=None
        Where runs are recorded: None (in memory, lost at exit), a SQLAlchemy URL
        (``"sqlite:///study.db"``), a SQLite file path, or a storage object.
    tasks : TaskSet or sequence of str, default=None
        The study's tasks, in order. Required to create a study; when resuming,
        it must equal the stored list (None accepts whatever is stored).
    greater_is_better : bool, default=None
        Whether higher scores are better (accuracy) or worse (loss). None means
        True for a new study and "whatever is stored" for an existing one.

    Attributes
    ----------
    name : str
    study_id : int
    storage : BaseStorage
    tasks : TaskSet
    greater_is_better : bool

    Raises
    ------
    StudyNotFoundError
        If no study of that name exists and ``tasks`` is None; lists the existing names.
    StudyMismatchError
        If the stored study has other tasks or another direction; names the difference.

    See Also
    --------
    load_study : Open an existing study.
    adagroup.estimate_affinity : Turn COMPLETE runs into a task-affinity matrix.

    Notes
    -----
    Durability follows Optuna's design: scores and the COMPLETE state are written
    in one transaction the moment a trainer returns; a run is claimed atomically
    (WAITING -> RUNNING) so concurrent workers (:meth:`run` in several processes on
    the same storage) never train the same run; finished runs are immutable.
    Failed runs are retried as new attempts (``attempt + 1``, ``retried_from``
    set); failures of the trainer at most ``max_retries`` times, and failures that
    are not its fault (a dead worker or driver, Ctrl-C) within their own budgets
    (:func:`failure_kind`). Workers heartbeat their RUNNING runs;
    :meth:`reap_stale` fails and retries runs whose heartbeat is older than the
    grace period on the storage clock, or whose worker process on this machine
    has exited. :meth:`plan_status` tells which planned runs still lack a result.

    Examples
    --------
    >>> study = Study("demo", tasks=["a", "b", "c"])
    >>> study.enqueue([("a", "b"), (0, 2), ("b", "a")])  # the third repeats the first
    [1, 2, 1]
    >>> _ = study.run(lambda subset, seed: {t: 1.0 for t in subset}, progress=False)
    >>> study.summary()[RunState.COMPLETE]
    2
    """

    def __init__(
        self,
        name: str,
        storage: None | str | BaseStorage = None,
        tasks: TaskSet | Sequence[str] | None = None,
        greater_is_better: bool | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(
                f"The 'name' parameter of Study must be a non-empty str. Got {name!r}."
            )
        if greater_is_better is not None and not isinstance(greater_is_better, bool):
            raise TypeError(
                "The 'greater_is_better' parameter of Study must be a bool or None. "
                f"Got {greater_is_better!r} instead."
            )
        self.name = name
        self.storage = get_storage(storage)
        task_set = None if tasks is None else TaskSet(tasks)
        try:
            self.study_id = self.storage.get_study_id(name)
        except StudyNotFoundError as exc:
            if task_set is None:
                # Chained, so that callers (the CLI) can give their own advice on the lookup.
                raise StudyNotFoundError(
                    f"{exc} Pass tasks=[...] to create study {name!r}."
                ) from exc
            try:
                self.study_id = self.storage.create_study(
                    name, task_set.names, True if greater_is_better is None else greater_is_better
                )
            except StudyMismatchError:  # another worker created it first: resume it
                self.study_id = self.storage.get_study_id(name)
        info = self.storage.get_study(self.study_id)
        self.tasks = TaskSet(info.tasks)
        self.greater_is_better = info.greater_is_better
        if task_set is not None and task_set != self.tasks:
            raise StudyMismatchError(_describe_task_mismatch(name, self.tasks, task_set))
        if greater_is_better is not None and greater_is_better != self.greater_is_better:
            raise StudyMismatchError(
                f"Study {name!r} was created with greater_is_better={self.greater_is_better}; "
                f"got greater_is_better={greater_is_better}. Use another study name or omit it."
            )
        self._worker = worker_id()

    def __repr__(self) -> str:
        return f"Study(name={self.name!r}, storage={self.storage!r}, n_tasks={len(self.tasks)})"

    # -- planning ----------------------------------------------------------------------------

    def enqueue(
        self, subsets: Iterable[Sequence[str | int]], seeds: Iterable[int] = (0,)
    ) -> list[int]:
        """Plan a run for every subset and seed; already planned runs are not added again.

        Parameters
        ----------
        subsets : iterable of sequences of str or int
            Each subset lists task names or task indices (e.g. the output of
            :func:`adagroup.sampling.sample_subsets`). Order within a subset
            does not matter.
        seeds : iterable of int, default=(0,)
            Seeds; each subset is planned once per seed.

        Returns
        -------
        run_ids : list of int
            One id per (subset, seed), subsets outer, seeds inner. For runs planned
            before, the id of their newest attempt.
        """
        self._refresh_tasks()
        seed_list = []
        for seed in seeds:
            if not isinstance(seed, int) or isinstance(seed, bool):
                raise TypeError(f"The 'seeds' parameter must hold ints. Got {seed!r} instead.")
            seed_list.append(int(seed))
        if not seed_list:
            raise ValueError("The 'seeds' parameter must hold at least one seed. Got none.")
        if isinstance(subsets, (str, bytes)):
            raise TypeError(
                f"The 'subsets' parameter must be a list of subsets. Got the string {subsets!r}; "
                f"wrap it as [({subsets!r},)]."
            )
        items = [(self.tasks.subset(s), seed) for s in subsets for seed in seed_list]
        if not items:
            return []
        return self.storage.enqueue_runs(self.study_id, items)

    def add_tasks(self, names: Iterable[str]) -> TaskSet:
        """Append new tasks to the study (e.g. AdaGroup's next batch); return all tasks.

        Existing runs stay valid: indices of earlier tasks never change, and every
        recorded score was measured on a subset of earlier tasks. Affinities between
        old and new tasks are unmeasured until runs mixing them complete.
        """
        self.tasks = TaskSet(self.storage.add_study_tasks(self.study_id, list(names)))
        return self.tasks

    def _refresh_tasks(self) -> None:
        self.tasks = TaskSet(self.storage.get_study(self.study_id).tasks)

    # -- worker API (also for external schedulers) -----------------------------------------------

    def claim(self, worker: str | None = None) -> RunRecord | None:
        """Atomically take the oldest WAITING run (now RUNNING), or None if there is none."""
        return self.storage.claim_run(self.study_id, worker or self._worker)

    def complete(self, run: RunRecord | int, scores: Mapping[str, float]) -> RunRecord:
        """Record a claimed run's scores and mark it COMPLETE, in one transaction.

        Raises
        ------
        TrainerError
            If ``scores`` lacks a task of the subset, has extra tasks, or is not finite.
        RunUpdateError
            If the run is not RUNNING (finished, or reaped as stale meanwhile).
        """
        run_id = run if isinstance(run, int) else run.run_id
        return self.storage.complete_run(run_id, scores)

    def fail(self, run: RunRecord | int, error: str, *, retry: bool = False) -> int | None:
        """Mark a run FAIL with ``error``; with ``retry``, plan ``attempt + 1``; return its id."""
        run_id = run if isinstance(run, int) else run.run_id
        return self.storage.fail_run(run_id, error, retry=retry)

    def retry_failed(self) -> list[int]:
        """Plan one more attempt of every run whose newest attempt FAILed; return the new ids.

        :meth:`run` retries failures only within its ``max_retries``; this gives each
        exhausted run one further attempt (a failure of that attempt is not retried).
        """
        newest: dict[tuple[tuple[str, ...], int], RunRecord] = {}
        for r in self.runs():
            newest[(r.subset, r.seed)] = r  # ids grow with attempts: the last one wins
        new_ids = []
        for r in newest.values():
            if r.state == RunState.FAIL:
                try:
                    new_ids.append(self.storage.retry_run(r.run_id))
                except RunUpdateError:  # another worker retried it first
                    continue
        return new_ids

    def heartbeat(self, run: RunRecord | int) -> bool:
        """Tell the storage a RUNNING run is alive; False if it was reaped or finished."""
        return self.storage.record_heartbeat(run if isinstance(run, int) else run.run_id)

    def reap_stale(
        self,
        grace_period: float = 120.0,
        max_retries: int = 2,
        *,
        exclude: Iterable[int] = (),
    ) -> list[int]:
        """Fail RUNNING runs whose worker is gone, and retry them within ``max_retries``.

        A run is stale if its last heartbeat is more than ``grace_period`` seconds old
        on the storage clock, or if it was claimed by a process on this machine that
        has exited (a ``kill -9``): those are reaped at once.

        Parameters
        ----------
        grace_period : float, default=120.0
            Seconds without heartbeat after which a RUNNING run is considered dead.
        max_retries : int, default=2
            Kept for compatibility: a reaped run is not the trainer's failure, so it does
            not count against ``max_retries``; it is re-planned as ``attempt + 1`` unless
            it was reaped ``REAP_RETRIES`` times before.
        exclude : iterable of int, default=()
            Run ids never to reap (this worker's own runs in flight).

        Returns
        -------
        run_ids : list of int
            The runs this call failed.
        """
        skip = set(exclude)
        stale = {r.run_id: r for r in self.storage.get_stale_runs(self.study_id, grace_period)}
        for r in self.storage.get_all_runs(self.study_id, [RunState.RUNNING]):
            if r.run_id not in stale and _is_dead_local_worker(r.worker):
                stale[r.run_id] = r
        reaped = []
        for run_id, r in sorted(stale.items()):
            if run_id in skip:
                continue
            dead = _is_dead_local_worker(r.worker)
            reason = (
                f"{STALE}: worker {r.worker} exited while RUNNING (killed; or, if it trained "
                "in-process, its trainer may have ended it: os._exit, a segfault, the OOM "
                "killer; run with --n-jobs 2 / executor='process' so that a crashing trainer "
                "only takes down its worker)"
                if dead
                else f"{STALE}: no heartbeat for more than {grace_period:g} s (worker {r.worker})"
            )
            retry = self._may_retry(r, "reaped", max_retries)
            try:
                self.storage.fail_run(run_id, reason, retry=retry)
            except RunUpdateError:  # finished or reaped by someone else meanwhile
                continue
            if not retry:
                _logger.warning(
                    "Run %d on %s was reaped %d times; it is not retried again",
                    run_id,
                    list(r.subset),
                    REAP_RETRIES + 1,
                )
            _logger.warning("Run %d on %s was reaped: %s", run_id, list(r.subset), reason)
            reaped.append(run_id)
        return reaped

    def _may_retry(self, run: RunRecord, kind: str, max_retries: int) -> bool:
        """Whether a run failing now for ``kind`` (see :func:`failure_kind`) gets a retry.

        Each kind has its own budget, counted over the run's earlier attempts: a
        ``kill -9`` of the driver does not use up the trainer's ``max_retries``.
        """
        if kind == "interrupted":
            return True
        limit = {"trainer": max_retries, "worker": INFRA_RETRIES, "reaped": REAP_RETRIES}[kind]
        seen = 1  # this failure
        previous = run.retried_from
        while previous is not None and seen <= limit:
            try:
                earlier = self.storage.get_run(previous)
            except KeyError:  # deleted meanwhile: nothing more to count
                break
            seen += failure_kind(earlier.error) == kind
            previous = earlier.retried_from
        return seen <= limit

    # -- reading ---------------------------------------------------------------------------

    def runs(self, state: RunState | Iterable[RunState] | None = None) -> list[RunRecord]:
        """Return run records (all, or those in ``state``), ordered by run id."""
        if state is None:
            states = None
        elif isinstance(state, (RunState, int)):
            states = [RunState(state)]
        else:
            states = [RunState(s) for s in state]
        return self.storage.get_all_runs(self.study_id, states)

    def set_attr(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable ``value`` under ``key`` with the study (see ``attrs``)."""
        self.storage.set_study_attr(self.study_id, key, value)

    @property
    def attrs(self) -> dict[str, Any]:
        """The study's attributes, e.g. ``"adagroup"``: AdaGroup's parameters and result."""
        return self.storage.get_study_attrs(self.study_id)

    def summary(self) -> dict[RunState, int]:
        """Return the number of runs in each state (every state present)."""
        return self.storage.count_runs(self.study_id)

    def plan_status(self) -> PlanStatus:
        """Return where the plan stands, judging each ``(subset, seed)`` by its newest attempt.

        Unlike :meth:`summary`, it tells FAIL attempts replaced by a retry from planned
        runs that ended FAIL for good (holes in the affinity estimate).
        """
        return PlanStatus.from_runs(self.runs())

    # -- execution ---------------------------------------------------------------------------

    def run(
        self,
        trainer: Any,
        *,
        n_jobs: int | None = None,
        executor: None | str | Any = None,
        catch: tuple[type[BaseException], ...] = (Exception,),
        max_retries: int = 2,
        heartbeat_interval: float = 30.0,
        grace_period: float | None = None,
        progress: bool = True,
        timeout: float | str | None = "auto",
        resources: Mapping[str, Any] | None = None,
        ray_address: str | None = None,
        wait_for_others: bool = True,
    ) -> dict[RunState, int]:
        """Train every WAITING run; return :meth:`summary` when the study is finished.

        Calling it again resumes: only WAITING runs (including retries) are trained;
        COMPLETE runs are never trained again. Several processes may call it on the
        same persistent storage at once; each run is trained by exactly one of them.

        Parameters
        ----------
        trainer : callable or object with ``train``
            ``train(subset, seed) -> {task: score}`` with a finite score for every
            task of ``subset``. Must be picklable for ``n_jobs > 1`` and Ray.
        n_jobs : int, default=None
            Runs in flight at once. 1 with ``executor=None`` trains in this process;
            more uses a local process pool; -1 means one per CPU (or, for Ray, as
            many as the cluster holds). None means 1, but -1 with ``executor="ray"``.
        executor : {None, "process", "ray"} or BaseExecutor, default=None
            Where trainers run (see :mod:`adagroup.execution`).
        catch : tuple of exception types, default=(Exception,)
            Trainer exceptions recorded as FAIL after which the study goes on.
            Any other exception is recorded too, then re-raised.
        max_retries : int, default=2
            Retries of a run after failures of its trainer (an exception, bad scores,
            a timeout). Failures that are not the trainer's have their own budgets (see
            :func:`failure_kind`): a run whose worker process died gets ``INFRA_RETRIES``
            retries, a run reaped from a dead driver ``REAP_RETRIES``, and a run
            interrupted by Ctrl-C or SIGTERM of the driver is always retried.
        heartbeat_interval : float, default=30.0
            Seconds between heartbeats of this worker's RUNNING runs.
        grace_period : float, default=None
            Seconds without heartbeat after which another worker's RUNNING run is
            reaped and retried; default ``4 * heartbeat_interval``.
        progress : bool, default=True
            Show a tqdm bar (done / failed / remaining, ETA) if tqdm is installed.
        timeout : float, "auto" or None, default="auto"
            Per-run limit in seconds: the run fails with ``TimeoutError`` and is retried.
            In-process, only a soft ``SIGALRM`` interrupt (Python code, POSIX main
            thread); the process and Ray executors also kill a run that ignores it.
            ``"auto"`` protects a long study from one hung trainer without a guess at
            run times: with the process or Ray executor, once ``AUTO_TIMEOUT_MIN_RUNS``
            runs have completed, a run is killed after ``AUTO_TIMEOUT_FACTOR`` times the
            slowest completed run (and at least ``AUTO_TIMEOUT_FLOOR`` s); in-process it
            sets no limit. None never times out.
        resources : dict, default=None
            Per-run Ray resources, e.g. ``{"num_gpus": 1}`` (``executor="ray"`` only).
        ray_address : str, default=None
            Ray cluster to join; None starts a local instance unless one is running.
        wait_for_others : bool, default=True
            When nothing is left to claim, wait for other workers' RUNNING runs to
            finish or be reaped (and train their retries) before returning.

        Returns
        -------
        summary : dict of RunState to int

        Raises
        ------
        KeyboardInterrupt
            On Ctrl-C, after recording the runs in flight as FAIL ("interrupted")
            with a WAITING retry each, so the next ``run`` trains them.
        StudyMismatchError
            If the trainer's ``greater_is_better`` disagrees with the study's.
        """
        _check_run_args(max_retries, heartbeat_interval, grace_period, timeout, catch)
        direction = getattr(trainer, "greater_is_better", None)
        if direction is not None and bool(direction) != self.greater_is_better:
            raise StudyMismatchError(
                f"The trainer has greater_is_better={bool(direction)} but study {self.name!r} "
                f"was created with greater_is_better={self.greater_is_better}."
            )
        from ..execution import make_executor, resolve_trainer

        resolve_trainer(trainer)
        grace = 4.0 * heartbeat_interval if grace_period is None else float(grace_period)
        if n_jobs is None:
            n_jobs = -1 if executor == "ray" else 1
        ex = make_executor(executor, n_jobs, resources=resources, address=ray_address)
        try:
            loop = _RunLoop(
                self, ex, trainer, catch, max_retries, heartbeat_interval, grace, timeout
            )
        except BaseException:  # e.g. Ray cannot ship the trainer: do not leave workers behind
            ex.shutdown(kill=True)
            raise
        loop.execute(progress=progress, wait_for_others=wait_for_others)
        if loop.n_done == 0 and loop.n_broken_pool and loop.n_broken_pool == loop.n_failed:
            raise AdagroupError(
                f"Every run of this call failed because the worker pool broke "
                f"({loop.n_broken_pool} times) before any run finished: the workers could not "
                "start or died at once. In a script, call Study.run under "
                "`if __name__ == '__main__':` (workers are spawned and re-import the script), "
                "check that the trainer can be pickled, or pass n_jobs=1. The failed runs are "
                "in the store; retry them with study.retry_failed()."
            )
        return self.summary()


def _check_run_args(
    max_retries: Any, heartbeat_interval: Any, grace_period: Any, timeout: Any, catch: Any
) -> None:
    if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
        raise ValueError(
            f"The 'max_retries' parameter of Study.run must be an int >= 0. Got {max_retries!r}."
        )
    for name, value in (("heartbeat_interval", heartbeat_interval), ("timeout", timeout)):
        if name == "timeout" and (value is None or value == "auto"):
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
            raise ValueError(
                f"The {name!r} parameter of Study.run must be a number > 0"
                + (", 'auto' or None" if name == "timeout" else "")
                + f". Got {value!r}."
            )
    if grace_period is not None and (
        not isinstance(grace_period, (int, float)) or not grace_period > heartbeat_interval
    ):
        raise ValueError(
            "The 'grace_period' parameter of Study.run must be a number larger than "
            f"heartbeat_interval={heartbeat_interval}. Got {grace_period!r}."
        )
    if not isinstance(catch, tuple) or not all(
        isinstance(c, type) and issubclass(c, BaseException) for c in catch
    ):
        raise TypeError(
            "The 'catch' parameter of Study.run must be a tuple of exception classes. "
            f"Got {catch!r} instead."
        )


def _describe_task_mismatch(name: str, stored: TaskSet, given: TaskSet) -> str:
    missing = [t for t in stored if t not in given]
    extra = [t for t in given if t not in stored]
    if not missing and not extra:
        detail = f"the same tasks in another order (stored order: {list(stored)})"
    else:
        detail = f"tasks missing from yours: {missing}; tasks not in the study: {extra}"
    hint = (
        " To grow the study, open it without tasks and call add_tasks()."
        if not missing and extra
        else ""
    )
    return f"Study {name!r} exists with different tasks: {detail}.{hint}"


def load_study(name: str, storage: None | str | BaseStorage) -> Study:
    """Open an existing study.

    Raises
    ------
    StudyNotFoundError
        If there is no such study; the message lists the existing names.
    """
    return Study(name, storage)


def get_all_study_names(storage: None | str | BaseStorage) -> list[str]:
    """Return the names of every study in ``storage``."""
    return get_storage(storage).get_all_study_names()
