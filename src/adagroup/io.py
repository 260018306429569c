"""Read and write affinity matrices: CSV with task names, or NumPy ``.npy``."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

__all__ = ["read_affinity", "write_affinity"]


def read_affinity(path: str | os.PathLike) -> tuple[np.ndarray, list[str]]:
    """Read an affinity matrix and its task names.

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` with a header row of task names and an index column of the
        same names (the corner cell is ignored), or a ``.npy`` array (tasks are
        then named ``"0"``, ``"1"``, ...).

    Returns
    -------
    T : ndarray of shape (n_tasks, n_tasks)
    task_names : list of str

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        On a ragged or non-numeric CSV, row and column names that disagree,
        or duplicate task names; the message names the offending cell.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"The 'MATRIX' file {str(path)!r} does not exist; pass the path of a .csv or .npy."
        )
    if path.suffix.lower() not in (".csv", ".npy"):
        raise ValueError(
            f"The 'MATRIX' file {str(path)!r} must end in .csv or .npy. Got "
            f"{path.suffix or 'no suffix'!r}; rename it or save it with np.save."
        )
    if path.suffix.lower() == ".npy":
        try:
            T = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise ValueError(
                f"The 'MATRIX' file {str(path)!r} is not a readable .npy array ({exc}); "
                "save it with np.save."
            ) from None
        if not np.issubdtype(T.dtype, np.number) or np.issubdtype(T.dtype, np.complexfloating):
            raise ValueError(
                f"The 'MATRIX' file {str(path)!r} must hold real numbers. Got dtype "
                f"{T.dtype}; convert with T.astype(float) before saving."
            )
        if T.ndim != 2:
            raise ValueError(
                f"The 'MATRIX' file {str(path)!r} must hold a 2-D array. Got shape {T.shape}."
            )
        return np.asarray(T, dtype=np.float64), [str(i) for i in range(T.shape[0])]
    with path.open(newline="") as fh:
        rows = [row for row in csv.reader(fh) if row]
    if not rows:
        raise ValueError(f"The 'MATRIX' file {str(path)!r} is empty; write a header row first.")
    columns = [c.strip() for c in rows[0][1:]]
    names, values = [], []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(columns) + 1:
            raise ValueError(
                f"Row {line} of 'MATRIX' {str(path)!r} has {len(row) - 1} values but the header "
                f"names {len(columns)} tasks; every row needs a name and one value per column."
            )
        names.append(row[0].strip())
        try:
            values.append([float(cell) for cell in row[1:]])
        except ValueError:
            bad = next(c for c in row[1:] if not _is_float(c))
            raise ValueError(
                f"Non-numeric cell {bad!r} in row {line} ({row[0]!r}) of 'MATRIX' "
                f"{str(path)!r}; every cell after the index column must be a number."
            ) from None
    for kind, labels in (("row", names), ("column", columns)):
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise ValueError(
                f"Duplicate task {kind} names {dup} in 'MATRIX' {str(path)!r}; every task needs "
                "a unique name."
            )
    if names != columns and len(names) == len(columns):
        raise ValueError(
            f"The row names of 'MATRIX' {str(path)!r} must match its header in the same order. "
            f"Got rows {names[:4]}... and columns {columns[:4]}...; reorder one of them."
        )
    T = np.array(values, dtype=np.float64).reshape(len(names), len(columns))
    return T, names


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def write_affinity(
    path: str | os.PathLike, T: np.ndarray, task_names: list[str] | None = None
) -> Path:
    """Write ``T`` as a CSV (header row and index column of task names) or ``.npy``."""
    path = Path(path)
    T = np.asarray(T, dtype=np.float64)
    if path.suffix.lower() == ".npy":
        np.save(path, T)
        return path
    names = task_names if task_names is not None else [str(i) for i in range(T.shape[0])]
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["task", *names])
        for name, row in zip(names, T, strict=True):
            writer.writerow([name, *(repr(float(v)) for v in row)])
    return path
