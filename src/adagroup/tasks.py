"""Task sets: the ordered list of task names a study trains on, and name <-> index maps."""

from __future__ import annotations

import numbers
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

__all__ = ["TaskSet"]


class TaskSet(Sequence[str]):
    """An ordered set of unique task names.

    Index ``i`` always names the same task: a study only ever *appends* tasks
    (:meth:`extend`), so subsets written as indices stay valid when tasks are added.

    Parameters
    ----------
    names : iterable of str
        Task names, unique, non-empty, without surrounding whitespace.

    Attributes
    ----------
    names : tuple of str
        The task names in order.

    Examples
    --------
    >>> tasks = TaskSet(["mnli", "qnli", "rte"])
    >>> tasks.index("rte"), tasks[0], len(tasks)
    (2, 'mnli', 3)
    >>> tasks.subset([2, "mnli"])
    ('mnli', 'rte')
    """

    __slots__ = ("_names", "_index")

    def __init__(self, names: Iterable[str]) -> None:
        if isinstance(names, TaskSet):
            names = names.names
        if isinstance(names, str):
            raise TypeError(
                f"The 'names' parameter of TaskSet must be a list of task names, not a single "
                f"string. Got {names!r}; pass {names.split(',')!r} instead."
            )
        names = tuple(names)
        for name in names:
            if not isinstance(name, str) or not name or name != name.strip():
                raise ValueError(
                    "The 'names' parameter of TaskSet must hold non-empty strings without "
                    f"surrounding whitespace. Got {name!r} instead."
                )
        dup = sorted(n for n, count in Counter(names).items() if count > 1)
        if dup:
            raise ValueError(
                f"The 'names' parameter of TaskSet must hold unique names. Got duplicates {dup}."
            )
        self._names: tuple[str, ...] = names
        self._index = {name: i for i, name in enumerate(names)}

    @property
    def names(self) -> tuple[str, ...]:
        """The task names in order."""
        return self._names

    def __len__(self) -> int:
        return len(self._names)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[str, ...]: ...
    def __getitem__(self, i: int | slice) -> str | tuple[str, ...]:
        return self._names[i]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TaskSet):
            return self._names == other._names
        if isinstance(other, (list, tuple)):
            return self._names == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._names)

    def __repr__(self) -> str:
        return f"TaskSet({list(self._names)!r})"

    def index(self, name: Any, start: int = 0, stop: int | None = None) -> int:
        """Return the index of task ``name``.

        Raises
        ------
        KeyError
            If ``name`` is not a task of this set.
        """
        try:
            return self._index[name]
        except (KeyError, TypeError):
            raise KeyError(f"Unknown task {name!r}. Known tasks: {list(self._names)}.") from None

    def indices(self, names: Iterable[str]) -> tuple[int, ...]:
        """Return the indices of ``names``, in the order given."""
        return tuple(self.index(n) for n in names)

    def subset(self, items: Iterable[str | int]) -> tuple[str, ...]:
        """Canonical form of a subset given as names and/or indices.

        Parameters
        ----------
        items : iterable of str or int
            Task names or indices into this set (both may be mixed).

        Returns
        -------
        subset : tuple of str
            The task names, unique, in task-set order.

        Raises
        ------
        ValueError
            If the subset is empty, repeats a task, or an index is out of range.
        KeyError
            If a name is unknown.
        """
        if isinstance(items, str):
            items = (items,)
        idx: list[int] = []
        for item in items:
            # ``int`` is listed for mypy, which does not know that it is a
            # ``numbers.Integral`` (it would take this branch for unreachable).
            if isinstance(item, (int, numbers.Integral)) and not isinstance(item, bool):
                i = int(item)
                if not 0 <= i < len(self._names):
                    raise ValueError(
                        f"Task index {i} is out of range for a task set of {len(self)} tasks; "
                        f"use an index in [0, {len(self) - 1}] or a task name."
                    )
                idx.append(i)
            else:
                idx.append(self.index(item))
        if not idx:
            raise ValueError("A subset must name at least one task. Got an empty subset.")
        if len(set(idx)) != len(idx):
            raise ValueError(
                f"A subset must not repeat a task. Got {[self._names[i] for i in idx]}."
            )
        return tuple(self._names[i] for i in sorted(idx))

    def extend(self, names: Iterable[str]) -> TaskSet:
        """Return a new task set with ``names`` appended (existing indices are unchanged)."""
        names = list(names)
        clash = sorted(set(names) & set(self._names))
        if clash:
            raise ValueError(
                f"Cannot add tasks {clash}: they are already in the task set {list(self)}."
            )
        return TaskSet([*self._names, *names])
