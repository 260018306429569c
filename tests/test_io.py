import numpy as np
import pytest

from adagroup.io import read_affinity, write_affinity


def test_csv_round_trip(tmp_path, rng):
    T = rng.normal(size=(3, 3))
    path = write_affinity(tmp_path / "T.csv", T, ["a", "b", "c"])
    T2, names = read_affinity(path)
    np.testing.assert_array_equal(T, T2)
    assert names == ["a", "b", "c"]


def test_npy(tmp_path):
    np.save(tmp_path / "T.npy", np.eye(2))
    T, names = read_affinity(tmp_path / "T.npy")
    assert names == ["0", "1"] and T.shape == (2, 2)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (",a,b\na,1,x\nb,2,3\n", r"Non-numeric cell 'x' in row 2 \('a'\)"),
        (",a,a\na,1,2\na,2,3\n", r"Duplicate task row names \['a'\]"),
        (",a,b\na,1\nb,2,3\n", r"Row 2 .* has 1 values but the header names 2 tasks"),
        (",a,b\nb,1,2\na,2,3\n", r"row names .* must match its header"),
        ("", r"is empty"),
    ],
)
def test_csv_errors(tmp_path, text, match):
    (tmp_path / "T.csv").write_text(text)
    with pytest.raises(ValueError, match=match):
        read_affinity(tmp_path / "T.csv")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_affinity(tmp_path / "nope.csv")


def test_wrong_suffix_and_non_numeric_npy(tmp_path):
    (tmp_path / "T.txt").write_text("1")
    with pytest.raises(ValueError, match=r"must end in \.csv or \.npy"):
        read_affinity(tmp_path / "T.txt")
    np.save(tmp_path / "S.npy", np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(ValueError, match="must hold real numbers. Got dtype <U1"):
        read_affinity(tmp_path / "S.npy")
