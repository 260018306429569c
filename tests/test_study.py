"""Study: create/resume by name, idempotent planning, run/resume, failures and retries."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

import _trainers
from adagroup.exceptions import StudyMismatchError, StudyNotFoundError
from adagroup.runs import RunState
from adagroup.study import Study, get_all_study_names, load_study

TASKS = ["a", "b", "c", "d"]
PLAN = [(0,), (1,), (2,), (3,), (0, 1), (1, 2, 3), ("a", "d")]


@pytest.fixture(params=["memory", "sqlite"])
def storage(request, tmp_path):
    if request.param == "memory":
        from adagroup.storage import InMemoryStorage

        return InMemoryStorage()
    return f"sqlite:///{tmp_path / 'study.db'}"


@pytest.fixture
def count_file(tmp_path):
    return str(tmp_path / "calls.txt")


def test_create_resume_and_list(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study("s", url, tasks=TASKS)
    assert study.greater_is_better is True and study.tasks == TASKS
    again = Study("s", url)
    assert again.study_id == study.study_id and again.tasks == TASKS
    assert load_study("s", url).study_id == study.study_id
    Study("loss", url, tasks=["x"], greater_is_better=False)
    assert get_all_study_names(url) == ["s", "loss"]
    assert load_study("loss", url).greater_is_better is False


def test_missing_study_lists_names(storage):
    Study("s", storage, tasks=TASKS)
    with pytest.raises(StudyNotFoundError, match=r"\['s'\].*Pass tasks"):
        Study("other", storage)


@pytest.mark.parametrize(
    "tasks, match",
    [
        (["a", "b", "c"], r"missing from yours: \['d'\]"),
        (["a", "b", "c", "d", "e"], r"not in the study: \['e'\].*add_tasks"),
        (["b", "a", "c", "d"], "another order"),
    ],
)
def test_mismatched_tasks_name_the_difference(storage, tasks, match):
    Study("s", storage, tasks=TASKS)
    with pytest.raises(StudyMismatchError, match=match):
        Study("s", storage, tasks=tasks)


def test_mismatched_direction(storage):
    Study("s", storage, tasks=TASKS)
    with pytest.raises(StudyMismatchError, match="greater_is_better=True"):
        Study("s", storage, tasks=TASKS, greater_is_better=False)
    study = Study("s", storage)
    with pytest.raises(StudyMismatchError, match="trainer has greater_is_better=False"):
        study.run(_trainers.LossTrainer(), progress=False)


def test_enqueue_is_idempotent(storage):
    study = Study("s", storage, tasks=TASKS)
    ids = study.enqueue(PLAN, seeds=(0, 1))
    assert len(ids) == 14 and len(set(ids)) == 14
    assert study.enqueue(list(reversed(PLAN)), seeds=(1, 0)) == [
        ids[2 * i + j] for i in reversed(range(7)) for j in (1, 0)
    ]
    assert study.summary()[RunState.WAITING] == 14
    assert study.runs()[-2].subset == ("a", "d")
    with pytest.raises(TypeError, match="'seeds'"):
        study.enqueue(PLAN, seeds=[0.5])
    with pytest.raises(TypeError, match="list of subsets"):
        study.enqueue("ab")


def test_run_then_resume_trains_nothing_twice(storage, count_file):
    study = Study("s", storage, tasks=TASKS)
    study.enqueue(PLAN)
    summary = study.run(_trainers.CountingTrainer(count_file), progress=False)
    assert summary == {
        RunState.WAITING: 0,
        RunState.RUNNING: 0,
        RunState.COMPLETE: 7,
        RunState.FAIL: 0,
    }
    for run in study.runs(state=RunState.COMPLETE):
        assert run.scores == _trainers.scores(run.subset, run.seed)
    study.enqueue(PLAN)  # re-planning adds nothing
    study.run(_trainers.CountingTrainer(count_file), progress=False)
    calls = _trainers.read_calls(count_file)
    assert len(calls) == 7 and set(calls.values()) == {1}


def test_add_tasks_keeps_previous_runs(storage, count_file):
    study = Study("s", storage, tasks=TASKS)
    study.enqueue(PLAN)
    study.run(_trainers.CountingTrainer(count_file), progress=False)
    study.add_tasks(["e"])
    assert Study("s", storage).tasks == [*TASKS, "e"]
    study.enqueue([("a", "e"), (4,)])
    study.run(_trainers.CountingTrainer(count_file), progress=False)
    assert study.summary()[RunState.COMPLETE] == 9
    assert len(_trainers.read_calls(count_file)) == 9


@pytest.mark.parametrize("kind", ["raise", "nan", "missing", "extra"])
def test_bad_trainer_is_recorded_and_retried(storage, count_file, kind):
    study = Study("s", storage, tasks=TASKS)
    study.enqueue(PLAN)
    trainer = _trainers.FlakyTrainer(count_file, kind=kind, fail_first=1, target="d")
    summary = study.run(trainer, progress=False, max_retries=2)
    failed = study.runs(state=RunState.FAIL)
    assert summary[RunState.COMPLETE] == 7 and summary[RunState.WAITING] == 0
    assert len(failed) == 3  # the 3 subsets with 'd' failed once each, then succeeded
    expected = {
        "raise": "RuntimeError",
        "nan": "finite",
        "missing": "Missing",
        "extra": "unexpected",
    }[kind]
    assert all(expected in f.error for f in failed)
    retried = [r for r in study.runs(state=RunState.COMPLETE) if r.attempt == 1]
    assert sorted(r.retried_from for r in retried) == sorted(f.run_id for f in failed)


def test_retries_are_bounded(storage, count_file):
    study = Study("s", storage, tasks=TASKS)
    study.enqueue(PLAN)
    trainer = _trainers.FlakyTrainer(count_file, fail_first=-1, target="d")
    summary = study.run(trainer, progress=False, max_retries=1)
    assert summary[RunState.COMPLETE] == 4 and summary[RunState.FAIL] == 6
    assert max(r.attempt for r in study.runs()) == 1
    calls = _trainers.read_calls(count_file)
    assert calls[(("d",), 0)] == 2 and calls[(("a", "d"), 0)] == 2


def test_uncaught_exception_is_recorded_then_raised(storage, count_file):
    study = Study("s", storage, tasks=TASKS)
    study.enqueue(PLAN)
    trainer = _trainers.FlakyTrainer(count_file, fail_first=1, target="b")
    with pytest.raises(RuntimeError, match="planned failure"):
        study.run(trainer, catch=(), progress=False)
    (failed,) = study.runs(state=RunState.FAIL)
    assert "RuntimeError" in failed.error and study.summary()[RunState.RUNNING] == 0
    study.run(trainer, progress=False)
    assert study.summary()[RunState.COMPLETE] == 7


class _InterruptOnce:
    """Sends this process SIGINT (Ctrl-C) on the first call for subset ('c',)."""

    def __init__(self, count_file):
        self.count_file = count_file

    def __call__(self, subset, seed):
        previous = _trainers.record_call(self.count_file, subset, seed)
        if subset == ("c",) and previous == 0:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(10)  # the KeyboardInterrupt lands here
        return _trainers.scores(subset, seed)


class _RaisesBase:
    """A trainer that raises a BaseException of its own (not a signal) on every call."""

    def __init__(self, exc_type):
        self.exc_type = exc_type

    def __call__(self, subset, seed):
        raise self.exc_type("from the trainer")


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit, BaseException])
def test_base_exceptions_of_the_trainer_are_its_failures_with_bounded_retries(exc_type):
    # Regression: they were recorded as "interrupted" and retried forever.
    study = Study("s", tasks=TASKS)
    study.enqueue([(0,)])
    for _ in range(6):
        with pytest.raises(exc_type, match="from the trainer"):
            study.run(_RaisesBase(exc_type), max_retries=2, progress=False)
        if study.summary()[RunState.WAITING] == 0:
            break
    runs = study.runs()
    assert [r.attempt for r in runs] == [0, 1, 2]
    assert all(r.state == RunState.FAIL for r in runs)
    assert all(f"raised {exc_type.__name__}" in r.error for r in runs)


def test_reaping_a_killed_driver_does_not_use_up_max_retries(storage, count_file):
    # Regression: three kills of the driver left the run FAIL for good (max_retries=2).
    from adagroup.study import REAP_RETRIES, worker_id

    study = Study("s", storage, tasks=TASKS)
    study.enqueue([(0,)])
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = worker_id().rsplit("|", 1)[0] + "|" + proc.stdout.strip()
    for _ in range(REAP_RETRIES):
        study.claim(worker=dead)
        assert len(study.reap_stale(max_retries=0)) == 1
    assert study.summary()[RunState.WAITING] == 1
    study.claim(worker=dead)
    study.reap_stale(max_retries=0)  # the bound: a driver killed REAP_RETRIES + 1 times
    assert study.summary()[RunState.WAITING] == 0
    assert "os._exit" in study.runs(RunState.FAIL)[-1].error  # the in-process hint


def test_trainer_failures_and_reaps_have_separate_budgets(storage, count_file):
    from adagroup.study import worker_id

    study = Study("s", storage, tasks=TASKS)
    study.enqueue([(3,)])
    run = study.claim(worker="elsewhere|pid:[1]|1")
    study.fail(run, "RuntimeError: boom", retry=True)  # a trainer failure (attempt 0)
    run = study.claim(worker=worker_id().rsplit("|", 1)[0] + "|999999999")
    study.reap_stale(max_retries=1)  # a reap: does not count
    trainer = _trainers.FlakyTrainer(count_file, fail_first=-1)
    study.run(trainer, max_retries=1, progress=False)
    kinds = [r.error.split(":")[0] for r in study.runs()]
    assert kinds == ["RuntimeError", "stale", "Traceback (most recent call last)"]


def test_ctrl_c_leaves_store_consistent_and_resumes(storage, count_file):
    study = Study("s", storage, tasks=TASKS)
    study.enqueue(PLAN)
    with pytest.raises(KeyboardInterrupt):
        study.run(_InterruptOnce(count_file), progress=False, max_retries=0)
    counts = study.summary()
    assert counts[RunState.RUNNING] == 0 and counts[RunState.COMPLETE] == 2
    (failed,) = study.runs(state=RunState.FAIL)
    assert failed.subset == ("c",) and failed.error.startswith("interrupted")
    # Interrupted runs are retried even with max_retries=0.
    study.run(_InterruptOnce(count_file), progress=False, max_retries=0)
    assert study.summary()[RunState.COMPLETE] == 7
    calls = _trainers.read_calls(count_file)
    assert calls[(("c",), 0)] == 2 and sum(calls.values()) == 8


def test_soft_timeout_in_process(storage, count_file):
    study = Study("s", storage, tasks=TASKS)
    study.enqueue([(0,), (1,)])
    trainer = _trainers.FlakyTrainer(count_file, kind="hang", fail_first=1, target="a", hang=30)
    study.run(trainer, progress=False, timeout=0.3)
    (failed,) = study.runs(state=RunState.FAIL)
    assert "TimeoutError" in failed.error
    assert study.summary()[RunState.COMPLETE] == 2


def test_stale_heartbeat_is_reaped_and_retried(storage, count_file):
    study = Study("s", storage, tasks=TASKS)
    study.enqueue(PLAN[:3])
    # A worker on another machine claimed a run and then vanished.
    ghost = study.claim(worker="elsewhere|pid:[1]|123")
    study.run(
        _trainers.CountingTrainer(count_file),
        progress=False,
        heartbeat_interval=0.1,
        grace_period=0.4,
    )
    old = [r for r in study.runs() if r.run_id == ghost.run_id][0]
    assert old.state == RunState.FAIL and "no heartbeat" in old.error
    assert study.summary()[RunState.COMPLETE] == 3


def test_live_foreign_run_is_not_reaped(storage, count_file):
    study = Study("s", storage, tasks=TASKS)
    study.enqueue(PLAN[:3])
    other = study.claim(worker="elsewhere|pid:[1]|123")
    summary = study.run(
        _trainers.CountingTrainer(count_file), progress=False, wait_for_others=False
    )
    assert summary[RunState.RUNNING] == 1 and summary[RunState.COMPLETE] == 2
    assert (
        study.complete(other, _trainers.scores(other.subset, other.seed)).state
        == RunState.COMPLETE
    )


def test_dead_local_worker_is_reaped_at_once(storage, count_file):
    from adagroup.study import worker_id

    study = Study("s", storage, tasks=TASKS)
    study.enqueue(PLAN[:2])
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = worker_id().rsplit("|", 1)[0] + "|" + proc.stdout.strip()
    orphan = study.claim(worker=dead)
    study.run(_trainers.CountingTrainer(count_file), progress=False)  # default grace: 120 s
    old = [r for r in study.runs() if r.run_id == orphan.run_id][0]
    assert "exited while RUNNING" in old.error
    assert study.summary()[RunState.COMPLETE] == 2


def test_progress_bar(storage, count_file, capsys):
    pytest.importorskip("tqdm")
    study = Study("s", storage, tasks=TASKS)
    study.enqueue(PLAN)
    study.run(_trainers.CountingTrainer(count_file), progress=True)
    err = capsys.readouterr().err
    assert "study s" in err and "7/7" in err


def test_claim_complete_by_hand(storage):
    study = Study("s", storage, tasks=TASKS)
    study.enqueue([(0, 1)])
    run = study.claim()
    assert study.heartbeat(run)
    done = study.complete(run, {"a": 1.0, "b": 0.5})
    assert done.state == RunState.COMPLETE and study.claim() is None


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_retries": -1}, "max_retries"),
        ({"heartbeat_interval": 0}, "heartbeat_interval"),
        ({"timeout": -1.0}, "timeout"),
        ({"grace_period": 1.0}, "grace_period"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"executor": "gpu"}, "executor"),
    ],
)
def test_run_argument_errors(kwargs, match):
    study = Study("s", tasks=TASKS)
    with pytest.raises(ValueError, match=match):
        study.run(_trainers.plain_function, progress=False, **kwargs)


def test_retry_failed_gives_one_more_attempt(storage, count_file):
    study = Study("s", storage, tasks=TASKS)
    study.enqueue(PLAN)
    study.run(
        _trainers.FlakyTrainer(count_file, fail_first=2, target="d"), progress=False, max_retries=1
    )
    assert study.summary()[RunState.FAIL] == 6
    assert len(study.retry_failed()) == 3 and study.retry_failed() == []
    study.run(
        _trainers.FlakyTrainer(count_file, fail_first=2, target="d"), progress=False, max_retries=1
    )
    assert study.summary()[RunState.COMPLETE] == 7


@pytest.mark.parametrize("bad", [10**400, "0.5", True])
def test_unusable_scores_fail_the_run_cleanly(bad):
    # Regression: 10**400 raised OverflowError through the loop and left the run RUNNING;
    # "0.5" and True were accepted as scores.
    study = Study("s", tasks=TASKS)
    study.enqueue([(0,), (1,)])
    study.run(lambda subset, seed: {t: bad for t in subset}, max_retries=0, progress=False)
    counts = study.summary()
    assert counts[RunState.FAIL] == 2 and counts[RunState.RUNNING] == 0
    assert all("TrainerError" in r.error for r in study.runs(RunState.FAIL))


def test_sqlite_file_deleted_mid_study_stops_with_an_error(tmp_path):
    from adagroup.exceptions import StorageInternalError

    path = tmp_path / "s.db"
    study = Study("s", f"sqlite:///{path}", tasks=TASKS)
    study.enqueue(PLAN)
    calls = []

    def trainer(subset, seed):
        calls.append(subset)
        if len(calls) == 3:
            path.unlink()
        return _trainers.scores(subset, seed)

    with pytest.raises(StorageInternalError, match="deleted or replaced"):
        study.run(trainer, progress=False)
    assert len(calls) == 3
