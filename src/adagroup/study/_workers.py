"""Who runs a run: worker ids, and whether a local worker is still alive."""

from __future__ import annotations

import os
import socket


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return "-"


def worker_id() -> str:
    """Identity of this process as a worker: ``host|pid-namespace|pid``."""
    return f"{socket.gethostname()}|{_pid_namespace()}|{os.getpid()}"


def _is_dead_local_worker(worker: str | None) -> bool:
    """True if ``worker`` is a process on this machine (same pid namespace) that has exited."""
    if not worker:
        return False
    parts = worker.split("|")
    if len(parts) != 3 or parts[0] != socket.gethostname() or parts[1] != _pid_namespace():
        return False
    try:
        pid = int(parts[2])
    except ValueError:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False
