"""HFLoRATrainer: LoRA fine-tuning of a local model on a subset of tasks, scored by generation."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import re
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..._validation import check_float, check_int
from ...exceptions import TrainerError
from .._torch import check_subset
from ._encoding import _collate, _encode_example, _encode_prompt
from ._metrics import _METRIC_FUNCS
from ._tasks import HFTaskSpec, _load_splits, load_task_specs

logger = logging.getLogger(__name__)

_MODEL_TYPES = ("auto", "seq2seq", "causal")
_PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_INSTALL_HINT = 'pip install "adagroup[hf]"'


@dataclass
class HFRunResult:
    """Everything one :meth:`HFLoRATrainer.train_model` call produced.

    Attributes
    ----------
    scores : dict of str to float
        Held-out score of every task in the subset (higher is better).
    model : peft.PeftModel
        The fine-tuned model: frozen base weights plus trained LoRA adapters.
    tokenizer : transformers.PreTrainedTokenizerBase
        The tokenizer loaded from ``model_path``.
    losses : list of float
        Training loss of every optimiser step.
    predictions : dict of str to list of str
        Decoded greedy generations on each task's held-out split.
    n_train_examples : int
        Size of the mixed training set.
    seconds : float
        Wall time of the call.
    """

    scores: dict[str, float]
    model: Any
    tokenizer: Any
    losses: list[float] = field(default_factory=list)
    predictions: dict[str, list[str]] = field(default_factory=dict)
    n_train_examples: int = 0
    seconds: float = 0.0


@contextlib.contextmanager
def _quiet_progress_bars() -> Iterator[None]:
    """Hide transformers' per-load progress bars, which would interleave with a study's."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def _import_hf() -> tuple[Any, Any, Any]:
    try:
        import peft
        import torch
        import transformers
    except ImportError as exc:
        raise ImportError(
            f"HFLoRATrainer needs torch, transformers and peft: {_INSTALL_HINT}"
        ) from exc
    return torch, transformers, peft


class HFLoRATrainer:
    """Fine-tune LoRA adapters of a local Hugging Face model on a subset of tasks.

    Calling the trainer with ``(subset, seed)`` loads the model from ``model_path``
    (``local_files_only=True``), adds fresh LoRA adapters, trains them with AdamW in a
    plain PyTorch loop on the shuffled union of the subset tasks' training examples,
    and returns ``{task: score}`` for every task of the subset, scored by greedy
    generation on its held-out split. Scores are in [0, 1], higher is better.

    Seq2seq models (T5, BART: ``AutoModelForSeq2SeqLM``) read the prompt and learn the
    target. Causal models (GPT-2, Llama: ``AutoModelForCausalLM``) learn prompt + target
    with the prompt positions masked out of the loss, and generate the continuation.

    The object only stores its settings, so it pickles cheaply and can be shipped to
    process pools or Ray workers; each call loads the model anew.

    Parameters
    ----------
    model_path : str or os.PathLike
        Local directory with a saved model and tokenizer (``save_pretrained`` output or
        ``huggingface-cli download MODEL --local-dir DIR``).
    tasks : list of HFTaskSpec, or str or os.PathLike
        The task specifications, or the path of a JSON config file read by
        :func:`load_task_specs`. Names must be unique.
    model_type : {"auto", "seq2seq", "causal"}, default="auto"
        ``"auto"`` reads ``is_encoder_decoder`` from the model's config.
    lora_r : int, default=8
        LoRA rank.
    lora_alpha : int, default=16
        LoRA scaling numerator (the update is scaled by ``lora_alpha / lora_r``).
    lora_dropout : float, default=0.05
        Dropout on the LoRA input, in [0, 1).
    target_modules : list of str or str or None, default=None
        Modules that get adapters. None uses PEFT's default for known architectures
        (``["q", "v"]`` for T5, ``["c_attn"]`` for GPT-2, ``["q_proj", "v_proj"]`` for
        Llama) and ``"all-linear"`` otherwise.
    learning_rate : float, default=3e-4
        AdamW learning rate (constant).
    weight_decay : float, default=0.0
        AdamW weight decay.
    epochs : int, default=1
        Passes over the mixed training set; ignored when ``max_steps`` is set.
    max_steps : int or None, default=None
        Number of optimiser steps; the data are reshuffled at each pass.
    batch_size : int, default=8
        Training batch size.
    eval_batch_size : int or None, default=None
        Generation batch size; None means ``2 * batch_size``.
    max_grad_norm : float or None, default=1.0
        Gradient-norm clip; None disables clipping.
    max_train_examples_per_task : int or None, default=None
        Cap on training examples per task (the first ones of the fixed split order), so
        that large tasks do not drown small ones and runs stay cheap.
    max_eval_examples_per_task : int or None, default=None
        Cap on held-out examples scored per task.
    max_new_tokens : int or None, default=None
        Tokens generated per example; None uses each task's ``max_target_length``.
    device : str, default="auto"
        ``"auto"`` picks ``"cuda"`` when available, else ``"cpu"``; any torch device
        string is accepted.
    precision : {"auto", "fp32", "bf16", "fp16"}, default="auto"
        Base-weight dtype and autocast dtype. ``"auto"`` is bf16 on a GPU that supports
        it, else fp32. LoRA weights stay in fp32. fp16 needs CUDA and overflows in T5;
        prefer bf16 there.
    num_threads : int or None, default=None
        If set, ``torch.set_num_threads`` for the duration of a call (use 1 when several
        runs share a CPU machine).
    output_dir : str or os.PathLike or None, default=None
        If set, each call writes ``adapter/`` (the LoRA weights), ``predictions.jsonl``
        and ``scores.json`` under ``output_dir/<subset>-<hash>-seed<seed>/``.

    Attributes
    ----------
    task_names : tuple of str
        Names of all configured tasks, in order.
    greater_is_better : bool
        Always True: accuracy and ROUGE-1 grow with quality.

    See Also
    --------
    HFTaskSpec : one task's data, template and metric.
    load_task_specs : read task specs from a JSON file.

    Notes
    -----
    Seeding: the run seed sets torch's RNG (LoRA initialisation, dropout) inside
    :func:`torch.random.fork_rng`, so the caller's RNG state is left untouched, and a
    separate generator shuffles the training data. Held-out splits never depend on the
    seed. On a GPU, results may still vary slightly between identical calls because of
    non-deterministic kernels.

    Examples
    --------
    >>> trainer = HFLoRATrainer(  # doctest: +SKIP
    ...     "/models/t5-base", "tasks.json", epochs=2, batch_size=16
    ... )
    >>> trainer(("rte", "cb"), seed=0)  # doctest: +SKIP
    {'rte': 0.61, 'cb': 0.73}
    """

    greater_is_better = True

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        tasks: Sequence[HFTaskSpec] | str | os.PathLike[str],
        *,
        model_type: str = "auto",
        lora_r: int = 8,
        lora_alpha: int = 16,
        lora_dropout: float = 0.05,
        target_modules: Sequence[str] | str | None = None,
        learning_rate: float = 3e-4,
        weight_decay: float = 0.0,
        epochs: int = 1,
        max_steps: int | None = None,
        batch_size: int = 8,
        eval_batch_size: int | None = None,
        max_grad_norm: float | None = 1.0,
        max_train_examples_per_task: int | None = None,
        max_eval_examples_per_task: int | None = None,
        max_new_tokens: int | None = None,
        device: str = "auto",
        precision: str = "auto",
        num_threads: int | None = None,
        output_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if not isinstance(model_path, (str, os.PathLike)) or not str(model_path):
            raise TypeError(
                "The 'model_path' parameter of HFLoRATrainer must be a local directory "
                f"path. Got {model_path!r} instead."
            )
        if isinstance(tasks, (str, os.PathLike)):
            specs = load_task_specs(tasks)
        else:
            specs = list(tasks) if isinstance(tasks, Iterable) else [tasks]
        if not all(isinstance(t, HFTaskSpec) for t in specs):
            raise TypeError(
                "The 'tasks' parameter of HFLoRATrainer must be a list of HFTaskSpec or the "
                f"path of a JSON task config file. Got {tasks!r} instead."
            )
        if not specs:
            raise ValueError("The 'tasks' parameter of HFLoRATrainer must not be empty.")
        names = [s.name for s in specs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(
                f"The 'tasks' parameter of HFLoRATrainer has duplicate names {duplicates}; "
                "give every (dataset, template) pair its own name."
            )
        if model_type not in _MODEL_TYPES:
            raise ValueError(
                f"The 'model_type' parameter of HFLoRATrainer must be one of {_MODEL_TYPES}. "
                f"Got {model_type!r} instead."
            )
        if precision not in _PRECISIONS:
            raise ValueError(
                f"The 'precision' parameter of HFLoRATrainer must be one of {_PRECISIONS}. "
                f"Got {precision!r} instead."
            )
        if not isinstance(device, str):
            raise TypeError(
                "The 'device' parameter of HFLoRATrainer must be a str such as 'auto', "
                f"'cpu' or 'cuda:0'. Got {device!r} instead."
            )
        for name, value, allow_none in (
            ("lora_r", lora_r, False),
            ("lora_alpha", lora_alpha, False),
            ("epochs", epochs, False),
            ("max_steps", max_steps, True),
            ("batch_size", batch_size, False),
            ("eval_batch_size", eval_batch_size, True),
            ("max_train_examples_per_task", max_train_examples_per_task, True),
            ("max_eval_examples_per_task", max_eval_examples_per_task, True),
            ("max_new_tokens", max_new_tokens, True),
            ("num_threads", num_threads, True),
        ):
            check_int(value, name, caller="HFLoRATrainer", allow_none=allow_none)
        check_float(learning_rate, "learning_rate", caller="HFLoRATrainer", low=0.0, low_open=True)
        check_float(weight_decay, "weight_decay", caller="HFLoRATrainer", low=0.0, low_open=False)
        if not (
            isinstance(lora_dropout, (int, float))
            and not isinstance(lora_dropout, bool)
            and 0.0 <= lora_dropout < 1.0
        ):
            raise ValueError(
                "The 'lora_dropout' parameter of HFLoRATrainer must be a float in [0, 1). "
                f"Got {lora_dropout!r} instead."
            )
        if max_grad_norm is not None:
            check_float(
                max_grad_norm, "max_grad_norm", caller="HFLoRATrainer", low=0.0, low_open=True
            )
        if target_modules is not None and not isinstance(target_modules, str):
            target_modules = list(target_modules)
            if not target_modules or not all(isinstance(m, str) for m in target_modules):
                raise TypeError(
                    "The 'target_modules' parameter of HFLoRATrainer must be None, a str or "
                    f"a non-empty list of str. Got {target_modules!r} instead."
                )

        self.model_path = str(Path(model_path).expanduser())
        self.tasks = tuple(specs)
        self.model_type = model_type
        self.lora_r = int(lora_r)
        self.lora_alpha = int(lora_alpha)
        self.lora_dropout = float(lora_dropout)
        self.target_modules = target_modules
        self.learning_rate = float(learning_rate)
        self.weight_decay = float(weight_decay)
        self.epochs = int(epochs)
        self.max_steps = max_steps
        self.batch_size = int(batch_size)
        self.eval_batch_size = eval_batch_size
        self.max_grad_norm = max_grad_norm
        self.max_train_examples_per_task = max_train_examples_per_task
        self.max_eval_examples_per_task = max_eval_examples_per_task
        self.max_new_tokens = max_new_tokens
        self.device = device
        self.precision = precision
        self.num_threads = num_threads
        self.output_dir = None if output_dir is None else str(output_dir)

    # ---------------------------------------------------------------- public API

    @property
    def task_names(self) -> tuple[str, ...]:
        """Names of all configured tasks, in configuration order."""
        return tuple(spec.name for spec in self.tasks)

    def __repr__(self) -> str:
        return (
            f"HFLoRATrainer(model_path={self.model_path!r}, tasks={list(self.task_names)!r}, "
            f"model_type={self.model_type!r}, lora_r={self.lora_r})"
        )

    def check_inputs(self, subset: Sequence[str] | None = None) -> None:
        """Check that the model directory and the data files exist, without loading them.

        Runs at the start of every call; call it yourself before launching a study so
        that a wrong path fails once instead of in every run.

        Parameters
        ----------
        subset : sequence of str or None, default=None
            Tasks whose files are checked; None checks all tasks.

        Raises
        ------
        ValueError
            Naming the parameter and the missing path.
        """
        model_dir = Path(self.model_path)
        if not model_dir.is_dir():
            raise ValueError(
                "The 'model_path' parameter of HFLoRATrainer must be a local directory "
                f"holding a saved model and tokenizer. Got {self.model_path!r}, which does "
                "not exist. There is no model hub at run time: download the model first, "
                "e.g. `huggingface-cli download t5-base --local-dir DIR`, and pass DIR."
            )
        if not (model_dir / "config.json").is_file():
            raise ValueError(
                "The 'model_path' parameter of HFLoRATrainer must be a directory with a "
                f"config.json (a save_pretrained/hub snapshot). {self.model_path!r} has none."
            )
        names = self.task_names if subset is None else subset
        for spec in self._specs_for(names):
            for param in ("train_file", "eval_file"):
                path = getattr(spec, param)
                if path is not None and not Path(path).expanduser().is_file():
                    raise ValueError(
                        f"The {param!r} of task {spec.name!r} does not exist: {str(path)!r}."
                    )

    def __call__(self, subset: Sequence[str], seed: int = 0) -> dict[str, float]:
        """Train LoRA adapters on ``subset`` and return each task's held-out score.

        Parameters
        ----------
        subset : sequence of str
            Names of the tasks trained together (each configured, no repeats).
        seed : int, default=0
            Seed of the adapter initialisation, dropout and data order.

        Returns
        -------
        dict of str to float
            A score in [0, 1] for exactly the tasks of ``subset``.
        """
        return self.train_model(subset, seed).scores

    def train_model(self, subset: Sequence[str], seed: int = 0) -> HFRunResult:
        """Like calling the trainer, but also return the model, losses and predictions.

        Parameters
        ----------
        subset : sequence of str
            Names of the tasks trained together.
        seed : int, default=0
            Seed of the adapter initialisation, dropout and data order.

        Returns
        -------
        HFRunResult

        Raises
        ------
        ValueError
            For unknown tasks, missing files or malformed records.
        TrainerError
            If the training loss becomes NaN or infinite.
        """
        specs = self._specs_for(subset)
        subset = tuple(subset)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"The 'seed' argument must be an int. Got {seed!r} instead.")
        self.check_inputs(subset)
        torch, _, _ = _import_hf()

        start = time.perf_counter()
        previous_threads = torch.get_num_threads()
        device = self._resolve_device(torch)
        fork_devices = []
        if device.type == "cuda":
            index = device.index
            fork_devices = [torch.cuda.current_device() if index is None else index]
        try:
            if self.num_threads is not None:
                torch.set_num_threads(self.num_threads)
            # LoRA initialisation and dropout draw from torch's global RNG; forking it keeps
            # the seed local to this call.
            with torch.random.fork_rng(devices=fork_devices), _quiet_progress_bars():
                torch.manual_seed(int(seed))
                result = self._run(specs, int(seed), device)
                result.seconds = time.perf_counter() - start
                if self.output_dir is not None:
                    self._save(self.output_dir, result, subset, int(seed))
        finally:
            torch.set_num_threads(previous_threads)
        logger.info(
            "HF LoRA run %s seed=%d: %d steps, %d examples, %.1fs, scores=%s",
            subset,
            seed,
            len(result.losses),
            result.n_train_examples,
            result.seconds,
            result.scores,
        )
        return result

    # ---------------------------------------------------------------- internals

    def _specs_for(self, subset: Sequence[str]) -> list[HFTaskSpec]:
        by_name = {spec.name: spec for spec in self.tasks}
        subset = check_subset(subset, list(by_name), caller=type(self).__name__)
        return [by_name[name] for name in subset]

    def _resolve_device(self, torch: Any) -> Any:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            return torch.device(self.device)
        except RuntimeError as exc:
            raise ValueError(
                "The 'device' parameter of HFLoRATrainer must be 'auto' or a torch device "
                f"string. Got {self.device!r} instead."
            ) from exc

    def _resolve_precision(self, torch: Any, device: Any) -> str:
        precision = self.precision
        if precision == "auto":
            if device.type == "cuda" and torch.cuda.is_bf16_supported():
                return "bf16"
            return "fp32"
        if precision == "fp16" and device.type != "cuda":
            raise ValueError(
                "The 'precision' parameter of HFLoRATrainer can be 'fp16' only on a CUDA "
                f"device. Got device {str(device)!r}; use 'bf16' or 'fp32'."
            )
        return precision

    def _load(self, torch: Any, transformers: Any, dtype: Any) -> tuple[Any, Any, str]:
        config = transformers.AutoConfig.from_pretrained(self.model_path, local_files_only=True)
        kind = self.model_type
        if kind == "auto":
            kind = "seq2seq" if getattr(config, "is_encoder_decoder", False) else "causal"
        auto_cls = (
            transformers.AutoModelForSeq2SeqLM
            if kind == "seq2seq"
            else transformers.AutoModelForCausalLM
        )
        # transformers renamed torch_dtype to dtype in 4.56 and dropped the old name in 5.
        major, minor = (int(x) for x in re.findall(r"\d+", transformers.__version__)[:2])
        dtype_key = "dtype" if (major, minor) >= (4, 56) else "torch_dtype"
        model = auto_cls.from_pretrained(
            self.model_path, local_files_only=True, **{dtype_key: dtype}
        )
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            self.model_path, local_files_only=True
        )
        if tokenizer.pad_token_id is None:
            if tokenizer.eos_token is None:
                raise ValueError(
                    f"The tokenizer in {self.model_path!r} has neither a pad nor an eos "
                    "token; add a pad token and save it with save_pretrained."
                )
            # Causal LMs such as GPT-2 ship without a pad token; pad positions are masked
            # by the attention mask and labels, so reusing eos is safe.
            tokenizer.pad_token = tokenizer.eos_token
        return model, tokenizer, kind

    def _wrap_lora(self, model: Any, kind: str, transformers: Any, peft: Any) -> Any:
        target = self.target_modules
        if target is None:
            known: Mapping[str, Any] | None
            try:
                from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING

                known = TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING
            except ImportError:  # older peft layouts; let peft pick its default
                known = None
            if known is not None and model.config.model_type not in known:
                target = "all-linear"
        conv1d = getattr(getattr(transformers, "pytorch_utils", None), "Conv1D", None)
        # GPT-2 style Conv1D layers store weights transposed; peft needs to be told.
        fan_in_fan_out = conv1d is not None and any(isinstance(m, conv1d) for m in model.modules())
        config = peft.LoraConfig(
            task_type=peft.TaskType.SEQ_2_SEQ_LM if kind == "seq2seq" else peft.TaskType.CAUSAL_LM,
            r=self.lora_r,
            lora_alpha=self.lora_alpha,
            lora_dropout=self.lora_dropout,
            target_modules=target,
            fan_in_fan_out=fan_in_fan_out,
        )
        with warnings.catch_warnings():
            # peft (0.21) reads a property that transformers 5 deprecated; the warning is
            # theirs, and would otherwise repeat on every run of a study.
            warnings.filterwarnings(
                "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
            )
            return peft.get_peft_model(model, config)

    def _run(self, specs: list[HFTaskSpec], seed: int, device: Any) -> HFRunResult:
        torch, transformers, peft = _import_hf()
        precision = self._resolve_precision(torch, device)
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
        model, tokenizer, kind = self._load(torch, transformers, dtype)
        model = self._wrap_lora(model, kind, transformers, peft)
        model.to(device)

        train: list[tuple[list[int], list[int]]] = []
        evals: dict[str, list[tuple[str, str]]] = {}
        for spec in specs:
            task_train, task_eval = _load_splits(spec)
            if self.max_train_examples_per_task is not None:
                task_train = task_train[: self.max_train_examples_per_task]
            if self.max_eval_examples_per_task is not None:
                task_eval = task_eval[: self.max_eval_examples_per_task]
            evals[spec.name] = task_eval
            for prompt, target in task_train:
                train.append(_encode_example(tokenizer, spec, prompt, target, kind))

        def amp() -> Any:
            if precision == "fp32":
                return contextlib.nullcontext()
            return torch.autocast(device_type=device.type, dtype=dtype)

        scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(
            params, lr=self.learning_rate, weight_decay=self.weight_decay
        )
        steps_per_epoch = math.ceil(len(train) / self.batch_size)
        total_steps = self.max_steps or self.epochs * steps_per_epoch
        generator = torch.Generator().manual_seed(seed)
        pad_id = tokenizer.pad_token_id
        losses: list[float] = []
        model.train()
        while len(losses) < total_steps:
            order = torch.randperm(len(train), generator=generator).tolist()
            for begin in range(0, len(order), self.batch_size):
                if len(losses) >= total_steps:
                    break
                batch = [train[i] for i in order[begin : begin + self.batch_size]]
                inputs = _collate(torch, batch, kind, pad_id, device)
                with amp():
                    loss = model(**inputs).loss
                if not torch.isfinite(loss):
                    raise TrainerError(
                        f"The training loss became {loss.item()} at step {len(losses) + 1}. "
                        "Lower 'learning_rate', or use precision='fp32' (T5 overflows in fp16)."
                    )
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.unscale_(optimizer)
                else:
                    loss.backward()
                if self.max_grad_norm is not None:
                    torch.nn.utils.clip_grad_norm_(params, self.max_grad_norm)
                if scaler is not None:
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    optimizer.step()
                losses.append(float(loss.detach()))

        model.eval()
        scores: dict[str, float] = {}
        predictions: dict[str, list[str]] = {}
        for spec in specs:
            prompts = [prompt for prompt, _ in evals[spec.name]]
            references = [target for _, target in evals[spec.name]]
            with amp(), torch.no_grad():
                preds = self._generate(torch, model, tokenizer, spec, prompts, kind, device)
            predictions[spec.name] = preds
            scores[spec.name] = float(_METRIC_FUNCS[spec.metric](preds, references))
        return HFRunResult(
            scores=scores,
            model=model,
            tokenizer=tokenizer,
            losses=losses,
            predictions=predictions,
            n_train_examples=len(train),
        )

    def _generate(
        self,
        torch: Any,
        model: Any,
        tokenizer: Any,
        spec: HFTaskSpec,
        prompts: list[str],
        kind: str,
        device: Any,
    ) -> list[str]:
        max_new = self.max_new_tokens or spec.max_target_length
        batch_size = self.eval_batch_size or 2 * self.batch_size
        encoded = [_encode_prompt(tokenizer, spec, p, kind) for p in prompts]
        # Sorting by length keeps padding, and so wasted compute, small.
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        out: list[str] = [""] * len(encoded)
        pad_id = tokenizer.pad_token_id
        for begin in range(0, len(order), batch_size):
            idx = order[begin : begin + batch_size]
            seqs = [encoded[i] for i in idx]
            width = max(len(s) for s in seqs)
            # Causal generation continues from the last position, so prompts are padded
            # on the left; encoder inputs are padded on the right as in training.
            left = kind == "causal"
            ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(seqs), width), dtype=torch.long)
            for row, seq in enumerate(seqs):
                sl = slice(width - len(seq), width) if left else slice(0, len(seq))
                ids[row, sl] = torch.tensor(seq, dtype=torch.long)
                mask[row, sl] = 1
            generated = model.generate(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                max_new_tokens=max_new,
                do_sample=False,
                num_beams=1,
                pad_token_id=pad_id,
            )
            if kind == "causal":
                generated = generated[:, width:]
            texts = tokenizer.batch_decode(generated, skip_special_tokens=True)
            for i, text in zip(idx, texts, strict=True):
                out[i] = text.strip()
        return out

    def _save(
        self, output_dir: str, result: HFRunResult, subset: tuple[str, ...], seed: int
    ) -> None:
        joined = "+".join(subset)
        digest = hashlib.sha1(joined.encode("utf-8")).hexdigest()[:10]
        safe = re.sub(r"[^A-Za-z0-9_.+-]", "_", joined)[:80]
        run_dir = Path(output_dir) / f"{safe}-{digest}-seed{seed}"
        run_dir.mkdir(parents=True, exist_ok=True)
        result.model.save_pretrained(str(run_dir / "adapter"))
        with (run_dir / "predictions.jsonl").open("w", encoding="utf-8") as fh:
            for task, preds in result.predictions.items():
                for pred in preds:
                    fh.write(json.dumps({"task": task, "prediction": pred}) + "\n")
        summary = {
            "subset": list(subset),
            "seed": seed,
            "scores": result.scores,
            "n_steps": len(result.losses),
            "final_loss": result.losses[-1] if result.losses else None,
            "seconds": result.seconds,
        }
        (run_dir / "scores.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
