"""The quick suite's planted cases: what the paper claims, where it holds."""

import numpy as np
import pytest

from adagroup.bench import EXACT_MAX_TASKS, format_case_table, list_cases, run_benchmark
from adagroup.bench.planted import make_row_scaled_affinity
from adagroup.datasets import make_fig2_affinity


@pytest.fixture(scope="module")
def quick_planted():
    names = [c.name for c in list_cases(suite="quick", family="planted")]
    return run_benchmark("quick", cases=names, end_to_end=False)


def test_quick_planted_cases_cover_two_to_six_groups(quick_planted):
    ks = {c.n_clusters for c in quick_planted.cases}
    assert ks == {2, 3, 4, 5, 6}
    assert any(c.name == "planted-fig2" and c.n_tasks == 150 for c in quick_planted.cases)


def test_exact_search_confirms_every_small_quick_case(quick_planted):
    small = [c for c in quick_planted.cases if c.n_tasks <= EXACT_MAX_TASKS]
    assert len(small) >= 6
    for case in small:
        assert case.exact_confirms_truth, case.name
        assert case.score("exact").ari == 1.0, case.name


def test_sdp_recovers_every_structure_exact_search_confirms(quick_planted):
    confirmed = [c for c in quick_planted.cases if c.exact_confirms_truth]
    assert confirmed
    for case in confirmed:
        sdp = case.score("sdp")
        assert sdp.status != "error", f"{case.name}: {sdp.note}"
        assert sdp.ari == 1.0, case.name
        # The SDP bound holds for every partition, the planted one included.
        assert case.sdp_bound >= case.truth_objective - 1e-6 * abs(case.truth_objective)


def test_sdp_recovers_fig2(quick_planted):
    case = next(c for c in quick_planted.cases if c.name == "planted-fig2")
    assert case.score("sdp").ari == 1.0


def test_tables_show_where_spectral_and_lloyd_fail(quick_planted):
    failures = {"spectral": [], "lloyd": []}
    for case in quick_planted.cases:
        table = format_case_table(case)
        for method in failures:
            score = case.score(method)
            assert score.ari is not None, (case.name, method, score.note)
            if score.ari < 1.0:
                failures[method].append(case.name)
                row = next(line for line in table.splitlines() if line.strip().startswith(method))
                assert f"{score.ari:.3f}" in row
    # The regime the cases were drawn for: each baseline misses some planted structure that
    # exact search confirms optimal.
    confirmed = {c.name for c in quick_planted.cases if c.exact_confirms_truth}
    assert set(failures["spectral"]) & confirmed
    assert set(failures["lloyd"]) & confirmed


def test_gap_to_sdp_bound_is_bound_minus_objective(quick_planted):
    case = next(c for c in quick_planted.cases if c.name == "planted-k5-n11")
    assert case.sdp_bound is not None
    for s in case.scores:
        assert s.gap_to_sdp_bound == pytest.approx(case.sdp_bound - s.objective)
        assert s.gap_to_sdp_bound >= -1e-6 * abs(case.sdp_bound)


def test_fig2_case_is_the_datasets_preset():
    case = next(c for c in list_cases(family="planted") if c.name == "planted-fig2")
    data = case.build(None)
    T, labels = make_fig2_affinity(150, random_state=0)
    np.testing.assert_array_equal(data.T, T)
    np.testing.assert_array_equal(data.true_labels, labels)


def test_make_row_scaled_affinity_scales_rows():
    T, labels, scales = make_row_scaled_affinity([3, 2], decades=4.0, random_state=0)
    assert T.shape == (5, 5) and np.bincount(labels).tolist() == [3, 2]
    assert np.all((scales >= 1e-2) & (scales <= 1e2))
    T0, _, ones = make_row_scaled_affinity([3, 2], decades=0.0, random_state=0)
    np.testing.assert_array_equal(ones, np.ones(5))
    np.testing.assert_allclose(T, T0 * scales[:, None] / ones[:, None])


def test_make_row_scaled_affinity_rejects_negative_decades():
    with pytest.raises(ValueError, match="'decades' parameter must be >= 0"):
        make_row_scaled_affinity([2, 2], decades=-1.0)
