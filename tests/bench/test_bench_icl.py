"""The icl case reads the shipped affinity matrix, or is skipped with the reason."""

import json

import numpy as np
import pytest

from adagroup.bench import icl, run_benchmark


def _fake_data(tmp_path, monkeypatch, *, with_csv=True):
    names = [f"{kind}{v}" for kind in ("lin", "tree", "net") for v in range(3)]
    labels = [i // 3 for i in range(9)]
    rng = np.random.default_rng(0)
    T = np.where(np.equal.outer(labels, labels), -0.8, -1.3) + 0.05 * rng.standard_normal((9, 9))
    if with_csv:
        lines = ["task," + ",".join(names)]
        for name, row in zip(names, T, strict=True):
            lines.append(name + "," + ",".join(f"{v:.6f}" for v in row))
        (tmp_path / "icl_affinity.csv").write_text("\n".join(lines) + "\n")
        meta = {
            "true_labels": labels,
            "command": "python benchmarks/icl_affinity.py",
            "n_runs": 36,
        }
        (tmp_path / "icl_affinity.json").write_text(json.dumps(meta))
    monkeypatch.setattr(icl, "_data_path", lambda name: tmp_path / name)
    return names, labels


def test_icl_case_scores_the_shipped_matrix(tmp_path, monkeypatch):
    names, labels = _fake_data(tmp_path, monkeypatch)
    bench = run_benchmark("quick", cases=["icl"], methods=["lloyd", "exact"])
    (case,) = bench.cases
    assert case.data.task_names == names and case.data.true_labels.tolist() == labels
    assert case.data.info["command"] == "python benchmarks/icl_affinity.py"
    assert case.exact_confirms_truth and case.score("exact").ari == 1.0
    assert case.end_to_end is None  # end to end on icl belongs to the full suite


def test_icl_case_without_shipped_matrix_is_skipped(tmp_path, monkeypatch):
    _fake_data(tmp_path, monkeypatch, with_csv=False)
    bench = run_benchmark("quick", cases=["icl"], methods=["lloyd"])
    assert bench.cases == []
    ((name, reason),) = bench.skipped
    assert name == "icl" and "--retrain" in reason


def test_icl_retrain_measures_the_affinity_with_the_shipped_settings(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    meta = {
        "settings": {"steps": 3, "batch_size": 9, "n_test": 8, "width": 8, "n_layers": 1},
        "seeds": {"plan_seed": 0, "train_seed": 0, "random_state": 0},
        "plan": {"subset_size": 3},
        "n_runs": 9 + 20,
    }
    (tmp_path / "icl_affinity.json").write_text(json.dumps(meta))
    monkeypatch.setattr(icl, "_data_path", lambda name: tmp_path / name)
    bench = run_benchmark(
        "full", cases=["icl"], retrain=True, methods=["exact"], out=tmp_path, end_to_end=False
    )
    (case,) = bench.cases
    assert case.data.T.shape == (9, 9) and np.isfinite(case.data.T).all()
    assert case.data.info["n_runs"] == 29
    assert case.data.info["normalize"] == "relative to single-task"
    assert case.data.trainer.steps == 3 and case.data.greater_is_better is False
    assert sorted(set(case.data.true_labels.tolist())) == [0, 1, 2]


def test_shipped_icl_matrix_scores_instantly():
    if not icl._data_path("icl_affinity.csv").exists():
        pytest.skip("the ICL affinity matrix is not shipped in this checkout")
    bench = run_benchmark("quick", cases=["icl"], end_to_end=False)
    (case,) = bench.cases
    assert case.n_tasks == 9 and sorted(set(case.data.true_labels.tolist())) == [0, 1, 2]
    assert "command" in case.data.info
    if case.exact_confirms_truth:
        assert case.score("sdp").ari == 1.0
    assert case.score("sdp").objective >= case.score("exact").objective - 1e-9
