"""Tests for AdaGroup (Algorithm 3): recovery, new batches, resume, determinism."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

import adagroup as ag
from adagroup.adaptive import AdaGroup
from adagroup.cluster import SDPClustering, SpectralClustering
from adagroup.runs import RunState
from adagroup.trainers.planted import PlantedTrainer

pytestmark = pytest.mark.filterwarnings("ignore::adagroup.exceptions.FewerClustersWarning")


def _clusterer():
    # SDPClustering is the default; while its module is a placeholder (no _fit_k of its
    # own) the loop is exercised with the spectral baseline instead.
    if "_fit_k" in vars(SDPClustering):
        return None
    return SpectralClustering()


def _trainer(**kwargs) -> PlantedTrainer:
    params = {"sizes": [6, 6, 6], "noise": 0.05, "scale": (1e-2, 1e2), "random_state": 1}
    params.update(kwargs)
    return PlantedTrainer(**params)


def _ada(study, **kwargs) -> AdaGroup:
    params = {"batch_size": 6, "n_subsets_per_step": 20, "random_state": 0}
    params.update(kwargs)
    return AdaGroup(study, clusterer=_clusterer(), **params)


def _n_calls(path) -> int:
    try:
        with open(path, encoding="utf-8") as fh:
            return sum(1 for _ in fh)
    except FileNotFoundError:
        return 0


def test_recovers_planted_groups_with_fewer_runs_than_all_pairs():
    trainer = _trainer()
    study = ag.Study("planted", tasks=trainer.task_names)
    ada = _ada(study).run(trainer)
    n = trainer.n_tasks
    assert adjusted_rand_score(trainer.true_labels, ada.labels_) == 1
    assert ada.n_clusters_ == 3
    assert ada.n_runs_ < n * (n - 1) // 2
    assert ada.n_runs_ == study.summary()[RunState.COMPLETE]
    assert [h["n_tasks"] for h in ada.history_] == [6, 12, 18]
    assert sorted(t for g in ada.groups_ for t in g) == sorted(trainer.task_names)
    assert ada.affinity_.n_tasks == n
    assert np.all(np.isfinite(ada.affinity_filled_))


def test_new_batch_of_own_group_opens_a_new_group():
    labels = [0, 1, 2] * 4 + [3] * 4
    trainer = PlantedTrainer(labels, noise=0.05, scale=(1e-2, 1e2), random_state=3)
    first, later = list(trainer.task_names[:12]), list(trainer.task_names[12:])
    study = ag.Study("grow", tasks=first)
    ada = _ada(study).run(trainer)
    assert ada.n_clusters_ == 3
    assert adjusted_rand_score(trainer.true_labels[:12], ada.labels_) == 1
    before = ada.n_runs_

    ada.run(trainer, tasks=later)
    assert tuple(study.tasks) == tuple(trainer.task_names)
    assert ada.n_clusters_ == 4
    assert adjusted_rand_score(trainer.true_labels, ada.labels_) == 1
    assert ada.n_runs_ > before
    # The later batch was only ever trained next to one existing group at a time.
    assert ada.history_[-1]["n_new"] == 4


def test_rerun_resumes_without_training_again(tmp_path):
    calls = tmp_path / "calls.txt"
    trainer = _trainer(calls_path=calls)
    url = f"sqlite:///{tmp_path / 'study.db'}"

    study = ag.Study("resume", storage=url, tasks=trainer.task_names)
    partial = _ada(study).run(trainer, n_rounds=1)
    assert partial.n_steps_ == 1
    after_first = _n_calls(calls)
    assert after_first == partial.n_runs_ > 0

    # A new object on the reopened study replays step 1 from the store, then goes on.
    study = ag.Study("resume", storage=url)
    full = _ada(study).run(trainer)
    total = _n_calls(calls)
    assert total == full.n_runs_

    # Once finished, a rerun trains nothing and finds the same groups.
    again = _ada(ag.Study("resume", storage=url)).run(trainer)
    assert _n_calls(calls) == total
    assert np.array_equal(again.labels_, full.labels_)

    # The interrupted trajectory trained exactly what an uninterrupted one trains.
    fresh = _trainer()
    direct = _ada(ag.Study("direct", tasks=fresh.task_names)).run(fresh)
    assert direct.n_runs_ == total
    assert np.array_equal(direct.labels_, full.labels_)


def test_same_random_state_same_plan_and_groups():
    trainer = _trainer(random_state=2)
    results = []
    for name in ("a", "b"):
        study = ag.Study(name, tasks=trainer.task_names)
        ada = _ada(study, random_state=7).run(trainer)
        plan = sorted((tuple(r.subset), r.seed) for r in study.runs())
        results.append((plan, ada.labels_.tolist(), [h["k"] for h in ada.history_]))
    assert results[0] == results[1]
    study = ag.Study("c", tasks=trainer.task_names)
    _ada(study, random_state=8).run(trainer)
    assert sorted((tuple(r.subset), r.seed) for r in study.runs()) != results[0][0]


def test_losses_and_n_rounds():
    trainer = _trainer(greater_is_better=False)
    study = ag.Study("loss", tasks=trainer.task_names, greater_is_better=False)
    ada = _ada(study)
    ada.run(trainer, n_rounds=2)
    assert ada.n_steps_ == 2 and len(ada.labels_) == 12
    ada.run(trainer, n_rounds=0)
    assert ada.n_steps_ == 2
    ada.run(trainer)
    assert adjusted_rand_score(trainer.true_labels, ada.labels_) == 1


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"batch_size": 0}, "'batch_size' parameter of AdaGroup"),
        ({"subset_size": 1}, "'subset_size' parameter of AdaGroup must be an int >= 2"),
        ({"n_subsets_per_step": 0}, "'n_subsets_per_step' parameter of AdaGroup"),
        ({"estimator": "median"}, "'estimator' parameter of AdaGroup"),
        ({"normalize": "zscore"}, "'normalize' parameter of AdaGroup"),
        ({"seeds": ()}, "'seeds' parameter of AdaGroup"),
    ],
)
def test_bad_parameters(params, match):
    trainer = _trainer()
    study = ag.Study("bad", tasks=trainer.task_names)
    with pytest.raises(ValueError, match=match):
        AdaGroup(study, **params).run(trainer)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert study.summary()[RunState.COMPLETE] == 0


def test_bad_n_rounds():
    trainer = _trainer()
    study = ag.Study("bad", tasks=trainer.task_names)
    with pytest.raises(ValueError, match="'n_rounds' parameter"):
        AdaGroup(study).run(trainer, n_rounds=-1)


def test_fewer_than_three_runs_per_task_with_five_groups():
    # Small batches (5 tasks, 5 groups): the first batch cannot show every group, so the
    # later batches must open groups; the budget is 3 runs per task.
    trainer = PlantedTrainer(sizes=[6] * 5, noise=0.05, scale=(1e-2, 1e2), random_state=0)
    study = ag.Study("five", tasks=trainer.task_names)
    ada = AdaGroup(study, clusterer=_clusterer(), batch_size=5, random_state=0).run(trainer)
    assert adjusted_rand_score(trainer.true_labels, ada.labels_) == 1
    assert ada.n_runs_ <= 3 * trainer.n_tasks
    assert [h["k"] for h in ada.history_] == sorted(h["k"] for h in ada.history_)
