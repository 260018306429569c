"""Run states and frozen run records: what a study knows about one training run."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["PlanStatus", "RunState", "RunRecord"]


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


@dataclass(frozen=True)
class PlanStatus:
    """Where a study's plan stands: each planned ``(subset, seed)`` judged by its newest attempt.

    :meth:`adagroup.study.Study.summary` counts runs, and a FAIL run there may be an
    attempt that a retry has since replaced; this counts what the plan still lacks.

    Attributes
    ----------
    planned : int
        Distinct ``(subset, seed)`` pairs planned.
    complete : int
        Pairs whose newest attempt is COMPLETE.
    failed : tuple of RunRecord
        Newest attempts that are FAIL: no retry is planned, so the pair has no result
        (``Study.retry_failed`` / ``--retry-failed`` gives each one more attempt).
    unfinished : tuple of RunRecord
        Newest attempts still WAITING or RUNNING.
    replaced : int
        FAIL attempts that a later attempt of the same pair replaced.
    """

    planned: int
    complete: int
    failed: tuple[RunRecord, ...]
    unfinished: tuple[RunRecord, ...]
    replaced: int

    @property
    def holes(self) -> tuple[RunRecord, ...]:
        """Newest attempts of every pair without a result (failed, then unfinished)."""
        return self.failed + self.unfinished

    @classmethod
    def from_runs(cls, runs: list[RunRecord]) -> PlanStatus:
        """Build it from every run of a study (any order)."""
        newest: dict[tuple[tuple[str, ...], int], RunRecord] = {}
        for r in runs:
            key = (r.subset, r.seed)
            if key not in newest or r.run_id > newest[key].run_id:
                newest[key] = r
        last = sorted(newest.values(), key=lambda r: r.run_id)
        return cls(
            planned=len(last),
            complete=sum(r.state == RunState.COMPLETE for r in last),
            failed=tuple(r for r in last if r.state == RunState.FAIL),
            unfinished=tuple(r for r in last if not r.state.is_finished()),
            replaced=len(runs) - len(last),
        )
