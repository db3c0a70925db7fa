"""Atomic writes: a file or folder is whole or absent when the write raises half way, and no temporary is left."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from index.files import TEMP_PREFIX, atomic_folder, atomic_path, atomic_write


class Interrupted(Exception):
    pass


def test_atomic_write_replaces_whole(tmp_path: Path) -> None:
    target = tmp_path / "entry.json"
    atomic_write(target, "old")
    atomic_write(target, "néw", encoding="utf-8")
    assert target.read_text("utf-8") == "néw"
    assert [p.name for p in tmp_path.iterdir()] == ["entry.json"]


def test_a_write_that_raises_half_way_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "vectors.npy"
    target.write_bytes(b"old content")
    with pytest.raises(Interrupted), atomic_path(target) as tmp, tmp.open("wb") as handle:
        handle.write(b"half of the new")
        handle.flush()
        raise Interrupted
    assert target.read_bytes() == b"old content"
    assert [p.name for p in tmp_path.iterdir()] == ["vectors.npy"]


def test_a_first_write_that_raises_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "new.txt"
    with pytest.raises(Interrupted), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise Interrupted
    assert list(tmp_path.iterdir()) == []


def test_a_folder_is_whole_or_absent(tmp_path: Path) -> None:
    final = tmp_path / "gen-1"
    with pytest.raises(Interrupted), atomic_folder(final) as tmp:
        (tmp / "a.bin").write_bytes(b"a")
        raise Interrupted
    assert list(tmp_path.iterdir()) == []

    with atomic_folder(final) as tmp:
        (tmp / "a.bin").write_bytes(b"a")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "b.bin").write_bytes(b"b")
        assert tmp.name.startswith(TEMP_PREFIX) and not final.exists()
    assert sorted(p.relative_to(final).as_posix() for p in final.rglob("*")) == ["a.bin", "sub", "sub/b.bin"]
    assert [p.name for p in tmp_path.iterdir()] == ["gen-1"]


def test_a_crash_between_write_and_rename_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "CURRENT"
    atomic_write(target, "gen-1\n")

    def crash(*args: object) -> None:
        raise Interrupted

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(Interrupted):
        atomic_write(target, "gen-2\n")
    assert target.read_text() == "gen-1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["CURRENT"]
