import numpy as np
import pytest

from adagroup.datasets import make_fig2_affinity, make_planted_affinity


def test_planted_shapes_and_means():
    T, labels = make_planted_affinity(
        [30, 20],
        within_mean=[5.0, 3.0],
        within_std=0.1,
        between_mean=-1.0,
        between_std=0.1,
        random_state=0,
    )
    assert T.shape == (50, 50)
    assert np.bincount(labels).tolist() == [30, 20]
    np.testing.assert_allclose(T, T.T)
    same0 = np.equal.outer(labels == 0, labels == 0) & (labels == 0)[:, None]
    assert abs(T[same0].mean() - 5.0) < 0.05
    assert abs(T[np.not_equal.outer(labels, labels)].mean() + 1.0) < 0.05


def test_planted_is_seeded():
    a, _ = make_planted_affinity([3, 3], random_state=1)
    b, _ = make_planted_affinity([3, 3], random_state=1)
    np.testing.assert_array_equal(a, b)


def test_planted_errors():
    with pytest.raises(ValueError, match="'sizes'"):
        make_planted_affinity([])
    with pytest.raises(ValueError, match=r"'between_mean' .*=\(2, 2\)"):
        make_planted_affinity([2, 2], between_mean=np.zeros((3, 3)))


def test_fig2_case():
    T, labels = make_fig2_affinity(150, random_state=0)
    assert T.shape == (150, 150)
    assert np.bincount(labels).tolist() == [50, 50, 50]
    block = lambda a, b: T[np.ix_(labels == a, labels == b)].mean()  # noqa: E731
    assert not np.allclose(T, T.T)
    assert block(1, 2) == pytest.approx(13.0, abs=0.2)
    assert block(0, 0) == pytest.approx(12.0, abs=0.3)
