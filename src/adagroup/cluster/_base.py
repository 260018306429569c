"""The estimator machinery shared by every clusterer: params, validation, automatic k."""

from __future__ import annotations

import inspect
import numbers
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..exceptions import FewerClustersWarning, warn_external
from ._objective import density_objective, labels_to_groups
from ._threads import blas_threads_for
from ._validation import (
    check_affinity,
    check_finite_result,
    check_n_clusters,
    check_random_state,
    scale_affinity,
)

__all__ = ["BaseTaskClustering", "ClusteringResult", "select_n_clusters"]


@dataclass(frozen=True)
class ClusteringResult:
    """What one clusterer returns for one ``k``.

    Attributes
    ----------
    labels : ndarray of shape (n_tasks,)
        Group of each task, in 0..k-1.
    objective : float
        The density objective ``F`` of ``labels``.
    upper_bound : float or None
        A proven upper bound on ``F`` over all partitions into ``k`` groups, or
        None when the method has none.
    proven_optimal : bool
        True when the bound certifies that no partition has a larger ``F``.
    n_iter : int
        Iterations the method ran.
    status : str
        ``"optimal"``, ``"optimal_inaccurate"``, ``"heuristic"`` ...
    info : dict
        Method-specific extras (solver value, timings).
    """

    labels: np.ndarray
    objective: float
    upper_bound: float | None = None
    proven_optimal: bool = False
    n_iter: int = 0
    status: str = "heuristic"
    info: dict = field(default_factory=dict)


def select_n_clusters(
    S: np.ndarray, objectives: dict[int, float]
) -> tuple[int, list[dict[str, Any]]]:
    """Pick ``k`` by the largest average density above the mean affinity.

    The rule is the AdaGroup paper's, ``argmax_k F_k / k``, applied to the
    affinity minus its mean ``s̄``: ``argmax_k (F_k - n s̄) / k``. Every partition
    of ``n`` tasks gains exactly ``n c`` when a constant ``c`` is added to ``S``,
    so without the centring the choice would depend on the affinity's offset
    (with ``S >= 0`` the raw rule always picks ``k = 1``). Ties go to the
    smaller ``k``.

    Parameters
    ----------
    S : ndarray of shape (n_tasks, n_tasks)
    objectives : dict of int to float
        ``F_k`` of the grouping found for each candidate ``k``.

    Returns
    -------
    k : int
    table : list of dict
        One row per candidate: ``k``, ``objective``, ``average_density``.
    """
    n = S.shape[0]
    offset = n * float(S.mean())
    # Rows mix an int ``k`` with floats; ``fit`` adds the bound and a bool to each.
    table: list[dict[str, Any]] = []
    best_k, best = None, -np.inf
    for k in sorted(objectives):
        avg = (objectives[k] - offset) / k
        table.append({"k": k, "objective": objectives[k], "average_density": avg})
        # Relative slack so that round-off does not break ties toward larger k.
        if avg > best + 1e-9 * (abs(best) if np.isfinite(best) else 1.0):
            best_k, best = k, avg
    assert best_k is not None
    return best_k, table


class BaseTaskClustering:
    """Base class for task clusterers on a precomputed affinity matrix.

    Subclasses store their arguments in ``__init__`` (no checks there) and
    implement ``_fit_k(S, k, rng, **warm) -> ClusteringResult``. ``fit``
    validates, handles ``n_clusters="auto"`` and sets the learned attributes.
    The ``get_params``/``set_params`` pair follows scikit-learn, so
    ``sklearn.base.clone`` works without scikit-learn being required.
    """

    method: str = "base"
    #: Set by each subclass's ``__init__``: an int or ``"auto"``.
    n_clusters: Any
    #: Set by ``fit``: one row per candidate ``k`` with ``n_clusters="auto"``, else None.
    k_table_: list[dict[str, Any]] | None

    # -- scikit-learn parameter protocol -------------------------------------------------------
    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        params = [p for p in sig.parameters.values() if p.name != "self"]
        for p in params:
            if p.kind == p.VAR_POSITIONAL:
                raise RuntimeError(
                    f"{cls.__name__} should always specify its parameters in the signature of "
                    "its __init__ (no varargs)."
                )
        return sorted(p.name for p in params if p.kind != p.VAR_KEYWORD)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Get the parameters of this estimator."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> BaseTaskClustering:
        """Set the parameters of this estimator; unknown keys raise ``ValueError``."""
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(
                    f"Invalid parameter {key!r} for estimator {type(self).__name__}. Valid "
                    f"parameters are: {valid!r} (see {type(self).__name__}().get_params())."
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        changed = []
        for name, value in self.get_params().items():
            default = defaults.get(name, inspect.Parameter.empty)
            same = default is value
            if not same:
                try:
                    same = bool(default == value)
                except Exception:  # arrays and other odd defaults compare ambiguously
                    same = False
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    # -- fitting ---------------------------------------------------------------------------------
    def _fit_k(
        self, S: np.ndarray, k: int, rng: np.random.Generator, **warm: Any
    ) -> ClusteringResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit_candidate(
        self,
        S: np.ndarray,
        k: int,
        rng: np.random.Generator,
        *,
        must_beat: float = -np.inf,
        **warm: Any,
    ) -> ClusteringResult:
        """Fit one candidate of ``n_clusters="auto"`` (may be cheaper than ``_fit_k``).

        ``must_beat``: the ``F_k`` that ``k`` has to exceed to be chosen over the
        smaller ``k`` fitted so far. A method that proves ``F_k <= must_beat`` for
        every grouping may return any grouping into ``k`` groups (with that proof
        as its ``upper_bound`` and ``info["pruned"] = True``): ``k`` cannot win.
        """
        return self._fit_k(S, k, rng, **warm)

    def _refit_chosen(
        self, S: np.ndarray, k: int, rng: np.random.Generator, result: ClusteringResult, **warm
    ) -> ClusteringResult:
        """Complete the candidate chosen by ``n_clusters="auto"`` (its result as it stands)."""
        return result

    def _load_dependencies(self) -> None:
        """Import what ``_fit_k`` needs, so that ``seconds_`` times the fit, not an import."""

    def _candidate_ks(self, n: int) -> list[int]:
        name = type(self).__name__
        bounds = {}
        for param, default in (("min_clusters", 1), ("max_clusters", min(n, 10))):
            value = getattr(self, param, None)
            if value is None:
                value = default
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(
                    f"The {param!r} parameter of {name} must be an int >= 1 or None. "
                    f"Got {value!r} instead."
                )
            # More groups than tasks cannot exist: a large max_clusters means "up to n".
            bounds[param] = min(int(value), n)
        if bounds["min_clusters"] > bounds["max_clusters"]:
            raise ValueError(
                f"The 'min_clusters' parameter of {name} must be <= max_clusters="
                f"{bounds['max_clusters']}. Got {bounds['min_clusters']} instead."
            )
        return list(range(bounds["min_clusters"], bounds["max_clusters"] + 1))

    #: Keyword arguments ``fit`` accepts as warm-start hints; others are typos. Methods
    #: without a warm start (the baselines) accept ``init_labels`` and ignore it, so that
    #: AdaGroup can hand any clusterer its previous grouping.
    _warm_keys: frozenset[str] = frozenset({"init_labels"})

    def fit(self, T: Any, y: None = None, **warm: Any) -> BaseTaskClustering:
        """Group the tasks of the affinity matrix ``T``.

        Parameters
        ----------
        T : array-like or pandas.DataFrame of shape (n_tasks, n_tasks)
            Affinity of row task to column task, higher is better. It is
            symmetrised as ``(T + T.T) / 2``. A DataFrame's index names the tasks.
        y : None
            Ignored; present for scikit-learn API consistency.
        **warm
            Method-specific warm-start hints (e.g. ``init_labels``).

        Returns
        -------
        self
        """
        name = type(self).__name__
        unknown = sorted(set(warm) - self._warm_keys)
        if unknown:
            raise TypeError(
                f"{name}.fit got unexpected keyword argument(s) {unknown}; it accepts "
                f"{sorted(self._warm_keys) or 'none'}."
            )
        self._load_dependencies()
        start = time.perf_counter()
        S, names = check_affinity(T, caller=name)
        S, scale = scale_affinity(S)
        n = S.shape[0]
        k = check_n_clusters(self.n_clusters, n, caller=name, allow_auto=True)
        rng = check_random_state(getattr(self, "random_state", None))
        with blas_threads_for(n):
            if k == "auto":
                results, caught = {}, {}
                offset, best = n * float(S.mean()), -np.inf
                for kk in self._candidate_ks(n):
                    # Warnings about a k that is not chosen would only confuse;
                    # those of the chosen k are re-issued below.
                    with warnings.catch_warnings(record=True) as caught[kk]:
                        warnings.simplefilter("always")
                        # k is chosen over the smaller ones only if (F_k - offset) / k
                        # exceeds their best (select_n_clusters: ties go to the smaller k).
                        results[kk] = self._fit_candidate(
                            S, kk, rng, must_beat=offset + kk * best, **warm
                        )
                    best = max(best, (results[kk].objective - offset) / kk)
                k, _ = select_n_clusters(S, {kk: r.objective for kk, r in results.items()})
                with warnings.catch_warnings(record=True) as final:
                    warnings.simplefilter("always")
                    refit = self._refit_chosen(S, k, rng, results[k], **warm)
                if refit is not results[k]:
                    results[k], caught[k] = refit, final
                # A refit never lowers F_k, so the chosen k stays the argmax.
                k, table = select_n_clusters(S, {kk: r.objective for kk, r in results.items()})
                for w in caught[k]:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
                for row in table:
                    r = results[row["k"]]
                    row["upper_bound"] = r.upper_bound
                    row["proven_optimal"] = r.proven_optimal
                    # Its bound proved that this k cannot be chosen: only a cheap grouping.
                    row["pruned"] = bool(r.info.get("pruned", False))
                self.k_table_ = table
                result = results[k]
            else:
                result = self._fit_k(S, k, rng, **warm)
                self.k_table_ = None
        self._set_result(S, names, k, result, scale)
        self.seconds_ = time.perf_counter() - start
        return self

    #: Keys of ``info_`` that hold values in the units of ``T`` (multiplied back by the scale).
    _info_in_units_of_T: tuple[str, ...] = ()

    def _set_result(
        self,
        S: np.ndarray,
        names: list[str] | None,
        k: int,
        result: ClusteringResult,
        scale: float = 1.0,
    ) -> None:
        """Store ``result`` (found on ``S``, which is ``T`` divided by ``scale``)."""
        labels = np.asarray(result.labels, dtype=np.intp)
        n_found = len(np.unique(labels))
        if n_found < k:
            warn_external(
                f"Number of distinct groups ({n_found}) found smaller than n_clusters ({k}); "
                "the affinity matrix may hold fewer distinct groups.",
                FewerClustersWarning,
            )
        objective = float(density_objective(S, labels))
        bound = None if result.upper_bound is None else float(result.upper_bound)
        info = dict(result.info)
        for key in self._info_in_units_of_T:
            if isinstance(info.get(key), float):
                info[key] *= scale
        for row in self.k_table_ or []:
            for key in ("objective", "average_density", "upper_bound"):
                if row.get(key) is not None:
                    row[key] = float(row[key]) * scale
        name = type(self).__name__
        check_finite_result(
            {
                "objective": objective * scale,
                "upper bound": None if bound is None else bound * scale,
                **{
                    f"k={row['k']} {key}": row.get(key)
                    for row in self.k_table_ or []
                    for key in ("objective", "average_density", "upper_bound")
                },
            },
            scale,
            caller=name,
        )
        self.labels_ = labels
        self.n_clusters_ = k
        self.objective_ = objective * scale
        self.upper_bound_ = None if bound is None else bound * scale
        # The gap in scaled units first: it is small where the two values are large.
        self.gap_ = None if bound is None else max(0.0, bound - objective) * scale
        self.proven_optimal_ = bool(result.proven_optimal)
        self.n_iter_ = int(result.n_iter)
        self.status_ = result.status
        self.info_ = info
        self.task_names_ = names
        self.n_tasks_ = S.shape[0]

    def fit_predict(self, T: Any, y: None = None, **warm: Any) -> np.ndarray:
        """Fit and return ``labels_``."""
        return self.fit(T, **warm).labels_

    @property
    def certificate_(self) -> str | None:
        """How ``upper_bound_`` was proven, or None when the method gives no bound.

        ``"exact"``: exact search over all partitions (or a case with a single
        value); ``"rigorous"``: a dual point of the SDP with dense eigenvalues and
        a round-off margin; ``"lanczos"`` (more than 600 tasks): the same with a
        Lanczos eigenvalue plus its residual.
        """
        if self.upper_bound_ is None:
            return None
        return self.info_.get("certificate")

    @property
    def groups_(self) -> list[list]:
        """The groups as lists of task names (or indices when ``T`` had no names)."""
        return labels_to_groups(self.labels_, self.task_names_)

    def to_dict(self) -> dict[str, Any]:
        """The fitted result as a JSON-ready dict (the CLI's ``--json`` object)."""
        return {
            "method": self.method,
            "k": int(self.n_clusters_),
            "groups": [[str(t) for t in g] for g in self.groups_],
            "objective": self.objective_,
            "upper_bound": self.upper_bound_,
            "gap": self.gap_,
            "proven_optimal": self.proven_optimal_ if self.upper_bound_ is not None else None,
            "seconds": self.seconds_,
            "certificate": self.certificate_,
        }
