"""How runs are executed: in this process, in a local process pool, or as Ray tasks.

Executors only *call* trainers and hand the results back as futures; the
study process alone writes the storage. So a worker that dies loses nothing
that was recorded, and storage credentials never travel to the workers.
"""

from __future__ import annotations

import abc
import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

__all__ = [
    "BaseExecutor",
    "InProcessExecutor",
    "ProcessExecutor",
    "RayExecutor",
    "call_trainer",
    "make_executor",
    "resolve_trainer",
]

_logger = logging.getLogger(__name__)


def resolve_trainer(trainer: Any) -> Callable[[tuple[str, ...], int], Any]:
    """Return the callable ``train(subset, seed)`` of a trainer.

    A trainer is a callable, or an object with a ``train(subset, seed)`` method.

    Raises
    ------
    TypeError
        If ``trainer`` is neither.
    """
    if callable(trainer):
        return trainer
    method = getattr(trainer, "train", None)
    if callable(method):
        return method
    raise TypeError(
        "The 'trainer' parameter must be a callable train(subset, seed) -> {task: score} or an "
        f"object with such a train method. Got {type(trainer).__name__} instead."
    )


def call_trainer(trainer: Any, subset: tuple[str, ...], seed: int, timeout: float | None) -> Any:
    """Call the trainer once; the function every executor runs.

    With ``timeout`` and on POSIX in a main thread, a ``SIGALRM`` timer raises
    :class:`TimeoutError` inside the trainer after ``timeout`` seconds. This
    interrupts Python code and sleeps, not a C call that never returns; the
    process and Ray executors back it with a hard kill.
    """
    fn = resolve_trainer(trainer)
    use_alarm = (
        timeout is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if timeout is None or not use_alarm:
        return fn(subset, seed)

    def _expired(signum: int, frame: Any) -> None:
        raise TimeoutError(f"The trainer ran past timeout={timeout} s on subset {list(subset)}.")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, float(timeout))
    try:
        return fn(subset, seed)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


class BaseExecutor(abc.ABC):
    """Runs trainer calls and returns :class:`concurrent.futures.Future` objects.

    Attributes
    ----------
    max_workers : int
        How many runs may be in flight at once.
    can_kill : bool
        Whether :meth:`kill` can stop a hung run (a hard per-run timeout).
    """

    max_workers: int = 1
    can_kill: bool = False

    def prepare(self, trainer: Any) -> Any:
        """Return the object to pass to :meth:`submit` for ``trainer`` (e.g. shipped once)."""
        return trainer

    @abc.abstractmethod
    def submit(
        self, trainer: Any, subset: tuple[str, ...], seed: int, timeout: float | None
    ) -> Future[Any]:
        """Start ``trainer(subset, seed)``; return its future."""

    def kill(self, future: Future[Any]) -> None:  # noqa: B027 - optional hook
        """Stop the run behind ``future`` by force (only if :attr:`can_kill`)."""

    def shutdown(self, *, kill: bool = False) -> None:  # noqa: B027 - optional hook
        """Release workers; with ``kill``, stop runs still in flight."""


class InProcessExecutor(BaseExecutor):
    """Call the trainer synchronously in this process (``n_jobs=1``).

    A per-run ``timeout`` is only the soft ``SIGALRM`` timer of
    :func:`call_trainer`: a trainer stuck inside C code cannot be stopped
    from its own process. Use the process or Ray executor to enforce timeouts.
    """

    max_workers = 1
    can_kill = False

    def submit(
        self, trainer: Any, subset: tuple[str, ...], seed: int, timeout: float | None
    ) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(call_trainer(trainer, subset, seed, timeout))
        except BaseException as exc:  # noqa: B036 - the study tells Ctrl-C from a trainer's
            future.set_exception(exc)
        return future


#: ``prctl`` option: the signal the kernel sends this process when its parent thread exits.
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int, poll: float = 1.0) -> None:
    """Make this worker process die with the driver that started it.

    Without it, a ``kill -9`` of the driver leaves its pool workers training on (on a
    GPU: holding memory, writing to the output folder the rerun's workers then use).
    Linux delivers SIGKILL at the parent's death (``PR_SET_PDEATHSIG``); elsewhere, and
    as a fallback, a daemon thread kills the worker once its parent pid changes.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the watchdog alone
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

    def watchdog() -> None:
        while True:
            time.sleep(poll)
            if os.getppid() != parent_pid:
                os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watchdog, name="adagroup-parent-watchdog", daemon=True).start()


def _init_pool_worker(parent_pid: int) -> None:
    """Initializer of process-pool workers."""
    _die_with_parent(parent_pid)
    # Ctrl-C in a terminal reaches the whole process group; the driver alone handles it
    # (and then stops its workers), so a KeyboardInterrupt in a worker is the trainer's own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ProcessExecutor(BaseExecutor):
    """A local pool of ``n_jobs`` worker processes (``spawn`` start method).

    The trainer must be picklable: a module-level function or class instance.
    A run past its timeout is first interrupted in its worker (``SIGALRM``);
    if it still does not return, :meth:`kill` terminates the pool's processes
    and the next submission starts a fresh pool (runs in flight then fail and
    are retried).

    Parameters
    ----------
    n_jobs : int
        Number of worker processes.
    """

    can_kill = True

    def __init__(self, n_jobs: int) -> None:
        self.max_workers = int(n_jobs)
        self._pool: Any = None

    def _get_pool(self) -> Any:
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(
                max_workers=self.max_workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_pool_worker,
                initargs=(os.getpid(),),
            )
        return self._pool

    def submit(
        self, trainer: Any, subset: tuple[str, ...], seed: int, timeout: float | None
    ) -> Future[Any]:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self._get_pool().submit(call_trainer, trainer, subset, seed, timeout)
        except BrokenProcessPool:
            self._discard_pool()
            return self._get_pool().submit(call_trainer, trainer, subset, seed, timeout)

    def _discard_pool(self, kill: bool = True) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kill:
            # ProcessPoolExecutor cannot cancel a running call; killing its processes is the
            # only way to stop a hung trainer. Other runs in flight fail with BrokenProcessPool.
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                try:
                    proc.kill()
                except Exception:  # pragma: no cover - already gone
                    pass
        pool.shutdown(wait=not kill, cancel_futures=True)

    def kill(self, future: Future[Any]) -> None:
        self._discard_pool(kill=True)

    def shutdown(self, *, kill: bool = False) -> None:
        self._discard_pool(kill=kill)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ImportError(
            'executor="ray" needs Ray. Install it with: pip install "adagroup[ray]"'
        ) from exc
    return ray


def _ray_call(trainer: Any, subset: tuple[str, ...], seed: int, timeout: float | None) -> Any:
    return call_trainer(trainer, subset, seed, timeout)


_RAY_OPTION_KEYS = ("num_cpus", "num_gpus", "memory", "accelerator_type", "runtime_env")
#: Task option -> the key under which ``ray.cluster_resources()`` reports that resource.
_RAY_RESOURCE_NAMES = {"num_cpus": "CPU", "num_gpus": "GPU", "memory": "memory"}


def ray_capacity(total: Mapping[str, float], options: Mapping[str, Any]) -> int:
    """How many runs needing ``options`` fit at once in a cluster offering ``total``.

    Parameters
    ----------
    total : dict
        ``ray.cluster_resources()``: ``{"CPU": 8.0, "GPU": 4.0, "memory": ..., custom: n}``.
    options : dict
        Per-run task options (``num_cpus``, ``num_gpus``, ``memory``, ``resources``).

    Returns
    -------
    capacity : int
        At least 1 (a run that does not fit yet waits in Ray's queue).
    """
    slots = []
    for key, name in _RAY_RESOURCE_NAMES.items():
        need = float(options.get(key) or 0)
        if need > 0:
            slots.append(float(total.get(name, 0.0)) / need)
    for key, need in (options.get("resources") or {}).items():
        if float(need) > 0:
            slots.append(float(total.get(key, 0.0)) / float(need))
    return max(1, int(math.floor(min(slots) + 1e-9))) if slots else 1


class RayExecutor(BaseExecutor):
    """Run each training run as a Ray task, on a local instance or a cluster.

    Parameters
    ----------
    n_jobs : int, default=-1
        Runs in flight at once; -1 uses what the cluster can hold given
        ``resources`` (e.g. its GPU count for ``{"num_gpus": 1}``).
    resources : dict, default=None
        Per-run Ray resources: ``num_cpus``, ``num_gpus``, ``memory``,
        ``accelerator_type``, ``runtime_env``; other keys are custom resources.
        Default ``{"num_cpus": 1}``.
    address : str, default=None
        Cluster to join (``"auto"``, ``"ray://host:10001"``). None joins the
        cluster named by ``RAY_ADDRESS`` if set, else starts a local instance.
        An already initialised Ray is used as is.
    init_kwargs : dict, default=None
        Extra arguments for :func:`ray.init` (e.g. ``num_cpus=2`` for a local instance).

    Notes
    -----
    Ray's own task retries are off (``max_retries=0``): the study retries failed
    runs itself, as new attempts. A run past its timeout is cancelled with
    ``ray.cancel(force=True)``, which kills its worker. A local instance started
    here stays up until the process exits or :func:`ray.shutdown` is called.
    """

    can_kill = True

    def __init__(
        self,
        n_jobs: int = -1,
        *,
        resources: Mapping[str, Any] | None = None,
        address: str | None = None,
        init_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        ray = _import_ray()
        self._ray = ray
        if not ray.is_initialized():
            kwargs = dict(init_kwargs or {})
            kwargs.setdefault("ignore_reinit_error", True)
            kwargs.setdefault("log_to_driver", False)
            ray.init(address=address, **kwargs)
        resources = dict(resources or {"num_cpus": 1})
        options = {k: resources.pop(k) for k in _RAY_OPTION_KEYS if k in resources}
        if resources:
            options["resources"] = resources
        options.setdefault("num_cpus", 1)
        self.options = options
        self._remote = ray.remote(max_retries=0)(_ray_call).options(**options)
        self._refs: dict[Future[Any], Any] = {}
        self.max_workers = int(n_jobs) if n_jobs > 0 else self._capacity()

    def _capacity(self) -> int:
        return ray_capacity(self._ray.cluster_resources(), self.options)

    def prepare(self, trainer: Any) -> Any:
        return self._ray.put(trainer)

    def submit(
        self, trainer: Any, subset: tuple[str, ...], seed: int, timeout: float | None
    ) -> Future[Any]:
        ref = self._remote.remote(trainer, subset, seed, timeout)
        future = ref.future()
        self._refs[future] = ref
        future.add_done_callback(lambda f: self._refs.pop(f, None))
        return future

    def kill(self, future: Future[Any]) -> None:
        ref = self._refs.pop(future, None)
        if ref is not None:
            self._ray.cancel(ref, force=True)

    def shutdown(self, *, kill: bool = False) -> None:
        if kill:
            for ref in list(self._refs.values()):
                try:
                    self._ray.cancel(ref, force=True)
                except Exception:  # pragma: no cover - best effort
                    pass
        self._refs.clear()


def make_executor(
    executor: None | str | BaseExecutor,
    n_jobs: int = 1,
    *,
    resources: Mapping[str, Any] | None = None,
    address: str | None = None,
) -> BaseExecutor:
    """Return the executor for ``Study.run``'s ``executor`` and ``n_jobs`` arguments.

    Parameters
    ----------
    executor : {None, "process", "ray"} or BaseExecutor
        None runs in this process when ``n_jobs == 1`` and in a process pool otherwise.
    n_jobs : int, default=1
        Runs in flight at once; -1 means one per CPU (process) or cluster capacity (Ray).
    resources : dict, default=None
        Per-run Ray resources, e.g. ``{"num_gpus": 1}`` (Ray only).
    address : str, default=None
        Ray cluster address (Ray only).

    Returns
    -------
    executor : BaseExecutor
    """
    if isinstance(executor, BaseExecutor):
        return executor
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(
            f"The 'n_jobs' parameter must be a positive int or -1 (all CPUs). Got {n_jobs!r}."
        )
    if resources is not None and executor != "ray":
        raise ValueError(
            "The 'resources' parameter only applies to executor='ray'. "
            f"Got executor={executor!r}; drop resources or use executor='ray'."
        )
    if executor == "ray":
        return RayExecutor(n_jobs, resources=resources, address=address)
    if executor not in (None, "process"):
        raise ValueError(
            "The 'executor' parameter must be None, 'process', 'ray' or a BaseExecutor. "
            f"Got {executor!r} instead."
        )
    workers = (os.cpu_count() or 1) if n_jobs == -1 else n_jobs
    if executor is None and workers == 1:
        return InProcessExecutor()
    return ProcessExecutor(workers)
