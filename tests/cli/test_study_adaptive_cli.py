"""``adagroup study run --adaptive``: AdaGroup end to end from the command line."""

from __future__ import annotations

import json
import textwrap

import pytest

from adagroup.cli import main

TRAINER = """
from adagroup.trainers.planted import PlantedTrainer

trainer = PlantedTrainer(
    [0, 1, 2] * 4, noise=0.1, scale=(1e-2, 1e2), greater_is_better=False, random_state=1,
    calls_path={calls!r},
)
"""


@pytest.fixture
def planted(tmp_path, monkeypatch):
    calls = tmp_path / "calls.txt"
    (tmp_path / "planted_cli_trainer.py").write_text(
        textwrap.dedent(TRAINER.format(calls=str(calls)))
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("ADAGROUP_STORAGE", raising=False)
    return calls


def _n_lines(path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_adaptive_run_groups_and_resumes(tmp_path, planted, capsys):
    from planted_cli_trainer import trainer

    url = f"sqlite:///{tmp_path / 'ada.db'}"
    tasks = ",".join(trainer.task_names)
    args = [
        "study", "run", "--storage", url, "--name", "ada", "--tasks", tasks,
        "--trainer", "planted_cli_trainer:trainer", "--adaptive", "--batch-size", "6",
        "--max-k", "5", "--no-progress",
    ]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "AdaGroup: 3 groups from" in out
    assert "every task stable at confidence 0.9" in out and "task stability" in out
    line = next(x for x in out.splitlines() if x.startswith("AdaGroup:"))
    groups = [set(g.split(",")) for g in line.rsplit(": ", 1)[1].split(" | ")]
    truth = [
        {t for t, g in zip(trainer.task_names, trainer.true_labels, strict=True) if g == c}
        for c in range(3)
    ]
    assert sorted(map(sorted, groups)) == sorted(map(sorted, truth))
    trained = _n_lines(planted)
    n = trainer.n_tasks
    assert 0 < trained < n * (n - 1) // 2

    assert main(["study", "status", "--storage", url, "--name", "ada", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["COMPLETE"] == trained and counts.get("FAIL", 0) == 0
    # The finished adaptive study shows AdaGroup's result, read back from the store.
    result = counts["adagroup"]["result"]
    assert sorted(map(sorted, result["groups"])) == sorted(map(sorted, truth))
    assert (
        result["stopped_because"] == "stable" and counts["adagroup"]["params"]["batch_size"] == 6
    )
    assert main(["study", "status", "--storage", url, "--name", "ada"]) == 0
    assert line in capsys.readouterr().out

    # Running it again resumes the finished study: nothing is trained twice.
    assert main(args) == 0
    assert _n_lines(planted) == trained
    assert line in capsys.readouterr().out


def test_adaptive_json_has_groups_stability_coassignment_and_certificate(
    tmp_path, planted, capsys
):
    from planted_cli_trainer import trainer

    url = f"sqlite:///{tmp_path / 'j.db'}"
    args = [
        "study", "run", "--storage", url, "--name", "j",
        "--trainer", "planted_cli_trainer:trainer", "--adaptive", "--batch-size", "6",
        "--budget", "60", "--confidence", "0.8", "--json",
    ]  # fmt: skip
    assert main(args) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["k"] == len(payload["groups"]) == 3
    assert payload["n_runs"] <= 60 and payload["confidence"] == 0.8
    assert payload["stopped_because"] in ("stable", "budget")
    assert set(payload["stability"]) == set(trainer.task_names)
    assert all(set(p) == {"tasks", "probability"} for p in payload["coassignment"])
    assert payload["certificate"] in ("rigorous", "exact", "lanczos")
    # The search's runs, then each group and each task alone to verify the grouping.
    assert payload["n_runs"] < payload["runs"]["COMPLETE"] <= payload["n_runs"] + 12 + 3
    assert len(payload["verification"]) == 3 and payload["verified_groups"] is not None
    assert payload["verification_runs"] == payload["runs"]["COMPLETE"] - payload["n_runs"]


def test_pair_estimator_reaches_adagroup_and_offers_every_estimator(tmp_path, planted, capsys):
    from adagroup.adaptive._evidence import ESTIMATORS

    url = f"sqlite:///{tmp_path / 'c.db'}"
    args = [
        "study", "run", "--storage", url, "--name", "c",
        "--trainer", "planted_cli_trainer:trainer", "--adaptive", "--batch-size", "6",
        "--budget", "40", "--pair-estimator", "coupled", "--no-progress",
    ]  # fmt: skip
    assert main(args) == 0
    capsys.readouterr()
    assert main(["study", "status", "--storage", url, "--name", "c", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["adagroup"]["params"]["estimator"] == "coupled"
    # The flag's choices are the estimators AdaGroup accepts.
    bad = ["study", "run", "--storage", url, "--name", "c", "--pair-estimator", "nope"]
    with pytest.raises(SystemExit):
        main(bad)
    err = capsys.readouterr().err
    assert all(repr(e) in err for e in ESTIMATORS)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--adaptive", "--batch-size", "0"], "argument --batch-size: must be an int >= 1"),
        (["--adaptive", "--confidence", "1.5"], "--confidence must be in (0, 1]"),
        (["--adaptive", "--budget", "0"], "argument --budget: must be an int >= 1"),
        (["--budget", "50"], "--budget applies to AdaGroup only: add --adaptive"),
        (["--pair-estimator", "coupled"], "--pair-estimator applies to AdaGroup only"),
        (["--confidence", "0"], "--confidence applies to AdaGroup only"),
        (["--verify"], "--verify applies to AdaGroup only"),
        (["--no-verify"], "--verify applies to AdaGroup only"),
    ],
)
def test_adaptive_bad_flags_are_one_line_errors_before_anything_is_written(
    tmp_path, planted, capsys, extra, message
):
    db = tmp_path / "bad.db"
    args = [
        "study", "run", "--storage", f"sqlite:///{db}", "--name", "bad", "--tasks",
        "t00,t01,t02", "--trainer", "planted_cli_trainer:trainer", "--no-progress", *extra,
    ]  # fmt: skip
    # Flags argparse can check exit at parsing; the others are refused by the command.
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert _n_lines(planted) == 0 and not db.exists()


CROWDING = """
def train(subset, seed):
    out = {}
    for task in subset:
        mates = sum(other[1] == task[1] for other in subset if other != task)
        strangers = len(subset) - 1 - mates
        out[task] = 1.0 - 0.2 * mates + 0.3 * strangers + (1.0 if mates >= 3 else 0.0)
    return out


train.greater_is_better = False  # losses
"""


def test_verify_trains_the_groups_and_says_which_hurt(tmp_path, monkeypatch, capsys):
    (tmp_path / "crowding_cli_trainer.py").write_text(CROWDING)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("ADAGROUP_STORAGE", raising=False)
    tasks = ",".join(f"g{g}t{t}" for g in range(2) for t in range(4))
    url = f"sqlite:///{tmp_path / 'v.db'}"
    args = [
        "study", "run", "--storage", url, "--name", "v", "--tasks", tasks,
        "--trainer", "crowding_cli_trainer:train", "--adaptive", "--batch-size", "8",
        "--no-progress",
    ]  # fmt: skip
    with pytest.warns(UserWarning, match="2 of 2 groups trained worse"):
        assert main(args) == 0
    out = capsys.readouterr().out
    assert out.count("trained together vs alone") == 2
    assert out.count("-40.0 % HURTS: train apart") == 2
    assert "train instead: g0t0 | g0t1 |" in out
    assert "AdaGroup: 2 groups from 20 runs (+10 to verify):" in out
    assert main(["study", "status", "--storage", url, "--name", "v", "--json"]) == 0
    stored = json.loads(capsys.readouterr().out)["adagroup"]["result"]["verification"]
    assert [round(r["change"], 6) for r in stored] == [-0.4, -0.4]


def test_no_verify_trains_only_the_search(tmp_path, planted, capsys):
    url = f"sqlite:///{tmp_path / 'nv.db'}"
    args = [
        "study", "run", "--storage", url, "--name", "nv",
        "--trainer", "planted_cli_trainer:trainer", "--adaptive", "--batch-size", "6",
        "--no-verify", "--json",
    ]  # fmt: skip
    assert main(args) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["verification"] is None and payload["verified_groups"] is None
    assert payload["verification_runs"] is None
    assert payload["runs"]["COMPLETE"] == payload["n_runs"]


def test_warnings_reach_the_terminal_as_one_line_without_source_paths(tmp_path):
    import os
    import subprocess
    import sys

    (tmp_path / "crowding_cli_trainer.py").write_text(CROWDING)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    env.pop("ADAGROUP_STORAGE", None)
    tasks = ",".join(f"g{g}t{t}" for g in range(2) for t in range(4))
    cmd = [
        sys.executable, "-m", "adagroup", "study", "run", "--storage", str(tmp_path / "w.db"),
        "--name", "w", "--tasks", tasks, "--trainer", "crowding_cli_trainer:train",
        "--adaptive", "--batch-size", "8", "--no-progress",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [x for x in done.stderr.splitlines() if "warning" in x]
    assert lines == [lines[0]] and lines[0].startswith("adagroup study run: warning: 2 of 2")
    assert ".py:" not in done.stderr
