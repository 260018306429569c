"""Task clustering on a precomputed affinity matrix: the certified SDP and baselines."""

from ._base import BaseTaskClustering, ClusteringResult, select_n_clusters
from ._exhaustive import ExhaustiveClustering, exhaustive_clustering
from ._kmeans import LloydClustering, lloyd_clustering
from ._objective import density_objective, labels_to_groups
from ._sdp import SDPClustering, sdp_clustering
from ._spectral import SpectralClustering, spectral_clustering
from ._validation import check_affinity

METHODS = {
    "sdp": SDPClustering,
    "spectral": SpectralClustering,
    "lloyd": LloydClustering,
    "exact": ExhaustiveClustering,
}

__all__ = [
    "BaseTaskClustering",
    "ClusteringResult",
    "ExhaustiveClustering",
    "LloydClustering",
    "METHODS",
    "SDPClustering",
    "SpectralClustering",
    "check_affinity",
    "density_objective",
    "exhaustive_clustering",
    "labels_to_groups",
    "lloyd_clustering",
    "sdp_clustering",
    "select_n_clusters",
    "spectral_clustering",
]
