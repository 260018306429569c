"""Durability under crashes and concurrency, through the real command line.

Each worker is a separate ``python -m adagroup study run`` process on one SQLite
file; the fake trainer (tests/_trainers.py, on PYTHONPATH) counts its calls in a
file, so "trained exactly once" is checked across processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import _postgres
import _trainers
from adagroup.io import read_affinity
from adagroup.runs import RunState
from adagroup.study import load_study

TESTS = Path(__file__).resolve().parent
TASKS = "a,b,c,d,e,f"


def _env(count_file: Path, sleep: float) -> dict[str, str]:
    env = dict(os.environ)
    # No empty entry: an empty PYTHONPATH item puts the working directory on sys.path.
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(TESTS), env.get("PYTHONPATH")] if p)
    env[_trainers.COUNT_ENV] = str(count_file)
    env[_trainers.SLEEP_ENV] = str(sleep)
    env.pop("ADAGROUP_STORAGE", None)
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "adagroup", "study", *args]


def _run_cmd(url: str, n_subsets: int = 14) -> list[str]:
    return _cli(
        "run",
        "--storage",
        url,
        "--name",
        "s",
        "--tasks",
        TASKS,
        "--trainer",
        "_trainers:counting",
        "--n-subsets",
        str(n_subsets),
        "--no-progress",
    )


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _final_scores(url: str) -> dict:
    runs = load_study("s", url).runs(state=RunState.COMPLETE)
    return {(r.subset, r.seed): r.scores for r in runs}


def test_kill_9_then_rerun_loses_and_repeats_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    calls = tmp_path / "calls.txt"
    proc = subprocess.Popen(
        _run_cmd(url), env=_env(calls, 0.25), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while _lines(calls) < 6 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    before = load_study("s", url)
    complete_before = {(r.subset, r.seed): r.scores for r in before.runs(RunState.COMPLETE)}
    assert 3 <= len(complete_before) < 20
    assert before.summary()[RunState.RUNNING] == 1  # the run killed mid-training
    n_calls_before = _lines(calls)

    rerun = subprocess.run(
        _run_cmd(url), env=_env(calls, 0.0), capture_output=True, text=True, timeout=120
    )
    assert rerun.returncode == 0, rerun.stderr
    study = load_study("s", url)
    counts = study.summary()
    assert counts[RunState.WAITING] == counts[RunState.RUNNING] == 0
    assert counts[RunState.COMPLETE] == 20  # 6 singletons + 14 subsets
    (reaped,) = study.runs(RunState.FAIL)
    assert "exited while RUNNING" in reaped.error
    # No COMPLETE run was lost or trained again after the kill.
    after = _final_scores(url)
    assert all(after[k] == v for k, v in complete_before.items())
    lines = calls.read_text().splitlines()[n_calls_before:]
    keys_after = {(tuple(x.split("|")[0].split(",")), int(x.split("|")[1])) for x in lines}
    assert not keys_after & set(complete_before)
    trained = _trainers.read_calls(calls)
    assert trained[(reaped.subset, reaped.seed)] == 2  # killed mid-run, then retrained
    assert sum(trained.values()) == 21

    # Same final result as an uninterrupted run with the same seeds.
    url2 = f"sqlite:///{tmp_path / 'clean.db'}"
    clean = subprocess.run(
        _run_cmd(url2),
        env=_env(tmp_path / "c2.txt", 0.0),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert clean.returncode == 0, clean.stderr
    assert _final_scores(url2) == after
    for u, out in ((url, "T1.csv"), (url2, "T2.csv")):
        res = subprocess.run(
            _cli("affinity", "--storage", u, "--name", "s", "--out", str(tmp_path / out)),
            env=_env(calls, 0),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert res.returncode == 0, res.stderr
    T1, names1 = read_affinity(tmp_path / "T1.csv")
    T2, names2 = read_affinity(tmp_path / "T2.csv")
    assert names1 == names2 == TASKS.split(",")
    np.testing.assert_array_equal(T1, T2)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("n_workers", [2, 4])
def test_workers_on_one_database_train_each_run_once(tmp_path, n_workers, backend):
    # PostgreSQL only with $ADAGROUP_TEST_POSTGRES_URL (.ci/run starts a server).
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        url = _postgres.postgres_url()
    calls = tmp_path / "calls.txt"
    env = _env(calls, 0.05)
    procs = [
        subprocess.Popen(
            _run_cmd(url, n_subsets=20),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n_workers)
    ]
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    counts = load_study("s", url).summary()
    assert counts == {
        RunState.WAITING: 0,
        RunState.RUNNING: 0,
        RunState.COMPLETE: 26,
        RunState.FAIL: 0,
    }
    trained = _trainers.read_calls(calls)
    assert len(trained) == 26 and set(trained.values()) == {1}


def test_status_json_and_env_storage(tmp_path):
    import json

    url = f"sqlite:///{tmp_path / 'st.db'}"
    env = _env(tmp_path / "calls.txt", 0.0)
    env["ADAGROUP_STORAGE"] = url
    res = subprocess.run(
        _cli(
            "run",
            "--name",
            "s",
            "--tasks",
            "a,b,c",
            "--trainer",
            "_trainers:counting",
            "--no-progress",
        ),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    res = subprocess.run(
        _cli("status", "--name", "s", "--json"),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(res.stdout) == {
        "WAITING": 0,
        "RUNNING": 0,
        "COMPLETE": 4,
        "FAIL": 0,
        "plan": {
            "planned": 4,
            "complete": 4,
            "failed_for_good": 0,
            "unfinished": 0,
            "replaced_attempts": 0,
        },
    }


# -- the command line in-process: argument errors -----------------------------------------------


def test_cli_errors_are_one_line(tmp_path, monkeypatch, capsys):
    from adagroup.cli import main
    from adagroup.cli._study import load_trainer

    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.delenv("ADAGROUP_STORAGE", raising=False)
    url = f"sqlite:///{tmp_path / 'e.db'}"
    base = ["study", "run", "--name", "s", "--trainer", "_trainers:counting", "--no-progress"]
    assert main(base) == 2
    assert "set $ADAGROUP_STORAGE" in capsys.readouterr().err
    assert main([*base, "--storage", url]) == 2
    assert "Pass --tasks a,b,c to create it" in capsys.readouterr().err
    with pytest.raises(ImportError, match="cannot import module 'no_such_module'"):
        load_trainer("no_such_module:x")
    with pytest.raises(ImportError, match="has no attribute 'nope'"):
        load_trainer("_trainers:nope")
    with pytest.raises(ValueError, match="MODULE:ATTRIBUTE"):
        load_trainer("_trainers")
    assert load_trainer("_trainers:plain_function") is _trainers.plain_function
    assert isinstance(load_trainer("_trainers:LossTrainer"), _trainers.LossTrainer)


def test_cli_resumes_without_tasks(tmp_path, monkeypatch, capsys):
    from adagroup.cli import main

    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv(_trainers.COUNT_ENV, str(tmp_path / "calls.txt"))
    url = f"sqlite:///{tmp_path / 'r.db'}"
    base = [
        "study",
        "run",
        "--storage",
        url,
        "--name",
        "s",
        "--trainer",
        "_trainers:counting",
        "--no-progress",
        "--n-subsets",
        "3",
    ]
    assert main([*base, "--tasks", "a,b,c,d"]) == 0
    assert main(base) == 0  # same plan, nothing new to train
    assert "COMPLETE 7" in capsys.readouterr().out
    assert sum(_trainers.read_calls(str(tmp_path / "calls.txt")).values()) == 7
    assert main([*base, "--tasks", "a,b,c"]) == 2
    assert "missing from yours: ['d']" in capsys.readouterr().err


def test_cli_n_jobs_with_executor_and_per_run_resources(tmp_path, monkeypatch, capsys):
    # Regression: --n-jobs and --executor were mutually exclusive; no per-run GPU resources.
    from adagroup.cli import main
    from adagroup.study import Study

    monkeypatch.syspath_prepend(str(TESTS))
    seen = {}

    def fake_run(self, trainer, **kwargs):
        seen.update(kwargs)
        return self.summary()

    monkeypatch.setattr(Study, "run", fake_run)
    url = f"sqlite:///{tmp_path / 'g.db'}"
    base = [
        "study",
        "run",
        "--storage",
        url,
        "--name",
        "s",
        "--tasks",
        "a,b",
        "--subset-size",
        "2",
    ]
    base += ["--trainer", "_trainers:counting", "--no-progress"]
    assert main([*base, "--executor", "ray", "--n-jobs", "8", "--gpus-per-run", "1"]) == 0
    assert seen["n_jobs"] == 8 and seen["executor"] == "ray"
    assert seen["resources"] == {"num_gpus": 1.0, "num_cpus": 1.0}
    assert seen["timeout"] == "auto"
    assert main([*base, "--executor", "process", "--timeout", "none"]) == 0
    assert seen["n_jobs"] == -1 and seen["resources"] is None and seen["timeout"] is None
    capsys.readouterr()
    assert main([*base, "--gpus-per-run", "1"]) == 2
    assert "need --executor ray" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "--timeout", "-3"])
    assert "'auto' or 'none'" in capsys.readouterr().err


def test_load_trainer_does_not_let_local_files_shadow_dependencies(tmp_path):
    # Regression: the working directory went first on sys.path before SQLAlchemy was
    # imported, so a local sqlalchemy.py ran instead of the real package.
    (tmp_path / "sqlalchemy.py").write_text("raise SystemExit('local sqlalchemy.py imported')\n")
    (tmp_path / "mytrainer.py").write_text(
        "def train(subset, seed):\n    return {t: 0.5 for t in subset}\n"
    )
    env = _env(tmp_path / "calls.txt", 0.0)
    # -P: like the installed `adagroup` script, do not put the working directory on sys.path.
    cmd = [sys.executable, "-P", "-m", "adagroup", "study", "run", "--storage", "sqlite:///s.db"]
    cmd += ["--name", "s", "--tasks", "a,b", "--subset-size", "2", "--trainer", "mytrainer:train"]
    res = subprocess.run(
        [*cmd, "--no-progress"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    assert "COMPLETE 3" in res.stdout


def _alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie, exited but not yet reaped, counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_pool_workers_die_with_a_killed_driver(tmp_path):
    # Regression: after kill -9 of `study run --n-jobs 2` its workers trained on for good.
    url = f"sqlite:///{tmp_path / 'orphans.db'}"
    calls = tmp_path / "calls.txt"
    proc = subprocess.Popen(
        [*_run_cmd(url), "--n-jobs", "2"],
        env=_env(calls, 30.0),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 90
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
            if calls.exists():
                workers = {int(x.rsplit("|", 1)[1]) for x in calls.read_text().splitlines()}
        assert len(workers) == 2, proc.stderr.read().decode() if proc.poll() is not None else ""
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 5
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in workers if _alive(p)]
    finally:
        for pid in workers:  # only the workers this test started
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_holes_exit_non_zero_show_in_status_and_warn_in_affinity(tmp_path, monkeypatch, capsys):
    # Regression: `study run` exited 0 with planned runs FAIL for good, status mixed replaced
    # attempts with holes, and `study affinity` said nothing about them.
    import json

    from adagroup.cli import main

    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv(_trainers.COUNT_ENV, str(tmp_path / "calls.txt"))
    url = f"sqlite:///{tmp_path / 'h.db'}"
    base = ["--storage", url, "--name", "s"]
    run = ["study", "run", *base, "--tasks", "a,b,c", "--subset-size", "2", "--n-subsets", "3"]
    run += ["--trainer", "_trainers:failing_on_b", "--no-progress", "--max-retries", "1"]
    assert main(run) == 1
    err = capsys.readouterr().err
    # b, (a, b) and (b, c) fail twice each; a, c and (a, c) complete.
    assert "3 of 6 planned runs ended FAIL" in err and "--retry-failed" in err
    assert main(["study", "status", *base, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["FAIL"] == 6
    assert out["plan"] == {
        "planned": 6,
        "complete": 3,
        "failed_for_good": 3,
        "unfinished": 0,
        "replaced_attempts": 3,
    }
    assert main(["study", "status", *base]) == 0
    assert "failed for good" in capsys.readouterr().out
    assert main(["study", "affinity", *base, "--out", str(tmp_path / "T.csv")]) == 0
    err = capsys.readouterr().err
    assert "3 planned runs have no result" in err and "tasks a, b, c" in err


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_repeated_kill_9_of_a_pool_driver(tmp_path, backend):
    """The figures of the README's reliability section (run with -m slow -s to see them).

    ``kill -9`` of ``study run --n-jobs 2`` N_KILLS times while it trains, each time
    checking that its workers die with it, then one rerun to the end: no COMPLETE run lost
    or trained again, every planned run COMPLETE although max_retries is 0 (kills are not
    the trainer's failures), and no process left behind.
    """
    n_kills = 12
    url = f"sqlite:///{tmp_path / 'k.db'}" if backend == "sqlite" else _postgres.postgres_url()
    calls = tmp_path / "calls.txt"
    cmd = [*_run_cmd(url, n_subsets=20), "--seeds", "2", "--n-jobs", "2", "--max-retries", "0"]
    orphans = 0
    seen_complete: dict = {}
    for _ in range(n_kills):
        before = _lines(calls)
        proc = subprocess.Popen(cmd, env=_env(calls, 0.5), stderr=subprocess.PIPE)
        deadline = time.monotonic() + 90
        while _lines(calls) < before + 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read().decode()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        pids = {int(x.rsplit("|", 1)[1]) for x in calls.read_text().splitlines()[before:]}
        deadline = time.monotonic() + 5
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        orphans += sum(_alive(p) for p in pids)
        now = _final_scores(url)
        assert all(now[k] == v for k, v in seen_complete.items())  # nothing lost or changed
        seen_complete = now
    done = subprocess.run(cmd, env=_env(calls, 0.0), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    plan = load_study("s", url).plan_status()
    trained = _trainers.read_calls(calls)
    reaped = sum(1 for r in load_study("s", url).runs(RunState.FAIL) if "stale" in r.error)
    print(
        f"\n{backend}: {n_kills} kills, {plan.planned} planned runs, {plan.complete} COMPLETE, "
        f"{len(plan.failed)} FAIL for good, {reaped} reaped and retried, "
        f"{sum(trained.values())} trainer calls, {orphans} orphan workers"
    )
    assert orphans == 0
    assert plan.complete == plan.planned == 52 and not plan.holes
    assert all(n <= 1 + n_kills for n in trained.values())
