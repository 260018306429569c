"""Text tables, markdown report and heatmaps of a benchmark run."""

import json

from adagroup.bench import (
    format_case_table,
    format_summary,
    run_benchmark,
    to_markdown,
    write_report,
)


def _bench():
    return run_benchmark(
        "quick", cases=["planted-unequal-n10-k3"], methods=["spectral", "lloyd", "exact"]
    )


def test_case_table_lists_every_method_with_its_ari():
    bench = _bench()
    case = bench.cases[0]
    table = format_case_table(case)
    assert table.startswith("planted-unequal-n10-k3  [planted, n=10, k=3]")
    assert "exact confirms truth optimal: yes" in table
    for s in case.scores:
        row = next(line for line in table.splitlines() if line.strip().startswith(s.method))
        assert f"{s.ari:.3f}" in row and f"{s.objective:.6g}" in row
    summary = format_summary(bench)
    assert "exact     recovered the planted groups (ARI = 1) on 1/1" in summary


def test_markdown_has_a_table_per_case_and_links_plots():
    bench = _bench()
    md = to_markdown(bench, {"planted-unequal-n10-k3": "p.png"})
    assert "## planted-unequal-n10-k3" in md
    assert "| method | k | ARI | F | SDP bound - F | seconds | certified | status |" in md
    assert "![planted-unequal-n10-k3](p.png)" in md


def test_write_report_writes_markdown_json_and_heatmaps(tmp_path):
    bench = _bench()
    report = write_report(bench, tmp_path / "out")
    assert report.read_text().startswith("# adagroup benchmark")
    assert (tmp_path / "out" / "planted-unequal-n10-k3.png").stat().st_size > 1000
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["cases"][0]["name"] == "planted-unequal-n10-k3"


def test_report_shows_the_measurement_but_not_the_measurers_notes():
    bench = run_benchmark("quick", cases=["icl"], methods=["spectral"], end_to_end=False)
    (case,) = bench.cases
    case.data.info["note"] = "Run with a placeholder --note; the issue's claim is not reproduced."
    md = to_markdown(bench, {})
    table = format_case_table(case)
    for text in (md, table):
        assert "command: python benchmarks/icl_affinity.py" in text
        assert "placeholder" not in text and "the issue's" not in text
    # The notes stay in results.json for whoever wants them.
    assert "placeholder --note" in json.dumps(bench.to_dict())
