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
    (tmp_path / "T.json").write_text("1")
    with pytest.raises(ValueError, match=r"must end in \.csv, \.tsv, \.txt or \.npy"):
        read_affinity(tmp_path / "T.json")
    np.save(tmp_path / "S.npy", np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(ValueError, match="must hold real numbers. Got dtype <U1"):
        read_affinity(tmp_path / "S.npy")


NAMES = ["a", "b", "c", "d"]


@pytest.fixture
def frame(rng):
    pd = pytest.importorskip("pandas")
    return pd.DataFrame(rng.normal(size=(4, 4)), index=NAMES, columns=NAMES)


@pytest.mark.parametrize(
    ("suffix", "kwargs"),
    [
        (".csv", {}),
        (".csv", {"sep": ";"}),
        (".csv", {"sep": ";", "decimal": ","}),
        (".csv", {"sep": "\t"}),
        (".tsv", {"sep": "\t"}),
        (".txt", {"sep": "\t"}),
    ],
)
def test_delimiter_is_detected(tmp_path, frame, suffix, kwargs):
    path = tmp_path / f"T{suffix}"
    frame.to_csv(path, **kwargs)
    T, names = read_affinity(path)
    assert names == NAMES
    np.testing.assert_allclose(T, frame.to_numpy())


def test_header_without_index_column(tmp_path, frame):
    frame.to_csv(tmp_path / "T.csv", index=False)
    T, names = read_affinity(tmp_path / "T.csv")
    assert names == NAMES
    np.testing.assert_allclose(T, frame.to_numpy())


def test_index_column_without_header(tmp_path, frame):
    frame.to_csv(tmp_path / "T.csv", header=False)
    T, names = read_affinity(tmp_path / "T.csv")
    assert names == NAMES
    np.testing.assert_allclose(T, frame.to_numpy())


@pytest.mark.parametrize("kwargs", [{}, {"delimiter": ","}, {"delimiter": "\t"}])
def test_savetxt_output_without_header_or_index(tmp_path, rng, kwargs):
    T0 = rng.normal(size=(5, 5))
    np.savetxt(tmp_path / "T.csv", T0, **kwargs)
    T, names = read_affinity(tmp_path / "T.csv")
    assert names == ["0", "1", "2", "3", "4"]
    np.testing.assert_allclose(T, T0)


def test_numbers_only_but_not_square_says_so(tmp_path, rng):
    np.savetxt(tmp_path / "T.csv", rng.normal(size=(3, 4)), delimiter=",")
    with pytest.raises(ValueError, match=r"holds numbers, not task names.*not square"):
        read_affinity(tmp_path / "T.csv")


def test_first_differing_name_is_shown(tmp_path):
    text = ",a,b,c,d\na,1,0,0,0\nb,0,1,0,0\nc,0,0,1,0\nx,0,0,0,1\n"
    (tmp_path / "T.csv").write_text(text)
    with pytest.raises(ValueError, match=r"Row 5 is named 'x' but column 5 of the header is 'd'"):
        read_affinity(tmp_path / "T.csv")
    text = ",a,b,c\na,1,0,0\nc,0,1,0\nb,0,0,1\n"
    (tmp_path / "T.csv").write_text(text)
    with pytest.raises(ValueError, match=r"Row 3 is named .c. .* is .b.: the same tasks in"):
        read_affinity(tmp_path / "T.csv")


def test_not_split_at_all_says_which_delimiters_were_tried(tmp_path):
    (tmp_path / "T.csv").write_text("task|a|b\na|1|2\nb|2|3\n")
    with pytest.raises(ValueError, match=r"not split by commas, semicolons, tabs or blanks"):
        read_affinity(tmp_path / "T.csv")


def test_tsv_is_written_with_tabs_and_read_back(tmp_path, rng):
    T = rng.normal(size=(3, 3))
    path = write_affinity(tmp_path / "T.tsv", T, ["a", "b", "c"])
    first = path.read_text().splitlines()[0]
    assert first == "task\ta\tb\tc"
    T2, names = read_affinity(path)
    np.testing.assert_array_equal(T, T2)
    assert names == ["a", "b", "c"]


def test_write_into_a_missing_folder_says_which(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"the folder .*nope' does not exist"):
        write_affinity(tmp_path / "nope" / "T.csv", np.eye(2))
