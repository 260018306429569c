"""adagroup: decide which tasks should be trained together.

Train models on subsets of tasks, estimate a task-affinity matrix from their
scores, and group the tasks by a certified semidefinite relaxation of the
average within-group density. Everything users need is importable from here;
heavy parts (storage, trainers, plots) load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

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
    # output
    "plot_affinity": "adagroup.plot",
    "read_affinity": "adagroup.io",
    "write_affinity": "adagroup.io",
}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'adagroup' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
