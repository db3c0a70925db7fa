"""Atomic writes: a file or a folder is seen whole or not at all, also after a crash or a power cut.

Everything that replaces a file the program reads again (an index generation, ``CURRENT``, a cache entry,
an exported model, an evaluation's sources) goes through here: write under a hidden temporary name in the
same folder (so the rename stays on one file system), flush and fsync it, ``os.replace`` it into place, then
fsync the folder so the rename itself is on disk. A write that raises half way leaves the old file (or none)
and no temporary behind.

Temporary names start with ``.tmp-``: hidden, so folder scans that skip dot files never see them, and one
pattern for cleaning up after a process killed mid-write (`index.store.remove_old_generations`).
"""

from __future__ import annotations

import itertools
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_PREFIX = ".tmp-"
_counter = itertools.count()


def temp_name(path: Path) -> Path:
    """A hidden sibling of ``path``, unique per process, thread and call (two writers never share one)."""
    return path.with_name(f"{TEMP_PREFIX}{path.name}.{os.getpid()}.{threading.get_ident()}.{next(_counter)}")


def atomic_write(path: Path, data: bytes | str, *, encoding: str = "utf-8", errors: str = "strict") -> None:
    """Replace ``path`` with ``data`` (text is encoded with ``encoding``), atomically and durably."""
    payload = data.encode(encoding, errors) if isinstance(data, str) else data
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        handle.write(payload)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s new content to; on success it replaces ``path``.

    For writers that want a file name or their own handle (``np.save``, ``torch.onnx.export``, a line at a
    time). On an exception the temporary file is removed and ``path`` is left as it was.
    """
    tmp = temp_name(path)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


@contextmanager
def atomic_folder(path: Path) -> Iterator[Path]:
    """Yield a new, empty temporary folder; on success every file in it is fsynced and it is renamed to ``path``.

    ``path`` must not exist yet (a folder cannot replace a non-empty one atomically). On an exception the
    temporary folder and all it holds are removed.
    """
    tmp = temp_name(path)
    tmp.mkdir()
    try:
        yield tmp
        for file in tmp.rglob("*"):
            if file.is_file():
                _fsync_file(file)
        fsync_folder(tmp)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_folder(path.parent)


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def fsync_folder(folder: Path) -> None:
    """Make a rename or a new entry in ``folder`` durable, where the OS can open a folder (not on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems (and Windows) refuse fsync on a folder; the rename still happened
        pass
    finally:
        os.close(fd)
