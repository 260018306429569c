"""Why runs fail, and how many retries each kind of failure gets."""

from __future__ import annotations

from concurrent.futures import BrokenExecutor

#: Retries of a run whose worker process died under it (a broken pool, a crashed Ray worker).
INFRA_RETRIES = 3

#: Retries of a run reaped because its driver died or stopped heartbeating (``kill -9``,
#: preemption). Bounded only so that a trainer that kills its own driver cannot loop forever.
REAP_RETRIES = 10

#: Error text of runs failed by Ctrl-C or SIGTERM of the driver; such runs are always retried.
INTERRUPTED = "interrupted"

#: Error prefixes of the failures that are not the trainer's (see :func:`failure_kind`).
STALE = "stale"
WORKER_DIED = "worker died"

#: Ray exceptions raised when the worker or node under a run died (not the trainer's error).
_RAY_INFRA_ERRORS = frozenset(
    {
        "WorkerCrashedError",
        "NodeDiedError",
        "LocalRayletDiedError",
        "OwnerDiedError",
        "ObjectLostError",
        "RaySystemError",
    }
)


def failure_kind(error: str | None) -> str:
    """Classify a FAIL run's ``error``: why it failed decides how often it is retried.

    Returns
    -------
    kind : {"trainer", "worker", "reaped", "interrupted"}
        ``"trainer"``: the trainer raised, returned bad scores or timed out (counts
        against ``max_retries``). ``"worker"``: the worker process died under it
        (``INFRA_RETRIES``). ``"reaped"``: its driver died or stopped heartbeating
        (``REAP_RETRIES``). ``"interrupted"``: the driver got Ctrl-C/SIGTERM (always retried).
    """
    text = error or ""
    if text.startswith(INTERRUPTED):
        return "interrupted"
    if text.startswith(STALE):
        return "reaped"
    if text.startswith(WORKER_DIED) or "BrokenProcessPool" in text:
        return "worker"
    return "trainer"


def _exception_kind(exc: BaseException) -> str:
    if isinstance(exc, BrokenExecutor):
        return "worker"
    if type(exc).__module__.startswith("ray") and type(exc).__name__ in _RAY_INFRA_ERRORS:
        return "worker"
    return "trainer"
