"""``adagroup study run --adaptive``: AdaGroup end to end from the command line."""

from __future__ import annotations

import json
import textwrap

import pytest

from adagroup.cli import main

TRAINER = """
from adagroup.trainers.planted import PlantedTrainer

trainer = PlantedTrainer(
    [0, 1, 2] * 6, noise=0.05, scale=(1e-2, 1e2), random_state=1, calls_path={calls!r}
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

    # Running it again resumes the finished study: nothing is trained twice.
    assert main(args) == 0
    assert _n_lines(planted) == trained
    assert line in capsys.readouterr().out


def test_adaptive_bad_batch_size_is_one_line_error(tmp_path, planted, capsys):
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    args = [
        "study", "run", "--storage", url, "--name", "bad", "--tasks", "t00,t01,t02",
        "--trainer", "planted_cli_trainer:trainer", "--adaptive", "--batch-size", "0",
        "--no-progress",
    ]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --batch-size: must be an int >= 1. Got '0'" in err
    assert len(err.strip().splitlines()) == 1 and _n_lines(planted) == 0
