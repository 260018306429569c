"""Network selection: the MILP against brute force, predictions, inputs and their errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from adagroup import RunState, Study, select_networks
from adagroup.networks import (
    BudgetTooSmallError,
    NetworkSelection,
    budget_sweep,
    plot_budget_sweep,
    read_scores_csv,
)
from adagroup.networks._oracle import brute_force as _brute_force
from adagroup.networks._oracle import partition_oracle
from adagroup.networks._scores import as_score_table, candidate_networks


def all_subset_scores(n: int, rng: np.random.Generator) -> dict[tuple[str, ...], dict]:
    names = [f"t{i}" for i in range(n)]
    return {
        sub: {t: float(rng.normal()) for t in sub}
        for k in range(1, n + 1)
        for sub in itertools.combinations(names, k)
    }


def brute_force(scores: dict, budget: int, sign: float = 1.0) -> float:
    return _brute_force(
        {s: {t: sign * v for t, v in d.items()} for s, d in scores.items()}, budget
    )


def _check_selection(sel: NetworkSelection, scores: dict, sign: float) -> float:
    """The selection's own total, recomputed from the scores; checks it serves every task."""
    assert len(sel.networks) <= sel.budget
    total = 0.0
    for task, i in sel.serves.items():
        net = sel.networks[i]
        assert task in net
        key = next(k for k in scores if set(k) == set(net))
        assert sign * scores[key][task] == pytest.approx(
            max(sign * scores[next(k for k in scores if set(k) == set(m))][task]
                for m in sel.networks if task in m)
        )  # fmt: skip
        total += scores[key][task]
    assert total == pytest.approx(sel.total)
    return total


@pytest.mark.parametrize("n", [4, 5, 6])
@pytest.mark.parametrize("lower", [False, True])
def test_all_subsets_equals_brute_force_for_every_budget(n, lower):
    rng = np.random.default_rng(100 * n + lower)
    scores = all_subset_scores(n, rng)
    sign = -1.0 if lower else 1.0
    tasks = [f"t{i}" for i in range(n)]
    oriented = {s: {t: sign * v for t, v in d.items()} for s, d in scores.items()}
    for budget in range(1, n + 1):
        sel = select_networks(scores, budget, lower_is_better=lower)
        assert sel.method == "exact" and sel.proven_optimal and sel.gap == 0.0
        truth = partition_oracle(oriented, tasks, budget)
        assert sign * sel.total == pytest.approx(truth, abs=1e-9)
        _check_selection(sel, scores, sign)
        if n == 4:  # the enumeration of network sets itself, to trust the oracle
            assert brute_force(scores, budget, sign) == pytest.approx(truth, abs=1e-12)


def test_partial_data_equals_brute_force():
    # Random measured subsets (not all), no predictions: still exact.
    rng = np.random.default_rng(7)
    full = all_subset_scores(6, rng)
    keys = list(full)
    picked = [keys[i] for i in rng.choice(len(keys), 25, replace=False)]
    scores = {k: full[k] for k in picked} | {(f"t{i}",): full[(f"t{i}",)] for i in range(6)}
    names = [f"t{i}" for i in range(6)]
    for budget in range(1, 7):
        truth = partition_oracle(scores, names, budget)
        if truth == -math.inf:  # no `budget` measured subsets cover all tasks
            with pytest.raises(BudgetTooSmallError):
                select_networks(scores, budget, predict_unmeasured=False)
            continue
        sel = select_networks(scores, budget, predict_unmeasured=False)
        assert sel.proven_optimal and sel.total == pytest.approx(truth)
        _check_selection(sel, scores, 1.0)
        if budget <= 3:
            assert brute_force(scores, budget) == pytest.approx(truth)


def pairs_only(n: int, rng: np.random.Generator) -> dict:
    names = [f"t{i}" for i in range(n)]
    scores = {(t,): {t: float(rng.normal())} for t in names}
    for a, b in itertools.combinations(names, 2):
        scores[(a, b)] = {a: float(rng.normal()), b: float(rng.normal())}
    return scores


def standley(scores: dict, subset: tuple[str, ...]) -> dict[str, float]:
    """The pair-average prediction, written out independently of the package."""
    out = {}
    for t in subset:
        partners = [j for j in subset if j != t]
        pair = [scores[tuple(sorted((t, j)))][t] for j in partners]
        out[t] = sum(pair) / len(pair)
    return out


def test_predictions_are_standley_pair_averages_and_selection_is_exact_over_them():
    rng = np.random.default_rng(3)
    scores = pairs_only(5, rng)
    names = [f"t{i}" for i in range(5)]
    full = dict(scores)
    for k in range(3, 6):
        for sub in itertools.combinations(names, k):
            full[sub] = standley(scores, sub)
    for budget in range(1, 6):
        sel = select_networks(scores, budget)
        assert sel.proven_optimal
        assert sel.total == pytest.approx(partition_oracle(full, names, budget))
        _check_selection(sel, full, 1.0)
        for net, was_predicted in zip(sel.networks, sel.predicted, strict=True):
            assert was_predicted == (len(net) >= 3)
        # Turned off: only the measured singletons and pairs are candidates (>= 3 needed).
        if budget < 3:
            with pytest.raises(BudgetTooSmallError, match="budget >= 3"):
                select_networks(scores, budget, predict_unmeasured=False)
            continue
        off = select_networks(scores, budget, predict_unmeasured=False)
        assert all(len(net) <= 2 for net in off.networks)
        assert off.total <= sel.total + 1e-12
    # A task trained with everything predicts the mean of its pair scores.
    sel = select_networks(scores, 1)
    assert sel.networks == [tuple(names)]
    assert sel.scores == pytest.approx(standley(scores, tuple(names)))


def test_measured_subsets_take_precedence_and_missing_pairs_stop_prediction():
    scores = {
        ("a", "b"): {"a": 1.0, "b": 1.0},
        ("a", "c"): {"a": 1.0, "c": 1.0},
        ("b", "c"): {"b": 1.0, "c": 1.0},
        ("a", "b", "c"): {"a": 0.0, "b": 0.0, "c": 0.0},  # measured: worse than predicted
    }
    sel = select_networks(scores, 1)
    assert sel.total == 0.0 and sel.predicted == [False]
    table = as_score_table({("a", "b"): {"a": 1, "b": 1}, ("b", "c"): {"b": 1, "c": 1}})
    cands = candidate_networks(table, predict_unmeasured=True, max_size=None, max_candidates=100)
    assert len(cands.subsets) == 2  # {a, c} never measured, so {a, b, c} is not predicted


def test_restricted_candidates_give_a_certified_bound():
    rng = np.random.default_rng(11)
    scores = pairs_only(7, rng)
    exact = select_networks(scores, 3)
    assert exact.method == "exact" and exact.n_candidates == 2**7 - 1
    # Room for singletons, pairs and triples only: sizes 4..7 go to column generation.
    small = select_networks(scores, 3, max_candidates=7 + 21 + 35)
    assert small.method == "restricted" and small.n_candidates >= 63
    assert small.total <= exact.total + 1e-12
    assert small.bound >= exact.total - 1e-9  # the bound covers what was left out
    assert small.gap == pytest.approx(small.bound - small.total)
    assert small.proven_optimal == (small.gap <= 1e-5 * abs(small.total))
    with pytest.raises(ValueError, match="method='exact' needs every predictable subset"):
        select_networks(scores, 3, max_candidates=63, method="exact")
    # max_subset_size defines the problem: nothing left out, so it is exact again.
    capped = select_networks(scores, 3, max_subset_size=3, max_candidates=63)
    assert capped.method == "exact" and capped.proven_optimal
    assert capped.total <= small.total + 1e-12  # a subset of small's candidates


def test_certify_bounds_left_out_sizes_priced_or_relaxed():
    from adagroup.networks._scores import pair_matrix
    from adagroup.networks._solve import certify

    for seed in range(6):
        scores = pairs_only(6, np.random.default_rng(seed))
        table = as_score_table(scores)
        cands = candidate_networks(
            table, predict_unmeasured=True, max_size=None, max_candidates=21
        )
        assert not cands.complete and cands.largest_size == 2
        for budget in (3, 4):
            exact = select_networks(scores, budget).total
            # price_cap 0: every left-out size by the clique search; 1000: all enumerated;
            # node_limit 1: the search gives up at once and returns its root bound.
            for price_cap, node_limit in ((0, 20_000), (10, 20_000), (1000, 20_000), (0, 1)):
                more, bound = certify(
                    cands,
                    6,
                    budget,
                    pair_matrix(table),
                    price_cap=price_cap,
                    node_limit=node_limit,
                )
                assert bound >= exact - 1e-9
                assert more.subsets[: len(cands.subsets)] == cands.subsets
                names = table.tasks
                for sub, vals in zip(more.subsets, more.values, strict=True):
                    if len(sub) >= 3:  # added columns carry Standley's prediction
                        key = tuple(names[t] for t in sub)
                        assert vals == pytest.approx(list(standley(scores, key).values()))


def test_bound_is_valid_on_many_random_restrictions():
    proven = 0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        scores = pairs_only(6, rng)
        # Up to pairs (sizes 3..6 bounded), or up to triples (4..6 bounded).
        for cap, budgets in ((6 + 15, (3, 4, 5)), (6 + 15 + 20, (2, 3, 4))):
            for budget in budgets:
                exact = select_networks(scores, budget)
                small = select_networks(scores, budget, max_candidates=cap)
                assert small.method == "restricted"
                assert small.bound >= exact.total - 1e-9
                assert small.total <= exact.total + 1e-12
                if small.proven_optimal:  # a proof must be right
                    assert small.total == pytest.approx(exact.total)
                    proven += 1
    assert proven > 0


@pytest.mark.parametrize("seed", range(5))
def test_clique_search_finds_the_best_reduced_cost(seed):
    from adagroup.networks._solve import _search_cliques

    rng = np.random.default_rng(seed)
    n = 9
    P = rng.normal(size=(n, n))
    adjacent = rng.random((n, n)) < 0.8
    adjacent = np.triu(adjacent, 1) | np.triu(adjacent, 1).T
    P[~adjacent] = np.nan
    lam = rng.normal(-0.5, 0.5, n)
    for k in range(3, 7):
        rcs = {
            c: sum(max(0.0, np.mean([P[t, j] for j in c if j != t]) - lam[t]) for t in c)
            for c in itertools.combinations(range(n), k)
            if all(adjacent[a, b] for a, b in itertools.combinations(c, 2))
        }
        best = max(rcs.values(), default=0.0)
        for floor in (0.0, best / 2, best + 1.0):
            top, found = _search_cliques(P, adjacent, lam, k, floor, 100_000)
            assert top == pytest.approx(max(floor, best))
            assert all(rc == pytest.approx(rcs[c]) and rc > floor for rc, c in found)
            if best > floor:
                assert max(rc for rc, _ in found) == pytest.approx(best)
        top, _ = _search_cliques(P, adjacent, lam, k, 0.0, 1)  # gives up: the root bound
        assert top >= best - 1e-12


def test_budget_too_small_names_the_fewest_networks():
    scores = {("a",): {"a": 1.0}, ("b",): {"b": 1.0}, ("c",): {"c": 1.0}}
    with pytest.raises(
        BudgetTooSmallError, match="takes at least 3 of the candidate networks. Use a budget >= 3"
    ) as info:
        select_networks(scores, 2)
    assert info.value.min_budget == 3
    sweep = budget_sweep(scores)
    assert sorted(sweep) == [3]


def test_study_input_averages_seeds_and_follows_its_direction():
    study = Study("nets", tasks=["a", "b", "c"], greater_is_better=False)
    losses = {("a",): 1.0, ("b",): 2.0, ("c",): 3.0, ("a", "b"): 0.5, ("b", "c"): 0.25}

    def trainer(subset, seed):
        return {t: losses.get(subset, 9.0) + seed for t in subset}

    study.enqueue([s for s in losses], seeds=[0, 2])
    study.run(trainer, progress=False)
    assert len(study.runs(state=RunState.COMPLETE)) == 10
    sel = select_networks(study, 2)
    # The mean over seeds 0 and 2 adds 1: {a,b} serves a (1.5), {b,c} serves b and c (1.25).
    assert sel.networks == [("a", "b"), ("b", "c")]
    assert sel.serves == {"a": 0, "b": 1, "c": 1}
    assert sel.total == pytest.approx(1.5 + 1.25 + 1.25)
    assert sel.bound == pytest.approx(sel.total)
    with pytest.raises(ValueError, match="disagrees with the study"):
        select_networks(study, 2, lower_is_better=False)


def test_rows_and_mapping_inputs_agree(tmp_path):
    rows = [("a+b", "a", 0.5), ("a+b", "b", 0.25), ("a", "a", 0.75), ("b", "b", 0.5),
            ("a", "a", 0.25)]  # fmt: skip
    mapping = {"a+b": {"a": 0.5, "b": 0.25}, ("a",): {"a": [0.75, 0.25]}, ("b",): {"b": 0.5}}
    path = tmp_path / "s.csv"
    path.write_text("subset,task,score\n" + "\n".join(",".join(map(str, r)) for r in rows))
    dicts = [dict(zip(("subset", "task", "score"), r, strict=True)) for r in rows]
    results = [select_networks(x, 2).to_dict() for x in (rows, mapping, path, dicts)]
    for r in results:
        r.pop("seconds")
    assert all(r == results[0] for r in results)
    assert results[0]["total"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("subset,task\na,a\n", "column 'score' is missing .* e.g. 'depth\\+normal,depth,0.71'"),
        ("", "column 'subset' is missing"),
        ("subset,task,score\na,a,high\n", "line 2: column 'score' must be a finite number"),
        ("subset,task,score\na,a,nan\n", "line 2: column 'score'"),
        ("subset,task,score\n", "no rows"),
        ("subset,task,score\na+b,a\n", "line 2 has 2 fields"),
    ],
)
def test_csv_errors_name_the_column_and_the_fix(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        read_scores_csv(path)


@pytest.mark.parametrize(
    ("scores", "kwargs", "match"),
    [
        ({"a+b": {"a": 1.0}}, {}, "Subset 'a\\+b' has no score for task 'b'"),
        ({"a": {"b": 1.0}}, {}, "does not contain it"),
        ({"a": {"a": float("inf")}}, {}, "finite number"),
        ({"a": {"a": 1.0}}, {"budget": 0}, "'budget' parameter .* int >= 1. Got 0"),
        ({"a": {"a": 1.0}}, {"method": "greedy"}, "'method' parameter"),
        ({"a": {"a": 1.0}}, {"max_subset_size": 0}, "'max_subset_size'"),
        (
            {"a+b": {"a": 1.0, "b": 1.0}, "c": {"c": 1}},
            {"max_subset_size": 1},
            "Task 'a' is in no",
        ),
        ({"a+a": {"a": 1.0}}, {}, "names a task twice"),
        (42, {}, "must be a mapping"),
    ],
)
def test_input_errors(scores, kwargs, match):
    kwargs = {"budget": 1} | kwargs
    with pytest.raises((ValueError, TypeError), match=match):
        select_networks(scores, **kwargs)


def test_time_limit_reports_what_it_has():
    rng = np.random.default_rng(0)
    sel = select_networks(all_subset_scores(5, rng), 2, time_limit=30.0)
    assert sel.seconds < 30 and sel.proven_optimal


def test_budget_sweep_plot(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    rng = np.random.default_rng(1)
    sweep = budget_sweep(pairs_only(5, rng))
    assert sorted(sweep) == [1, 2, 3, 4, 5]
    totals = [sweep[b].total for b in range(1, 6)]
    assert totals == sorted(totals)  # a larger budget never does worse
    ax = plot_budget_sweep(sweep)
    assert len(ax.lines) >= 2
    ax.figure.savefig(tmp_path / "s.png")
