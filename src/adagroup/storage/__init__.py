"""Run storage: where studies, runs and scores live (in memory, or any SQL database)."""

from __future__ import annotations

import os
from typing import Any

from ._base import BaseStorage, StudyInfo
from ._memory import InMemoryStorage

__all__ = ["BaseStorage", "InMemoryStorage", "SQLStorage", "StudyInfo", "get_storage"]


def __getattr__(name: str) -> Any:
    if name == "SQLStorage":  # SQLAlchemy is optional: load it only when asked
        from ._sql import SQLStorage

        return SQLStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_storage(storage: None | str | os.PathLike[str] | BaseStorage) -> BaseStorage:
    """Return a storage object for ``storage``.

    Parameters
    ----------
    storage : None, str, path-like or BaseStorage
        None gives a new :class:`InMemoryStorage`; a SQLAlchemy URL
        (``"sqlite:///study.db"``, ``"postgresql+psycopg://..."``) gives a
        :class:`SQLStorage`; a string without ``://`` is taken as the path of a
        SQLite file; a :class:`BaseStorage` is returned as is.

    Returns
    -------
    storage : BaseStorage

    Raises
    ------
    TypeError
        If ``storage`` is of another type.
    """
    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, BaseStorage):
        return storage
    if isinstance(storage, (str, os.PathLike)):
        from ._sql import SQLStorage

        url = os.fspath(storage)
        if "://" not in url:
            url = f"sqlite:///{url}"
        return SQLStorage(url)
    raise TypeError(
        "The 'storage' parameter must be None, a SQLAlchemy URL such as 'sqlite:///study.db', "
        f"or a BaseStorage. Got {type(storage).__name__} instead."
    )
