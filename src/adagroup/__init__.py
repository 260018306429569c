"""adagroup: decide which tasks should be trained together.

Train models on subsets of tasks, estimate a task-affinity matrix from their
scores, and group the tasks by a certified semidefinite relaxation of the
average within-group density. Everything users need is importable from here;
heavy parts (storage, trainers, plots) load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it; loaded on first attribute access so that
# ``import adagroup`` stays cheap and optional dependencies stay optional.
_LAZY = {
    # clustering core
    "SDPClustering": "adagroup.cluster",
    "SpectralClustering": "adagroup.cluster",
    "LloydClustering": "adagroup.cluster",
    "ExhaustiveClustering": "adagroup.cluster",
    "sdp_clustering": "adagroup.cluster",
    "spectral_clustering": "adagroup.cluster",
    "lloyd_clustering": "adagroup.cluster",
    "exhaustive_clustering": "adagroup.cluster",
    "SDPResult": "adagroup.cluster._sdp",
    "density_objective": "adagroup.cluster",
    "labels_to_groups": "adagroup.cluster",
    "make_planted_affinity": "adagroup.datasets",
    "make_fig2_affinity": "adagroup.datasets",
    # studies
    "TaskSet": "adagroup.tasks",
    "sample_subsets": "adagroup.sampling",
    "all_pairs": "adagroup.sampling",
    "singletons": "adagroup.sampling",
    "adaptive_subsets": "adagroup.sampling",
    "cover_pairs": "adagroup.sampling",
    "RunState": "adagroup.runs",
    "RunRecord": "adagroup.runs",
    "get_storage": "adagroup.storage",
    "BaseStorage": "adagroup.storage",
    "InMemoryStorage": "adagroup.storage",
    "SQLStorage": "adagroup.storage",
    "Study": "adagroup.study",
    "load_study": "adagroup.study",
    "get_all_study_names": "adagroup.study",
    "AffinityEstimate": "adagroup.affinity",
    "estimate_affinity": "adagroup.affinity",
    "AdaGroup": "adagroup.adaptive",
    "select_networks": "adagroup.networks",
    # output
    "plot_affinity": "adagroup.plot",
    "read_affinity": "adagroup.io",
    "write_affinity": "adagroup.io",
    # errors and warnings: `except adagroup.AdagroupError` catches every deliberate error
    "AdagroupError": "adagroup.exceptions",
    "SolverError": "adagroup.exceptions",
    "StudyNotFoundError": "adagroup.exceptions",
    "StudyMismatchError": "adagroup.exceptions",
    "RunUpdateError": "adagroup.exceptions",
    "StorageInternalError": "adagroup.exceptions",
    "SchemaVersionError": "adagroup.exceptions",
    "TrainerError": "adagroup.exceptions",
    "AdagroupWarning": "adagroup.exceptions",
    "ConvergenceWarning": "adagroup.exceptions",
    "FewerClustersWarning": "adagroup.exceptions",
    "UnstableGroupingWarning": "adagroup.exceptions",
}

# A literal list, so that IDEs, type checkers and linters can read it; the test suite
# checks that it names exactly the keys of _LAZY and __version__.
__all__ = [
    "AdaGroup",
    "AdagroupError",
    "AdagroupWarning",
    "AffinityEstimate",
    "BaseStorage",
    "ConvergenceWarning",
    "ExhaustiveClustering",
    "FewerClustersWarning",
    "InMemoryStorage",
    "LloydClustering",
    "RunRecord",
    "RunState",
    "RunUpdateError",
    "SDPClustering",
    "SDPResult",
    "SQLStorage",
    "SchemaVersionError",
    "SolverError",
    "SpectralClustering",
    "StorageInternalError",
    "Study",
    "StudyMismatchError",
    "StudyNotFoundError",
    "TaskSet",
    "TrainerError",
    "UnstableGroupingWarning",
    "__version__",
    "adaptive_subsets",
    "all_pairs",
    "cover_pairs",
    "density_objective",
    "estimate_affinity",
    "exhaustive_clustering",
    "get_all_study_names",
    "get_storage",
    "labels_to_groups",
    "lloyd_clustering",
    "load_study",
    "make_fig2_affinity",
    "make_planted_affinity",
    "plot_affinity",
    "read_affinity",
    "sample_subsets",
    "sdp_clustering",
    "select_networks",
    "singletons",
    "spectral_clustering",
    "write_affinity",
]

if TYPE_CHECKING:  # pragma: no cover - what type checkers see instead of __getattr__
    from .adaptive import AdaGroup
    from .affinity import AffinityEstimate, estimate_affinity
    from .cluster import (
        ExhaustiveClustering,
        LloydClustering,
        SDPClustering,
        SpectralClustering,
        density_objective,
        exhaustive_clustering,
        labels_to_groups,
        lloyd_clustering,
        sdp_clustering,
        spectral_clustering,
    )
    from .cluster._sdp import SDPResult
    from .datasets import make_fig2_affinity, make_planted_affinity
    from .exceptions import (
        AdagroupError,
        AdagroupWarning,
        ConvergenceWarning,
        FewerClustersWarning,
        RunUpdateError,
        SchemaVersionError,
        SolverError,
        StorageInternalError,
        StudyMismatchError,
        StudyNotFoundError,
        TrainerError,
        UnstableGroupingWarning,
    )
    from .io import read_affinity, write_affinity
    from .networks import select_networks
    from .plot import plot_affinity
    from .runs import RunRecord, RunState
    from .sampling import adaptive_subsets, all_pairs, cover_pairs, sample_subsets, singletons
    from .storage import BaseStorage, InMemoryStorage, SQLStorage, get_storage
    from .study import Study, get_all_study_names, load_study
    from .tasks import TaskSet


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'adagroup' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
