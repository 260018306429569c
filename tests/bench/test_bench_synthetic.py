"""Synthetic multitask cases: affinity measured by real training through a study."""

import pytest

from adagroup.bench import BenchCase, _registry, list_cases, run_benchmark
from adagroup.bench.synthetic import _synthetic

pytest.importorskip("torch")


@pytest.fixture
def tiny_case(monkeypatch):
    # 2 groups of 2 tasks, every pair trained once: 6 runs of 2 tasks, a few seconds.
    case = BenchCase(
        "toy-mtl-2x2",
        "synthetic-mtl",
        2,
        build=_synthetic(2, 2, random_state=0, n_subsets=6, subset_size=2, steps=150),
        suites=("quick",),
        end_to_end=("quick",),
    )
    monkeypatch.setitem(_registry._REGISTRY, case.name, case)
    return case


def test_tiny_synthetic_case_runs_through_the_runner_and_resumes(tiny_case, tmp_path):
    bench = run_benchmark("quick", cases=[tiny_case.name], out=tmp_path)
    (case,) = bench.cases
    assert case.family == "synthetic-mtl" and case.n_tasks == 4
    assert case.data.info["n_runs"] == 6 and case.data.info["failed_runs"] == 0
    assert case.data.info["unmeasured_entries"] == 0
    assert (tmp_path / "bench-studies.db").exists()
    assert case.exact_confirms_truth is not None
    assert {s.method for s in case.scores if s.ari is not None} == {
        "sdp",
        "spectral",
        "lloyd",
        "exact",
    }
    if case.exact_confirms_truth:
        assert case.score("sdp").ari == 1.0
    e2e = case.end_to_end
    assert {r.name for r in e2e.rows} >= {"single-task", "all tasks", "truth", "sdp", "exact"}
    assert e2e.greater_is_better is False
    assert e2e.row("single-task").vs_single == pytest.approx(0.0)
    # A second run resumes the stored study: the same affinity, nothing trained again.
    again = run_benchmark(
        "quick", cases=[tiny_case.name], methods=["exact"], out=tmp_path, end_to_end=False
    )
    assert (again.cases[0].data.T == case.data.T).all()
    assert again.cases[0].data.info["n_runs"] == 6
    assert case.data.info["resumed_runs"] == 0 and again.cases[0].data.info["resumed_runs"] == 6


@pytest.mark.slow
def test_quick_synthetic_cases_sdp_recovers_what_exact_confirms():
    names = [c.name for c in list_cases(suite="quick", family="synthetic-mtl")]
    bench = run_benchmark("quick", cases=names, end_to_end=False)
    assert len(bench.cases) == len(names) >= 2
    for case in bench.cases:
        assert case.exact_confirms_truth is not None, case.name
        if case.exact_confirms_truth:
            assert case.score("sdp").ari == 1.0, case.name
    assert sum(bool(c.exact_confirms_truth) for c in bench.cases) >= 2
