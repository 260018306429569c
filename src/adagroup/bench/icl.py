"""The in-context learning case (the paper's §5.1): 9 function-class tasks, 3 types.

The affinity matrix the project measured ships as ``adagroup/data/icl_affinity.csv``
with the command, seeds and settings that produced it in ``icl_affinity.json``,
so the case scores instantly. ``--retrain`` measures it again through a study
with :class:`adagroup.trainers.icl.ICLTrainer` and the shipped settings (about
an hour of CPU).
"""

from __future__ import annotations

import json
import logging
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ._registry import BenchCase, BuildContext, CaseData, CaseUnavailable, register_case

__all__ = ["ICL_CASES", "load_icl_affinity", "measure_icl_affinity"]

logger = logging.getLogger(__name__)

_CSV = "icl_affinity.csv"
_META = "icl_affinity.json"
# Settings of ICLTrainer that the metadata may carry; others (device, jobs) are not the
# trainer's.
_TRAINER_KEYS = (
    "steps",
    "batch_size",
    "n_points",
    "n_dims",
    "width",
    "n_layers",
    "n_heads",
    "lr",
    "n_test",
    "normalize",
)


def _data_path(name: str) -> Path:
    return Path(str(resources.files("adagroup").joinpath("data", name)))


def load_icl_affinity() -> tuple[np.ndarray, list[str], dict[str, Any]]:
    """Read the shipped in-context learning affinity matrix and its metadata.

    Returns
    -------
    T : ndarray of shape (9, 9)
    task_names : list of str
    meta : dict
        The JSON metadata (command, seeds, settings, ``true_labels``); empty
        when the JSON file is missing.

    Raises
    ------
    CaseUnavailable
        If the CSV is not shipped with this installation.
    """
    from ..io import read_affinity

    csv_path = _data_path(_CSV)
    if not csv_path.exists():
        raise CaseUnavailable(
            f"the measured ICL affinity {_CSV} is not in this installation; measure it with "
            "--suite full --retrain (about an hour of CPU)"
        )
    T, names = read_affinity(csv_path)
    return T, names, _load_meta()


def _load_meta() -> dict[str, Any]:
    meta_path = _data_path(_META)
    return json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}


def _true_labels(names: list[str], meta: dict[str, Any]) -> np.ndarray | None:
    labels = meta.get("true_labels")
    if labels is not None and len(labels) == len(names):
        return np.asarray(labels, dtype=np.intp)
    try:
        from ..trainers.icl import ICLTrainer

        trainer = ICLTrainer()
    except ImportError:
        return None
    if list(trainer.task_names) == list(names):
        return np.asarray(trainer.true_labels, dtype=np.intp)
    return None


def _make_trainer(meta: dict[str, Any], n_threads: int = 1) -> Any:
    from ..trainers.icl import ICLTrainer

    settings = {k: v for k, v in meta.get("settings", {}).items() if k in _TRAINER_KEYS}
    seeds = meta.get("seeds", {})
    return ICLTrainer(
        **settings,
        device="auto",
        n_threads=n_threads,
        random_state=int(seeds.get("random_state", 0)),
    )


def measure_icl_affinity(
    ctx: BuildContext, meta: dict[str, Any] | None = None
) -> tuple[np.ndarray, list[str], Any, dict[str, Any]]:
    """Measure the ICL affinity again, as the shipped one was measured.

    Trains every singleton and ``n_subsets`` subsets of size 3 through a study
    (SQLite in ``ctx.out`` when given, so an interrupted run resumes) and
    estimates ``T[i, j] = -mean_S MSE_i(S) / MSE_i({i})`` over the subsets
    holding ``i`` and ``j``.

    Returns
    -------
    T : ndarray
    task_names : list of str
    trainer : ICLTrainer
    info : dict
    """
    from .synthetic import measure_affinity

    meta = meta or {}
    trainer = _make_trainer(meta)
    names = list(trainer.task_names)
    seeds = meta.get("seeds", {})
    plan = meta.get("plan", {})
    T, info = measure_affinity(
        trainer,
        names,
        subset_size=int(plan.get("subset_size", 3)),
        n_subsets=int(meta.get("n_runs", 36)) - len(names),
        seeds=(int(seeds.get("train_seed", 0)),),
        plan_seed=int(seeds.get("plan_seed", 0)),
        singletons=True,
        relative_to_single=True,
        normalize=None,
        study_name="bench-icl",
        ctx=ctx,
    )
    return T, names, trainer, info


def _build_icl(ctx: BuildContext) -> CaseData:
    meta: dict[str, Any] = {}
    if not ctx.retrain:
        T, names, meta = load_icl_affinity()
        info = {"source": f"shipped {_CSV}"}
        for key in ("command", "date", "n_runs", "wall_seconds_total", "note"):
            if key in meta:
                info[key] = meta[key]
        trainer = None
        try:
            trainer = _make_trainer(meta)
        except ImportError:
            logger.info("torch is not installed; the icl case cannot be trained end to end")
    else:
        # The shipped settings and seeds are reused even when the matrix itself is absent.
        meta = _load_meta()
        T, names, trainer, info = measure_icl_affinity(ctx, meta)
        info["source"] = "measured again (--retrain)"
    return CaseData(
        T,
        _true_labels(names, meta),
        names,
        trainer=trainer,
        greater_is_better=False,
        info=info,
    )


ICL_CASES = [
    register_case(
        BenchCase(
            name="icl",
            family="icl",
            n_clusters=3,
            build=_build_icl,
            suites=("quick", "full"),
            end_to_end=("full",),
            description=(
                "in-context learning of 9 function classes (3 types x 3 variants); truth = "
                "function type"
            ),
        )
    )
]
