"""SQL storage on SQLAlchemy 2.x: a SQLite file on one machine, a server database for many."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple, TypeVar

from ..exceptions import (
    AdagroupError,
    RunUpdateError,
    SchemaVersionError,
    StorageInternalError,
    StudyMismatchError,
    StudyNotFoundError,
)
from ..runs import RunRecord, RunState
from ._base import (
    BaseStorage,
    StudyInfo,
    check_new_tasks,
    check_scores,
    not_running_message,
    subset_key,
)

__all__ = ["SQLStorage", "SCHEMA_VERSION"]

_logger = logging.getLogger(__name__)

#: Version of the table layout written by this adagroup. Bump on any schema change.
SCHEMA_VERSION = 1

#: Key of the PostgreSQL advisory lock that serialises schema creation ("adagroup" in hex).
_SCHEMA_LOCK_KEY = 0x616461677270

_T = TypeVar("_T")
_TABLES: dict[str, Any] = {}


def _import_sqlalchemy() -> Any:
    try:
        import sqlalchemy
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            'SQL storage needs SQLAlchemy 2.x. Install it with: pip install "adagroup[study]"'
        ) from exc
    return sqlalchemy


def _tables() -> dict[str, Any]:
    """Build the table definitions once (SQLAlchemy is imported lazily)."""
    if _TABLES:
        return _TABLES
    sa = _import_sqlalchemy()
    md = sa.MetaData()
    _TABLES["metadata"] = md
    _TABLES["schema_version"] = sa.Table(
        "schema_version", md, sa.Column("version", sa.Integer, primary_key=True)
    )
    _TABLES["studies"] = sa.Table(
        "studies",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(512), nullable=False, unique=True),
        sa.Column("tasks", sa.JSON, nullable=False),
        sa.Column("greater_is_better", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    _TABLES["runs"] = sa.Table(
        "runs",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "study_id", sa.Integer, sa.ForeignKey("studies.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("subset_key", sa.Text, nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False, default=0),
        sa.Column("state", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("heartbeat_at", sa.DateTime),
        sa.Column("retried_from", sa.Integer, sa.ForeignKey("runs.id", ondelete="SET NULL")),
        sa.Column("error", sa.Text),
        sa.Column("worker", sa.String(512)),
        sa.UniqueConstraint("study_id", "subset_key", "seed", "attempt", name="uq_runs_plan"),
        sa.Index("ix_runs_study_state", "study_id", "state"),
    )
    _TABLES["results"] = sa.Table(
        "results",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("task", sa.String(512), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.UniqueConstraint("run_id", "task", name="uq_results_run_task"),
    )
    # Added without a schema-version bump: create_all adds it to older databases, and
    # adagroup versions that predate it never read it.
    _TABLES["study_attrs"] = sa.Table(
        "study_attrs",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "study_id", sa.Integer, sa.ForeignKey("studies.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.UniqueConstraint("study_id", "key", name="uq_study_attrs_key"),
    )
    return _TABLES


_PASSWORD_IN_URL = re.compile(r"(://[^/:@\s]*:)[^@\s]*@")


def mask_password(text: str) -> str:
    """Replace the password of every ``scheme://user:password@host`` in ``text`` by ``***``."""
    return _PASSWORD_IN_URL.sub(r"\1***@", text)


def _is_retryable(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return any(s in text for s in ("database is locked", "database is busy", "deadlock"))


class SQLStorage(BaseStorage):
    """Storage in any database SQLAlchemy can reach (see :class:`BaseStorage` for the contract).

    Parameters
    ----------
    url : str
        SQLAlchemy URL, e.g. ``"sqlite:///study.db"`` (a file, the default choice on
        one machine) or ``"postgresql+psycopg://user@host/db"`` (many machines).
    busy_timeout : float, default=60.0
        SQLite only: seconds a writer waits for the file lock before failing.
    max_retries : int, default=20
        How often a transaction that hit a lock or deadlock is retried (with
        jittered back-off) before :class:`~adagroup.exceptions.StorageInternalError`.
    engine_kwargs : dict, default=None
        Extra keyword arguments for :func:`sqlalchemy.create_engine`.

    Raises
    ------
    SchemaVersionError
        If the database was written by a newer adagroup (or an older, incompatible one).

    Notes
    -----
    Every method is one transaction. On SQLite, write transactions start with
    ``BEGIN IMMEDIATE`` so that two writers never deadlock upgrading a read lock,
    the journal is in WAL mode so readers never block the writer, and
    ``database is locked`` errors are retried. A run is claimed by the
    conditional ``UPDATE runs SET state=RUNNING WHERE id=? AND state=WAITING``
    whose row count tells the winner; on server databases the candidate row is
    selected ``FOR UPDATE SKIP LOCKED``. SQLite works for any number of
    processes on one machine; across machines use a server database (network
    file systems do not implement SQLite's locks reliably).
    """

    def __init__(
        self,
        url: str,
        *,
        busy_timeout: float = 60.0,
        max_retries: int = 20,
        engine_kwargs: dict[str, Any] | None = None,
    ) -> None:
        sa = _import_sqlalchemy()
        self.url = str(url)
        self.busy_timeout = float(busy_timeout)
        self.max_retries = int(max_retries)
        self.engine_kwargs = dict(engine_kwargs or {})
        kwargs = dict(self.engine_kwargs)
        try:
            parsed = sa.engine.make_url(self.url)
        except Exception as exc:
            raise ValueError(
                f"The 'storage' URL {mask_password(self.url)!r} is not a valid SQLAlchemy URL; "
                "use e.g. "
                "'sqlite:///study.db' or 'postgresql+psycopg://user@host/db'."
            ) from exc
        self._sqlite = parsed.get_backend_name() == "sqlite"
        #: Run id -> why that row was skipped (rows no adagroup could have written).
        self.invalid_rows: dict[int, str] = {}
        self._subset_problems: dict[tuple[str, tuple[str, ...]], str | None] = {}
        self._known_tasks: dict[int, tuple[str, ...]] = {}  # study id -> tasks, as last read
        self._lock: Any = contextlib.nullcontext()
        self._file: str | None = None  # a SQLite database file, watched for deletion
        self._file_id: tuple[int, int] | None = None
        if self._sqlite:
            memory = parsed.database in (None, "", ":memory:")
            if not memory and not str(parsed.database).startswith("file:"):
                self._file = os.path.abspath(str(parsed.database))
            if memory:
                # One shared connection, or each thread would see its own empty database.
                kwargs.setdefault("poolclass", sa.pool.StaticPool)
                self._lock = threading.RLock()
            kwargs.setdefault("connect_args", {"check_same_thread": False})
        try:
            self._engine = sa.create_engine(self.url, **kwargs)
        except Exception as exc:
            raise ValueError(
                f"Cannot open storage {mask_password(self.url)!r}: {mask_password(str(exc))}"
            ) from exc
        if self._sqlite:
            self._configure_sqlite(sa)
        self._init_schema()
        if self._file is not None:
            st = os.stat(self._file)
            self._file_id = (st.st_dev, st.st_ino)

    def __repr__(self) -> str:
        return f"SQLStorage({self._engine.url.render_as_string(hide_password=True)!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "busy_timeout": self.busy_timeout,
            "max_retries": self.max_retries,
            "engine_kwargs": self.engine_kwargs,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        url = state.pop("url")
        type(self).__init__(self, url, **state)

    def dispose(self) -> None:
        """Close every pooled connection (call before forking, or when done)."""
        self._engine.dispose()

    # -- plumbing --------------------------------------------------------------------------------

    def _configure_sqlite(self, sa: Any) -> None:
        busy_ms = int(self.busy_timeout * 1000)

        @sa.event.listens_for(self._engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Take over transaction control from pysqlite so BEGIN IMMEDIATE can be issued.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.execute("PRAGMA foreign_keys=ON")
            for _ in range(50):
                try:
                    cur.execute("PRAGMA journal_mode=WAL")
                    break
                except Exception as exc:  # another process is switching the mode right now
                    if not _is_retryable(exc):
                        raise
                    time.sleep(0.05)
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @sa.event.listens_for(self._engine, "begin")
        def _on_begin(conn: Any) -> None:
            write = conn.get_execution_options().get("adagroup_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    def _run(self, fn: Callable[[Any], _T], *, write: bool = True) -> _T:
        """Run ``fn(conn)`` in one transaction; retry on lock errors; wrap database errors."""
        sa = _import_sqlalchemy()
        if self._file is not None and self._file_id is not None:
            self._check_file(self._file)
        delay = 0.01
        integrity_errors = 0
        for attempt in range(self.max_retries + 1):
            try:
                with self._lock, self._engine.connect() as conn:
                    conn = conn.execution_options(adagroup_write=write)
                    with conn.begin():
                        return fn(conn)
            except AdagroupError:
                raise
            except sa.exc.DBAPIError as exc:
                # IntegrityError: a concurrent writer inserted the same plan row first; the
                # re-read after one retry resolves a race, so a second one is a real conflict.
                integrity_errors += isinstance(exc, sa.exc.IntegrityError)
                if attempt < self.max_retries and (
                    _is_retryable(exc)
                    or (isinstance(exc, sa.exc.IntegrityError) and integrity_errors <= 2)
                ):
                    time.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 1.0)
                    continue
                raise StorageInternalError(
                    f"Storage {self!r} failed and the transaction was rolled back: "
                    f"{mask_password(str(exc))}"
                ) from exc
            except sa.exc.SQLAlchemyError as exc:
                raise StorageInternalError(
                    f"Storage {self!r} failed and the transaction was rolled back: "
                    f"{mask_password(str(exc))}"
                ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_file(self, path: str) -> None:
        """Refuse to go on if the SQLite file was deleted or replaced since it was opened.

        Open connections keep writing to a deleted file's inode, so without this check a
        study "completes" into a file nobody can open again, and new connections would
        silently start an empty database at the same path.
        """
        try:
            st = os.stat(path)
            same = (st.st_dev, st.st_ino) == self._file_id
        except FileNotFoundError:
            same = False
        if not same:
            raise StorageInternalError(
                f"The SQLite file {path!r} of {self!r} was deleted or replaced while it "
                "was in use; results written since then are lost. Restore the file (or start "
                "over) and run the study again: finished runs in the file are kept."
            )

    def _init_schema(self) -> None:
        sa = _import_sqlalchemy()
        t = _tables()

        def fn(conn: Any) -> None:
            if self._engine.dialect.name == "postgresql":
                # Processes starting at once on an empty database would each see no tables
                # and race to CREATE them (DuplicateTable); one lock orders them.
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK_KEY})")
            t["metadata"].create_all(conn)
            found = conn.execute(sa.select(sa.func.max(t["schema_version"].c.version))).scalar()
            if found is None:
                conn.execute(sa.insert(t["schema_version"]).values(version=SCHEMA_VERSION))
            elif found > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"Storage {self!r} has schema version {found}, written by a newer "
                    f"adagroup; this one reads version {SCHEMA_VERSION}. Upgrade adagroup "
                    "(pip install -U adagroup)."
                )
            elif found < SCHEMA_VERSION:  # pragma: no cover - only one version exists so far
                raise SchemaVersionError(
                    f"Storage {self!r} has schema version {found}; this adagroup needs "
                    f"{SCHEMA_VERSION} and cannot migrate it."
                )

        try:
            self._run(fn)
        except StorageInternalError as exc:
            # Other servers: a concurrent first start created the tables between our check
            # and our CREATE. They exist now, so the second try only reads the version.
            if "already exists" not in str(exc.__cause__ or exc).lower():
                raise
            self._run(fn)

    def _db_now(self, conn: Any) -> datetime:
        sa = _import_sqlalchemy()
        if self._sqlite:
            # CURRENT_TIMESTAMP has whole seconds on SQLite; %f gives milliseconds.
            value = conn.exec_driver_sql("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')").scalar()
            return datetime.fromisoformat(value)
        value = conn.execute(sa.select(sa.func.current_timestamp())).scalar()
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def _study_row(self, conn: Any, study_id: int) -> Any:
        sa = _import_sqlalchemy()
        studies = _tables()["studies"]
        row = conn.execute(sa.select(studies).where(studies.c.id == study_id)).first()
        if row is None:
            raise StudyNotFoundError(f"No study with id {study_id} in {self!r}.")
        return row

    def _row_problem(self, row: Any, tasks: tuple[str, ...]) -> str | None:
        """Why a run row read back cannot be used (None if it can).

        A shared database may hold rows no adagroup wrote: a subset naming a path or an
        unknown task must never reach a trainer, and one malformed row must not stop
        every worker and ``status``.
        """
        if row.state not in _STATES:
            return f"state={row.state!r} is not a RunState ({sorted(_STATES)})"
        memo = (row.subset_key, tasks)
        if memo not in self._subset_problems:
            self._subset_problems[memo] = _subset_problem(row.subset_key, tasks)
        return self._subset_problems[memo]

    def _valid_rows(self, conn: Any, rows: Sequence[Any]) -> list[Any]:
        """The rows that pass :meth:`_row_problem`; the others are skipped and reported."""
        out = []
        for r in rows:
            # Task lists only grow, so a subset valid for a cached list is valid now; only
            # a row that fails is checked again against the stored list.
            problem = self._row_problem(r, self._known_tasks.get(r.study_id, ()))
            if problem is not None:
                problem = self._row_problem(r, self._fetch_tasks(conn, r.study_id))
            if problem is None:
                out.append(r)
            elif r.id not in self.invalid_rows:
                self.invalid_rows[r.id] = problem
                _logger.warning("Skipped run %s of %r, an invalid row: %s", r.id, self, problem)
        return out

    def _fetch_tasks(self, conn: Any, study_id: int) -> tuple[str, ...]:
        sa = _import_sqlalchemy()
        studies = _tables()["studies"]
        stored = conn.execute(
            sa.select(studies.c.tasks).where(studies.c.id == study_id)
        ).scalar_one_or_none()
        tasks = tuple(stored) if isinstance(stored, list) else ()
        self._known_tasks[study_id] = tasks
        return tasks

    def _record(self, conn: Any, row: Any) -> RunRecord:
        """The record of one row, or KeyError if it is invalid."""
        records = self._records(conn, [row])
        if not records:
            raise KeyError(f"Run {row.id} is an invalid row: {self.invalid_rows.get(row.id)}")
        return records[0]

    def _records(self, conn: Any, rows: Sequence[Any]) -> list[RunRecord]:
        sa = _import_sqlalchemy()
        results = _tables()["results"]
        rows = self._valid_rows(conn, rows)
        scores: dict[int, dict[str, float]] = {}
        done = [r.id for r in rows if r.state == RunState.COMPLETE]
        for i in range(0, len(done), 500):
            chunk = done[i : i + 500]
            q = sa.select(results.c.run_id, results.c.task, results.c.value).where(
                results.c.run_id.in_(chunk)
            )
            for run_id, task, value in conn.execute(q):
                scores.setdefault(run_id, {})[task] = value
        out = []
        for r in rows:
            subset = tuple(json.loads(r.subset_key))
            got = scores.get(r.id, {})
            out.append(
                RunRecord(
                    run_id=r.id,
                    subset=subset,
                    seed=r.seed,
                    state=RunState(r.state),
                    scores={t: got[t] for t in subset if t in got},
                    attempt=r.attempt,
                    retried_from=r.retried_from,
                    error=r.error,
                    started_at=r.started_at,
                    finished_at=r.finished_at,
                    heartbeat_at=r.heartbeat_at,
                    worker=r.worker,
                )
            )
        return out

    def _run_row(self, conn: Any, run_id: int) -> Any:
        sa = _import_sqlalchemy()
        runs = _tables()["runs"]
        row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).first()
        if row is None:
            raise KeyError(f"No run with id {run_id}.")
        return row

    # -- studies -------------------------------------------------------------------------------

    def create_study(self, name: str, tasks: Sequence[str], greater_is_better: bool) -> int:
        sa = _import_sqlalchemy()
        studies = _tables()["studies"]

        def fn(conn: Any) -> int:
            if conn.execute(sa.select(studies.c.id).where(studies.c.name == name)).first():
                raise StudyMismatchError(
                    f"A study named {name!r} already exists; open it with Study({name!r}, ...)."
                )
            res = conn.execute(
                sa.insert(studies).values(
                    name=name,
                    tasks=list(tasks),
                    greater_is_better=bool(greater_is_better),
                    created_at=self._db_now(conn),
                )
            )
            return int(res.inserted_primary_key[0])

        return self._run(fn)

    def get_study_id(self, name: str) -> int:
        sa = _import_sqlalchemy()
        studies = _tables()["studies"]

        def fn(conn: Any) -> int:
            row = conn.execute(sa.select(studies.c.id).where(studies.c.name == name)).first()
            if row is None:
                names = list(
                    conn.execute(sa.select(studies.c.name).order_by(studies.c.id)).scalars()
                )
                raise StudyNotFoundError(
                    f"No study named {name!r} in {self!r}. Existing studies: {names}."
                )
            return int(row.id)

        return self._run(fn, write=False)

    def get_study(self, study_id: int) -> StudyInfo:
        def fn(conn: Any) -> StudyInfo:
            r = self._study_row(conn, study_id)
            return StudyInfo(r.id, r.name, tuple(r.tasks), bool(r.greater_is_better), r.created_at)

        return self._run(fn, write=False)

    def get_all_study_names(self) -> list[str]:
        sa = _import_sqlalchemy()
        studies = _tables()["studies"]
        return self._run(
            lambda conn: list(
                conn.execute(sa.select(studies.c.name).order_by(studies.c.id)).scalars()
            ),
            write=False,
        )

    def delete_study(self, study_id: int) -> None:
        sa = _import_sqlalchemy()
        t = _tables()

        def fn(conn: Any) -> None:
            self._study_row(conn, study_id)
            self._known_tasks.pop(study_id, None)  # the id may be reused
            ids = sa.select(t["runs"].c.id).where(t["runs"].c.study_id == study_id)
            conn.execute(sa.delete(t["results"]).where(t["results"].c.run_id.in_(ids)))
            conn.execute(sa.delete(t["runs"]).where(t["runs"].c.study_id == study_id))
            attrs = t["study_attrs"]
            conn.execute(sa.delete(attrs).where(attrs.c.study_id == study_id))
            conn.execute(sa.delete(t["studies"]).where(t["studies"].c.id == study_id))

        self._run(fn)

    def set_study_attr(self, study_id: int, key: str, value: Any) -> None:
        sa = _import_sqlalchemy()
        attrs = _tables()["study_attrs"]
        text = json.dumps(value, allow_nan=False)

        def fn(conn: Any) -> None:
            self._study_row(conn, study_id)
            where = (attrs.c.study_id == study_id) & (attrs.c.key == str(key))
            # Delete then insert in one transaction: an upsert without dialect-specific SQL.
            conn.execute(sa.delete(attrs).where(where))
            conn.execute(sa.insert(attrs).values(study_id=study_id, key=str(key), value=text))

        self._run(fn)

    def get_study_attrs(self, study_id: int) -> dict[str, Any]:
        sa = _import_sqlalchemy()
        attrs = _tables()["study_attrs"]

        def fn(conn: Any) -> dict[str, Any]:
            self._study_row(conn, study_id)
            rows = conn.execute(
                sa.select(attrs.c.key, attrs.c.value).where(attrs.c.study_id == study_id)
            )
            out: dict[str, Any] = {}
            for key, value in rows:
                try:
                    out[key] = json.loads(value)
                except ValueError:
                    # A shared database may hold anything; a bad row is skipped, not fatal.
                    _logger.warning("study %d: attribute %r is not JSON; skipped", study_id, key)
            return out

        return self._run(fn, write=False)

    def add_study_tasks(self, study_id: int, names: Sequence[str]) -> tuple[str, ...]:

        sa = _import_sqlalchemy()
        studies = _tables()["studies"]

        def fn(conn: Any) -> tuple[str, ...]:
            tasks = tuple(self._study_row(conn, study_id).tasks)
            tasks = tasks + check_new_tasks(tasks, names)
            conn.execute(
                sa.update(studies).where(studies.c.id == study_id).values(tasks=list(tasks))
            )
            return tasks

        return self._run(fn)

    # -- runs ----------------------------------------------------------------------------------

    def enqueue_runs(self, study_id: int, items: Sequence[tuple[Sequence[str], int]]) -> list[int]:
        sa = _import_sqlalchemy()
        runs = _tables()["runs"]
        items = list(items)

        def fn(conn: Any) -> list[int]:
            tasks = tuple(self._study_row(conn, study_id).tasks)
            planned = [(subset_key(s, tasks)[1], int(seed)) for s, seed in items]
            newest_q = (
                sa.select(runs.c.subset_key, runs.c.seed, sa.func.max(runs.c.id))
                .where(runs.c.study_id == study_id)
                .group_by(runs.c.subset_key, runs.c.seed)
            )
            newest = {(k, s): i for k, s, i in conn.execute(newest_q)}
            missing = list(dict.fromkeys(p for p in planned if p not in newest))
            if missing:
                conn.execute(
                    sa.insert(runs),
                    [
                        {
                            "study_id": study_id,
                            "subset_key": k,
                            "seed": s,
                            "attempt": 0,
                            "state": int(RunState.WAITING),
                        }
                        for k, s in missing
                    ],
                )
                newest = {(k, s): i for k, s, i in conn.execute(newest_q)}
            return [int(newest[p]) for p in planned]

        return self._run(fn)

    def claim_run(self, study_id: int, worker: str | None = None) -> RunRecord | None:
        sa = _import_sqlalchemy()
        runs = _tables()["runs"]

        def fn(conn: Any) -> RunRecord | None:
            while True:
                q = (
                    sa.select(runs)
                    .where(runs.c.study_id == study_id, runs.c.state == int(RunState.WAITING))
                    .order_by(runs.c.id)
                    .limit(1)
                )
                if not self._sqlite:
                    q = q.with_for_update(skip_locked=True)
                row = conn.execute(q).first()
                if row is None:
                    return None
                if not self._valid_rows(conn, [row]):
                    # Never hand a trainer a planted or corrupt row; FAIL it so that no
                    # worker picks it again (the reason is in invalid_rows and the log).
                    conn.execute(
                        sa.update(runs)
                        .where(runs.c.id == row.id, runs.c.state == int(RunState.WAITING))
                        .values(
                            state=int(RunState.FAIL),
                            error=f"rejected by adagroup: {self.invalid_rows.get(row.id)}",
                        )
                    )
                    continue
                now = self._db_now(conn)
                res = conn.execute(
                    sa.update(runs)
                    .where(runs.c.id == row.id, runs.c.state == int(RunState.WAITING))
                    .values(
                        state=int(RunState.RUNNING),
                        started_at=now,
                        heartbeat_at=now,
                        worker=worker,
                    )
                )
                if res.rowcount == 1:
                    return self._record(conn, self._run_row(conn, row.id))
                # Another worker won this run between our SELECT and UPDATE: take the next.

        return self._run(fn)

    def record_heartbeat(self, run_id: int) -> bool:
        sa = _import_sqlalchemy()
        runs = _tables()["runs"]

        def fn(conn: Any) -> bool:
            res = conn.execute(
                sa.update(runs)
                .where(runs.c.id == run_id, runs.c.state == int(RunState.RUNNING))
                .values(heartbeat_at=self._db_now(conn))
            )
            return res.rowcount == 1

        return self._run(fn)

    def complete_run(self, run_id: int, scores: Mapping[str, float]) -> RunRecord:
        sa = _import_sqlalchemy()
        t = _tables()
        runs = t["runs"]

        def fn(conn: Any) -> RunRecord:
            row = self._run_row(conn, run_id)
            if row.state != RunState.RUNNING:
                raise RunUpdateError(not_running_message(run_id, RunState(row.state), "complete"))
            values = check_scores(scores, json.loads(row.subset_key))
            res = conn.execute(
                sa.update(runs)
                .where(runs.c.id == run_id, runs.c.state == int(RunState.RUNNING))
                .values(state=int(RunState.COMPLETE), finished_at=self._db_now(conn))
            )
            if res.rowcount != 1:  # pragma: no cover - the conditional UPDATE above lost a race
                raise RunUpdateError(not_running_message(run_id, RunState.COMPLETE, "complete"))
            conn.execute(
                sa.insert(t["results"]),
                [{"run_id": run_id, "task": k, "value": v} for k, v in values.items()],
            )
            return self._record(conn, self._run_row(conn, run_id))

        return self._run(fn)

    def fail_run(self, run_id: int, error: str, *, retry: bool = False) -> int | None:
        sa = _import_sqlalchemy()
        runs = _tables()["runs"]

        def fn(conn: Any) -> int | None:
            row = self._run_row(conn, run_id)
            res = conn.execute(
                sa.update(runs)
                .where(
                    runs.c.id == run_id,
                    runs.c.state.in_([int(RunState.WAITING), int(RunState.RUNNING)]),
                )
                .values(state=int(RunState.FAIL), error=str(error), finished_at=self._db_now(conn))
            )
            if res.rowcount != 1:
                state = RunState(self._run_row(conn, run_id).state)
                raise RunUpdateError(not_running_message(run_id, state, "fail"))
            if not retry:
                return None
            return _insert_retry(conn, row)

        return self._run(fn)

    def retry_run(self, run_id: int) -> int:
        sa = _import_sqlalchemy()
        runs = _tables()["runs"]

        def fn(conn: Any) -> int:
            row = self._run_row(conn, run_id)
            newest = conn.execute(
                sa.select(sa.func.max(runs.c.id)).where(
                    runs.c.study_id == row.study_id,
                    runs.c.subset_key == row.subset_key,
                    runs.c.seed == row.seed,
                )
            ).scalar()
            if row.state != RunState.FAIL or newest != run_id:
                raise RunUpdateError(
                    f"Cannot retry run {run_id}: only the newest attempt of a FAIL run can be "
                    f"retried (it is {RunState(row.state).name}, newest attempt is run {newest})."
                )
            return _insert_retry(conn, row)

        return self._run(fn)

    def get_run(self, run_id: int) -> RunRecord:
        return self._run(lambda conn: self._record(conn, self._run_row(conn, run_id)), write=False)

    def get_all_runs(
        self, study_id: int, states: Sequence[RunState] | None = None
    ) -> list[RunRecord]:
        sa = _import_sqlalchemy()
        runs = _tables()["runs"]

        def fn(conn: Any) -> list[RunRecord]:
            self._study_row(conn, study_id)
            q = sa.select(runs).where(runs.c.study_id == study_id).order_by(runs.c.id)
            if states is not None:
                q = q.where(runs.c.state.in_([int(RunState(s)) for s in states]))
            return self._records(conn, conn.execute(q).all())

        return self._run(fn, write=False)

    def count_runs(self, study_id: int) -> dict[RunState, int]:
        sa = _import_sqlalchemy()
        runs = _tables()["runs"]

        def fn(conn: Any) -> dict[RunState, int]:
            # Grouped by subset too, so that rows that are skipped elsewhere are not counted.
            q = (
                sa.select(runs.c.state, runs.c.subset_key, sa.func.count(), sa.func.min(runs.c.id))
                .where(runs.c.study_id == study_id)
                .group_by(runs.c.state, runs.c.subset_key)
            )
            groups = conn.execute(q).all()
            keys = [
                _Row(id=first, study_id=study_id, state=state, subset_key=key)
                for state, key, _n, first in groups
            ]
            valid = {(r.state, r.subset_key) for r in self._valid_rows(conn, keys)}
            counts = dict.fromkeys(RunState, 0)
            for state, key, n, _first in groups:
                if (state, key) in valid:
                    counts[RunState(state)] += int(n)
            return counts

        return self._run(fn, write=False)

    def get_stale_runs(self, study_id: int, grace_period: float) -> list[RunRecord]:
        sa = _import_sqlalchemy()
        runs = _tables()["runs"]

        def fn(conn: Any) -> list[RunRecord]:
            limit = self._db_now(conn) - timedelta(seconds=float(grace_period))
            q = (
                sa.select(runs)
                .where(
                    runs.c.study_id == study_id,
                    runs.c.state == int(RunState.RUNNING),
                    sa.func.coalesce(runs.c.heartbeat_at, runs.c.started_at) < limit,
                )
                .order_by(runs.c.id)
            )
            return self._records(conn, conn.execute(q).all())

        return self._run(fn, write=False)

    def now(self) -> datetime:
        return self._run(self._db_now, write=False)


_STATES = frozenset(int(s) for s in RunState)


class _Row(NamedTuple):
    id: int
    study_id: int
    state: int
    subset_key: str


def _subset_problem(key: Any, tasks: tuple[str, ...]) -> str | None:
    """Why ``key`` is not the canonical subset key of tasks of the study (None if it is)."""
    text = repr(key) if len(repr(key)) <= 80 else repr(key)[:77] + "..."
    try:
        subset = json.loads(key)
    except (TypeError, ValueError):
        return f"subset_key {text} is not JSON"
    if not isinstance(subset, list) or not all(isinstance(t, str) for t in subset):
        return f"subset_key {text} is not a JSON list of task names"
    try:
        canonical = subset_key(subset, tasks)[1]
    except ValueError as exc:
        return f"subset_key {text}: {exc}"
    if canonical != key:
        return f"subset_key {text} is not in study task order (expected {canonical!r})"
    return None


def _insert_retry(conn: Any, row: Any) -> int:
    """Add the next attempt of the run ``row`` as WAITING; return its id."""
    sa = _import_sqlalchemy()
    new = conn.execute(
        sa.insert(_tables()["runs"]).values(
            study_id=row.study_id,
            subset_key=row.subset_key,
            seed=row.seed,
            attempt=row.attempt + 1,
            state=int(RunState.WAITING),
            retried_from=row.id,
        )
    )
    return int(new.inserted_primary_key[0])
