import numpy as np
import pytest

from adagroup.datasets import make_planted_affinity


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def planted():
    """A well-separated planted affinity matrix with 3 groups of sizes 4, 3, 3."""
    return make_planted_affinity(
        [4, 3, 3],
        within_mean=1.0,
        within_std=0.05,
        between_mean=0.0,
        between_std=0.05,
        random_state=0,
    )
