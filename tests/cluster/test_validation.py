import numpy as np
import pytest

from adagroup.cluster._validation import (
    check_affinity,
    check_labels,
    check_n_clusters,
    check_random_state,
)


def test_check_affinity_symmetrises():
    T = np.array([[1.0, 2.0], [0.0, 1.0]])
    S, names = check_affinity(T)
    np.testing.assert_allclose(S, [[1.0, 1.0], [1.0, 1.0]])
    assert names is None


def test_check_affinity_dataframe_names():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(np.eye(2), index=["a", "b"], columns=["a", "b"])
    _, names = check_affinity(df)
    assert names == ["a", "b"]


@pytest.mark.parametrize(
    ("T", "match"),
    [
        (np.ones((2, 3)), r"square matrix .* Got shape \(2, 3\)"),
        (np.ones(3), r"square matrix .* Got shape \(3,\)"),
        (np.ones((0, 0)), r"at least one task"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), r"must be finite\. Got nan at \[0, 1\]"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), r"must be finite\. Got inf"),
    ],
)
def test_check_affinity_rejects(T, match):
    with pytest.raises(ValueError, match=match):
        check_affinity(T, caller="X")


def test_check_affinity_rejects_non_numeric_and_matrix():
    with pytest.raises(TypeError, match="non-numeric"):
        check_affinity([["a", "b"], ["c", "d"]])
    with pytest.raises(TypeError, match=r"np\.matrix is not supported"):
        check_affinity(np.asmatrix(np.eye(2)))


def test_check_affinity_duplicate_names():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(np.eye(2), index=["a", "a"], columns=["a", "a"])
    with pytest.raises(ValueError, match=r"must be unique\. Got duplicates \['a'\]"):
        check_affinity(df)


@pytest.mark.parametrize("k", [0, 4, -1, 2.5, "3", True, None])
def test_check_n_clusters_rejects(k):
    with pytest.raises(ValueError, match=r"'n_clusters' parameter of C must be an int"):
        check_n_clusters(k, 3, caller="C")


def test_check_n_clusters_auto():
    assert check_n_clusters("auto", 3, allow_auto=True) == "auto"
    assert check_n_clusters(np.int64(2), 3) == 2
    with pytest.raises(ValueError, match="auto"):
        check_n_clusters("auto", 3)


def test_check_random_state():
    a = check_random_state(3).random()
    b = check_random_state(3).random()
    assert a == b
    g = np.random.default_rng(0)
    assert check_random_state(g) is g
    with pytest.raises(ValueError, match="random_state"):
        check_random_state("seed")


def test_check_labels_relabels_by_first_use():
    np.testing.assert_array_equal(check_labels([5, 5, 2, 7, 2], 5), [0, 0, 1, 2, 1])
    with pytest.raises(ValueError, match=r"shape \(n_tasks,\)=\(3,\)"):
        check_labels([0, 1], 3)


def test_max_clusters_errors_name_max_clusters_and_large_values_are_capped():
    from adagroup.cluster import SpectralClustering

    T = np.eye(4) + 0.1
    with pytest.raises(ValueError, match=r"'max_clusters' parameter of SpectralClustering"):
        SpectralClustering(n_clusters="auto", max_clusters=0).fit(T)
    est = SpectralClustering(n_clusters="auto", max_clusters=8, random_state=0).fit(T)
    assert [row["k"] for row in est.k_table_] == [1, 2, 3, 4]


def test_k_below_one_has_no_misleading_hint():
    with pytest.raises(ValueError) as info:
        check_n_clusters(0, 3, caller="C")
    assert "should be >=" not in str(info.value)


def test_fit_rejects_misspelled_warm_start():
    from adagroup.cluster import SDPClustering

    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['init_lables'\]"):
        SDPClustering(n_clusters=2).fit(np.eye(4), init_lables=[0, 0, 1, 1])
