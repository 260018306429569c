"""Ready trainers behind one protocol: ``train(subset, seed) -> {task: score}``.

==========================  ===================================================  ==========
module                      what it trains                                       needs
==========================  ===================================================  ==========
``trainers.planted``        nothing: scores from a planted group structure       numpy
                            (:class:`PlantedTrainer`, for tests and benchmarks)
``trainers.synthetic``      small multitask nets on planted synthetic tasks      torch
``trainers.icl``            in-context learning of function classes (§5.1)       torch
``trainers.hf``             transformers + peft LoRA fine-tuning                 transformers
==========================  ===================================================  ==========

Only :class:`PlantedTrainer` is imported eagerly; the torch-based modules load on
first attribute access, so ``import adagroup.trainers`` works without torch. Name
a trainer on the command line as ``module:attribute``, e.g.
``adagroup.trainers.planted:PlantedTrainer``.
"""

from __future__ import annotations

import importlib
from typing import Any

from .planted import PlantedTrainer as PlantedTrainer

# Public name -> submodule that defines it; the torch-based trainers' authors add
# their names here so that ``adagroup.trainers.<Name>`` imports torch only on use.
_LAZY: dict[str, str] = {
    "SyntheticMultitaskTrainer": "synthetic",
    "make_synthetic_case": "synthetic",
    "ICLTrainer": "icl",
    "ICL_TASKS": "icl",
    "HFLoRATrainer": "hf",
    "HFTaskSpec": "hf",
    "load_task_specs": "hf",
}

__all__ = sorted(["PlantedTrainer", *_LAZY])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'adagroup.trainers' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)
