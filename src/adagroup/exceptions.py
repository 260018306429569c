"""Exceptions and warnings raised by adagroup.

Every error adagroup raises on purpose derives from :class:`AdagroupError`, so
``except adagroup.AdagroupError`` catches them all. Argument errors are plain
:class:`ValueError`/:class:`TypeError` that name the parameter, the value and
the fix, as in scikit-learn.
"""

from __future__ import annotations

import os
import sys
import warnings
from types import FrameType

__all__ = [
    "AdagroupError",
    "AdagroupWarning",
    "ConvergenceWarning",
    "FewerClustersWarning",
    "UnstableGroupingWarning",
    "RunUpdateError",
    "SchemaVersionError",
    "SolverError",
    "StorageInternalError",
    "StudyMismatchError",
    "StudyNotFoundError",
    "TrainerError",
    "warn_external",
]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class AdagroupError(Exception):
    """Base class of the errors adagroup raises on purpose."""


class SolverError(AdagroupError):
    """An optimisation solver failed; the message names the solver, its status and what to try."""


class StudyNotFoundError(AdagroupError):
    """No study of that name exists in the storage; the message lists the existing names."""


class StudyMismatchError(AdagroupError):
    """A study exists under that name but with different settings (tasks, direction, ...)."""


class RunUpdateError(AdagroupError):
    """A finished run was asked to change; finished runs are immutable."""


class StorageInternalError(AdagroupError):
    """The storage backend failed (database error); the transaction was rolled back."""


class SchemaVersionError(AdagroupError):
    """The database was written by a newer adagroup whose schema this version cannot read."""


class TrainerError(AdagroupError):
    """A trainer returned something that is not a valid result (wrong tasks, non-finite scores)."""


class AdagroupWarning(UserWarning):
    """Base class of the warnings adagroup emits."""


class FewerClustersWarning(AdagroupWarning):
    """The data forced fewer non-empty groups than ``n_clusters``."""


class ConvergenceWarning(AdagroupWarning):
    """An iterative solver stopped before its tolerance was met; results may be inaccurate."""


class UnstableGroupingWarning(AdagroupWarning):
    """AdaGroup stopped on its budget before its grouping was stable at the asked confidence."""


def warn_external(message: str, category: type[Warning]) -> None:
    """Warn with the location of the first caller outside adagroup.

    A fixed ``stacklevel`` points into the package when the same code is reached
    through different paths (``fit`` with an int ``k`` or with ``"auto"``, AdaGroup).
    """
    frame: FrameType | None = sys._getframe(1)
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
