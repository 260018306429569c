"""One call of Study.run: claim runs, submit them, record results, heartbeat, reap."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, wait
from typing import TYPE_CHECKING, Any

from ..exceptions import (
    RunUpdateError,
    TrainerError,
)
from ..runs import RunRecord, RunState
from ..storage._base import check_scores
from ._failures import (
    INTERRUPTED,
    WORKER_DIED,
    _exception_kind,
)

if TYPE_CHECKING:
    from ._study import Study

_logger = logging.getLogger(__name__)


#: ``timeout="auto"``: once this many runs of a :meth:`Study.run` call have completed, a run
#: is killed when it has run ``AUTO_TIMEOUT_FACTOR`` times as long as the slowest of them, and
#: at least ``AUTO_TIMEOUT_FLOOR`` seconds (executors that can kill a run only).
AUTO_TIMEOUT_MIN_RUNS = 3
AUTO_TIMEOUT_FACTOR = 10.0
AUTO_TIMEOUT_FLOOR = 600.0


class _RunLoop:
    """One call of :meth:`Study.run`: claim, submit, record, heartbeat, reap."""

    def __init__(
        self,
        study: Study,
        executor: Any,
        trainer: Any,
        catch: tuple[type[BaseException], ...],
        max_retries: int,
        heartbeat_interval: float,
        grace: float,
        timeout: float | str | None,
    ) -> None:
        self.study = study
        self.executor = executor
        self.trainer = executor.prepare(trainer)
        self.catch = catch
        self.max_retries = max_retries
        self.heartbeat_interval = heartbeat_interval
        self.grace = grace
        self.timeout = timeout
        self.durations: list[float] = []  # seconds of the runs completed by this call
        # run, and its start on this process's monotonic clock
        self.inflight: dict[Future[Any], tuple[RunRecord, float]] = {}
        self.claimed: RunRecord | None = None  # claimed but not yet in inflight
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.n_done = self.n_failed = self.n_broken_pool = 0
        self.signalled: int | None = None  # the signal that interrupts this driver, if any

    def _watch_signals(self) -> dict[int, Any]:
        """Note SIGINT/SIGTERM of the driver, then let the handlers in place act as before.

        A ``KeyboardInterrupt`` raised by the trainer itself is its own failure, while
        one from a signal interrupts the study; only the handler can tell them apart.
        Returns the handlers to restore (none outside the main thread).
        """
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous: dict[int, Any] = {}

        def handler(signum: int, frame: Any) -> None:
            self.signalled = signum
            before = previous[signum]
            if callable(before):
                before(signum, frame)
            elif before == signal.SIG_DFL:
                if signum == signal.SIGINT:
                    raise KeyboardInterrupt
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)

        for signum in (signal.SIGINT, signal.SIGTERM):
            before = signal.getsignal(signum)
            if before is None or before == signal.SIG_IGN:
                continue  # not set from Python, or ignored: leave it
            previous[signum] = before
            signal.signal(signum, handler)
        return previous

    # heartbeats run in a thread so that they continue while an in-process trainer runs
    def _beat(self) -> None:
        while not self.stop.wait(self.heartbeat_interval):
            with self.lock:
                ids = [r.run_id for r, _ in self.inflight.values()]
                if self.claimed is not None:
                    ids.append(self.claimed.run_id)
            for run_id in ids:
                try:
                    if not self.study.storage.record_heartbeat(run_id):
                        _logger.warning("Run %d is no longer RUNNING (reaped?)", run_id)
                except Exception:  # a failed beat must not kill the study; the next one may work
                    _logger.exception("Heartbeat of run %d failed", run_id)

    def execute(self, *, progress: bool, wait_for_others: bool) -> None:
        study = self.study
        try:
            counts = study.summary()
            self.bar = _make_bar(progress, counts[RunState.WAITING], study.name)
        except BaseException:
            self.executor.shutdown(kill=True)
            raise
        handlers = self._watch_signals()
        beat = threading.Thread(target=self._beat, name="adagroup-heartbeat", daemon=True)
        beat.start()
        poll = min(1.0, self.heartbeat_interval)
        last_reap = -float("inf")
        try:
            while True:
                now = time.monotonic()
                if now - last_reap >= min(self.heartbeat_interval, 5.0):
                    self._reap()
                    last_reap = now
                while len(self.inflight) < self.executor.max_workers:
                    with self.lock:
                        self.claimed = study.claim()
                    if self.claimed is None:
                        break
                    self._submit(self.claimed)
                if not self.inflight:
                    counts = study.summary()
                    if counts[RunState.WAITING] == 0 and (
                        counts[RunState.RUNNING] == 0 or not wait_for_others
                    ):
                        break
                    time.sleep(poll)
                    self._reap()
                    last_reap = time.monotonic()
                    continue
                done, _ = wait(list(self.inflight), timeout=poll, return_when=FIRST_COMPLETED)
                for future in done:
                    self._record(future)
                self._enforce_deadlines()
        except BaseException as exc:
            self._abort(exc)
            raise
        finally:
            for signum, before in handlers.items():
                signal.signal(signum, before)
            self.stop.set()
            beat.join(timeout=5)
            self.bar.close()
        self.executor.shutdown()

    def _reap(self) -> None:
        with self.lock:
            mine = [r.run_id for r, _ in self.inflight.values()]
        reaped = self.study.reap_stale(self.grace, self.max_retries, exclude=mine)
        if reaped:
            self.bar.total += len(reaped)
            self.bar.refresh()

    def _hard_limit(self) -> float | None:
        """Seconds after which a run in flight is killed, or None for no limit (yet)."""
        if not self.executor.can_kill:
            return None
        if isinstance(self.timeout, (int, float)):
            # The soft timeout fires first; the kill is for trainers stuck in C code.
            return self.timeout + max(2.0, 0.1 * self.timeout)
        if self.timeout == "auto" and len(self.durations) >= AUTO_TIMEOUT_MIN_RUNS:
            return max(AUTO_TIMEOUT_FLOOR, AUTO_TIMEOUT_FACTOR * max(self.durations))
        return None

    def _submit(self, run: RunRecord) -> None:
        soft = self.timeout if isinstance(self.timeout, (int, float)) else None
        start = time.monotonic()
        future = self.executor.submit(self.trainer, run.subset, run.seed, soft)
        with self.lock:
            self.inflight[future] = (run, start)
            self.claimed = None
        if future.done():
            self._record(future)

    def _record(self, future: Future[Any]) -> None:
        with self.lock:
            entry = self.inflight.pop(future, None)
        if entry is None:
            return
        run, start = entry
        exc: BaseException | None
        if future.cancelled():
            exc = RuntimeError("the run was cancelled by its executor")
        else:
            exc = future.exception()
        if exc is None:
            try:
                scores = check_scores(future.result(), run.subset)
                self.study.complete(run, scores)
                self.durations.append(time.monotonic() - start)
                self.n_done += 1
                self._tick()
                return
            except TrainerError as err:
                exc = err
            except RunUpdateError as err:  # reaped while it ran: its retry will train it
                _logger.warning("Result of run %d dropped: %s", run.run_id, err)
                self._tick()
                return
        if isinstance(exc, KeyboardInterrupt) and self.signalled:
            # Ctrl-C/SIGTERM of the driver landed inside an in-process trainer: not its fault.
            with self.lock:
                self.claimed = run  # _abort records it as interrupted, with the others
            raise exc
        self._fail(run, exc)
        if not isinstance(exc, self.catch):
            raise exc

    def _fail(self, run: RunRecord, exc: BaseException) -> None:
        # A pool broken by a neighbour (a killed hung run) is not this run's fault, so it has
        # its own budget; bounded, because a pool that can never start (an unpicklable
        # trainer, a script without a __main__ guard) would otherwise retry forever.
        kind = _exception_kind(exc)
        retry = self.study._may_retry(run, kind, self.max_retries)
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).strip()
        if kind == "worker":
            text = f"{WORKER_DIED}: {text}"
        elif not isinstance(exc, Exception):
            text = (
                f"The trainer raised {type(exc).__name__}, which is not an Exception; it is "
                "recorded as the trainer's failure (retried within max_retries).\n" + text
            )
        try:
            new_id = self.study.fail(run, text, retry=retry)
        except RunUpdateError:  # reaped meanwhile
            return
        self.n_failed += 1
        self.n_broken_pool += isinstance(exc, BrokenExecutor)
        _logger.warning(
            "Run %d on %s (seed %d, attempt %d) failed: %s%s",
            run.run_id,
            list(run.subset),
            run.seed,
            run.attempt,
            f"{type(exc).__name__}: {exc}",
            f"; retried as run {new_id}" if new_id else "",
        )
        if new_id is not None:
            self.bar.total += 1
        self._tick()

    def _enforce_deadlines(self) -> None:
        limit = self._hard_limit()
        if limit is None:
            return
        now = time.monotonic()
        for future, (run, start) in list(self.inflight.items()):
            if now - start > limit and not future.done():
                with self.lock:
                    self.inflight.pop(future, None)
                self.executor.kill(future)
                if self.timeout == "auto":
                    why = (
                        f"killed after {limit:.0f} s by timeout='auto' ({AUTO_TIMEOUT_FACTOR:g} "
                        f"x the slowest of {len(self.durations)} completed runs, at least "
                        f"{AUTO_TIMEOUT_FLOOR:g} s); pass a number as timeout (--timeout) to "
                        "allow longer runs"
                    )
                else:
                    why = f"killed after timeout={self.timeout} s"
                self._fail(run, TimeoutError(why))

    def _abort(self, exc: BaseException) -> None:
        """Leave the store consistent when the loop dies (Ctrl-C or an uncaught error)."""
        reason = f"{INTERRUPTED}: {type(exc).__name__}: {exc}".rstrip(": ")
        with self.lock:
            runs = [r for r, _ in self.inflight.values()]
            if self.claimed is not None:
                runs.append(self.claimed)
            self.inflight.clear()
            self.claimed = None
        for run in runs:
            try:
                self.study.fail(run, reason, retry=True)
            except Exception:  # already finished, or the storage itself is the problem
                _logger.exception("Could not record run %d as interrupted", run.run_id)
        try:
            self.executor.shutdown(kill=True)
        except Exception:  # pragma: no cover - best effort while unwinding
            _logger.exception("Executor shutdown failed")

    def _tick(self) -> None:
        self.bar.update(1)
        self.bar.set_postfix(
            done=self.n_done,
            failed=self.n_failed,
            left=max(0, self.bar.total - self.bar.n),
            refresh=False,
        )


class _NoBar:
    total = 0
    n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, **kwargs: Any) -> None:
        pass

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass


def _make_bar(progress: bool, total: int, name: str) -> Any:
    if progress:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            _logger.info('No progress bar: pip install "adagroup[study]" for tqdm')
        else:
            return tqdm(total=total, desc=f"study {name}", unit="run", dynamic_ncols=True)
    bar = _NoBar()
    bar.total = total
    return bar
