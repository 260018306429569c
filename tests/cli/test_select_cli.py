import itertools
import json
import subprocess
import sys

import numpy as np
import pytest

from adagroup import select_networks
from adagroup.cli import main


@pytest.fixture
def scores_csv(tmp_path):
    rng = np.random.default_rng(0)
    names = ["depth", "normal", "edge", "seg"]
    lines = ["subset,task,score"]
    for k in (1, 2):
        for sub in itertools.combinations(names, k):
            for t in sub:
                for _ in range(2):  # two seeds, averaged
                    lines.append(f"{'+'.join(sub)},{t},{rng.uniform(0.5, 0.9):.4f}")
    path = tmp_path / "scores.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("flags", [[], ["--lower-is-better"], ["--no-predict"]])
def test_select_json_matches_the_library(scores_csv, flags, capsys):
    assert main(["select", str(scores_csv), "--budget", "2", "--json", *flags]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out)[:5] == ["networks", "serves", "total", "proven_optimal", "seconds"]
    assert "gap" in out and out["proven_optimal"] is True and out["gap"] == 0.0
    lib = select_networks(
        scores_csv,
        2,
        lower_is_better="--lower-is-better" in flags,
        predict_unmeasured="--no-predict" not in flags,
    )
    assert out["networks"] == [list(net) for net in lib.networks]
    assert out["serves"] == lib.serves and out["total"] == pytest.approx(lib.total)
    if "--no-predict" in flags:
        assert all(len(net) <= 2 for net in out["networks"])


def test_select_text_and_sweep_plot(scores_csv, tmp_path, capsys):
    png = tmp_path / "sweep.png"
    assert main(["select", str(scores_csv), "--budget", "1", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "network 0: depth+normal+edge+seg (never trained: predicted)" in out
    assert "(proven optimal)" in out and "budget sweep written to" in out
    assert png.stat().st_size > 1000
    assert main(["select", str(scores_csv), "--budget", "1", "--json", "--plot", str(png)]) == 0
    sweep = json.loads(capsys.readouterr().out)["sweep"]
    assert [row["budget"] for row in sweep] == [1, 2, 3, 4]
    assert all(a["total"] <= b["total"] + 1e-12 for a, b in itertools.pairwise(sweep))


@pytest.mark.parametrize(
    ("text", "argv", "message"),
    [
        ("subset,task\na,a\n", [], "column 'score' is missing"),
        ("subset,task,score\na,a,x\n", [], "line 2: column 'score' must be a finite number"),
        ("subset,task,score\na,a,1\nb,b,1\n", [], "--budget 1 is too small: .* --budget 2 or"),
        ("subset,task,score\na,b,1\n", [], "does not contain it"),
    ],
)
def test_select_errors_are_one_line_with_the_fix(tmp_path, capsys, text, argv, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    assert main(["select", str(path), "--budget", "1", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("adagroup select: error: ") and err.count("\n") == 1
    assert __import__("re").search(message, err), err


def test_select_flag_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["select", "x.csv", "--budget", "0"])
    assert exc.value.code == 2
    assert "argument --budget: must be an int >= 1. Got '0'" in capsys.readouterr().err
    assert main(["select", str(tmp_path / "none.csv"), "--budget", "1"]) == 2
    assert "is not a file" in capsys.readouterr().err
    path = tmp_path / "s.csv"
    path.write_text("subset,task,score\na,a,1\n")
    assert main(["select", str(path), "--budget", "1", "--plot", "/nope/x.png"]) == 2
    assert "'--plot' folder" in capsys.readouterr().err


def test_select_help_stays_light():
    code = (
        "import json, sys\n"
        "from adagroup.cli import main\n"
        "try:\n"
        "    main(['select', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'numpy'})))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
