"""Baseline: Lloyd's k-means on the rows of the affinity matrix."""

from __future__ import annotations

import contextlib
import logging
import warnings
from typing import Any

import numpy as np

from .._validation import check_float
from ._base import BaseTaskClustering, ClusteringResult
from ._objective import density_objective
from ._validation import (
    check_affinity,
    check_int,
    check_labels,
    check_n_clusters,
    check_random_state,
    scale_affinity,
)

__all__ = ["LloydClustering", "lloyd_clustering"]

logger = logging.getLogger(__name__)


#: Below this many entries k-means runs on one thread: OpenMP start-up and spin-waiting cost
#: more than the work (measured 0.5 s instead of 0.03 s on 10 tasks on a busy 2-core machine).
_THREADED_SIZE = 1 << 20


def _few_threads(single: bool) -> contextlib.AbstractContextManager:
    if not single:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def _load_sklearn() -> None:
    """Import scikit-learn's k-means ahead of a timed fit (about 1-4 s the first time).

    A missing scikit-learn is reported by :func:`_kmeans` when it is needed.
    """
    with contextlib.suppress(ImportError):
        import sklearn.cluster  # noqa: F401


def _kmeans(
    X: np.ndarray,
    k: int,
    rng: np.random.Generator,
    *,
    n_init: int = 10,
    max_iter: int = 300,
    tol: float = 1e-4,
) -> tuple[np.ndarray, int, float]:
    """Run scikit-learn's Lloyd k-means on the rows of ``X``; return labels, n_iter, inertia."""
    try:
        from sklearn.cluster import KMeans
        from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The spectral and Lloyd baselines need scikit-learn; install it with "
            'pip install "adagroup[cluster]".'
        ) from exc
    seed = int(rng.integers(0, 2**31 - 1))
    km = KMeans(
        n_clusters=k,
        init="k-means++",
        n_init=n_init,
        max_iter=max_iter,
        tol=tol,
        algorithm="lloyd",
        random_state=seed,
    )
    with warnings.catch_warnings(), _few_threads(X.size < _THREADED_SIZE):
        # Duplicate rows (e.g. a constant matrix) give fewer distinct centres;
        # _fill_to_k repairs that below, so scikit-learn's warning is noise here.
        warnings.simplefilter("ignore", SklearnConvergenceWarning)
        km.fit(X)
    return check_labels(km.labels_, X.shape[0]), int(km.n_iter_), float(km.inertia_)


def _fill_to_k(S: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, int]:
    """Make exactly ``k`` non-empty groups by moving single tasks into new groups.

    k-means can return fewer groups than asked when rows coincide. Each step
    moves to a group of its own the task (from a group of two or more) whose
    move costs ``F`` the least, so the result is comparable with the other
    methods, which all return ``k`` groups. Returns the labels and the number of
    tasks moved.
    """
    labels = check_labels(labels, S.shape[0])
    n_groups = int(labels.max()) + 1
    moved = 0
    diag = np.diag(S)
    while n_groups < k:
        Z = np.zeros((S.shape[0], n_groups))
        Z[np.arange(S.shape[0]), labels] = 1.0
        sizes = Z.sum(axis=0)
        within = np.einsum("uc,uv,vc->c", Z, S, Z)
        to_own = (S @ Z)[np.arange(S.shape[0]), labels]  # sum_{v in C(u)} S[u, v]
        size = sizes[labels]
        old = within[labels] / size
        # Group without u keeps within - 2*to_own + S[u,u] over size-1 tasks; u alone gives S[u,u].
        with np.errstate(divide="ignore", invalid="ignore"):
            new = (within[labels] - 2.0 * to_own + diag) / (size - 1.0) + diag
        gain = np.where(size > 1, new - old, -np.inf)
        u = int(np.argmax(gain))
        labels[u] = n_groups
        n_groups += 1
        moved += 1
    return check_labels(labels, S.shape[0]), moved


def _scaled(S: np.ndarray) -> np.ndarray:
    # k-means is invariant to a common scale; dividing by max |S| keeps
    # scikit-learn's tolerances meaningful for affinities near 1e-12 or 1e12.
    scale = float(np.max(np.abs(S)))
    return S / scale if scale > 0 else S


def _lloyd_labels(
    S: np.ndarray,
    k: int,
    rng: np.random.Generator,
    *,
    n_init: int,
    max_iter: int,
    tol: float,
) -> tuple[np.ndarray, int, dict[str, Any]]:
    labels, n_iter, inertia = _kmeans(
        _scaled(S), k, rng, n_init=n_init, max_iter=max_iter, tol=tol
    )
    labels, moved = _fill_to_k(S, labels, k)
    if moved:
        logger.debug("Lloyd k-means found fewer than %d groups; moved %d task(s)", k, moved)
    return labels, n_iter, {"inertia": inertia, "tasks_moved_to_fill_groups": moved}


def lloyd_clustering(
    T: Any,
    n_clusters: int,
    *,
    n_init: int = 10,
    max_iter: int = 300,
    tol: float = 1e-4,
    random_state: Any = None,
) -> np.ndarray:
    """Group tasks by Lloyd's k-means on the rows of the affinity matrix.

    Each task is the point ``S[u, :]`` in ``R^n`` (its affinity profile, with
    ``S = (T + T.T) / 2``), and k-means groups tasks with similar profiles. This
    is a baseline: it minimises within-group squared distances between profiles,
    not the density objective ``F`` the other methods maximise.

    Parameters
    ----------
    T : array-like or pandas.DataFrame of shape (n_tasks, n_tasks)
        Affinity of row task to column task, higher is better. It is
        symmetrised as ``(T + T.T) / 2``.
    n_clusters : int
        Number of groups, in ``[1, n_tasks]``.
    n_init : int, default=10
        Number of k-means++ starts; the one with the least inertia is kept.
    max_iter : int, default=300
        Lloyd iterations per start.
    tol : float, default=1e-4
        Relative tolerance on the centre shift (scikit-learn's ``tol``).
    random_state : None, int or Generator, default=None
        Seeds the k-means++ starts.

    Returns
    -------
    labels : ndarray of shape (n_tasks,)
        Group of each task, numbered by first appearance.

    Raises
    ------
    ValueError
        If ``T``, ``n_clusters`` or a k-means parameter is invalid.
    ImportError
        If scikit-learn is missing (``pip install "adagroup[cluster]"``).

    See Also
    --------
    LloydClustering : The estimator.
    spectral_clustering : The other baseline.

    Notes
    -----
    When tasks have identical rows k-means can return fewer than ``n_clusters``
    groups; tasks are then moved one at a time into new groups, each time the
    one whose move lowers ``F`` least, so that exactly ``n_clusters`` groups are
    returned. Rows are divided by ``max |S|`` first, which changes nothing in
    exact arithmetic and keeps the tolerances meaningful at any scale.

    References
    ----------
    .. [1] S. P. Lloyd, "Least squares quantization in PCM", IEEE Transactions
       on Information Theory 28(2):129-137, 1982. doi:10.1109/TIT.1982.1056489
    .. [2] D. Arthur and S. Vassilvitskii, "k-means++: the advantages of careful
       seeding", SODA 2007.

    Examples
    --------
    >>> import numpy as np
    >>> T = np.array([[1.0, 0.9, 0.0, 0.1],
    ...               [0.9, 1.0, 0.1, 0.0],
    ...               [0.0, 0.1, 1.0, 0.8],
    ...               [0.1, 0.0, 0.8, 1.0]])
    >>> lloyd_clustering(T, 2, random_state=0)
    array([0, 0, 1, 1])
    """
    caller = "lloyd_clustering"
    S, _ = check_affinity(T, caller=caller)
    S, _ = scale_affinity(S)  # labels do not depend on the units; overflow does
    k = check_n_clusters(n_clusters, S.shape[0], caller=caller)
    labels, _, _ = _lloyd_labels(
        S,
        k,
        check_random_state(random_state),
        n_init=check_int(n_init, "n_init", caller=caller),
        max_iter=check_int(max_iter, "max_iter", caller=caller),
        tol=check_float(tol, "tol", caller=caller, low=0.0),
    )
    return labels


class LloydClustering(BaseTaskClustering):
    """Baseline task grouping: Lloyd's k-means on the rows of the affinity matrix.

    Tasks with similar affinity profiles ``S[u, :]`` are grouped together. The
    density objective ``F`` of the result is reported for comparison with the
    SDP and exact methods; there is no bound (``upper_bound_`` is None).

    Parameters
    ----------
    n_clusters : int or "auto", default="auto"
        Number of groups. ``"auto"`` tries ``1..max_clusters`` and keeps the
        ``k`` with the largest average density (see
        :func:`adagroup.cluster.select_n_clusters`).
    n_init : int, default=10
        Number of k-means++ starts; the one with the least inertia is kept.
    max_iter : int, default=300
        Lloyd iterations per start.
    tol : float, default=1e-4
        Relative tolerance on the centre shift.
    max_clusters : int or None, default=None
        Largest ``k`` tried by ``n_clusters="auto"``; None means ``min(n_tasks, 10)``.
    random_state : None, int or Generator, default=None
        Seeds the k-means++ starts; an int gives the same labels on every fit.

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
        Lloyd iterations of the best start.
    status_ : str
        ``"heuristic"``.
    info_ : dict
        ``inertia`` (on rows divided by ``max |S|``) and
        ``tasks_moved_to_fill_groups``.
    task_names_ : list of str or None
        Task names when ``T`` was a DataFrame.
    k_table_ : list of dict or None
        The per-``k`` table when ``n_clusters="auto"``.
    seconds_ : float
        Wall time of ``fit``.

    See Also
    --------
    lloyd_clustering : The function underneath.
    SpectralClustering : The other baseline.
    adagroup.cluster.SDPClustering : Maximises ``F`` with a certificate.

    Notes
    -----
    See :func:`lloyd_clustering` for how fewer-than-``k`` groups are repaired.

    References
    ----------
    .. [1] S. P. Lloyd, "Least squares quantization in PCM", IEEE Transactions
       on Information Theory 28(2):129-137, 1982. doi:10.1109/TIT.1982.1056489

    Examples
    --------
    >>> import numpy as np
    >>> from adagroup.cluster import LloydClustering
    >>> T = np.array([[1.0, 0.9, 0.0, 0.1],
    ...               [0.9, 1.0, 0.1, 0.0],
    ...               [0.0, 0.1, 1.0, 0.8],
    ...               [0.1, 0.0, 0.8, 1.0]])
    >>> est = LloydClustering(n_clusters=2, random_state=0).fit(T)
    >>> est.labels_
    array([0, 0, 1, 1])
    >>> est.upper_bound_ is None
    True
    """

    method = "lloyd"

    def __init__(
        self,
        n_clusters: int | str = "auto",
        *,
        n_init: int = 10,
        max_iter: int = 300,
        tol: float = 1e-4,
        max_clusters: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.max_clusters = max_clusters
        self.random_state = random_state

    def _load_dependencies(self) -> None:
        _load_sklearn()

    def _fit_k(
        self, S: np.ndarray, k: int, rng: np.random.Generator, **warm: Any
    ) -> ClusteringResult:
        caller = type(self).__name__
        labels, n_iter, info = _lloyd_labels(
            S,
            k,
            rng,
            n_init=check_int(self.n_init, "n_init", caller=caller),
            max_iter=check_int(self.max_iter, "max_iter", caller=caller),
            tol=check_float(self.tol, "tol", caller=caller, low=0.0),
        )
        return ClusteringResult(
            labels=labels,
            objective=density_objective(S, labels),
            n_iter=n_iter,
            status="heuristic",
            info=info,
        )
