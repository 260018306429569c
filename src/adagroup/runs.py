"""Run states and frozen run records: what a study knows about one training run."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["RunState", "RunRecord"]


class RunState(enum.IntEnum):
    """State of a training run.

    ``WAITING`` runs are planned and free to claim; ``RUNNING`` runs are claimed
    by exactly one worker; ``COMPLETE`` and ``FAIL`` are final (immutable).
    """

    WAITING = 0
    RUNNING = 1
    COMPLETE = 2
    FAIL = 3

    def is_finished(self) -> bool:
        """Return True for the final states COMPLETE and FAIL."""
        return self in (RunState.COMPLETE, RunState.FAIL)


@dataclass(frozen=True)
class RunRecord:
    """Immutable snapshot of one training run, as read from a storage.

    Later writes to the storage never change a record already returned.

    Attributes
    ----------
    run_id : int
        Storage-wide identifier.
    subset : tuple of str
        Tasks trained together, in study task order.
    seed : int
        Seed passed to the trainer.
    state : RunState
        State when the record was read.
    scores : dict of str to float
        One score per task of ``subset`` for COMPLETE runs, else empty.
    attempt : int, default=0
        0 for the planned run, ``k`` for its k-th retry.
    retried_from : int or None, default=None
        ``run_id`` of the failed attempt this run retries.
    error : str or None, default=None
        Why a FAIL run failed (exception and traceback, or a reason).
    started_at, finished_at, heartbeat_at : datetime or None
        Naive UTC times on the storage clock.
    worker : str or None, default=None
        Identity (``host|pid-namespace|pid``) of the worker that claimed the run.
    """

    run_id: int
    subset: tuple[str, ...]
    seed: int
    state: RunState
    scores: dict[str, float] = field(default_factory=dict)
    attempt: int = 0
    retried_from: int | None = None
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    worker: str | None = None

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, or None if the run has not finished."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
