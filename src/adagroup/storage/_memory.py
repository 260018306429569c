"""In-memory storage: one process, nothing persisted. Useful for tests and notebooks."""

from __future__ import annotations

import copy
import dataclasses
import json
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from ..exceptions import RunUpdateError, StudyMismatchError, StudyNotFoundError
from ..runs import RunRecord, RunState
from ._base import (
    BaseStorage,
    StudyInfo,
    check_new_tasks,
    check_scores,
    not_running_message,
    subset_key,
)

__all__ = ["InMemoryStorage"]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class InMemoryStorage(BaseStorage):
    """Storage held in this process's memory (see :class:`BaseStorage` for the contract).

    Thread-safe through one lock. Lost when the process exits, and not shared
    with process-pool or Ray workers (they never touch the storage anyway: the
    study process writes every result).
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._studies: dict[int, StudyInfo] = {}
        self._runs: dict[int, RunRecord] = {}
        self._run_study: dict[int, int] = {}
        self._keys: dict[tuple[int, str, int], list[int]] = {}
        self._attrs: dict[int, dict[str, str]] = {}

    def __repr__(self) -> str:
        return "InMemoryStorage()"

    # -- studies -------------------------------------------------------------------------------

    def create_study(self, name: str, tasks: Sequence[str], greater_is_better: bool) -> int:
        with self._lock:
            if any(s.name == name for s in self._studies.values()):
                raise StudyMismatchError(
                    f"A study named {name!r} already exists; open it with Study({name!r}, ...)."
                )
            study_id = max(self._studies, default=0) + 1
            self._studies[study_id] = StudyInfo(
                study_id, name, tuple(tasks), bool(greater_is_better), _utcnow()
            )
            return study_id

    def get_study_id(self, name: str) -> int:
        with self._lock:
            for s in self._studies.values():
                if s.name == name:
                    return s.study_id
            raise StudyNotFoundError(
                f"No study named {name!r}. Existing studies: {self.get_all_study_names()}."
            )

    def get_study(self, study_id: int) -> StudyInfo:
        with self._lock:
            try:
                return self._studies[study_id]
            except KeyError:
                raise StudyNotFoundError(f"No study with id {study_id}.") from None

    def get_all_study_names(self) -> list[str]:
        with self._lock:
            return [s.name for s in self._studies.values()]

    def delete_study(self, study_id: int) -> None:
        with self._lock:
            self.get_study(study_id)
            del self._studies[study_id]
            for run_id in [r for r, s in self._run_study.items() if s == study_id]:
                del self._runs[run_id], self._run_study[run_id]
            for key in [k for k in self._keys if k[0] == study_id]:
                del self._keys[key]
            self._attrs.pop(study_id, None)

    def set_study_attr(self, study_id: int, key: str, value: Any) -> None:
        # Stored as JSON text, as the SQL backend does: same checks, and no aliasing.
        text = json.dumps(value, allow_nan=False)
        with self._lock:
            self.get_study(study_id)
            self._attrs.setdefault(study_id, {})[str(key)] = text

    def get_study_attrs(self, study_id: int) -> dict[str, Any]:
        with self._lock:
            self.get_study(study_id)
            return {k: json.loads(v) for k, v in self._attrs.get(study_id, {}).items()}

    def add_study_tasks(self, study_id: int, names: Sequence[str]) -> tuple[str, ...]:
        with self._lock:
            info = self.get_study(study_id)
            new = check_new_tasks(info.tasks, names)
            info = dataclasses.replace(info, tasks=info.tasks + new)
            self._studies[study_id] = info
            return info.tasks

    # -- runs ----------------------------------------------------------------------------------

    def enqueue_runs(self, study_id: int, items: Sequence[tuple[Sequence[str], int]]) -> list[int]:
        with self._lock:
            tasks = self.get_study(study_id).tasks
            planned = [(*subset_key(subset, tasks), int(seed)) for subset, seed in items]
            ids = []
            for subset, key, seed in planned:
                existing = self._keys.get((study_id, key, seed))
                if existing:
                    ids.append(existing[-1])
                    continue
                run_id = max(self._runs, default=0) + 1
                self._runs[run_id] = RunRecord(run_id, subset, seed, RunState.WAITING)
                self._run_study[run_id] = study_id
                self._keys[(study_id, key, seed)] = [run_id]
                ids.append(run_id)
            return ids

    def claim_run(self, study_id: int, worker: str | None = None) -> RunRecord | None:
        with self._lock:
            for run_id in sorted(self._runs):
                run = self._runs[run_id]
                if self._run_study[run_id] == study_id and run.state == RunState.WAITING:
                    now = _utcnow()
                    run = dataclasses.replace(
                        run,
                        state=RunState.RUNNING,
                        started_at=now,
                        heartbeat_at=now,
                        worker=worker,
                    )
                    self._runs[run_id] = run
                    return _copy(run)
            return None

    def record_heartbeat(self, run_id: int) -> bool:
        with self._lock:
            run = self._get(run_id)
            if run.state != RunState.RUNNING:
                return False
            self._runs[run_id] = dataclasses.replace(run, heartbeat_at=_utcnow())
            return True

    def complete_run(self, run_id: int, scores: Mapping[str, float]) -> RunRecord:
        with self._lock:
            run = self._get(run_id)
            if run.state != RunState.RUNNING:
                raise RunUpdateError(not_running_message(run_id, run.state, "complete"))
            values = check_scores(scores, run.subset)
            run = dataclasses.replace(
                run, state=RunState.COMPLETE, scores=values, finished_at=_utcnow()
            )
            self._runs[run_id] = run
            return _copy(run)

    def fail_run(self, run_id: int, error: str, *, retry: bool = False) -> int | None:
        with self._lock:
            run = self._get(run_id)
            if run.state.is_finished():
                raise RunUpdateError(not_running_message(run_id, run.state, "fail"))
            self._runs[run_id] = dataclasses.replace(
                run, state=RunState.FAIL, error=str(error), finished_at=_utcnow()
            )
            if not retry:
                return None
            study_id = self._run_study[run_id]
            new_id = max(self._runs) + 1
            self._runs[new_id] = RunRecord(
                new_id,
                run.subset,
                run.seed,
                RunState.WAITING,
                attempt=run.attempt + 1,
                retried_from=run_id,
            )
            self._run_study[new_id] = study_id
            key = subset_key(run.subset, self.get_study(study_id).tasks)[1]
            self._keys[(study_id, key, run.seed)].append(new_id)
            return new_id

    def retry_run(self, run_id: int) -> int:
        with self._lock:
            run = self._get(run_id)
            study_id = self._run_study[run_id]
            key = subset_key(run.subset, self.get_study(study_id).tasks)[1]
            attempts = self._keys[(study_id, key, run.seed)]
            if run.state != RunState.FAIL or attempts[-1] != run_id:
                raise RunUpdateError(
                    f"Cannot retry run {run_id}: only the newest attempt of a FAIL run can be "
                    f"retried (it is {run.state.name}, newest attempt is run {attempts[-1]})."
                )
            new_id = max(self._runs) + 1
            self._runs[new_id] = RunRecord(
                new_id,
                run.subset,
                run.seed,
                RunState.WAITING,
                attempt=run.attempt + 1,
                retried_from=run_id,
            )
            self._run_study[new_id] = study_id
            attempts.append(new_id)
            return new_id

    def get_run(self, run_id: int) -> RunRecord:
        with self._lock:
            return _copy(self._get(run_id))

    def get_all_runs(
        self, study_id: int, states: Sequence[RunState] | None = None
    ) -> list[RunRecord]:
        with self._lock:
            self.get_study(study_id)
            wanted = None if states is None else {RunState(s) for s in states}
            return [
                _copy(run)
                for run_id, run in sorted(self._runs.items())
                if self._run_study[run_id] == study_id and (wanted is None or run.state in wanted)
            ]

    def count_runs(self, study_id: int) -> dict[RunState, int]:
        with self._lock:
            counts = dict.fromkeys(RunState, 0)
            for run_id, run in self._runs.items():
                if self._run_study[run_id] == study_id:
                    counts[run.state] += 1
            return counts

    def get_stale_runs(self, study_id: int, grace_period: float) -> list[RunRecord]:
        with self._lock:
            limit = _utcnow() - timedelta(seconds=float(grace_period))
            return [
                _copy(run)
                for run in self.get_all_runs(study_id, [RunState.RUNNING])
                if (run.heartbeat_at or run.started_at or limit) < limit
            ]

    def now(self) -> datetime:
        return _utcnow()

    def _get(self, run_id: int) -> RunRecord:
        try:
            return self._runs[run_id]
        except KeyError:
            raise KeyError(f"No run with id {run_id}.") from None


def _copy(run: RunRecord) -> RunRecord:
    return dataclasses.replace(run, scores=copy.copy(run.scores))
