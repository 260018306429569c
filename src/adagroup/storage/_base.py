"""The storage contract every backend implements."""

from __future__ import annotations

import abc
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..exceptions import TrainerError
from ..runs import RunRecord, RunState

__all__ = ["BaseStorage", "StudyInfo", "check_scores", "subset_key"]


@dataclass(frozen=True)
class StudyInfo:
    """Immutable description of a stored study.

    Attributes
    ----------
    study_id : int
    name : str
    tasks : tuple of str
        Task names in order; only ever extended at the end.
    greater_is_better : bool
    created_at : datetime
        Naive UTC time on the storage clock.
    """

    study_id: int
    name: str
    tasks: tuple[str, ...]
    greater_is_better: bool
    created_at: datetime


class BaseStorage(abc.ABC):
    """Where studies and their runs live. This docstring is the contract.

    A backend must guarantee, for every method below:

    * **Thread and process safety.** Any number of threads, and for persistent
      backends any number of processes on any number of machines, may call the
      storage at once. Each method is one transaction: it happens entirely or
      not at all.
    * **Snapshots.** Returned objects (:class:`~adagroup.runs.RunRecord`,
      :class:`StudyInfo`, lists, dicts) are copies; later writes never change them.
    * **Idempotent plan.** A run is identified by ``(study, subset, seed,
      attempt)``; the subset is canonicalised to study task order, so ``("b",
      "a")`` and ``("a", "b")`` are the same run. :meth:`enqueue_runs` creates
      attempt 0 only if no attempt of that ``(subset, seed)`` exists.
    * **Atomic claim.** :meth:`claim_run` moves one run WAITING -> RUNNING so that
      no two callers ever receive the same run.
    * **Immutable results.** :meth:`complete_run` writes every score and the
      COMPLETE state in one transaction, and only from RUNNING. COMPLETE and FAIL
      runs never change again: any attempt to change them raises
      :class:`~adagroup.exceptions.RunUpdateError`. WAITING runs change only
      their state.
    * **Retries are new runs.** :meth:`fail_run` with ``retry=True`` creates the
      run ``attempt + 1`` (WAITING, ``retried_from`` set) in the same transaction
      that fails the old one, so a crash can never lose the retry.
    * **One clock.** Times (``started_at``, ``finished_at``, ``heartbeat_at``,
      :meth:`now`) come from the storage's clock, naive UTC, so staleness is
      judged the same way by every worker whatever its own clock says.
    * **Append-only tasks.** A study's task list is only extended; index ``i``
      names the same task forever, so earlier runs stay valid.
    """

    # -- studies -------------------------------------------------------------------------------

    @abc.abstractmethod
    def create_study(self, name: str, tasks: Sequence[str], greater_is_better: bool) -> int:
        """Create a study and return its id.

        Raises
        ------
        StudyMismatchError
            If a study of that name already exists (open it instead).
        """

    @abc.abstractmethod
    def get_study_id(self, name: str) -> int:
        """Return the id of the study ``name``.

        Raises
        ------
        StudyNotFoundError
            If there is none; the message lists the existing names.
        """

    @abc.abstractmethod
    def get_study(self, study_id: int) -> StudyInfo:
        """Return a snapshot of the study ``study_id``."""

    @abc.abstractmethod
    def get_all_study_names(self) -> list[str]:
        """Return the names of every study, in creation order."""

    @abc.abstractmethod
    def delete_study(self, study_id: int) -> None:
        """Delete a study with all its runs and results."""

    @abc.abstractmethod
    def add_study_tasks(self, study_id: int, names: Sequence[str]) -> tuple[str, ...]:
        """Append tasks to a study; return the full task list.

        Existing runs stay valid: their subsets only name earlier tasks.

        Raises
        ------
        ValueError
            If a name is already a task of the study or repeats.
        """

    @abc.abstractmethod
    def set_study_attr(self, study_id: int, key: str, value: Any) -> None:
        """Store a JSON-serialisable ``value`` under ``key`` for the study (replacing any).

        Study attributes hold what a driver concluded from the runs (e.g.
        AdaGroup's parameters and result), so that other processes can read it.
        """

    @abc.abstractmethod
    def get_study_attrs(self, study_id: int) -> dict[str, Any]:
        """Return every attribute of the study (a copy; later writes do not change it)."""

    # -- runs ----------------------------------------------------------------------------------

    @abc.abstractmethod
    def enqueue_runs(self, study_id: int, items: Sequence[tuple[Sequence[str], int]]) -> list[int]:
        """Plan runs ``(subset, seed)``; return one run id per item, in order.

        Items already planned (any attempt) are not added again; their newest
        attempt's id is returned.
        """

    @abc.abstractmethod
    def claim_run(self, study_id: int, worker: str | None = None) -> RunRecord | None:
        """Atomically move the oldest WAITING run to RUNNING and return it, or None if none."""

    @abc.abstractmethod
    def record_heartbeat(self, run_id: int) -> bool:
        """Stamp ``heartbeat_at`` with the storage clock; False if the run is no longer RUNNING."""

    @abc.abstractmethod
    def complete_run(self, run_id: int, scores: Mapping[str, float]) -> RunRecord:
        """Write the scores and COMPLETE in one transaction; return the finished record.

        Raises
        ------
        RunUpdateError
            If the run is not RUNNING (already finished, reaped, or never claimed).
        TrainerError
            If ``scores`` does not hold one finite float per task of the subset.
        """

    @abc.abstractmethod
    def fail_run(self, run_id: int, error: str, *, retry: bool = False) -> int | None:
        """Mark a WAITING or RUNNING run FAIL with ``error``; return the retry's id if ``retry``.

        Raises
        ------
        RunUpdateError
            If the run is already finished.
        """

    @abc.abstractmethod
    def retry_run(self, run_id: int) -> int:
        """Plan ``attempt + 1`` of a FAIL run that has no later attempt; return its id.

        Raises
        ------
        RunUpdateError
            If the run is not FAIL, or a later attempt of it already exists.
        """

    @abc.abstractmethod
    def get_run(self, run_id: int) -> RunRecord:
        """Return a snapshot of one run.

        Raises
        ------
        KeyError
            If no run has that id.
        """

    @abc.abstractmethod
    def get_all_runs(
        self, study_id: int, states: Sequence[RunState] | None = None
    ) -> list[RunRecord]:
        """Return the study's runs (optionally only those in ``states``) ordered by id."""

    @abc.abstractmethod
    def count_runs(self, study_id: int) -> dict[RunState, int]:
        """Return the number of runs in every state (all states present)."""

    @abc.abstractmethod
    def get_stale_runs(self, study_id: int, grace_period: float) -> list[RunRecord]:
        """Return RUNNING runs whose last heartbeat (or start) is older than ``grace_period`` s."""

    @abc.abstractmethod
    def now(self) -> datetime:
        """Return the storage clock's current time (naive UTC)."""


def subset_key(subset: Sequence[str], tasks: Sequence[str]) -> tuple[tuple[str, ...], str]:
    """Canonicalise ``subset`` to study task order; return it with its JSON key.

    Raises
    ------
    ValueError
        If the subset is empty, repeats a task or names a task outside ``tasks``.
    """
    index = {t: i for i, t in enumerate(tasks)}
    names = [str(s) for s in subset]
    unknown = [n for n in names if n not in index]
    if unknown:
        raise ValueError(
            f"Unknown tasks {unknown} in subset {names}; the study has {list(tasks)}."
        )
    if not names or len(set(names)) != len(names):
        raise ValueError(f"A subset must name one or more distinct tasks. Got {names}.")
    canon = tuple(sorted(names, key=index.__getitem__))
    return canon, json.dumps(list(canon), separators=(",", ":"))


def check_scores(scores: object, subset: Sequence[str]) -> dict[str, float]:
    """Validate a trainer's return value against its subset; return it as floats.

    Raises
    ------
    TrainerError
        If ``scores`` is not a mapping with exactly one finite number per task.
    """
    if not isinstance(scores, Mapping):
        raise TrainerError(
            f"The trainer must return a dict {{task: score}} for subset {list(subset)}. "
            f"Got {type(scores).__name__} instead."
        )
    missing = [t for t in subset if t not in scores]
    extra = sorted(str(t) for t in scores if t not in subset)
    if missing or extra:
        raise TrainerError(
            f"The trainer must return one score per task of subset {list(subset)}. "
            f"Missing {missing}, unexpected {extra}."
        )
    out: dict[str, float] = {}
    for task in subset:
        raw = scores[task]
        # float() would accept "0.5" and True: a score that is text or a flag is a trainer bug.
        if isinstance(raw, (str, bytes, bool)) or type(raw).__name__ == "bool_":
            raise TrainerError(
                f"The trainer's score for task {task!r} must be a number. Got the "
                f"{type(raw).__name__} {raw!r} instead; return a float."
            )
        try:
            value = float(raw)
        except (TypeError, ValueError, OverflowError):
            raise TrainerError(
                f"The trainer's score for task {task!r} must be a finite float. "
                f"Got {_short_repr(raw)} instead."
            ) from None
        if not math.isfinite(value):
            raise TrainerError(
                f"The trainer's score for task {task!r} must be finite. Got {value} instead "
                "(diverged training?)."
            )
        out[task] = value
    return out


def _short_repr(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}... ({type(value).__name__})"


def not_running_message(run_id: int, state: RunState, verb: str) -> str:
    """The RunUpdateError text for a run that may no longer change."""
    allowed = "RUNNING" if verb == "complete" else "WAITING or RUNNING"
    return (
        f"Cannot {verb} run {run_id}: it is {state.name}, and only {allowed} runs can change. "
        "Finished runs are immutable; a reaped run is retried as a new attempt."
    )


def check_new_tasks(existing: Sequence[str], names: Sequence[str]) -> tuple[str, ...]:
    """Validate task names to add to a study: well-formed, unique, not already present."""
    from ..tasks import TaskSet

    new = TaskSet(names).names  # validates names and uniqueness
    clash = sorted(set(new) & set(existing))
    if clash:
        raise ValueError(f"Cannot add tasks {clash}: they are already tasks of the study.")
    return new
