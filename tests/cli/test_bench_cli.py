"""``adagroup bench``: tables, JSON and report files."""

import json

from adagroup.cli import main


def test_bench_json_on_a_planted_case(capsys):
    assert main(["bench", "--suite", "quick", "--case", "planted-k2-n11", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["suite"] == "quick"
    (case,) = out["cases"]
    assert case["name"] == "planted-k2-n11" and case["n_tasks"] == 11
    assert [m["method"] for m in case["methods"]] == ["sdp", "spectral", "lloyd", "exact"]
    exact = case["methods"][3]
    assert exact["ari"] == 1.0 and case["exact_confirms_truth"] is True
    assert len(exact["labels"]) == 11


def test_bench_tables_and_report(tmp_path, capsys):
    out_dir = tmp_path / "bench-out"
    argv = ["bench", "--case", "planted-unequal-n10-k3", "--out", str(out_dir)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "planted-unequal-n10-k3  [planted, n=10, k=3]" in text
    assert "method" in text and "SDP bound - F" in text
    assert f"report written to {out_dir / 'report.md'}" in text
    assert (out_dir / "report.md").exists() and (out_dir / "planted-unequal-n10-k3.png").exists()


def test_bench_list_names_the_quick_cases(capsys):
    assert main(["bench", "--list"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert "planted-fig2" in names and "mtl-3x3" in names
    assert "planted-fig2-seed1" not in names


def test_bench_usage_errors_exit_2(capsys):
    assert main(["bench", "--case", "no-such-case"]) == 2
    assert "--case 'no-such-case' is not a benchmark case" in capsys.readouterr().err
    assert main(["bench", "--suite", "quick", "--retrain"]) == 2
    assert "--suite full --retrain" in capsys.readouterr().err


def test_bench_accepts_both_seed_spellings():
    from adagroup.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["bench", "--random-state", "4"]).seed == 4
    assert parser.parse_args(["bench", "--seed", "4"]).seed == 4


def test_unknown_case_names_the_flag_and_the_closest_cases(capsys):
    from adagroup.cli import main

    assert main(["bench", "--case", "mtl-3x33"]) == 2
    err = capsys.readouterr().err
    assert "--case 'mtl-3x33' is not a benchmark case; did you mean mtl-3x3" in err
    assert "'case' parameter" not in err and len(err.strip().splitlines()) == 1
