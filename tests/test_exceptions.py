import warnings

import numpy as np
import pytest

import adagroup as ag
from adagroup.exceptions import FewerClustersWarning, warn_external


def test_warn_external_points_at_the_caller():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_external("x", FewerClustersWarning)
    assert caught[0].filename == __file__


def test_clusterer_warnings_point_at_user_code(monkeypatch):
    # Force a result with fewer groups than asked: the warning must name this file.
    from adagroup.cluster import _base

    monkeypatch.setattr(
        ag.SpectralClustering,
        "_fit_k",
        lambda self, S, k, rng, **w: _base.ClusteringResult(np.zeros(S.shape[0], int), 0.0),
    )
    with pytest.warns(FewerClustersWarning, match=r"smaller than n_clusters \(2\)") as record:
        ag.SpectralClustering(n_clusters=2).fit(np.eye(3))
    assert record[0].filename == __file__
