"""Every command-line error names the flag the user typed, the value and the fix, on one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from adagroup.cli import build_parser, main, one_line
from adagroup.io import write_affinity
from adagroup.study import get_all_study_names


@pytest.fixture
def matrix6(tmp_path):
    T = np.random.default_rng(0).normal(size=(6, 6))
    return str(write_affinity(tmp_path / "T.csv", T, list("abcdef")))


@pytest.fixture
def url(tmp_path, monkeypatch):
    monkeypatch.delenv("ADAGROUP_STORAGE", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flag_trainer.py").write_text(
        "def train(subset, seed):\n    return {t: 1.0 for t in subset}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return f"sqlite:///{tmp_path / 's.db'}"


def _run(url, *extra):
    return ["study", "run", "--storage", url, "--name", "s", "--trainer", "flag_trainer:train",
            "--no-progress", *extra]  # fmt: skip


def _usage_error(args, capsys) -> str:
    """argparse rejects the flag: exit 2 and one line of stderr."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return err


def _error(args, capsys) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return err


def test_k_larger_than_the_matrix_names_the_flag(matrix6, capsys):
    err = _error(["cluster", matrix6, "--k", "7"], capsys)
    assert "--k 7 asks for more groups than the 6 tasks" in err
    assert "use --k in [1, 6] or --k auto" in err
    assert "n_clusters" not in err


@pytest.mark.parametrize("value", ["0", "-2", "x"])
def test_max_k_out_of_range_names_the_flag(matrix6, value, capsys):
    err = _usage_error(["cluster", matrix6, "--k", "auto", "--max-k", value], capsys)
    assert f"argument --max-k: must be an int >= 1. Got '{value}'" in err
    assert "max_clusters" not in err


def test_max_k_without_auto_is_refused(matrix6, capsys):
    err = _error(["cluster", matrix6, "--k", "2", "--max-k", "4"], capsys)
    assert "--max-k 4 only applies to --k auto" in err


def test_repeated_task_names_the_flag_and_writes_nothing(url, capsys):
    err = _error(_run(url, "--tasks", "a,a,b"), capsys)
    assert "--tasks names 'a' more than once. Got 'a,a,b'" in err
    assert "--tasks a,b" in err and "TaskSet" not in err
    assert get_all_study_names(url) == []


@pytest.mark.parametrize(
    ("flag", "value", "match"),
    [
        ("--n-subsets", "-3", "argument --n-subsets: must be an int >= 0. Got '-3'"),
        (
            "--timeout",
            "-1",
            "argument --timeout: must be a number of seconds > 0, 'auto' or 'none'. Got '-1'",
        ),
        ("--timeout", "nan", "argument --timeout: must be a number of seconds > 0"),
        ("--heartbeat-interval", "0", "argument --heartbeat-interval: must be a number > 0"),
        ("--n-jobs", "0", "argument --n-jobs: must be an int >= 1, or -1 for every CPU"),
        ("--subset-size", "0", "argument --subset-size: must be an int >= 1"),
        ("--max-retries", "-1", "argument --max-retries: must be an int >= 0"),
        ("--batch-size", "0", "argument --batch-size: must be an int >= 1"),
        ("--max-k", "0", "argument --max-k: must be an int >= 1"),
    ],
)
def test_out_of_range_flag_is_named_before_anything_is_written(url, flag, value, match, capsys):
    err = _usage_error(_run(url, "--tasks", "a,b,c", flag, value), capsys)
    assert match in err
    assert get_all_study_names(url) == []


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--subset-size", "4"], "--subset-size 4 is larger than the 3 tasks of the study"),
        (["--n-subsets", "2"], "--n-subsets 2 asks for more distinct subsets than the 1 of"),
    ],
)
def test_plan_is_checked_before_the_study_is_created(url, extra, match, capsys):
    err = _error(_run(url, "--tasks", "a,b,c", *extra), capsys)
    assert match in err
    assert get_all_study_names(url) == []
    # The corrected command then creates the study: nothing from the bad one is in the way.
    assert main(_run(url, "--tasks", "a,b,c", "--n-subsets", "1")) == 0
    assert get_all_study_names(url) == ["s"]


def test_storage_in_a_missing_folder_is_one_line_without_sqlalchemy_link(url, capsys):
    err = _error(_run("sqlite:///nodir/s.db", "--tasks", "a,b"), capsys)
    assert "The folder of --storage 'sqlite:///nodir/s.db' does not exist: 'nodir'" in err
    assert "mkdir -p nodir" in err and "sqlalche.me" not in err
    err = _error(_run("nodir/s.db", "--tasks", "a,b"), capsys)
    assert "The folder of --storage 'nodir/s.db'" in err


def test_storage_from_the_environment_is_named_as_such(url, monkeypatch, capsys):
    monkeypatch.setenv("ADAGROUP_STORAGE", "sqlite:///nodir/s.db")
    args = ["study", "run", "--name", "s", "--trainer", "flag_trainer:train", "--tasks", "a,b"]
    err = _error(args, capsys)
    assert "The folder of $ADAGROUP_STORAGE" in err


def test_affinity_out_in_a_missing_folder(url, capsys):
    assert main(_run(url, "--tasks", "a,b,c", "--n-subsets", "1")) == 0
    capsys.readouterr()
    args = ["study", "affinity", "--storage", url, "--name", "s", "--out", "nodir/T.csv"]
    err = _error(args, capsys)
    assert "The folder of --out 'nodir/T.csv' does not exist: 'nodir'" in err
    assert "Errno" not in err


def test_one_line_drops_the_sqlalchemy_link():
    exc = RuntimeError(
        "Storage failed: (sqlite3.OperationalError) unable to open database file\n"
        "(Background on this error at: https://sqlalche.me/e/21/e3q8)"
    )
    assert one_line(exc) == (
        "Storage failed: (sqlite3.OperationalError) unable to open database file"
    )


def test_both_seed_spellings_are_accepted():
    parser = build_parser()
    run = ["study", "run", "--name", "s", "--trainer", "m:t"]
    assert parser.parse_args([*run, "--seed", "5"]).random_state == 5
    assert parser.parse_args([*run, "--random-state", "5"]).random_state == 5
    assert parser.parse_args(["cluster", "T.csv", "--k", "2", "--random-state", "3"]).seed == 3
    assert parser.parse_args(["cluster", "T.csv", "--k", "2", "--seed", "3"]).seed == 3


def test_study_list_and_delete(url, capsys):
    assert main(_run(url, "--tasks", "a,b,c", "--n-subsets", "1")) == 0
    capsys.readouterr()
    assert main(["study", "list", "--storage", url, "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["name"] == "s" and entry["n_tasks"] == 3 and entry["runs"]["COMPLETE"] == 4
    assert main(["study", "list", "--storage", url]) == 0
    assert "s: 3 tasks, 4 runs (COMPLETE 4)" in capsys.readouterr().out
    # Without --yes nothing is deleted.
    assert main(["study", "delete", "--storage", url, "--name", "s"]) == 1
    assert "pass --yes to delete" in capsys.readouterr().err
    assert get_all_study_names(url) == ["s"]
    assert main(["study", "delete", "--storage", url, "--name", "s", "--yes"]) == 0
    assert "deleted study 's' (3 tasks, 4 runs)" in capsys.readouterr().out
    assert get_all_study_names(url) == []
    assert main(["study", "list", "--storage", url]) == 0
    assert "no study in" in capsys.readouterr().out


def test_study_list_of_a_missing_file_does_not_create_it(tmp_path, capsys):
    err = _error(["study", "list", "--storage", f"sqlite:///{tmp_path / 'no.db'}"], capsys)
    assert "does not exist" in err and not (tmp_path / "no.db").exists()


def test_unpicklable_trainer_with_workers_is_refused_before_any_run(url, tmp_path, capsys):
    (tmp_path / "lambda_trainer.py").write_text(
        "train = lambda subset, seed: {t: 1.0 for t in subset}  # noqa: E731\n"
    )
    args = ["study", "run", "--storage", url, "--name", "s", "--trainer", "lambda_trainer:train",
            "--tasks", "a,b,c", "--n-jobs", "2", "--no-progress"]  # fmt: skip
    err = _error(args, capsys)
    assert "'lambda_trainer:train' cannot be sent to worker processes (--n-jobs 2)" in err
    assert "or pass --n-jobs 1" in err
    assert get_all_study_names(url) == []
    # In this process no pickling is needed.
    assert main([*args[:-3], "--n-subsets", "1", "--no-progress"]) == 0


def test_adaptive_zero_subsets_per_step_names_the_flag(url, capsys):
    err = _error(_run(url, "--tasks", "a,b,c", "--adaptive", "--n-subsets", "0"), capsys)
    assert "--n-subsets must be an int >= 1 for --adaptive. Got 0." in err
    assert "n_subsets_per_step" not in err
    assert get_all_study_names(url) == []


def test_demo_storage_in_a_missing_folder_names_the_flag(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'nodir' / 'x.db'}"
    assert main(["demo", "--storage", url, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "--storage" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "nodir").exists()
