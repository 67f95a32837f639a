"""Moving a taken file aside: never over another file, never a file that was not the one read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from connectors.files import FileId, move_new


@pytest.fixture
def done(tmp_path: Path) -> Path:
    path = tmp_path / "done"
    path.mkdir()
    return path


def read_id(path: Path) -> FileId:
    with path.open("rb") as fh:
        return FileId.of(os.fstat(fh.fileno()))


def test_moves_under_the_first_name_not_taken(tmp_path: Path, done: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_bytes(b"today")
    (done / "a.csv").write_bytes(b"yesterday")
    assert move_new(src, [done / "a.csv", done / "a-2.csv", done / "a-3.csv"]) == done / "a-2.csv"
    assert not src.exists()
    assert (done / "a.csv").read_bytes() == b"yesterday" and (done / "a-2.csv").read_bytes() == b"today"


def test_the_file_that_was_read_moves(tmp_path: Path, done: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_bytes(b"read and stored")
    seen = read_id(src)
    assert move_new(src, [done / "a.csv"], expect=seen) == done / "a.csv"
    assert not src.exists() and (done / "a.csv").read_bytes() == b"read and stored"


def test_a_file_renamed_over_the_name_after_the_read_stays_to_be_taken(tmp_path: Path, done: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_bytes(b"read and stored")
    seen = read_id(src)
    (tmp_path / ".upload").write_bytes(b"arrived later")
    os.rename(tmp_path / ".upload", src)  # the partner's next file, under the same name
    assert move_new(src, [done / "a.csv"], expect=seen) is None
    assert src.read_bytes() == b"arrived later"
    assert list(done.iterdir()) == []  # no link to the newcomer left behind


def test_a_file_rewritten_in_place_after_the_read_stays_to_be_taken(tmp_path: Path, done: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_bytes(b"read and stored")
    seen = read_id(src)
    src.write_bytes(b"rewritten, longer than before")  # same inode, other bytes
    assert move_new(src, [done / "a.csv"], expect=seen) is None
    assert src.read_bytes() == b"rewritten, longer than before" and list(done.iterdir()) == []


def test_a_file_gone_is_nothing_to_move_when_expected_and_an_error_otherwise(tmp_path: Path, done: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_bytes(b"x")
    seen = read_id(src)
    src.unlink()
    assert move_new(src, [done / "a.csv"], expect=seen) is None
    with pytest.raises(FileNotFoundError):
        move_new(src, [done / "a.csv"])
    assert list(done.iterdir()) == []


def test_a_symbolic_link_put_in_its_place_is_not_followed(tmp_path: Path, done: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_bytes(b"read and stored")
    seen = read_id(src)
    (tmp_path / "elsewhere").write_bytes(b"read and stored")
    src.unlink()
    src.symlink_to(tmp_path / "elsewhere")
    assert move_new(src, [done / "a.csv"], expect=seen) is None
    assert src.is_symlink() and list(done.iterdir()) == []
