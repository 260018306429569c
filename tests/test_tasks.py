import pickle

import pytest

from adagroup.tasks import TaskSet


def test_names_and_indices():
    tasks = TaskSet(["mnli", "qnli", "rte"])
    assert tasks.names == ("mnli", "qnli", "rte")
    assert len(tasks) == 3 and tasks[1] == "qnli" and list(tasks) == list(tasks.names)
    assert tasks.index("rte") == 2 and tasks.indices(["rte", "mnli"]) == (2, 0)
    assert "rte" in tasks and "cola" not in tasks
    assert tasks == ["mnli", "qnli", "rte"] and tasks != TaskSet(["qnli", "mnli", "rte"])
    assert pickle.loads(pickle.dumps(tasks)) == tasks


def test_subset_canonical_from_names_and_indices():
    tasks = TaskSet(["a", "b", "c", "d"])
    assert tasks.subset(["c", 0]) == ("a", "c")
    assert tasks.subset((3, 1)) == ("b", "d")
    with pytest.raises(ValueError, match="out of range"):
        tasks.subset([4])
    with pytest.raises(ValueError, match="repeat"):
        tasks.subset(["a", 0])
    with pytest.raises(ValueError, match="empty"):
        tasks.subset([])
    with pytest.raises(KeyError, match="Unknown task 'z'"):
        tasks.subset(["z"])


@pytest.mark.parametrize(
    "names, err, match",
    [
        (["a", "a"], ValueError, "duplicates"),
        (["a", ""], ValueError, "non-empty"),
        ([" a"], ValueError, "whitespace"),
        ("a,b", TypeError, "single string"),
    ],
)
def test_invalid_names(names, err, match):
    with pytest.raises(err, match=match):
        TaskSet(names)


def test_extend_keeps_indices():
    tasks = TaskSet(["a", "b"])
    grown = tasks.extend(["c"])
    assert grown.names == ("a", "b", "c") and grown.index("b") == 1
    assert tasks.names == ("a", "b")
    with pytest.raises(ValueError, match="already in the task set"):
        grown.extend(["a"])
