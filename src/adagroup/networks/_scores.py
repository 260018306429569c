"""Per-subset, per-task scores: read them (mapping, Study, rows, CSV), predict the unmeasured.

Everything here works on task *indices* and on *oriented* scores (higher is better):
:func:`as_score_table` negates losses once, so the solver only ever maximises.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ScoreTable",
    "Candidates",
    "as_score_table",
    "read_scores_csv",
    "candidate_networks",
    "pair_matrix",
    "grow_cliques",
    "predict",
]

#: How the CSV and the ``rows`` input join the task names of one subset.
SUBSET_SEPARATOR = "+"
CSV_COLUMNS = ("subset", "task", "score")


@dataclass(frozen=True)
class ScoreTable:
    """Measured scores, averaged over repeats (seeds), oriented so that higher is better.

    Attributes
    ----------
    tasks : tuple of str
        Task names; indices below refer to this order.
    measured : dict
        ``subset -> {task: score}``, ``subset`` a sorted tuple of task indices and the
        score oriented (negated when lower is better).
    greater_is_better : bool
        The direction of the raw scores, to turn oriented values back.
    """

    tasks: tuple[str, ...]
    measured: dict[tuple[int, ...], dict[int, float]]
    greater_is_better: bool

    def raw(self, value: float) -> float:
        """An oriented value in the units of the input."""
        return value if self.greater_is_better else -value


@dataclass(frozen=True)
class Candidates:
    """Candidate networks with each member's (oriented) score in it.

    Attributes
    ----------
    subsets : list of tuple of int
        Sorted task indices of each candidate.
    values : list of tuple of float
        ``values[s][k]`` is the score of task ``subsets[s][k]`` in candidate ``s``.
    predicted : list of bool
        Whether candidate ``s`` was never trained (its values are predictions).
    complete : bool
        False when predictable subsets were left out (too many): the solver then bounds them.
    largest_size : int
        Predicted subsets up to this size are all among the candidates.
    max_size : int
        The largest subset size allowed at all.
    """

    subsets: list[tuple[int, ...]]
    values: list[tuple[float, ...]]
    predicted: list[bool]
    complete: bool
    largest_size: int
    max_size: int


# -- reading ---------------------------------------------------------------------------------


def read_scores_csv(path: str | os.PathLike[str]) -> list[tuple[str, str, float]]:
    """Read a long CSV with header ``subset,task,score`` (``subset`` joins names with ``+``).

    Parameters
    ----------
    path : str or path-like
        The file. Other columns (``seed``, ...) are ignored; rows repeating a
        ``(subset, task)`` are averaged by :func:`as_score_table`.

    Returns
    -------
    list of (str, str, float)
        ``(subset, task, score)`` rows.

    Raises
    ------
    ValueError
        Naming the file, the line and the column, with the fix.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        found = [h.strip().lower() for h in header or []]
        missing = [c for c in CSV_COLUMNS if c not in found]
        if missing:
            raise ValueError(
                f"{str(path)!r} needs a header row with the columns subset,task,score; "
                f"column {missing[0]!r} is missing (header: {','.join(found) or 'none'}). "
                "Write one row per (subset, task), e.g. 'depth+normal,depth,0.71'."
            )
        where = {c: found.index(c) for c in CSV_COLUMNS}
        rows = []
        for line, fields in enumerate(reader, start=2):
            if not any(field.strip() for field in fields):
                continue
            if len(fields) < len(found):
                raise ValueError(
                    f"{str(path)!r} line {line} has {len(fields)} fields, the header "
                    f"{len(found)}; give each row subset,task,score."
                )
            subset, task, text = (fields[where[c]].strip() for c in CSV_COLUMNS)
            try:
                score = float(text)
            except ValueError:
                score = math.nan
            if not math.isfinite(score):
                raise ValueError(
                    f"{str(path)!r} line {line}: column 'score' must be a finite number. "
                    f"Got {text!r}; drop the row or fill in the score."
                )
            rows.append((subset, task, score))
    if not rows:
        raise ValueError(f"{str(path)!r} has a header but no rows; add subset,task,score rows.")
    return rows


def as_score_table(scores: Any, lower_is_better: bool | None = None) -> ScoreTable:
    """Turn any accepted ``scores`` input of :func:`select_networks` into a :class:`ScoreTable`."""
    greater: bool | None = None if lower_is_better is None else not lower_is_better
    if isinstance(scores, (str, os.PathLike)):
        triples: Iterable[tuple[Any, Any, Any]] = read_scores_csv(scores)
        task_order: Sequence[str] | None = None
    elif hasattr(scores, "runs") and hasattr(scores, "tasks"):
        from ..runs import RunState

        study_greater = bool(scores.greater_is_better)
        if greater is not None and greater != study_greater:
            raise ValueError(
                f"lower_is_better={lower_is_better} disagrees with the study, created with "
                f"greater_is_better={study_greater}; omit lower_is_better (None) to follow it."
            )
        greater = study_greater
        task_order = list(scores.tasks)
        triples = [
            (run.subset, task, value)
            for run in scores.runs(state=RunState.COMPLETE)
            for task, value in run.scores.items()
        ]
        if not triples:
            raise ValueError(
                "The study has no COMPLETE runs; run it first (study.run or adagroup study run)."
            )
    elif isinstance(scores, Mapping):
        task_order = None
        triples = list(_mapping_triples(scores))
    elif isinstance(scores, Iterable):
        task_order = None
        triples = list(_row_triples(scores))
    else:
        raise TypeError(
            "The 'scores' parameter of select_networks must be a mapping {subset: {task: score}}, "
            f"a Study, rows (subset, task, score) or a CSV path. Got {type(scores).__name__}."
        )
    return _table(triples, task_order, True if greater is None else greater)


def _mapping_triples(scores: Mapping[Any, Any]) -> Iterator[tuple[Any, Any, Any]]:
    for subset, per_task in scores.items():
        if not isinstance(per_task, Mapping):
            raise TypeError(
                "The 'scores' mapping must map each subset to {task: score}. Got "
                f"{type(per_task).__name__} for subset {subset!r}."
            )
        for task, value in per_task.items():
            # Several seeds may be given as a list: each is one measurement.
            values = (
                value if isinstance(value, Sequence) and not isinstance(value, str) else [value]
            )
            for v in values:
                yield subset, task, v


def _row_triples(rows: Iterable[Any]) -> Iterator[tuple[Any, Any, Any]]:
    for i, row in enumerate(rows):
        if isinstance(row, Mapping):
            try:
                yield row["subset"], row["task"], row["score"]
            except KeyError as exc:
                raise ValueError(
                    f"Row {i} of 'scores' has no {exc.args[0]!r} key; each row needs subset, "
                    "task and score."
                ) from None
        elif isinstance(row, Sequence) and not isinstance(row, str) and len(row) == 3:
            yield row[0], row[1], row[2]
        else:
            raise ValueError(
                f"Row {i} of 'scores' must be (subset, task, score) or a dict with those keys. "
                f"Got {row!r}."
            )


def _subset_names(subset: Any) -> tuple[str, ...]:
    if isinstance(subset, str):
        names = tuple(name.strip() for name in subset.split(SUBSET_SEPARATOR))
    elif isinstance(subset, Iterable):
        names = tuple(subset)
    else:
        raise TypeError(f"A subset must be task names or 'a+b'. Got {subset!r}.")
    if not names or any(not isinstance(n, str) or not n for n in names):
        raise ValueError(
            f"Subset {subset!r} must name one or more tasks, joined with "
            f"{SUBSET_SEPARATOR!r} (e.g. 'depth+normal')."
        )
    if len(set(names)) != len(names):
        raise ValueError(f"Subset {subset!r} names a task twice.")
    return names


def _table(
    triples: Iterable[tuple[Any, Any, Any]], task_order: Sequence[str] | None, greater: bool
) -> ScoreTable:
    sums: dict[frozenset[str], dict[str, list[float]]] = {}
    order: dict[str, None] = dict.fromkeys(task_order or ())
    for subset, task, value in triples:
        names = _subset_names(subset)
        order.update(dict.fromkeys(names))
        if task not in names:
            raise ValueError(
                f"Task {task!r} has a score for subset {SUBSET_SEPARATOR.join(names)!r}, which "
                "does not contain it; a network only scores its own tasks."
            )
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = math.nan
        if not math.isfinite(v):
            raise ValueError(
                f"The score of task {task!r} in subset {SUBSET_SEPARATOR.join(names)!r} must be "
                f"a finite number. Got {value!r}."
            )
        sums.setdefault(frozenset(names), {}).setdefault(task, []).append(v)
    if not sums:
        raise ValueError("'scores' holds no scores; give at least one (subset, task, score).")
    tasks = tuple(order)
    index = {t: i for i, t in enumerate(tasks)}
    sign = 1.0 if greater else -1.0
    measured: dict[tuple[int, ...], dict[int, float]] = {}
    for members, per_task in sums.items():
        missing = sorted(members - per_task.keys(), key=index.__getitem__)
        if missing:
            label = SUBSET_SEPARATOR.join(sorted(members, key=index.__getitem__))
            raise ValueError(
                f"Subset {label!r} has no score for task {missing[0]!r}; give every task of a "
                "measured subset its score (or drop the subset)."
            )
        key = tuple(sorted(index[t] for t in members))
        measured[key] = {index[t]: sign * sum(v) / len(v) for t, v in per_task.items()}
    return ScoreTable(tasks, measured, greater)


# -- candidates and predictions --------------------------------------------------------------


def pair_matrix(table: ScoreTable) -> np.ndarray:
    """``P[i, j]``: the oriented score of task ``i`` trained with ``j`` alone (NaN: unmeasured)."""
    n = len(table.tasks)
    P = np.full((n, n), np.nan)
    for subset, values in table.measured.items():
        if len(subset) == 2:
            i, j = subset
            P[i, j], P[j, i] = values[i], values[j]
    return P


def grow_cliques(level: np.ndarray, adjacent: np.ndarray, room: int | None) -> np.ndarray | None:
    """The cliques one task larger than the rows of ``level`` (sorted); None past ``room``.

    Each clique is grown only by tasks above its last one, so each appears once.
    """
    n = adjacent.shape[0]
    out = []
    count = 0
    for j in range(n):
        ok = (level[:, -1] < j) & adjacent[level, j].all(axis=1)
        if ok.any():
            rows = level[ok]
            out.append(np.column_stack([rows, np.full(len(rows), j)]))
            count += len(rows)
            if room is not None and count > room:
                return None
    if not out:
        return np.empty((0, level.shape[1] + 1), dtype=level.dtype)
    grown = np.concatenate(out)
    return grown[np.lexsort(grown.T[::-1])]


def predict(cliques: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Standley's pair average: ``out[r, a]`` = mean of ``P[c_a, c_b]`` over ``b != a``."""
    k = cliques.shape[1]
    pair = P[cliques[:, :, None], cliques[:, None, :]]  # (m, k, k); the diagonal is NaN
    return np.nansum(pair, axis=2) / (k - 1)


def candidate_networks(
    table: ScoreTable,
    *,
    predict_unmeasured: bool,
    max_size: int | None,
    max_candidates: int | None,
) -> Candidates:
    """Measured subsets, plus (``predict_unmeasured``) every predictable subset, smallest first.

    A subset of three or more tasks is predictable when all its pairs are measured
    (Standley et al.'s higher-order approximation, see :func:`select_networks`).
    Predicted subsets are added size by size while the total stays within
    ``max_candidates``; a size that would overflow it is left out, with all larger ones.
    """
    n = len(table.tasks)
    cap = n if max_size is None else min(max_size, n)
    subsets: list[tuple[int, ...]] = []
    values: list[tuple[float, ...]] = []
    predicted: list[bool] = []
    for subset in sorted(table.measured, key=lambda s: (len(s), s)):
        if len(subset) <= cap:
            subsets.append(subset)
            values.append(tuple(table.measured[subset][t] for t in subset))
            predicted.append(False)
    if not predict_unmeasured or cap < 3:
        return Candidates(subsets, values, predicted, True, cap, cap)
    P = pair_matrix(table)
    adjacent = ~np.isnan(P)
    level = np.array(sorted(s for s in table.measured if len(s) == 2), dtype=np.int64)
    level = level.reshape(-1, 2)
    complete, largest = True, cap
    for size in range(3, cap + 1):
        room = None if max_candidates is None else max_candidates - len(subsets)
        grown = grow_cliques(level, adjacent, room)
        if grown is None:  # this size would overflow max_candidates: bound it instead
            complete, largest = False, size - 1
            break
        if not len(grown):  # no clique of this size, so none larger either
            break
        for subset, vals in zip(grown.tolist(), predict(grown, P).tolist(), strict=True):
            if tuple(subset) not in table.measured:
                subsets.append(tuple(subset))
                values.append(tuple(vals))
                predicted.append(True)
        level = grown
    return Candidates(subsets, values, predicted, complete, largest, cap)
