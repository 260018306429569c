"""Tasks of the HF trainer: a dataset file, an instruction template, a target field, a metric."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_METRICS = ("accuracy", "rouge1")
_DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv")


@dataclass(frozen=True)
class HFTaskSpec:
    """One task: a local dataset, an instruction template, a target field and a metric.

    Parameters
    ----------
    name : str
        Task name used in subsets and score dictionaries.
    train_file : str or os.PathLike
        JSONL (one JSON object per line; ``.jsonl`` or ``.json``, which may also hold one
        JSON array), CSV or TSV file with a header row.
    eval_file : str or os.PathLike or None, default=None
        Held-out file in the same formats. When None, ``eval_fraction`` of ``train_file``
        is held out.
    eval_fraction : float, default=0.2
        Fraction in (0, 1) of ``train_file`` held out when ``eval_file`` is None. The
        split depends only on the file and ``split_seed``, never on the run seed, so every
        run scores a task on the same examples.
    template : str or None, default=None
        :meth:`str.format` template filled with a record's fields to make the prompt, e.g.
        ``"Premise: {premise} Hypothesis: {hypothesis} Answer:"``. None means
        ``"{" + input_field + "}"``.
    input_field : str, default="input"
        Field used as the whole prompt when ``template`` is None.
    target_field : str, default="target"
        Field holding the target text.
    metric : {"accuracy", "rouge1"}, default="accuracy"
        ``"accuracy"``: exact match after normalisation (see :func:`exact_match`);
        ``"rouge1"``: mean ROUGE-1 F1 (see :func:`rouge1`).
    max_source_length : int, default=256
        Prompt length cap in tokens.
    max_target_length : int, default=32
        Target length cap in tokens (end-of-sequence included); also the default number
        of tokens generated at evaluation.
    split_seed : int, default=0
        Seed of the fixed shuffle that makes the held-out split.

    Examples
    --------
    >>> spec = HFTaskSpec(
    ...     "rte",
    ...     train_file="data/rte/train.jsonl",
    ...     eval_file="data/rte/dev.jsonl",
    ...     template="Premise: {premise} Hypothesis: {hypothesis} Answer:",
    ...     target_field="label",
    ... )
    >>> spec.metric
    'accuracy'
    """

    name: str
    train_file: str | os.PathLike[str]
    eval_file: str | os.PathLike[str] | None = None
    eval_fraction: float = 0.2
    template: str | None = None
    input_field: str = "input"
    target_field: str = "target"
    metric: str = "accuracy"
    max_source_length: int = 256
    max_target_length: int = 32
    split_seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(
                f"The 'name' parameter of HFTaskSpec must be a non-empty str. "
                f"Got {self.name!r} instead."
            )
        if self.metric not in _METRICS:
            raise ValueError(
                f"The 'metric' parameter of HFTaskSpec (task {self.name!r}) must be one of "
                f"{_METRICS}. Got {self.metric!r} instead."
            )
        if not isinstance(self.train_file, (str, os.PathLike)):
            raise TypeError(
                f"The 'train_file' parameter of HFTaskSpec (task {self.name!r}) must be a "
                f"path. Got {self.train_file!r} instead."
            )
        if self.eval_file is not None and not isinstance(self.eval_file, (str, os.PathLike)):
            raise TypeError(
                f"The 'eval_file' parameter of HFTaskSpec (task {self.name!r}) must be a "
                f"path or None. Got {self.eval_file!r} instead."
            )
        for suffix_param in ("train_file", "eval_file"):
            value = getattr(self, suffix_param)
            if value is not None and Path(value).suffix.lower() not in _DATA_SUFFIXES:
                raise ValueError(
                    f"The {suffix_param!r} parameter of HFTaskSpec (task {self.name!r}) must "
                    f"end in one of {_DATA_SUFFIXES}. Got {str(value)!r} instead."
                )
        if not (isinstance(self.eval_fraction, (int, float)) and 0.0 < self.eval_fraction < 1.0):
            raise ValueError(
                f"The 'eval_fraction' parameter of HFTaskSpec (task {self.name!r}) must be a "
                f"float in (0, 1). Got {self.eval_fraction!r} instead."
            )
        for str_param in ("input_field", "target_field"):
            value = getattr(self, str_param)
            if not isinstance(value, str) or not value:
                raise TypeError(
                    f"The {str_param!r} parameter of HFTaskSpec (task {self.name!r}) must be "
                    f"a non-empty str. Got {value!r} instead."
                )
        if self.template is not None and not isinstance(self.template, str):
            raise TypeError(
                f"The 'template' parameter of HFTaskSpec (task {self.name!r}) must be a str "
                f"or None. Got {self.template!r} instead."
            )
        for int_param in ("max_source_length", "max_target_length"):
            value = getattr(self, int_param)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"The {int_param!r} parameter of HFTaskSpec (task {self.name!r}) must be "
                    f"an int >= 1. Got {value!r} instead."
                )

    @property
    def prompt_template(self) -> str:
        """The template actually used: ``template``, or ``"{input_field}"`` when None."""
        return self.template if self.template is not None else "{" + self.input_field + "}"

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], base_dir: str | os.PathLike[str] | None = None
    ) -> HFTaskSpec:
        """Build a spec from a mapping, e.g. one entry of a JSON config file.

        Parameters
        ----------
        data : mapping
            Keys are the constructor's parameter names.
        base_dir : str or os.PathLike or None, default=None
            Directory that relative ``train_file``/``eval_file`` paths are resolved
            against (the config file's directory when loaded by :func:`load_task_specs`).

        Returns
        -------
        HFTaskSpec
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"A task entry must be a JSON object. Got {data!r} instead.")
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - valid)
        if unknown:
            raise ValueError(
                f"Unknown key(s) {unknown} in task entry {data.get('name', '?')!r}. "
                f"Valid keys are {sorted(valid)}."
            )
        kwargs = dict(data)
        if base_dir is not None:
            for key in ("train_file", "eval_file"):
                if kwargs.get(key) is not None:
                    path = Path(kwargs[key]).expanduser()
                    kwargs[key] = str(path if path.is_absolute() else Path(base_dir) / path)
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as a JSON-serialisable dict (paths as strings)."""
        out = dataclasses.asdict(self)
        for key in ("train_file", "eval_file"):
            if out[key] is not None:
                out[key] = str(out[key])
        return out


def load_task_specs(path: str | os.PathLike[str]) -> list[HFTaskSpec]:
    """Read task specifications from a JSON config file.

    The file holds either ``{"tasks": [{...}, ...]}`` or a bare list of task objects;
    each object's keys are :class:`HFTaskSpec` parameters. Relative data paths are
    resolved against the config file's directory.

    Parameters
    ----------
    path : str or os.PathLike
        The JSON file.

    Returns
    -------
    list of HFTaskSpec

    Raises
    ------
    ValueError
        If the file is missing, is not valid JSON, or holds a malformed task entry.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"Task config file {str(path)!r} does not exist.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"Task config file {str(path)!r} is not valid JSON: {exc}") from exc
    entries = data.get("tasks") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries:
        raise ValueError(
            f"Task config file {str(path)!r} must hold a non-empty list of task objects, "
            'either at top level or under the key "tasks".'
        )
    return [HFTaskSpec.from_dict(entry, base_dir=path.parent.resolve()) for entry in entries]


# --------------------------------------------------------------------------------------
# Data files
# --------------------------------------------------------------------------------------


def _read_records(path: str | os.PathLike[str], task: str, param: str) -> list[dict[str, Any]]:
    """Read a JSONL/JSON/CSV/TSV file into a list of dicts."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(
            f"The {param!r} of task {task!r} does not exist: {str(path)!r}. Data are read "
            "from local files only."
        )
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh, delimiter="," if suffix == ".csv" else "\t")
            records = [dict(row) for row in reader]
    else:
        text = path.read_text(encoding="utf-8")
        if suffix == ".json" and text.lstrip().startswith("["):
            records = json.loads(text)
        else:
            records = []
            for lineno, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(
                        f"Line {lineno} of {str(path)!r} (task {task!r}) is not valid JSON: {exc}"
                    ) from exc
    if not records or not all(isinstance(r, dict) for r in records):
        raise ValueError(
            f"{str(path)!r} (task {task!r}) must hold at least one record, each a JSON "
            "object or a CSV row with a header."
        )
    return records


def _render(spec: HFTaskSpec, record: Mapping[str, Any]) -> tuple[str, str]:
    """Turn a record into (prompt, target) text."""
    try:
        prompt = spec.prompt_template.format_map(record)
    except (KeyError, IndexError) as exc:
        raise ValueError(
            f"The template of task {spec.name!r} refers to field {exc} that a record lacks. "
            f"Record fields: {sorted(record)}. Template: {spec.prompt_template!r}."
        ) from exc
    if spec.target_field not in record:
        raise ValueError(
            f"The 'target_field' of task {spec.name!r} is {spec.target_field!r}, but a "
            f"record lacks it. Record fields: {sorted(record)}."
        )
    return prompt, str(record[spec.target_field])


def _load_splits(
    spec: HFTaskSpec,
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Return (train, eval) lists of (prompt, target) for one task."""
    train = [_render(spec, r) for r in _read_records(spec.train_file, spec.name, "train_file")]
    if spec.eval_file is not None:
        held = [_render(spec, r) for r in _read_records(spec.eval_file, spec.name, "eval_file")]
        return train, held
    if len(train) < 2:
        raise ValueError(
            f"Task {spec.name!r} has {len(train)} record(s); at least 2 are needed to hold "
            "out an evaluation split. Add data or give 'eval_file'."
        )
    order = np.random.default_rng(spec.split_seed).permutation(len(train))
    n_eval = min(len(train) - 1, max(1, round(spec.eval_fraction * len(train))))
    held = [train[i] for i in order[:n_eval]]
    rest = [train[i] for i in order[n_eval:]]
    return rest, held
