"""Baseline: spectral clustering on the affinity matrix (random-walk normalisation)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from scipy import linalg

from .._validation import check_int
from ._base import BaseTaskClustering, ClusteringResult
from ._kmeans import _fill_to_k, _kmeans, _load_sklearn
from ._objective import density_objective
from ._validation import check_affinity, check_n_clusters, check_random_state, scale_affinity

__all__ = ["SpectralClustering", "spectral_clustering"]

logger = logging.getLogger(__name__)

#: Above this many tasks, a partial Lanczos eigensolver replaces the dense one.
_DENSE_LIMIT = 1000


def _spectral_embedding(S: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Top-``k`` eigenvectors of ``D^-1 W``, ``W = S - min(S, 0)``; return vectors, values, shift.

    The eigenproblem is solved on the symmetric ``D^-1/2 W D^-1/2`` (same
    eigenvalues; eigenvectors ``v`` map back as ``D^-1/2 v``), which ``eigh``
    handles stably. Tasks of zero degree get a zero row.
    """
    shift = min(0.0, float(S.min()))
    W = S - shift
    scale = float(W.max())
    if scale > 0:
        W = W / scale
    degree = W.sum(axis=1)
    positive = degree > 0
    inv_sqrt = np.zeros_like(degree)
    inv_sqrt[positive] = 1.0 / np.sqrt(degree[positive])
    M = inv_sqrt[:, None] * W * inv_sqrt[None, :]
    M = (M + M.T) / 2.0
    n = S.shape[0]
    eig: tuple[np.ndarray, np.ndarray] | None = None
    if n > _DENSE_LIMIT and k < n // 10:
        from scipy.sparse.linalg import ArpackNoConvergence, eigsh

        try:
            # sqrt(degree) is the leading eigenvector when W is connected: a
            # deterministic start that is already close.
            values, vectors = eigsh(M, k=k, which="LA", v0=np.sqrt(degree) + 1e-3)
            order = np.argsort(values)
            eig = values[order], vectors[:, order]
        except ArpackNoConvergence:
            logger.debug("eigsh did not converge for n=%d, k=%d; using eigh", n, k)
    if eig is None:
        eig = linalg.eigh(M, subset_by_index=[n - k, n - 1])
    values, vectors = eig
    # eigh returns ascending eigenvalues; the leading eigenvector comes first.
    values, vectors = values[::-1], vectors[:, ::-1]
    return inv_sqrt[:, None] * vectors, values, -shift


def _spectral_labels(
    S: np.ndarray, k: int, rng: np.random.Generator, *, n_init: int
) -> tuple[np.ndarray, int, dict[str, Any]]:
    embedding, eigenvalues, shift = _spectral_embedding(S, k)
    labels, n_iter, _ = _kmeans(embedding, k, rng, n_init=n_init)
    labels, moved = _fill_to_k(S, labels, k)
    if moved:
        logger.debug("spectral clustering found fewer than %d groups; moved %d task(s)", k, moved)
    info = {
        "eigenvalues": eigenvalues.tolist(),
        "shift": shift,
        "tasks_moved_to_fill_groups": moved,
    }
    return labels, n_iter, info


def spectral_clustering(
    T: Any, n_clusters: int, *, n_init: int = 10, random_state: Any = None
) -> np.ndarray:
    """Group tasks by spectral clustering of the affinity matrix.

    As in the AdaGroup paper's baseline: take the eigenvectors of ``D^-1 W``
    for the ``n_clusters`` largest eigenvalues (``W`` the nonnegative affinity,
    ``D`` its degree matrix) and run k-means on the rows of those eigenvectors.
    This is Shi and Malik's normalised spectral clustering in von Luxburg's
    tutorial [1]_ (the leading eigenvectors of ``D^-1 W`` are the trailing ones
    of the random-walk Laplacian ``I - D^-1 W``).

    Parameters
    ----------
    T : array-like or pandas.DataFrame of shape (n_tasks, n_tasks)
        Affinity of row task to column task, higher is better. It is
        symmetrised as ``S = (T + T.T) / 2``.
    n_clusters : int
        Number of groups, in ``[1, n_tasks]``.
    n_init : int, default=10
        Number of k-means++ starts on the embedding.
    random_state : None, int or Generator, default=None
        Seeds k-means; an int gives the same labels on every call.

    Returns
    -------
    labels : ndarray of shape (n_tasks,)
        Group of each task, numbered by first appearance.

    Raises
    ------
    ValueError
        If ``T``, ``n_clusters`` or ``n_init`` is invalid.
    ImportError
        If scikit-learn (used for k-means) is missing:
        ``pip install "adagroup[cluster]"``.

    See Also
    --------
    SpectralClustering : The estimator.
    lloyd_clustering : The other baseline.

    Notes
    -----
    Spectral clustering needs a nonnegative affinity. When ``S`` has negative
    entries, ``W = S - min(S)`` (every entry, the diagonal included, shifted
    by the same constant) is used instead. The shift changes the spectral
    grouping but not the density objective's ranking of partitions: every
    partition's ``F`` grows by exactly ``n_tasks * shift``. ``W`` is also
    divided by its largest entry, so the embedding does not depend on the scale
    of ``T``.

    The eigenvectors are computed from the symmetric matrix
    ``D^-1/2 W D^-1/2`` with a dense symmetric eigensolver and mapped back by
    ``D^-1/2``. Tasks with zero degree (a row of zeros in ``W``) get a zero
    embedding. If k-means returns fewer than ``n_clusters`` groups (coinciding
    rows, e.g. a constant matrix), tasks are moved one at a time into new
    groups, each time the one whose move lowers ``F`` least.

    References
    ----------
    .. [1] U. von Luxburg, "A tutorial on spectral clustering", Statistics and
       Computing 17(4):395-416, 2007. doi:10.1007/s11222-007-9033-z
    .. [2] J. Shi and J. Malik, "Normalized cuts and image segmentation", IEEE
       TPAMI 22(8):888-905, 2000. doi:10.1109/34.868688

    Examples
    --------
    >>> import numpy as np
    >>> T = np.array([[1.0, 0.9, 0.0, 0.1],
    ...               [0.9, 1.0, 0.1, 0.0],
    ...               [0.0, 0.1, 1.0, 0.8],
    ...               [0.1, 0.0, 0.8, 1.0]])
    >>> spectral_clustering(T, 2, random_state=0)
    array([0, 0, 1, 1])
    """
    caller = "spectral_clustering"
    S, _ = check_affinity(T, caller=caller)
    S, _ = scale_affinity(S)  # labels do not depend on the units; overflow does
    k = check_n_clusters(n_clusters, S.shape[0], caller=caller)
    labels, _, _ = _spectral_labels(
        S,
        k,
        check_random_state(random_state),
        n_init=check_int(n_init, "n_init", caller=caller),
    )
    return labels


class SpectralClustering(BaseTaskClustering):
    """Baseline task grouping: spectral clustering of the affinity matrix.

    k-means on the rows of the leading ``n_clusters`` eigenvectors of
    ``D^-1 W``, as the AdaGroup paper's baseline (see
    :func:`spectral_clustering`). The density objective ``F`` of the result is
    reported for comparison; there is no bound (``upper_bound_`` is None).

    Parameters
    ----------
    n_clusters : int or "auto", default="auto"
        Number of groups. ``"auto"`` tries ``1..max_clusters`` and keeps the
        ``k`` with the largest average density (see
        :func:`adagroup.cluster.select_n_clusters`).
    n_init : int, default=10
        Number of k-means++ starts on the embedding.
    max_clusters : int or None, default=None
        Largest ``k`` tried by ``n_clusters="auto"``; None means ``min(n_tasks, 10)``.
    random_state : None, int or Generator, default=None
        Seeds k-means; an int gives the same labels on every fit.

    Attributes
    ----------
    labels_ : ndarray of shape (n_tasks,)
        Group of each task.
    n_clusters_ : int
        Number of groups (the chosen one for ``"auto"``).
    objective_ : float
        Density objective ``F`` of ``labels_``.
    upper_bound_ : None
        No bound: this is a heuristic.
    gap_ : None
    proven_optimal_ : bool
        False.
    n_iter_ : int
        k-means iterations of the best start.
    status_ : str
        ``"heuristic"``.
    info_ : dict
        ``eigenvalues`` (leading eigenvalues of ``D^-1 W``), ``shift`` (the
        constant added to make ``S`` nonnegative) and
        ``tasks_moved_to_fill_groups``.
    task_names_ : list of str or None
        Task names when ``T`` was a DataFrame.
    k_table_ : list of dict or None
        The per-``k`` table when ``n_clusters="auto"``.
    seconds_ : float
        Wall time of ``fit``.

    See Also
    --------
    spectral_clustering : The function underneath, with the details.
    LloydClustering : The other baseline.
    adagroup.cluster.SDPClustering : Maximises ``F`` with a certificate.

    References
    ----------
    .. [1] U. von Luxburg, "A tutorial on spectral clustering", Statistics and
       Computing 17(4):395-416, 2007. doi:10.1007/s11222-007-9033-z

    Examples
    --------
    >>> import numpy as np
    >>> from adagroup.cluster import SpectralClustering
    >>> T = np.array([[1.0, 0.9, 0.0, 0.1],
    ...               [0.9, 1.0, 0.1, 0.0],
    ...               [0.0, 0.1, 1.0, 0.8],
    ...               [0.1, 0.0, 0.8, 1.0]])
    >>> est = SpectralClustering(n_clusters=2, random_state=0).fit(T)
    >>> est.labels_
    array([0, 0, 1, 1])
    >>> est.status_
    'heuristic'
    """

    method = "spectral"

    def __init__(
        self,
        n_clusters: int | str = "auto",
        *,
        n_init: int = 10,
        max_clusters: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_clusters = max_clusters
        self.random_state = random_state

    def _load_dependencies(self) -> None:
        _load_sklearn()

    def _fit_k(
        self, S: np.ndarray, k: int, rng: np.random.Generator, **warm: Any
    ) -> ClusteringResult:
        labels, n_iter, info = _spectral_labels(
            S, k, rng, n_init=check_int(self.n_init, "n_init", caller=type(self).__name__)
        )
        return ClusteringResult(
            labels=labels,
            objective=density_objective(S, labels),
            n_iter=n_iter,
            status="heuristic",
            info=info,
        )
