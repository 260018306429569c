import dataclasses
from datetime import datetime, timedelta

import pytest

from adagroup.runs import RunRecord, RunState


def test_states():
    assert [s.name for s in RunState] == ["WAITING", "RUNNING", "COMPLETE", "FAIL"]
    assert [s.is_finished() for s in RunState] == [False, False, True, True]
    assert RunState(2) is RunState.COMPLETE


def test_record_is_frozen_with_duration():
    start = datetime(2024, 1, 1)
    run = RunRecord(
        1,
        ("a", "b"),
        0,
        RunState.COMPLETE,
        {"a": 1.0, "b": 2.0},
        started_at=start,
        finished_at=start + timedelta(seconds=90),
    )
    assert run.duration == 90.0 and run.attempt == 0 and run.retried_from is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.seed = 1
    assert RunRecord(2, ("a",), 0, RunState.WAITING).duration is None
