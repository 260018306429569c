"""``adagroup study run/status/affinity`` from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from adagroup.cli import main
from adagroup.io import read_affinity


@pytest.fixture
def url(tmp_path, monkeypatch):
    monkeypatch.delenv("ADAGROUP_STORAGE", raising=False)
    (tmp_path / "cli_planted.py").write_text(
        "from adagroup.trainers.planted import PlantedTrainer\n"
        "trainer = PlantedTrainer([0, 0, 1, 1, 2, 2], noise=0.01, random_state=0)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return f"sqlite:///{tmp_path / 's.db'}"


def test_run_without_tasks_takes_the_trainers_task_names(url, tmp_path, capsys):
    args = ["study", "run", "--storage", url, "--name", "s", "--trainer", "cli_planted:trainer",
            "--n-subsets", "12", "--no-progress"]  # fmt: skip
    assert main(args) == 0
    assert main(["study", "status", "--storage", url, "--name", "s", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert counts["COMPLETE"] == 12 + 6 and counts["FAIL"] == 0
    out = tmp_path / "T.csv"
    assert main(["study", "affinity", "--storage", url, "--name", "s", "--out", str(out)]) == 0
    T, names = read_affinity(out)
    from cli_planted import trainer

    assert names == list(trainer.task_names)
    assert T.shape == (6, 6) and np.all(np.isfinite(T))


def test_missing_study_without_tasks_or_declared_names_is_one_line(url, tmp_path, capsys):
    (tmp_path / "bare_trainer.py").write_text(
        "def train(subset, seed):\n    return {t: 1.0 for t in subset}\n"
    )
    args = ["study", "run", "--storage", url, "--name", "new", "--trainer", "bare_trainer:train",
            "--no-progress"]  # fmt: skip
    assert main(args) == 2
    assert "Pass --tasks a,b,c to create it." in capsys.readouterr().err


def test_bad_arguments_write_nothing(url, tmp_path, capsys):
    args = ["study", "run", "--storage", url, "--name", "s", "--trainer", "cli_planted:trainer",
            "--seeds", "0"]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert "argument --seeds: must be an int >= 1. Got '0'" in capsys.readouterr().err
    from adagroup.study import get_all_study_names

    assert get_all_study_names(url) == []


def test_tasks_the_trainer_does_not_have_are_rejected(url, capsys):
    args = ["study", "run", "--storage", url, "--name", "s", "--tasks", "a,b",
            "--trainer", "cli_planted:trainer"]  # fmt: skip
    assert main(args) == 2
    assert "--tasks ['a', 'b'] are not tasks of the trainer" in capsys.readouterr().err


def test_exit_code_is_1_when_every_run_failed(url, tmp_path, capsys):
    (tmp_path / "always_fails.py").write_text(
        "def train(subset, seed):\n    raise RuntimeError('boom')\n"
    )
    args = ["study", "run", "--storage", url, "--name", "f", "--tasks", "a,b",
            "--trainer", "always_fails:train", "--max-retries", "0", "--subset-size", "2",
            "--no-progress"]  # fmt: skip
    assert main(args) == 1
    assert "every run failed; the last one with: RuntimeError: boom" in capsys.readouterr().err


def test_status_of_a_missing_study_creates_nothing_and_says_how_to_create(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'none.db'}"
    assert main(["study", "status", "--storage", url, "--name", "x"]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "adagroup study run" in err
    assert not (tmp_path / "none.db").exists()


def test_a_trainer_with_default_arguments_is_not_taken_for_a_factory(tmp_path, monkeypatch):
    from adagroup.cli._study import load_trainer

    (tmp_path / "defaults_trainer.py").write_text(
        "def train(subset=(), seed=0):\n    return {t: 1.0 for t in subset}\n"
        "def make():\n    return train\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import defaults_trainer

    assert load_trainer("defaults_trainer:train") is defaults_trainer.train
    assert load_trainer("defaults_trainer:make") is defaults_trainer.train


def test_affinity_out_tsv_is_tab_separated(url, tmp_path, capsys):
    args = ["study", "run", "--storage", url, "--name", "s", "--trainer", "cli_planted:trainer",
            "--n-subsets", "12", "--no-progress"]  # fmt: skip
    assert main(args) == 0
    out = tmp_path / "T.tsv"
    assert main(["study", "affinity", "--storage", url, "--name", "s", "--out", str(out)]) == 0
    header = out.read_text().splitlines()[0].split("\t")
    assert len(header) == 7 and header[0] == "task"
    T, names = read_affinity(out)
    assert T.shape == (6, 6) and names == header[1:]
