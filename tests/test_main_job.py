import json

import pytest

pytest.importorskip("torch")

from adagroup.main_job import format_main_job, run_main_job  # noqa: E402


def test_main_job_writes_report_and_resumes(tmp_path):
    # The README's default case: real training of 9 small networks, a few seconds.
    kwargs = dict(
        storage=f"sqlite:///{tmp_path / 'demo.db'}",
        out=tmp_path / "out",
        n_groups=3,
        tasks_per_group=3,
        n_jobs=1,
        progress=False,
    )
    first = run_main_job(**kwargs)
    assert sorted(map(sorted, first.groups)) == sorted(map(sorted, first.planted_groups))
    assert first.ari == 1.0
    assert first.upper_bound >= first.objective - 1e-9
    assert first.trained_now == first.n_runs_total > 0
    rows = {r.name: r for r in first.end_to_end.rows}
    assert set(rows) == {"adagroup", "all tasks", "single-task"}
    for name in ("heatmap", "report", "result"):
        assert (tmp_path / "out").joinpath(first.files[name].rsplit("/", 1)[-1]).exists()
    saved = json.loads((tmp_path / "out" / "result.json").read_text())
    assert saved["groups"] == first.groups

    again = run_main_job(**kwargs)
    assert again.trained_now == 0
    assert again.groups == first.groups
    assert "0 trained by this call" in format_main_job(again)
