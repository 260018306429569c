import json
import subprocess
import sys

import numpy as np
import pytest

from adagroup.cli import main
from adagroup.datasets import make_planted_affinity
from adagroup.io import write_affinity


@pytest.fixture
def matrix_csv(tmp_path):
    T, labels = make_planted_affinity(
        [3, 3, 2], within_mean=1.0, within_std=0.05, between_std=0.05, random_state=0
    )
    names = [f"t{i}" for i in range(8)]
    path = write_affinity(tmp_path / "T.csv", T, names)
    pairs = list(zip(names, labels, strict=True))
    truth = sorted(sorted(n for n, g in pairs if g == c) for c in range(3))
    return path, truth


@pytest.mark.parametrize("method", ["sdp", "spectral", "lloyd", "exact"])
def test_cluster_json(matrix_csv, method, capsys):
    path, truth = matrix_csv
    assert main(["cluster", str(path), "--k", "3", "--method", method, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {
        "method",
        "k",
        "groups",
        "objective",
        "upper_bound",
        "gap",
        "proven_optimal",
        "seconds",
    }
    assert out["method"] == method and out["k"] == 3
    assert sorted(sorted(g) for g in out["groups"]) == truth
    if method == "spectral":
        assert out["upper_bound"] is None and out["proven_optimal"] is None
    if method in ("sdp", "exact"):
        assert out["upper_bound"] >= out["objective"] - 1e-9
        assert out["proven_optimal"] is True
        # 8 tasks: the SDP method settles them by exact search too.
        assert out["certificate"] == "exact"
    else:
        assert out["certificate"] is None


def test_cluster_auto_text_and_plot(matrix_csv, tmp_path, capsys):
    path, _ = matrix_csv
    png = tmp_path / "h.png"
    assert main(["cluster", str(path), "--k", "auto", "--max-k", "5", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "k=3" in out and "average density" in out
    assert "(proven optimal, certificate exact)" in out
    assert png.stat().st_size > 1000


def test_cluster_npy(tmp_path, capsys):
    T, _ = make_planted_affinity([2, 2], within_std=0.01, between_std=0.01, random_state=1)
    np.save(tmp_path / "T.npy", T)
    assert main(["cluster", str(tmp_path / "T.npy"), "--k", "2", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["groups"]) == 2


@pytest.mark.parametrize(
    ("content", "k", "match"),
    [
        (",a,b\na,1,x\nb,2,3\n", "2", "Non-numeric cell 'x'"),
        (",a,a\na,1,2\na,2,3\n", "2", "Duplicate task row names"),
        (",a,b\na,1,2\nb,2,3\n", "3", "--k 3 asks for more groups than the 2 tasks"),
        (",a,b\na,1,2\nb,2,3\n", "0", "argument --k: must be an int >= 1 or 'auto'. Got '0'"),
        (",a,b\na,1,nan\nb,2,3\n", "1", "must be finite"),
        (",a,b,c\na,1,2,3\nb,2,3,4\n", "1", "is not square: 2 rows"),
    ],
)
def test_cluster_bad_input_is_one_line(tmp_path, content, k, match):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "adagroup", "cluster", str(path), "--k", k],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert match in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_plot_into_missing_folder_is_a_clear_error(matrix_csv, tmp_path, capsys):
    path, _ = matrix_csv
    out = tmp_path / "nope" / "h.png"
    assert main(["cluster", str(path), "--k", "2", "--plot", str(out)]) == 2
    assert "The '--plot' folder" in capsys.readouterr().err


def test_cluster_reads_semicolon_csv(matrix_csv, tmp_path, capsys):
    path, truth = matrix_csv
    semi = tmp_path / "semi.csv"
    semi.write_text(path.read_text().replace(",", ";"))
    assert main(["cluster", str(semi), "--k", "3", "--json"]) == 0
    assert sorted(sorted(g) for g in json.loads(capsys.readouterr().out)["groups"]) == truth


def test_help_imports_neither_scipy_nor_sklearn():
    code = (
        "import json, sys\n"
        "from adagroup.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('scipy', 'sklearn', 'numpy', 'pandas', 'torch', 'sqlalchemy')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    # Before: adagroup.cluster (and with it scipy) loaded just to list --method choices.
    assert not [m for m in loaded if m.split(".")[0] in ("scipy", "sklearn")], loaded


def test_method_choices_match_the_registry():
    from adagroup.cli._cluster import METHOD_NAMES
    from adagroup.cluster import METHODS

    assert list(METHOD_NAMES) == sorted(METHODS)


def test_max_k_with_a_fixed_k_is_an_error(matrix_csv, capsys):
    path, _ = matrix_csv
    assert main(["cluster", str(path), "--k", "3", "--max-k", "5"]) == 2
    err = capsys.readouterr().err
    assert "--max-k 5 only applies to --k auto; got --k 3" in err


def test_auto_json_includes_the_per_k_table(matrix_csv, capsys):
    path, _ = matrix_csv
    assert main(["cluster", str(path), "--k", "auto", "--max-k", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    table = out["k_table"]
    assert [row["k"] for row in table] == [1, 2, 3, 4]
    assert {"objective", "average_density", "upper_bound", "proven_optimal"} <= set(table[0])
    best = max(table, key=lambda row: row["average_density"])
    assert best["k"] == out["k"] == 3


def test_fixed_k_json_has_no_table(matrix_csv, capsys):
    path, _ = matrix_csv
    assert main(["cluster", str(path), "--k", "2", "--json"]) == 0
    assert "k_table" not in json.loads(capsys.readouterr().out)


def _strict_json(text: str) -> dict:
    def reject(name: str) -> None:
        raise AssertionError(f"invalid JSON constant {name}")

    return json.loads(text, parse_constant=reject)


@pytest.mark.parametrize("scale", [1e-300, 1e154, 1e300, 1.7e308])
@pytest.mark.parametrize("k", ["1", "2", "auto"])
def test_json_is_valid_at_extreme_scales(tmp_path, capsys, scale, k):
    rng = np.random.default_rng(0)
    T = np.clip(rng.standard_normal((6, 6)), -1.0, 1.0) * scale
    np.save(tmp_path / "T.npy", T)
    code = main(["cluster", str(tmp_path / "T.npy"), "--k", k, "--json"])
    captured = capsys.readouterr()
    if code == 0:
        out = _strict_json(captured.out)
        assert out["objective"] is not None
    else:
        # The one clean refusal: a value that float64 cannot hold, with the fix.
        assert "exceeds the float64 range" in captured.err and captured.out == ""


def test_json_ready_turns_non_finite_values_into_null():
    from adagroup.cli._cluster import _json_ready

    value = {"a": float("inf"), "b": [np.float64("nan"), np.int64(3)], "c": "x"}
    text = json.dumps(_json_ready(value), allow_nan=False)
    assert text == '{"a": null, "b": [null, 3], "c": "x"}'


def test_seconds_time_the_fit_not_the_imports(monkeypatch):
    import time

    from adagroup.cluster import LloydClustering

    monkeypatch.setattr(LloydClustering, "_load_dependencies", lambda self: time.sleep(0.5))
    T, _ = make_planted_affinity([3, 3], random_state=0)
    est = LloydClustering(n_clusters=2, random_state=0).fit(T)
    # Before: the one-time scikit-learn import (seconds) was inside seconds_.
    assert est.seconds_ < 0.5
