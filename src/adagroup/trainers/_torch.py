"""Helpers shared by the PyTorch trainers: lazy import, thread limits, seeding, devices.

torch is an optional extra, so nothing here imports it at module import time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = [
    "import_torch",
    "limit_threads",
    "make_generator",
    "resolve_device",
    "check_subset",
]

_INSTALL_HINT = 'pip install "adagroup[torch]"'


def import_torch() -> Any:
    """Import and return :mod:`torch`, or fail with an error naming the extra to install.

    Returns
    -------
    module
        The :mod:`torch` module.

    Raises
    ------
    ImportError
        If torch is not installed.
    """
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised only without torch
        raise ImportError(
            f"The adagroup PyTorch trainers need torch, which is not installed. "
            f"Install it with: {_INSTALL_HINT}"
        ) from exc
    return torch


@contextlib.contextmanager
def limit_threads(n_threads: int | None = 1) -> Iterator[None]:
    """Run a block with torch limited to ``n_threads`` intra-op threads, then restore.

    Several runs share a machine (a process pool runs one per core), so each run
    uses one thread; oversubscribed BLAS threads would slow every run down.

    Parameters
    ----------
    n_threads : int or None, default=1
        Threads for the block; None leaves torch's setting unchanged.
    """
    torch = import_torch()
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def make_generator(seed: int, device: str = "cpu") -> Any:
    """Return a ``torch.Generator`` on ``device`` seeded with ``seed`` (no global RNG)."""
    torch = import_torch()
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed) % (2**63 - 1))
    return gen


def resolve_device(device: str | None, *, caller: str) -> str:
    """Map ``"auto"``/None to ``"cuda"`` when available, else ``"cpu"``, and check the value.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"} or str or None
        Requested device; any string torch accepts (``"cuda:1"``) is passed on.
    caller : str
        Name quoted in error messages.

    Returns
    -------
    str
        The device string to use.

    Raises
    ------
    ValueError
        If CUDA is requested but not available, or the string is not a torch device.
    """
    torch = import_torch()
    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not isinstance(device, str):
        raise TypeError(
            f"The 'device' parameter of {caller} must be 'auto', 'cpu', 'cuda' or a torch "
            f"device string. Got {device!r} instead."
        )
    try:
        parsed = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(
            f"The 'device' parameter of {caller} must be 'auto', 'cpu', 'cuda' or a torch "
            f"device string. Got {device!r} instead."
        ) from exc
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"The 'device' parameter of {caller} is {device!r} but CUDA is not available "
            f"here. Use device='cpu' or device='auto'."
        )
    return device


def check_subset(subset: Sequence[str], task_names: Sequence[str], *, caller: str) -> tuple:
    """Validate a subset of task names and return it as a tuple.

    Raises
    ------
    TypeError
        If ``subset`` is a bare string.
    ValueError
        If it is empty, repeats a task or names an unknown task.
    """
    if isinstance(subset, str):
        raise TypeError(
            f"The 'subset' argument of {caller} must be a sequence of task names, not a "
            f"string. Got {subset!r}; pass ({subset!r},) for a single task."
        )
    subset = tuple(subset)
    if not subset:
        raise ValueError(f"The 'subset' argument of {caller} must name at least one task.")
    if len(set(subset)) != len(subset):
        raise ValueError(
            f"The 'subset' argument of {caller} must not repeat tasks. Got {list(subset)}."
        )
    known = set(task_names)
    unknown = [t for t in subset if t not in known]
    if unknown:
        raise ValueError(
            f"The 'subset' argument of {caller} names unknown tasks {unknown}. "
            f"Known tasks: {list(task_names)}."
        )
    return subset
