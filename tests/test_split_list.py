"""Split lists: `relative/path label` per line, validated on read with file:line errors."""

import re

import numpy as np
import pytest

from ltr.data.split_list import OPEN_LABEL, SplitList, read_split_list, write_split_list
from ltr.errors import LtrError


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_round_trip(tmp_path):
    path = tmp_path / "train.txt"
    paths = ["train/0/a.png", "train/2/b.png", "train/1/c_d.jpg"]
    labels = [0, 2, 1]
    write_split_list(path, paths, labels)
    assert path.read_text() == "train/0/a.png 0\ntrain/2/b.png 2\ntrain/1/c_d.jpg 1\n"
    split = read_split_list(path, num_classes=3)
    assert isinstance(split, SplitList)
    assert split.name == "train"
    assert split.paths == paths
    assert split.labels.tolist() == labels
    assert split.labels.dtype == np.int64


def test_round_trip_numpy_labels(tmp_path):
    path = tmp_path / "test.txt"
    write_split_list(path, ["x/1.png", "x/2.png"], np.array([4, 0], dtype=np.int32))
    split = read_split_list(path, num_classes=5)
    assert split.paths == ["x/1.png", "x/2.png"]
    assert split.labels.tolist() == [4, 0]


def test_round_trip_open_list(tmp_path):
    path = tmp_path / "open.txt"
    write_split_list(path, ["open/a.png", "open/b.png"], [OPEN_LABEL, OPEN_LABEL])
    split = read_split_list(path, num_classes=3)
    assert split.name == "open"
    assert split.labels.tolist() == [-1, -1]


def test_blank_lines_are_skipped(tmp_path):
    path = _write(tmp_path, "val.txt", "a.png 0\n\n   \nb.png 1\n")
    split = read_split_list(path, num_classes=2)
    assert split.paths == ["a.png", "b.png"]


def test_write_mismatched_lengths_raises(tmp_path):
    with pytest.raises(ValueError):
        write_split_list(tmp_path / "x.txt", ["a.png", "b.png"], [0])


def _assert_error(path, num_classes: int, line: int, *fragments: str):
    with pytest.raises(LtrError) as info:
        read_split_list(path, num_classes=num_classes)
    message = str(info.value)
    assert f"{path}:{line}:" in message
    assert re.search(rf":{line}:", message)
    for fragment in fragments:
        assert fragment in message
    return message


def test_three_fields_is_malformed(tmp_path):
    path = _write(tmp_path, "train.txt", "a.png 0\nb.png 1 extra\n")
    _assert_error(path, 3, 2, "malformed line", "b.png 1 extra", "expected `relative/path label`")


def test_one_field_is_malformed(tmp_path):
    path = _write(tmp_path, "train.txt", "a.png 0\nb.png 1\nc.png\n")
    _assert_error(path, 3, 3, "malformed line", "'c.png'")


def test_line_number_counts_blank_lines(tmp_path):
    path = _write(tmp_path, "train.txt", "a.png 0\n\nc.png\n")
    _assert_error(path, 3, 3, "malformed line")


def test_non_integer_label(tmp_path):
    path = _write(tmp_path, "train.txt", "a.png zero\n")
    _assert_error(path, 3, 1, "label 'zero' is not an integer")


def test_float_label_is_not_an_integer(tmp_path):
    path = _write(tmp_path, "train.txt", "a.png 0\nb.png 1.0\n")
    _assert_error(path, 3, 2, "label '1.0' is not an integer")


def test_label_at_num_classes_is_out_of_range(tmp_path):
    path = _write(tmp_path, "train.txt", "a.png 0\nb.png 2\nc.png 3\n")
    _assert_error(path, 3, 3, "label 3 is outside the class range", "allowed: 0..2")


def test_open_label_in_non_open_list(tmp_path):
    path = _write(tmp_path, "test.txt", "a.png -1\n")
    _assert_error(path, 3, 1, "label -1 is outside the class range", "allowed: 0..2")


def test_known_label_in_open_list(tmp_path):
    path = _write(tmp_path, "open.txt", "a.png -1\nb.png 0\n")
    _assert_error(path, 3, 2, "label 0 is outside the class range", "allowed: -1 (open set)")


def test_duplicate_path(tmp_path):
    path = _write(tmp_path, "train.txt", "a.png 0\nb.png 1\na.png 1\n")
    _assert_error(path, 3, 3, "path 'a.png' is listed twice")


def test_absolute_path(tmp_path):
    path = _write(tmp_path, "train.txt", "/etc/passwd 0\n")
    _assert_error(path, 3, 1, "'/etc/passwd'", "escapes the data root")


def test_dotdot_path(tmp_path):
    path = _write(tmp_path, "train.txt", "a.png 0\nimgs/../../secret.png 1\n")
    _assert_error(path, 3, 2, "'imgs/../../secret.png'", "escapes the data root")


def test_dots_inside_a_name_are_fine(tmp_path):
    path = _write(tmp_path, "train.txt", "imgs/a..b.png 0\n")
    assert read_split_list(path, num_classes=1).paths == ["imgs/a..b.png"]


def test_empty_file(tmp_path):
    path = _write(tmp_path, "train.txt", "")
    with pytest.raises(LtrError, match="has no images") as info:
        read_split_list(path, num_classes=3)
    assert str(path) in str(info.value)


def test_blank_only_file_is_empty(tmp_path):
    path = _write(tmp_path, "train.txt", "\n  \n\n")
    with pytest.raises(LtrError, match="has no images"):
        read_split_list(path, num_classes=3)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.txt"
    with pytest.raises(LtrError, match="is missing") as info:
        read_split_list(path, num_classes=3)
    assert str(path) in str(info.value)


def test_a_byte_order_mark_is_not_part_of_the_first_path(tmp_path):
    path = tmp_path / "train.txt"
    path.write_bytes("\ufefftrain/a.jpg 0\ntrain/b.jpg 1\n".encode())  # as a Windows editor saves it
    assert read_split_list(path, 2).paths == ["train/a.jpg", "train/b.jpg"]
