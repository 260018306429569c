"""Fake trainers for the study tests: deterministic, picklable, counting their calls in a file.

Every trainer appends one line ``subset|seed|pid`` per call to ``count_file`` (appends of a
short line are atomic on POSIX), so tests can tell which runs were trained how often,
across processes. Scores depend only on (task, subset, seed), so a resumed study must
end with exactly the scores of an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter

COUNT_ENV = "ADAGROUP_TEST_COUNT_FILE"
SLEEP_ENV = "ADAGROUP_TEST_SLEEP"


def score(task: str, subset: tuple[str, ...], seed: int) -> float:
    """A deterministic pseudo-random score in [0, 1)."""
    key = f"{task}|{','.join(sorted(subset))}|{seed}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:6], "big") / 2**48


def scores(subset: tuple[str, ...], seed: int) -> dict[str, float]:
    return {t: score(t, subset, seed) for t in subset}


def record_call(count_file: str | None, subset: tuple[str, ...], seed: int) -> int:
    """Append this call to ``count_file``; return how often this (subset, seed) ran before."""
    if not count_file:
        return 0
    key = f"{','.join(subset)}|{seed}"
    previous = 0
    if os.path.exists(count_file):
        with open(count_file) as fh:
            previous = sum(1 for line in fh if line.rsplit("|", 1)[0] == key)
    with open(count_file, "a") as fh:
        fh.write(f"{key}|{os.getpid()}\n")
    return previous


def read_calls(count_file: str) -> Counter:
    """Calls per ``(subset, seed)`` recorded in ``count_file``."""
    out: Counter = Counter()
    if not os.path.exists(count_file):
        return out
    with open(count_file) as fh:
        for line in fh:
            subset, seed, _pid = line.strip().split("|")
            out[(tuple(subset.split(",")), int(seed))] += 1
    return out


class CountingTrainer:
    """Succeeds every time, after ``sleep`` seconds."""

    def __init__(self, count_file: str | None = None, sleep: float = 0.0) -> None:
        self.count_file = count_file
        self.sleep = sleep

    def __call__(self, subset: tuple[str, ...], seed: int) -> dict[str, float]:
        record_call(self.count_file, subset, seed)
        if self.sleep:
            time.sleep(self.sleep)
        return scores(subset, seed)


def counting() -> CountingTrainer:
    """Zero-argument factory for the CLI: configured by environment variables."""
    return CountingTrainer(os.environ.get(COUNT_ENV), float(os.environ.get(SLEEP_ENV, "0")))


class FlakyTrainer:
    """Misbehaves on the first ``fail_first`` calls of each (subset, seed), then succeeds.

    ``kind`` is "raise" (RuntimeError), "nan" (a NaN score), "missing" (drops a task),
    "extra" (adds an unknown task) or "hang" (sleeps ``hang`` seconds). Only subsets that
    contain ``target`` misbehave (every subset if ``target`` is None). ``fail_first=-1``
    misbehaves forever.
    """

    def __init__(
        self,
        count_file: str,
        kind: str = "raise",
        fail_first: int = 1,
        target: str | None = None,
        hang: float = 60.0,
    ) -> None:
        self.count_file = count_file
        self.kind = kind
        self.fail_first = fail_first
        self.target = target
        self.hang = hang

    def __call__(self, subset: tuple[str, ...], seed: int) -> dict[str, float]:
        previous = record_call(self.count_file, subset, seed)
        bad = (self.target is None or self.target in subset) and (
            self.fail_first < 0 or previous < self.fail_first
        )
        out = scores(subset, seed)
        if not bad:
            return out
        if self.kind == "raise":
            raise RuntimeError(f"planned failure on {subset}")
        if self.kind == "nan":
            out[subset[0]] = float("nan")
        elif self.kind == "missing":
            del out[subset[0]]
        elif self.kind == "extra":
            out["not-a-task"] = 1.0
        elif self.kind == "hang":
            time.sleep(self.hang)
        return out


class LossTrainer(CountingTrainer):
    """A trainer that declares lower scores better."""

    greater_is_better = False


def plain_function(subset: tuple[str, ...], seed: int) -> dict[str, float]:
    """A trainer that is a plain function."""
    return scores(subset, seed)


class PoolKiller:
    """Kills the worker process it runs in, so the process pool breaks on every call."""

    def __call__(self, subset: tuple[str, ...], seed: int) -> dict[str, float]:
        os._exit(1)


class IntervalTrainer:
    """Appends ``start end pid`` (wall clock) of each call to ``log_file``.

    Each call first waits (up to ``patience`` s) until ``rendezvous`` calls have started, so
    runs that can overlap do, however slowly workers start; sequential runs wait out the
    patience and show an overlap of 1.
    """

    def __init__(self, log_file: str, rendezvous: int = 2, patience: float = 60.0) -> None:
        self.log_file = log_file
        self.rendezvous = rendezvous
        self.patience = patience

    def __call__(self, subset: tuple[str, ...], seed: int) -> dict[str, float]:
        start = time.time()
        with open(self.log_file + ".starts", "a") as fh:
            fh.write(f"{start}\n")
        while time.time() < start + self.patience:
            with open(self.log_file + ".starts") as fh:
                if sum(1 for _ in fh) >= self.rendezvous:
                    break
            time.sleep(0.02)
        time.sleep(0.2)
        with open(self.log_file, "a") as fh:
            fh.write(f"{start} {time.time()} {os.getpid()}\n")
        return scores(subset, seed)


def max_overlap(log_file: str) -> int:
    """Most runs of an :class:`IntervalTrainer` log that were in progress at one instant."""
    events = []
    with open(log_file) as fh:
        for line in fh:
            start, end, _pid = line.split()
            events += [(float(start), 1), (float(end), -1)]
    best = current = 0
    for _t, step in sorted(events, key=lambda e: (e[0], e[1])):
        current += step
        best = max(best, current)
    return best


def failing_on_b() -> FlakyTrainer:
    """Zero-argument factory for the CLI: every subset with task "b" always raises."""
    return FlakyTrainer(os.environ.get(COUNT_ENV, ""), kind="raise", fail_first=-1, target="b")
