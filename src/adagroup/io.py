"""Read and write affinity matrices: CSV/TSV with task names, or NumPy ``.npy``."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

__all__ = ["read_affinity", "write_affinity"]

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
# In order of preference on ties; a space is what np.savetxt writes by default.
_DELIMITERS = (",", ";", "\t", " ")
_WRITE_HINT = "pd.DataFrame(T, index=names, columns=names).to_csv(path)"


def read_affinity(path: str | os.PathLike[str]) -> tuple[np.ndarray, list[str]]:
    """Read an affinity matrix and its task names.

    Parameters
    ----------
    path : str or path-like
        A text table (``.csv``, ``.tsv`` or ``.txt``) or a ``.npy`` array. The
        delimiter (comma, semicolon, tab or blanks) is detected. The usual layout has a
        header row of task names and an index column of the same names (the
        corner cell is ignored), as ``DataFrame.to_csv`` writes. Also read:
        a header without index column (``to_csv(index=False)``), an index
        column without header, and a square table of numbers only
        (``np.savetxt``) or a ``.npy`` array, whose tasks are named ``"0"``,
        ``"1"``, ... With semicolons, a decimal comma (``0,5``) is accepted.

    Returns
    -------
    T : ndarray of shape (n_tasks, n_tasks)
    task_names : list of str

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        On a ragged, non-square or non-numeric table, row and column names
        that disagree (the message shows the first that differs), or
        duplicate task names; the message names the offending cell.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "T.tsv"
    >>> _ = path.write_text("\\ta\\tb\\na\\t1\\t0.5\\nb\\t0.5\\t1\\n")
    >>> T, names = read_affinity(path)
    >>> names, float(T[0, 1])
    (['a', 'b'], 0.5)
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"The 'MATRIX' file {str(path)!r} does not exist; pass the path of a .csv, .tsv or "
            ".npy file."
        )
    suffix = path.suffix.lower()
    if suffix not in (*TEXT_SUFFIXES, ".npy"):
        raise ValueError(
            f"The 'MATRIX' file {str(path)!r} must end in .csv, .tsv, .txt or .npy. Got "
            f"{suffix or 'no suffix'!r}; rename it or save it with np.save."
        )
    if suffix == ".npy":
        return _read_npy(path)
    return _read_table(path, path.read_text(encoding="utf-8-sig"), suffix)


def _read_npy(path: Path) -> tuple[np.ndarray, list[str]]:
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


def _parse_float(cell: str, decimal_comma: bool) -> float | None:
    text = cell.strip()
    if decimal_comma and text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


def _split(text: str, delimiter: str) -> list[list[str]]:
    if delimiter == " ":
        # Runs of blanks separate, as np.savetxt and hand-aligned tables have them.
        return [line.split() for line in text.splitlines() if line.strip()]
    return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(row)]


def _detect_delimiter(text: str, suffix: str) -> str:
    """The delimiter that splits the first lines into equally long rows of most fields.

    A ``.tsv`` is split on tabs. Otherwise each candidate is tried on the first
    20 lines and ranked by: every row split at all, rows of one length (the
    header may lack the corner cell), then the shortest row's length; ties go to
    the earlier of comma, semicolon, tab, blank. A ragged comma file thus stays
    a comma file, and its bad row is reported.
    """
    if suffix == ".tsv":
        return "\t"
    head = "\n".join(text.splitlines()[:20])
    best, best_key = ",", (False, False, 0)
    for delimiter in _DELIMITERS:
        rows = _split(head, delimiter)
        if not rows:
            continue
        lengths = {len(r) for r in rows[1:]} or {len(rows[0])}
        consistent = len(lengths) == 1 and len(rows[0]) - next(iter(lengths)) in (0, -1)
        shortest = min(len(r) for r in rows)
        key = (shortest >= 2, consistent, shortest)
        if key > best_key:
            best, best_key = delimiter, key
    return best


def _read_table(path: Path, text: str, suffix: str) -> tuple[np.ndarray, list[str]]:
    where = f"'MATRIX' {str(path)!r}"
    delimiter = _detect_delimiter(text, suffix)
    rows = [[c.strip() for c in row] for row in _split(text, delimiter)]
    if not rows:
        raise ValueError(f"The {where} is empty; write a header row first.")
    decimal_comma = delimiter == ";"

    def numeric(row: list[str]) -> bool:
        return all(_parse_float(c, decimal_comma) is not None for c in row)

    header = rows[0]
    if numeric(header) and len(header) > 0:
        if len(rows) == len(header) and all(len(r) == len(header) for r in rows):
            # np.savetxt: numbers only, square; there are no names to read.
            names = [str(i) for i in range(len(rows))]
            return _to_matrix(rows, names, 0, 1, decimal_comma, where), names
        raise ValueError(
            f"The first row of {where} holds numbers, not task names, and the table is not "
            f"square ({len(rows)} rows, {len(header)} columns in the first row). Write a header "
            f"row and an index column of task names, e.g. with {_WRITE_HINT}."
        )
    data = rows[1:]
    width = len(header)
    if (
        header[0]
        and len(data) == width
        and all(len(r) == width for r in data)
        and all(numeric(r) for r in data)
    ):
        # to_csv(index=False): a header of n names over an n x n block of numbers.
        _check_names(header, header, where)
        return _to_matrix(data, header, 0, 2, decimal_comma, where), header
    if (
        header[0]
        and numeric(header[1:])
        and len(rows) == width - 1
        and all(len(r) == width for r in rows)
    ):
        # An index column of names but no header row: every row is a name and n numbers.
        names = [r[0] for r in rows]
        _check_names(names, names, where)
        return _to_matrix(rows, names, 1, 1, decimal_comma, where), names
    columns = header[1:]
    if not columns:
        raise ValueError(
            f"The header of {where} has a single cell: the file is not split by commas, "
            f"semicolons, tabs or blanks. Write one task name per column, e.g. with "
            f"{_WRITE_HINT}."
        )
    for line, row in enumerate(data, start=2):
        if len(row) != width:
            raise ValueError(
                f"Row {line} of {where} has {len(row) - 1} values but the header names "
                f"{len(columns)} tasks; every row needs a name and one value per column."
            )
    names = [r[0] for r in data]
    _check_names(names, columns, where)
    return _to_matrix(data, names, 1, 2, decimal_comma, where), names


def _to_matrix(
    rows: list[list[str]],
    names: list[str],
    skip: int,
    first_line: int,
    decimal_comma: bool,
    where: str,
) -> np.ndarray:
    """Convert the cells after the first ``skip`` of every row; a bad one is named by line."""
    values = np.empty((len(rows), len(rows[0]) - skip), dtype=np.float64)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row[skip:]):
            value = _parse_float(cell, decimal_comma)
            if value is None:
                raise ValueError(
                    f"Non-numeric cell {cell!r} in row {first_line + i} ({names[i]!r}) of "
                    f"{where}; every cell after the index column must be a number."
                )
            values[i, j] = value
    return values


def _check_names(names: list[str], columns: list[str], where: str) -> None:
    """Row names and header must name the same tasks once each, in the same order."""
    for kind, labels in (("row", names), ("column", columns)):
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise ValueError(
                f"Duplicate task {kind} names {dup} in {where}; every task needs a unique name."
            )
    if len(names) != len(columns):
        raise ValueError(
            f"The {where} is not square: {len(names)} rows of values under a header of "
            f"{len(columns)} task names. An affinity matrix has one row and one column per task."
        )
    if names != columns:
        i = next(i for i, (a, b) in enumerate(zip(names, columns, strict=True)) if a != b)
        fix = (
            "the same tasks in another order; reorder the rows or the columns"
            if set(names) == set(columns)
            else "rename one of them so that row i and column i name the same task"
        )
        raise ValueError(
            f"The row names of {where} must match its header in the same order. Row "
            f"{i + 2} is named {names[i]!r} but column {i + 2} of the header is "
            f"{columns[i]!r}: {fix}."
        )


def write_affinity(
    path: str | os.PathLike[str], T: np.ndarray, task_names: list[str] | None = None
) -> Path:
    """Write ``T`` as a table with a header row and index column of task names, or ``.npy``.

    Parameters
    ----------
    path : str or path-like
        ``.npy`` writes the array alone; ``.tsv`` a tab-separated table; any
        other suffix a comma-separated one. :func:`read_affinity` reads all three.
    T : array-like of shape (n_tasks, n_tasks)
    task_names : list of str, default=None
        Names of the rows and columns; ``"0"``, ``"1"``, ... when None.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    FileNotFoundError
        If the folder of ``path`` does not exist.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"Cannot write {str(path)!r}: the folder {str(path.parent)!r} does not exist. "
            "Create it first or write elsewhere."
        )
    T = np.asarray(T, dtype=np.float64)
    if path.suffix.lower() == ".npy":
        np.save(path, T)
        return path
    names = task_names if task_names is not None else [str(i) for i in range(T.shape[0])]
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(["task", *names])
        for name, row in zip(names, T, strict=True):
            writer.writerow([name, *(repr(float(v)) for v in row)])
    return path
