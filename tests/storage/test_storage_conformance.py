"""Every storage backend honours the BaseStorage contract (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import pickle
import threading
import time

import pytest

from adagroup.exceptions import (
    RunUpdateError,
    SchemaVersionError,
    StudyMismatchError,
    StudyNotFoundError,
    TrainerError,
)
from adagroup.runs import RunState
from adagroup.storage import BaseStorage, InMemoryStorage, get_storage

STORAGE_MODES = ["memory", "sqlite", "postgresql"]
TASKS = ("a", "b", "c", "d")


@pytest.fixture(params=STORAGE_MODES)
def storage(request, tmp_path) -> BaseStorage:
    if request.param == "memory":
        store: BaseStorage = InMemoryStorage()
    elif request.param == "postgresql":
        store = get_storage(request.getfixturevalue("postgres_url"))
    else:
        store = get_storage(f"sqlite:///{tmp_path / 'study.db'}")
    yield store
    if hasattr(store, "dispose"):
        store.dispose()  # server connections are a limited resource


@pytest.fixture
def study_id(storage) -> int:
    return storage.create_study("s", TASKS, True)


def test_create_and_get_study(storage):
    sid = storage.create_study("s", TASKS, False)
    info = storage.get_study(sid)
    assert (info.name, info.tasks, info.greater_is_better) == ("s", TASKS, False)
    assert storage.get_study_id("s") == sid
    storage.create_study("t", ["x"], True)
    assert storage.get_all_study_names() == ["s", "t"]


def test_duplicate_and_missing_study(storage, study_id):
    with pytest.raises(StudyMismatchError, match="already exists"):
        storage.create_study("s", TASKS, True)
    with pytest.raises(StudyNotFoundError, match=r"Existing studies: \['s'\]"):
        storage.get_study_id("nope")


def test_add_study_tasks_appends(storage, study_id):
    assert storage.add_study_tasks(study_id, ["e", "f"]) == (*TASKS, "e", "f")
    assert storage.get_study(study_id).tasks == (*TASKS, "e", "f")
    with pytest.raises(ValueError, match="already tasks"):
        storage.add_study_tasks(study_id, ["a"])


def test_enqueue_is_idempotent_and_canonical(storage, study_id):
    ids = storage.enqueue_runs(study_id, [(("b", "a"), 0), (("c",), 0), (("a", "b"), 1)])
    assert len(set(ids)) == 3
    again = storage.enqueue_runs(study_id, [(("a", "b"), 0), (("b", "a"), 0), (("c",), 0)])
    assert again == [ids[0], ids[0], ids[1]]
    runs = storage.get_all_runs(study_id)
    assert len(runs) == 3
    assert runs[0].subset == ("a", "b") and runs[0].state == RunState.WAITING
    with pytest.raises(ValueError, match="Unknown tasks"):
        storage.enqueue_runs(study_id, [(("zz",), 0)])
    with pytest.raises(ValueError, match="distinct"):
        storage.enqueue_runs(study_id, [(("a", "a"), 0)])


def test_claim_is_ordered_and_exclusive(storage, study_id):
    ids = storage.enqueue_runs(study_id, [(("a",), 0), (("b",), 0)])
    first = storage.claim_run(study_id, "w1")
    second = storage.claim_run(study_id, "w2")
    assert (first.run_id, second.run_id) == tuple(ids)
    assert first.state == RunState.RUNNING and first.worker == "w1"
    assert first.started_at is not None and first.heartbeat_at is not None
    assert storage.claim_run(study_id) is None


def test_complete_writes_scores_once(storage, study_id):
    storage.enqueue_runs(study_id, [(("a", "b"), 0)])
    run = storage.claim_run(study_id)
    done = storage.complete_run(run.run_id, {"a": 0.5, "b": 1})
    assert done.state == RunState.COMPLETE and done.scores == {"a": 0.5, "b": 1.0}
    assert done.finished_at >= done.started_at
    with pytest.raises(RunUpdateError, match="immutable"):
        storage.complete_run(run.run_id, {"a": 0.0, "b": 0.0})
    with pytest.raises(RunUpdateError):
        storage.fail_run(run.run_id, "late")
    assert storage.get_run(run.run_id).scores == {"a": 0.5, "b": 1.0}


def test_complete_requires_running(storage, study_id):
    (run_id,) = storage.enqueue_runs(study_id, [(("a",), 0)])
    with pytest.raises(RunUpdateError, match="WAITING"):
        storage.complete_run(run_id, {"a": 1.0})


@pytest.mark.parametrize(
    "scores, match",
    [
        ({"a": 1.0}, "Missing"),
        ({"a": 1.0, "b": float("nan")}, "finite"),
        ({"a": 1.0, "b": 2.0, "z": 0.0}, "unexpected"),
        ([1.0, 2.0], "dict"),
        ({"a": 1.0, "b": 10**400}, "must be a finite float"),  # OverflowError in float()
        ({"a": "0.5", "b": 1.0}, "Got the str '0.5'"),
        ({"a": 1.0, "b": True}, "Got the bool True"),
    ],
)
def test_complete_rejects_bad_scores_and_keeps_running(storage, study_id, scores, match):
    storage.enqueue_runs(study_id, [(("a", "b"), 0)])
    run = storage.claim_run(study_id)
    with pytest.raises(TrainerError, match=match):
        storage.complete_run(run.run_id, scores)
    again = storage.get_run(run.run_id)
    assert again.state == RunState.RUNNING and again.scores == {}


def test_fail_with_retry_creates_next_attempt(storage, study_id):
    (run_id,) = storage.enqueue_runs(study_id, [(("c", "a"), 3)])
    storage.claim_run(study_id)
    new_id = storage.fail_run(run_id, "boom", retry=True)
    old, new = storage.get_run(run_id), storage.get_run(new_id)
    assert old.state == RunState.FAIL and old.error == "boom" and old.finished_at is not None
    assert (new.state, new.attempt, new.retried_from) == (RunState.WAITING, 1, run_id)
    assert (new.subset, new.seed) == (("a", "c"), 3)
    # Re-planning does not add a third row and points at the newest attempt.
    assert storage.enqueue_runs(study_id, [(("a", "c"), 3)]) == [new_id]
    assert storage.fail_run(new_id, "cancelled") is None  # WAITING runs may fail too
    assert storage.count_runs(study_id) == {
        RunState.WAITING: 0,
        RunState.RUNNING: 0,
        RunState.COMPLETE: 0,
        RunState.FAIL: 2,
    }


def test_heartbeat_and_stale(storage, study_id):
    storage.enqueue_runs(study_id, [(("a",), 0), (("b",), 0)])
    run = storage.claim_run(study_id)
    assert storage.record_heartbeat(run.run_id)
    assert storage.get_stale_runs(study_id, 60.0) == []
    # The database clock has millisecond resolution: let it pass the heartbeat's instant.
    time.sleep(0.01)
    stale = storage.get_stale_runs(study_id, 0.0)
    assert [r.run_id for r in stale] == [run.run_id]
    waiting = storage.get_all_runs(study_id, [RunState.WAITING])[0]
    assert not storage.record_heartbeat(waiting.run_id)
    storage.complete_run(run.run_id, {"a": 1.0})
    assert not storage.record_heartbeat(run.run_id)
    assert storage.get_stale_runs(study_id, 0.0) == []


def test_records_are_snapshots(storage, study_id):
    storage.enqueue_runs(study_id, [(("a",), 0)])
    run = storage.claim_run(study_id)
    done = storage.complete_run(run.run_id, {"a": 1.0})
    done.scores["a"] = 99.0
    assert run.state == RunState.RUNNING  # the earlier snapshot did not change
    assert storage.get_run(run.run_id).scores == {"a": 1.0}
    with pytest.raises(AttributeError):
        done.state = RunState.FAIL


def test_get_all_runs_filters_states(storage, study_id):
    storage.enqueue_runs(study_id, [((t,), 0) for t in TASKS])
    r = storage.claim_run(study_id)
    storage.complete_run(r.run_id, {r.subset[0]: 2.0})
    complete = storage.get_all_runs(study_id, [RunState.COMPLETE])
    assert [x.scores for x in complete] == [{"a": 2.0}]
    assert len(storage.get_all_runs(study_id, [RunState.WAITING, RunState.COMPLETE])) == 4
    with pytest.raises(KeyError):
        storage.get_run(10_000)


def test_delete_study(storage, study_id):
    storage.enqueue_runs(study_id, [(("a",), 0)])
    other = storage.create_study("other", ["x"], True)
    storage.delete_study(study_id)
    assert storage.get_all_study_names() == ["other"]
    assert storage.get_all_runs(other) == []


def test_study_attrs_round_trip_replace_and_go_with_the_study(storage, study_id):
    assert storage.get_study_attrs(study_id) == {}
    storage.set_study_attr(study_id, "adagroup", {"k": 3, "groups": [["a", "b"], ["c"]]})
    storage.set_study_attr(study_id, "note", "first")
    storage.set_study_attr(study_id, "note", "second")
    attrs = storage.get_study_attrs(study_id)
    assert attrs == {"adagroup": {"k": 3, "groups": [["a", "b"], ["c"]]}, "note": "second"}
    attrs["note"] = "changed by a reader"
    assert storage.get_study_attrs(study_id)["note"] == "second"
    with pytest.raises(ValueError):
        storage.set_study_attr(study_id, "bad", float("nan"))
    storage.delete_study(study_id)
    other = storage.create_study("again", ["a", "b", "c"], True)
    assert storage.get_study_attrs(other) == {}


def test_concurrent_claims_from_threads(storage, study_id):
    n = 40
    storage.enqueue_runs(study_id, [(("a",), s) for s in range(n)])
    got: list[int] = []
    lock = threading.Lock()

    def worker():
        while (run := storage.claim_run(study_id)) is not None:
            with lock:
                got.append(run.run_id)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(set(got)) and len(got) == n


def test_now_is_naive_utc(storage):
    assert storage.now().tzinfo is None


# -- SQL-only behaviour -------------------------------------------------------------------------


def test_sqlite_persists_across_connections(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    a = get_storage(url)
    sid = a.create_study("s", TASKS, True)
    a.enqueue_runs(sid, [(("a", "b"), 0)])
    run = a.claim_run(sid)
    a.complete_run(run.run_id, {"a": 1.0, "b": 2.0})
    b = pickle.loads(pickle.dumps(a))
    assert b.get_all_runs(b.get_study_id("s"))[0].scores == {"a": 1.0, "b": 2.0}


def test_newer_schema_version_is_refused(tmp_path):
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'v.db'}"
    get_storage(url).dispose()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE schema_version SET version = version + 1"))
    engine.dispose()
    with pytest.raises(SchemaVersionError, match="newer adagroup"):
        get_storage(url)


def test_in_memory_sqlite_is_shared_across_threads():
    storage = get_storage("sqlite://")
    sid = storage.create_study("s", ["a"], True)
    seen = []
    t = threading.Thread(target=lambda: seen.append(storage.get_study_id("s")))
    t.start()
    t.join()
    assert seen == [sid]


def test_get_storage_arguments(tmp_path):
    assert isinstance(get_storage(None), InMemoryStorage)
    mem = InMemoryStorage()
    assert get_storage(mem) is mem
    path_storage = get_storage(str(tmp_path / "plain.db"))
    assert "plain.db" in repr(path_storage)
    with pytest.raises(TypeError, match="'storage' parameter"):
        get_storage(3)
    with pytest.raises(ValueError, match="not a valid SQLAlchemy URL"):
        get_storage("::nope://")


def test_retry_run_only_newest_fail(storage, study_id):
    (run_id,) = storage.enqueue_runs(study_id, [(("a",), 0)])
    with pytest.raises(RunUpdateError, match="WAITING"):
        storage.retry_run(run_id)
    storage.claim_run(study_id)
    storage.fail_run(run_id, "boom")
    new_id = storage.retry_run(run_id)
    assert storage.get_run(new_id).attempt == 1 and storage.get_run(new_id).retried_from == run_id
    with pytest.raises(RunUpdateError, match="newest attempt"):
        storage.retry_run(run_id)


def test_deleted_or_replaced_sqlite_file_is_detected(tmp_path):
    # Regression: deleting the file mid-study went unnoticed; every later result was lost.
    from adagroup.exceptions import StorageInternalError

    path = tmp_path / "study.db"
    storage = get_storage(f"sqlite:///{path}")
    sid = storage.create_study("s", TASKS, True)
    storage.enqueue_runs(sid, [(("a",), 0)])
    path.unlink()
    with pytest.raises(StorageInternalError, match="was deleted or replaced"):
        storage.claim_run(sid)
    get_storage(f"sqlite:///{path}")  # a new, empty database at the same path
    with pytest.raises(StorageInternalError, match="was deleted or replaced"):
        storage.get_all_runs(sid)


def test_a_reaped_attempts_late_result_never_lands(storage, study_id):
    # The worker of a reaped run may still return; its result must not touch the retry.
    storage.enqueue_runs(study_id, [(("a", "b"), 0)])
    old = storage.claim_run(study_id, "w1")
    retry_id = storage.fail_run(old.run_id, "stale: no heartbeat", retry=True)
    retry = storage.claim_run(study_id, "w2")
    assert retry.run_id == retry_id
    with pytest.raises(RunUpdateError, match="FAIL"):
        storage.complete_run(old.run_id, {"a": 0.0, "b": 0.0})
    assert storage.get_run(retry_id).state == RunState.RUNNING
    assert storage.complete_run(retry_id, {"a": 1.0, "b": 2.0}).scores == {"a": 1.0, "b": 2.0}
    assert storage.get_run(old.run_id).scores == {}


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_storage(request, tmp_path):
    if request.param == "postgresql":
        store = get_storage(request.getfixturevalue("postgres_url"))
    else:
        store = get_storage(f"sqlite:///{tmp_path / 'shared.db'}")
    yield store
    store.dispose()


def test_planted_and_corrupt_rows_are_skipped_and_reported(sql_storage, caplog):
    # Regression: a planted ["../../etc/passwd"] row was handed to the trainer, and one row
    # with a non-JSON subset_key or state=99 broke every `study run` and `status`.
    sid = sql_storage.create_study("s", TASKS, True)
    (good,) = sql_storage.enqueue_runs(sid, [(("a",), 0)])
    planted = [
        ('["../../etc/passwd"]', 0),
        ('["zz"]', 0),
        ("not json", 0),
        ('["b","a"]', 0),  # real tasks, but not the canonical key
        ('["c"]', 99),
    ]
    with sql_storage._engine.begin() as conn:
        for key, state in planted:
            conn.exec_driver_sql(
                "INSERT INTO runs (study_id, subset_key, seed, attempt, state) "
                f"VALUES ({sid}, '{key}', 0, 0, {state})"
            )
    claimed = sql_storage.claim_run(sid)
    assert claimed.run_id == good and claimed.subset == ("a",)
    assert sql_storage.claim_run(sid) is None
    assert [r.run_id for r in sql_storage.get_all_runs(sid)] == [good]
    assert sql_storage.count_runs(sid) == {
        RunState.WAITING: 0,
        RunState.RUNNING: 1,
        RunState.COMPLETE: 0,
        RunState.FAIL: 0,
    }
    problems = sorted(sql_storage.invalid_rows.values())
    assert len(problems) == 5
    assert any("Unknown tasks ['../../etc/passwd']" in p for p in problems)
    assert any("is not JSON" in p for p in problems)
    assert any("not in study task order" in p for p in problems)
    assert any("state=99" in p for p in problems)
    assert "invalid row" in caplog.text


def test_passwords_in_urls_are_masked_in_errors():
    from adagroup.exceptions import StorageInternalError

    for url in (
        "postgresql+nosuchdriver://user:s3cret@localhost/db",  # "Cannot open storage"
        "postgresql+psycopg://user:s3cret@127.0.0.1:1/db",  # nothing listens on port 1
    ):
        with pytest.raises((ValueError, ImportError, StorageInternalError)) as info:
            get_storage(url)
        assert "s3cret" not in str(info.value) and "user:***@" in str(info.value)


def test_schema_error_masks_the_password(postgres_url):
    from sqlalchemy.engine import make_url

    get_storage(postgres_url).dispose()
    store = get_storage(postgres_url)
    with store._engine.begin() as conn:
        conn.exec_driver_sql("UPDATE schema_version SET version = 99")
    store.dispose()
    password = make_url(postgres_url).password
    with pytest.raises(SchemaVersionError) as info:
        get_storage(postgres_url)
    assert "schema version 99" in str(info.value)
    assert f":{password}@" not in str(info.value) and ":***@" in str(info.value)
