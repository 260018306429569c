"""One contract, checked on every clusterer in adagroup.cluster.METHODS."""

import json
import pickle
import warnings

import numpy as np
import pytest

from adagroup.cluster import METHODS, BaseTaskClustering, density_objective

sklearn_base = pytest.importorskip("sklearn.base")
from sklearn.metrics import adjusted_rand_score  # noqa: E402


def _is_placeholder(cls):
    # The placeholder modules define no __init__ of their own.
    return "__init__" not in vars(cls)


METHOD_PARAMS = [
    pytest.param(
        name,
        id=name,
        marks=pytest.mark.skipif(
            _is_placeholder(cls), reason=f"{cls.__name__} is still a placeholder"
        ),
    )
    for name, cls in sorted(METHODS.items())
]


@pytest.fixture(params=METHOD_PARAMS)
def method(request):
    return request.param


def make(method, **params):
    params.setdefault("random_state", 0)
    return METHODS[method](**params)


@pytest.fixture
def T_random():
    rng = np.random.default_rng(7)
    return rng.normal(size=(9, 9))


def test_methods_table_holds_the_four_clusterers():
    assert set(METHODS) == {"sdp", "spectral", "lloyd", "exact"}
    for name, cls in METHODS.items():
        assert issubclass(cls, BaseTaskClustering)
        if not _is_placeholder(cls):
            assert cls.method == name


def test_fit_returns_self_and_sets_attributes(method, planted):
    T, truth = planted
    est = make(method, n_clusters=3)
    assert est.fit(T) is est
    assert est.labels_.shape == (10,)
    assert np.issubdtype(est.labels_.dtype, np.integer)
    assert sorted(np.unique(est.labels_)) == [0, 1, 2]
    assert est.n_clusters_ == 3
    assert est.objective_ == pytest.approx(density_objective(T, est.labels_))
    assert est.k_table_ is None
    assert est.seconds_ >= 0
    assert adjusted_rand_score(truth, est.labels_) == 1
    if est.upper_bound_ is None:
        assert est.gap_ is None and not est.proven_optimal_
    else:
        assert est.upper_bound_ >= est.objective_ - 1e-6 * abs(est.objective_)
        assert est.gap_ >= 0


def test_fit_predict_matches_fit(method, planted):
    T, _ = planted
    labels = make(method, n_clusters=3).fit_predict(T)
    np.testing.assert_array_equal(labels, make(method, n_clusters=3).fit(T).labels_)


def test_same_seed_same_labels(method, T_random):
    a = make(method, n_clusters=3, random_state=11).fit(T_random).labels_
    b = make(method, n_clusters=3, random_state=11).fit(T_random).labels_
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("k", [1, 2, 4, 9])
def test_exactly_k_groups(method, T_random, k):
    est = make(method, n_clusters=k).fit(T_random)
    assert len(np.unique(est.labels_)) == k


def test_pickle_round_trip(method, planted):
    T, _ = planted
    est = make(method, n_clusters=3).fit(T)
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.labels_, est.labels_)
    assert back.objective_ == est.objective_
    assert back.get_params() == est.get_params()
    np.testing.assert_array_equal(back.fit(T).labels_, est.labels_)


def test_sklearn_clone(method):
    est = make(method, n_clusters=4, random_state=3)
    copy = sklearn_base.clone(est)
    assert copy is not est
    assert type(copy) is type(est)
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "labels_")


def test_get_set_params(method):
    est = make(method, n_clusters=2)
    params = est.get_params()
    assert {"n_clusters", "random_state", "max_clusters"} <= set(params)
    assert params["n_clusters"] == 2
    assert est.set_params(n_clusters=5, random_state=1) is est
    assert est.get_params()["n_clusters"] == 5
    assert "n_clusters=5" in repr(est)
    with pytest.raises(ValueError, match=r"Invalid parameter 'bogus' .*get_params\(\)"):
        est.set_params(bogus=1)


def test_dataframe_keeps_task_names(method, planted):
    pd = pytest.importorskip("pandas")
    T, truth = planted
    names = [f"task{i}" for i in range(10)]
    df = pd.DataFrame(T, index=names, columns=names)
    est = make(method, n_clusters=3).fit(df)
    assert est.task_names_ == names
    assert sorted(t for g in est.groups_ for t in g) == sorted(names)
    for group in est.groups_:
        assert len({truth[names.index(t)] for t in group}) == 1


def test_to_dict(method, planted):
    T, _ = planted
    out = make(method, n_clusters=3).fit(T).to_dict()
    assert set(out) == {
        "method",
        "k",
        "groups",
        "objective",
        "upper_bound",
        "gap",
        "proven_optimal",
        "seconds",
        "certificate",
    }
    assert out["method"] == method
    assert out["k"] == 3
    assert sorted(int(t) for g in out["groups"] for t in g) == list(range(10))
    assert json.loads(json.dumps(out)) == out


def test_auto_k_produces_table(method, planted):
    T, truth = planted
    est = make(method, n_clusters="auto", max_clusters=5).fit(T)
    assert [row["k"] for row in est.k_table_] == [1, 2, 3, 4, 5]
    for row in est.k_table_:
        assert {"k", "objective", "average_density", "upper_bound", "proven_optimal"} <= set(row)
    assert est.n_clusters_ == 3
    assert adjusted_rand_score(truth, est.labels_) == 1


def _bad_inputs():
    ok = np.eye(4)
    with warnings.catch_warnings():
        # np.matrix itself is deprecated; the point is that we reject it.
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        matrix = np.asmatrix(ok)
    cases = [
        ("non-square", np.ones((3, 4)), 2, ValueError, r"'T' .* square matrix"),
        ("1-d", np.ones(4), 2, ValueError, r"'T' .* square matrix"),
        ("empty", np.ones((0, 0)), 1, ValueError, r"'T' .* at least one task"),
        ("nan", np.where(ok == 1, np.nan, 0.0), 2, ValueError, r"'T' .* must be finite"),
        ("inf", np.where(ok == 1, np.inf, 0.0), 2, ValueError, r"'T' .* must be finite"),
        ("k=0", ok, 0, ValueError, r"'n_clusters' .* Got 0 instead"),
        ("k<0", ok, -2, ValueError, r"'n_clusters' .* Got -2 instead"),
        ("k>n", ok, 5, ValueError, r"'n_clusters' .*n_tasks=4.* Got 5 instead"),
        ("k float", ok, 2.0, ValueError, r"'n_clusters' .* Got 2\.0 instead"),
        ("k string", ok, "three", ValueError, r"'n_clusters' .* Got 'three' instead"),
        ("non-numeric", [["a", "b"], ["c", "d"]], 1, TypeError, r"'T' .* non-numeric"),
        ("np.matrix", matrix, 2, TypeError, r"np\.matrix is not supported for 'T'"),
    ]
    return [pytest.param(T, k, exc, match, id=name) for name, T, k, exc, match in cases]


@pytest.mark.parametrize(("T", "k", "exc", "match"), _bad_inputs())
def test_bad_input_raises_naming_the_parameter(method, T, k, exc, match):
    with pytest.raises(exc, match=match):
        make(method, n_clusters=k).fit(T)


def test_duplicate_dataframe_names_raise(method):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(np.eye(3), index=["a", "b", "a"], columns=["a", "b", "a"])
    with pytest.raises(ValueError, match=r"task names of 'T' .* unique\. Got duplicates \['a'\]"):
        make(method, n_clusters=2).fit(df)


def test_asymmetric_T_is_symmetrised(method, T_random):
    S = (T_random + T_random.T) / 2
    a = make(method, n_clusters=3).fit(T_random)
    b = make(method, n_clusters=3).fit(S)
    assert not np.allclose(T_random, T_random.T)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.objective_ == pytest.approx(b.objective_)


@pytest.mark.parametrize("k", [1, 2, 5])
def test_constant_matrix_is_valid(method, k):
    est = make(method, n_clusters=k).fit(np.full((5, 5), 0.3))
    assert len(np.unique(est.labels_)) == k
    # Every partition of a constant matrix has F = n * c.
    assert est.objective_ == pytest.approx(5 * 0.3)


def test_single_task_is_valid(method):
    est = make(method, n_clusters=1).fit([[2.5]])
    np.testing.assert_array_equal(est.labels_, [0])
    assert est.objective_ == pytest.approx(2.5)
    auto = make(method, n_clusters="auto").fit([[2.5]])
    assert auto.n_clusters_ == 1


@pytest.mark.parametrize("scale", [1e-12, 1e12])
def test_extreme_scales_give_the_same_groups(method, planted, scale):
    T, truth = planted
    est = make(method, n_clusters=3).fit(T * scale)
    assert adjusted_rand_score(truth, est.labels_) == 1
