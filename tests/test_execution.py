"""Executors: in-process, local process pool and Ray call trainers; the study records results."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

import _trainers
from adagroup.exceptions import AdagroupError
from adagroup.execution import (
    InProcessExecutor,
    ProcessExecutor,
    call_trainer,
    make_executor,
    resolve_trainer,
)
from adagroup.runs import RunState
from adagroup.study import Study

HERE = Path(__file__).resolve().parent
TASKS = ["a", "b", "c", "d"]
PLAN = [(0,), (1,), (2,), (3,), (0, 1), (1, 2, 3), (0, 3)]


class _HasTrain:
    def train(self, subset, seed):
        return _trainers.scores(subset, seed)


class _IgnoresAlarm:
    """Hangs and ignores the soft timeout, as a trainer stuck in C code would."""

    def __init__(self, count_file):
        self.count_file = count_file

    def __call__(self, subset, seed):
        previous = _trainers.record_call(self.count_file, subset, seed)
        if subset == ("a",) and previous == 0:
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            time.sleep(120)
        return _trainers.scores(subset, seed)


def test_resolve_and_call_trainer():
    assert resolve_trainer(_trainers.plain_function) is _trainers.plain_function
    assert call_trainer(_HasTrain(), ("a",), 0, None) == _trainers.scores(("a",), 0)
    with pytest.raises(TypeError, match="'trainer' parameter"):
        resolve_trainer(3)
    hang = _trainers.FlakyTrainer("", kind="hang", fail_first=-1, hang=30)
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="timeout=0.2"):
        call_trainer(hang, ("a",), 0, 0.2)
    assert time.monotonic() - start < 5


def test_make_executor_choices():
    assert isinstance(make_executor(None, 1), InProcessExecutor)
    pool = make_executor(None, 3)
    assert isinstance(pool, ProcessExecutor) and pool.max_workers == 3
    assert make_executor("process", -1).max_workers == (os.cpu_count() or 1)
    with pytest.raises(ValueError, match="only applies to executor='ray'"):
        make_executor(None, 1, resources={"num_gpus": 1})


def test_process_pool_runs_study(tmp_path):
    count_file = str(tmp_path / "calls.txt")
    study = Study("s", f"sqlite:///{tmp_path / 'p.db'}", tasks=TASKS)
    study.enqueue(PLAN, seeds=(0, 1))
    trainer = _trainers.FlakyTrainer(count_file, kind="nan", fail_first=1, target="d")
    summary = study.run(trainer, n_jobs=2, progress=False)
    assert summary[RunState.COMPLETE] == 14 and summary[RunState.FAIL] == 6
    for run in study.runs(RunState.COMPLETE):
        assert run.scores == _trainers.scores(run.subset, run.seed)
    pids = {line.rsplit("|", 1)[1] for line in Path(count_file).read_text().splitlines()}
    assert str(os.getpid()) not in pids


def test_process_pool_kills_a_run_past_its_timeout(tmp_path):
    count_file = str(tmp_path / "calls.txt")
    study = Study("s", tasks=TASKS)
    study.enqueue([(0,), (1,)])
    start = time.monotonic()
    study.run(_IgnoresAlarm(count_file), executor="process", n_jobs=1, timeout=0.5, progress=False)
    assert time.monotonic() - start < 60
    (failed,) = study.runs(RunState.FAIL)
    assert failed.subset == ("a",) and "killed after timeout" in failed.error
    assert study.summary()[RunState.COMPLETE] == 2


def test_a_pool_that_always_breaks_ends_in_bounded_retries(tmp_path):
    # Regression: runs failed by a broken pool were retried forever.
    from adagroup.study import INFRA_RETRIES

    study = Study("s", tasks=TASKS)
    study.enqueue([(0,)])
    with pytest.raises(AdagroupError, match="worker pool broke .* before any run finished"):
        study.run(_trainers.PoolKiller(), n_jobs=2, max_retries=1, progress=False)
    summary = study.summary()
    assert summary[RunState.COMPLETE] == 0
    # A worker dying is not the trainer's failure: its own budget, not max_retries.
    assert summary[RunState.FAIL] == 1 + INFRA_RETRIES
    assert all(r.error.startswith("worker died: ") for r in study.runs(RunState.FAIL))
    assert all("BrokenProcessPool" in r.error for r in study.runs(RunState.FAIL))


@pytest.mark.ray
def test_ray_local_instance_runs_study(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    count_file = str(tmp_path / "calls.txt")
    # Ray workers import the trainer's module by name: make tests/ importable for them.
    monkeypatch.setenv(
        "PYTHONPATH",
        os.pathsep.join(p for p in [str(HERE), os.environ.get("PYTHONPATH")] if p),
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        study = Study("s", f"sqlite:///{tmp_path / 'r.db'}", tasks=TASKS)
        study.enqueue(PLAN)
        trainer = _trainers.FlakyTrainer(count_file, kind="raise", fail_first=1, target="b")
        summary = study.run(trainer, executor="ray", resources={"num_cpus": 1}, progress=False)
        assert summary[RunState.COMPLETE] == 7 and summary[RunState.FAIL] == 3
        assert all("planned failure" in r.error for r in study.runs(RunState.FAIL))
        assert len(_trainers.read_calls(count_file)) == 7
    finally:
        ray.shutdown()


def test_ray_capacity_reads_the_cluster_resource_names():
    # Regression: "num_gpus" was looked up as "GPUS" where Ray reports "GPU", so capacity was 1.
    from adagroup.execution import ray_capacity

    total = {"CPU": 16.0, "GPU": 4.0, "memory": 64e9, "node:1.2.3.4": 1.0}
    assert ray_capacity(total, {"num_cpus": 1}) == 16
    assert ray_capacity(total, {"num_cpus": 1, "num_gpus": 1}) == 4
    assert ray_capacity(total, {"num_cpus": 2, "num_gpus": 0.5}) == 8
    assert ray_capacity(total, {"num_cpus": 1, "memory": 16e9}) == 4
    assert ray_capacity(total, {"num_cpus": 1, "resources": {"TPU": 1}}) == 1


@pytest.mark.ray
def test_ray_runs_overlap_on_n_workers(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    log = str(tmp_path / "intervals.txt")
    monkeypatch.setenv(
        "PYTHONPATH",
        os.pathsep.join(p for p in [str(HERE), os.environ.get("PYTHONPATH")] if p),
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        study = Study("s", tasks=TASKS)
        study.enqueue([(0,), (1,), (2,), (3,)])
        summary = study.run(_trainers.IntervalTrainer(log, 2), executor="ray", progress=False)
        assert summary[RunState.COMPLETE] == 4
        # n_jobs=-1 took the cluster's 2 CPUs, and two runs really trained at once.
        assert _trainers.max_overlap(log) == 2
    finally:
        ray.shutdown()


def test_auto_timeout_kills_a_hung_run_after_the_others_set_the_pace(tmp_path, monkeypatch):
    import adagroup.study._loop as study_module

    monkeypatch.setattr(study_module, "AUTO_TIMEOUT_MIN_RUNS", 2)
    monkeypatch.setattr(study_module, "AUTO_TIMEOUT_FLOOR", 1.0)
    monkeypatch.setattr(study_module, "AUTO_TIMEOUT_FACTOR", 2.0)
    count_file = str(tmp_path / "calls.txt")
    study = Study("s", tasks=TASKS)
    study.enqueue([(1,), (2,), (3,), (0,)])  # the hanging run ("a") comes last
    start = time.monotonic()
    study.run(_IgnoresAlarm(count_file), executor="process", n_jobs=1, progress=False)
    assert time.monotonic() - start < 60
    (failed,) = study.runs(RunState.FAIL)
    assert failed.subset == ("a",) and "timeout='auto'" in failed.error
    assert study.summary()[RunState.COMPLETE] == 4


def test_ray_missing_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r'pip install "adagroup\[ray\]"'):
        make_executor("ray", 1)


_WATCHED_CHILD = """
import ctypes, os, sys, time
def no_libc(*args, **kwargs):
    raise OSError("no prctl here")
ctypes.CDLL = no_libc  # as on a system without PR_SET_PDEATHSIG: the watchdog alone
from adagroup.execution import _die_with_parent
_die_with_parent(os.getppid(), poll=0.05)
print(os.getpid(), flush=True)
time.sleep(60)
"""

_PARENT = """
import subprocess, sys, os
out, null = subprocess.PIPE, subprocess.DEVNULL
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=out, stderr=null, text=True)
print(child.stdout.readline().strip(), flush=True)
os._exit(0)  # dies without waiting for the child
"""


@pytest.mark.skipif(os.name != "posix", reason="parent pids are POSIX")
def test_watchdog_kills_a_worker_whose_parent_died():
    import subprocess
    import sys

    parent = subprocess.run(
        [sys.executable, "-c", _PARENT, _WATCHED_CHILD], capture_output=True, text=True, timeout=60
    )
    child = int(parent.stdout.strip())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{child}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] in "ZX":
                    break
        except FileNotFoundError:
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the worker outlived its parent by 5 s")
