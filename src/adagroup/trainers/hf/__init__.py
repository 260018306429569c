"""Hugging Face transformers + PEFT LoRA trainer for multitask instruction fine-tuning.

A *task* is a (dataset, instruction template) pair: a local JSONL or CSV file of
records, a template such as ``"Premise: {premise} Hypothesis: {hypothesis} Answer:"``
that turns a record into a prompt, the field holding the target text, and a metric
(exact-match accuracy or ROUGE-1). :class:`HFLoRATrainer` implements the trainer
protocol ``train(subset, seed) -> {task: score}``: it loads a local model, wraps it
with LoRA adapters, fine-tunes them on the mixed training examples of the tasks in
``subset`` and scores each of those tasks by greedy generation on its held-out split.

Nothing is downloaded: the model directory and the data files must exist locally
(``local_files_only=True``). torch, transformers and peft are imported on first use;
install them with ``pip install "adagroup[hf]"``.
"""

from ._metrics import exact_match, rouge1
from ._tasks import HFTaskSpec, load_task_specs
from ._trainer import HFLoRATrainer, HFRunResult

__all__ = [
    "HFLoRATrainer",
    "HFRunResult",
    "HFTaskSpec",
    "exact_match",
    "load_task_specs",
    "rouge1",
]
