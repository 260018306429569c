"""Scoring methods on a case, the registry and the end-to-end comparison."""

import json

import numpy as np
import pytest

from adagroup.bench import (
    EXACT_MAX_TASKS,
    BenchCase,
    BuildContext,
    CaseData,
    _registry,
    get_case,
    list_cases,
    register_case,
    run_benchmark,
    score_case,
    train_groupings,
)
from adagroup.cluster import METHODS, BaseTaskClustering, ClusteringResult, density_objective
from adagroup.datasets import make_planted_affinity
from adagroup.trainers.planted import PlantedTrainer


class _BoundedTruth(BaseTaskClustering):
    """Returns fixed labels with a bound 1.0 above their objective (an SDP stand-in)."""

    method = "sdp"
    labels = None

    def __init__(self, n_clusters=2, *, random_state=None):
        self.n_clusters = n_clusters
        self.random_state = random_state

    def _fit_k(self, S, k, rng, **warm):
        f = density_objective(S, self.labels)
        return ClusteringResult(self.labels, f, upper_bound=f + 1.0, status="optimal")


class _Broken(BaseTaskClustering):
    method = "broken"

    def __init__(self, n_clusters=2, *, random_state=None):
        self.n_clusters = n_clusters
        self.random_state = random_state

    def _fit_k(self, S, k, rng, **warm):
        raise RuntimeError("solver exploded")


def test_score_case_scores_every_method_against_truth(planted, monkeypatch):
    T, labels = planted
    _BoundedTruth.labels = labels
    monkeypatch.setitem(METHODS, "sdp", _BoundedTruth)
    data = CaseData(T, labels, [f"t{i}" for i in range(10)])
    result = score_case(data, 3, methods=["sdp", "lloyd", "exact"], name="toy")
    assert [s.method for s in result.scores] == ["sdp", "lloyd", "exact"]
    truth_f = density_objective((T + T.T) / 2, labels)
    assert result.truth_objective == pytest.approx(truth_f)
    assert result.sdp_bound == pytest.approx(truth_f + 1.0)
    assert result.truth_gap == pytest.approx(1.0)
    for s in result.scores:
        assert s.ari == 1.0 and s.k == 3
        assert s.gap_to_sdp_bound == pytest.approx(result.sdp_bound - s.objective)
    assert result.exact_confirms_truth is True


def test_exact_that_beats_the_truth_does_not_confirm_it():
    T, labels = make_planted_affinity([3, 3], random_state=0)
    wrong = np.array([0, 1, 0, 1, 0, 1])
    result = score_case(CaseData(T, wrong, list("abcdef")), 2, methods=["exact"])
    assert result.exact_confirms_truth is False
    assert result.score("exact").ari < 1.0


def test_exact_is_skipped_beyond_the_limit():
    n = EXACT_MAX_TASKS + 1
    T, labels = make_planted_affinity([n - 6, 6], random_state=0)
    result = score_case(CaseData(T, labels, [str(i) for i in range(n)]), 2, methods=["exact"])
    exact = result.score("exact")
    assert exact.status == "skipped" and exact.labels is None and exact.ari is None
    assert str(n) in exact.note
    assert result.exact_confirms_truth is None


def test_a_failing_method_is_recorded_not_raised(planted, monkeypatch):
    T, labels = planted
    monkeypatch.setitem(METHODS, "broken", _Broken)
    result = score_case(CaseData(T, labels, list("abcdefghij")), 3, methods=["broken", "lloyd"])
    broken = result.score("broken")
    assert broken.status == "error" and "solver exploded" in broken.note
    assert result.score("lloyd").ari is not None
    with pytest.raises(KeyError, match="not scored"):
        result.score("spectral")


def test_score_case_rejects_mislabelled_truth(planted):
    T, _ = planted
    with pytest.raises(ValueError, match="true labels"):
        score_case(CaseData(T, np.zeros(3, dtype=int), list("abcdefghij")), 2)


def test_registry_lists_suites_and_rejects_bad_cases():
    quick = {c.name for c in list_cases(suite="quick")}
    full = {c.name for c in list_cases(suite="full")}
    assert "planted-fig2" in quick and "planted-fig2-seed1" in full - quick
    assert {c.family for c in list_cases(suite="quick")} == {"planted", "synthetic-mtl", "icl"}
    with pytest.raises(ValueError, match="known cases: .*planted-fig2"):
        get_case("no-such-case")
    with pytest.raises(ValueError, match="already registered"):
        register_case(BenchCase("planted-fig2", "planted", 3, build=lambda ctx: None))
    with pytest.raises(ValueError, match="'family'"):
        register_case(BenchCase("x-new", "nope", 3, build=lambda ctx: None))
    with pytest.raises(ValueError, match="'suite' parameter"):
        list_cases(suite="medium")


def test_run_benchmark_with_a_registered_case(monkeypatch):
    T, labels = make_planted_affinity([3, 3], random_state=1)
    seen = []

    def build(ctx):
        seen.append(ctx)
        return CaseData(T, labels, list("abcdef"), info={"note": np.float64(1.5)})

    case = BenchCase("toy-registered", "planted", 2, build=build, suites=("full",))
    monkeypatch.setitem(_registry._REGISTRY, case.name, case)
    bench = run_benchmark("quick", cases=[case.name], methods=["lloyd", "exact"], random_state=3)
    assert [c.name for c in bench.cases] == [case.name]
    assert isinstance(seen[0], BuildContext) and seen[0].random_state == 3
    payload = json.loads(json.dumps(bench.to_dict()))
    assert payload["cases"][0]["info"] == {"note": 1.5}
    assert payload["cases"][0]["methods"][1]["labels"] is not None


def test_unavailable_cases_are_skipped_with_the_reason(monkeypatch):
    def build(ctx):
        raise _registry.CaseUnavailable("data file missing")

    case = BenchCase("toy-missing", "icl", 3, build=build)
    monkeypatch.setitem(_registry._REGISTRY, case.name, case)
    bench = run_benchmark("quick", cases=[case.name], methods=["lloyd"])
    assert bench.cases == [] and bench.skipped == [("toy-missing", "data file missing")]


def test_retrain_belongs_to_the_full_suite():
    with pytest.raises(ValueError, match="--suite full --retrain"):
        run_benchmark("quick", cases=["planted-fig2"], retrain=True)


def test_train_groupings_trains_each_group_once_and_compares_with_single_task():
    trainer = PlantedTrainer(sizes=[3, 3], within=1.0, between=-0.5, noise=0.0, random_state=0)
    names = list(trainer.task_names)
    groups = list(zip(names, trainer.true_labels, strict=True))
    truth = [[t for t, g in groups if g == c] for c in range(2)]
    result = train_groupings(
        trainer,
        {"all tasks": [names], "truth": truth, "again": truth[::-1]},
        names,
        greater_is_better=True,
    )
    # 6 singletons, 1 all-task model, 2 groups (shared by "truth" and "again").
    assert result.n_runs == 9
    assert result.row("single-task").vs_single == pytest.approx(0.0)
    assert result.row("truth").mean_score > result.row("all tasks").mean_score
    # The planted trainer's within-group transfer equals training alone; mixing groups hurts.
    assert result.row("truth").vs_single == pytest.approx(0.0)
    assert result.row("all tasks").vs_single < 0
    assert result.row("truth").task_scores == result.row("again").task_scores
    json.dumps(result.to_dict())


def test_train_groupings_rejects_groupings_that_miss_tasks():
    trainer = PlantedTrainer(sizes=[2, 2], random_state=0)
    names = list(trainer.task_names)
    with pytest.raises(ValueError, match="every task exactly once"):
        train_groupings(trainer, {"bad": [names[:3]]}, names)
