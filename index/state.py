"""A collection's own small database (``state.sqlite``): its counters and settings, kept across restarts.

One SQLite file per collection, beside its sources and index, so that what belongs to a server
(answered and abstained counts, its moderator role, whether it reads the shared library) lives and
is removed with that server's collection. The schema is versioned with ``PRAGMA user_version`` and
brought up to date by `MIGRATIONS` when the file is opened, so a later release adds tables (the
question log and feedback, feeds) without a step by hand.

Connections are opened per call: the file may be shared by several bot processes (scale-out by
shard), and SQLite's own locking, with a busy timeout, serialises their writes.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import LibraryError

_COUNTERS_SCHEMA = """
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# The question log, members' votes and flags on answers, and moderators' pins (index/feedback.py).
# Excerpts are JSON lists of {collection, doc_id, title, speaker, start, end}; a member is a keyed hash.
_FEEDBACK_SCHEMA = """
    CREATE TABLE questions (
        id INTEGER PRIMARY KEY,
        asked REAL NOT NULL,
        question TEXT NOT NULL,
        answered INTEGER NOT NULL,
        confidence REAL,
        pinned INTEGER NOT NULL DEFAULT 0,
        excerpts TEXT NOT NULL,
        closest TEXT NOT NULL
    );
    CREATE INDEX questions_asked ON questions (asked);
    CREATE TABLE votes (
        answer TEXT NOT NULL,
        member TEXT NOT NULL,
        helpful INTEGER NOT NULL,
        at REAL NOT NULL,
        question TEXT NOT NULL,
        excerpts TEXT NOT NULL,
        PRIMARY KEY (answer, member)
    );
    CREATE INDEX votes_at ON votes (at);
    CREATE TABLE flags (
        answer TEXT NOT NULL,
        member TEXT NOT NULL,
        excerpt INTEGER NOT NULL,
        kind TEXT NOT NULL,
        at REAL NOT NULL,
        question TEXT NOT NULL,
        collection TEXT,
        doc_id TEXT NOT NULL,
        title TEXT NOT NULL,
        speaker TEXT,
        span_start INTEGER NOT NULL,
        span_end INTEGER NOT NULL,
        quote TEXT NOT NULL,
        PRIMARY KEY (answer, member, excerpt)
    );
    CREATE INDEX flags_at ON flags (at);
    CREATE TABLE pins (
        id INTEGER PRIMARY KEY,
        question TEXT NOT NULL,
        normalised TEXT NOT NULL UNIQUE,
        vector BLOB NOT NULL,
        collection TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        span_start INTEGER NOT NULL,
        span_end INTEGER NOT NULL,
        quote TEXT NOT NULL,
        created REAL NOT NULL
    );
"""
# Each entry takes the schema from version i to i + 1; never edit one that has shipped, append another.
MIGRATIONS: tuple[str, ...] = (_COUNTERS_SCHEMA, _FEEDBACK_SCHEMA)
_BUSY_TIMEOUT_S = 10.0


class StateError(LibraryError):
    """The state database cannot be read or written."""


class State:
    """Counters and settings of one collection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._migrated = False

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S)
        except (OSError, sqlite3.Error) as error:
            raise StateError(f"The state database {self.path.name} cannot be opened: {error}.") from error
        try:
            with db:  # one transaction: committed on success, rolled back on an error
                if not self._migrated:
                    migrate(db)
                    self._migrated = True
                yield db
        except sqlite3.Error as error:
            raise StateError(f"The state database {self.path.name} failed: {error}.") from error
        finally:
            db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction on the database, for the modules that keep tables of their own in it
        (index/feedback.py): committed when the block ends, rolled back if it raises."""
        with self._lock, self._connect() as db:
            yield db

    def count(self, name: str, by: int = 1) -> None:
        """Add ``by`` to the counter ``name``."""
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                (name, by),
            )

    def counters(self) -> dict[str, int]:
        with self._lock, self._connect() as db:
            return {name: int(value) for name, value in db.execute("SELECT name, value FROM counters")}

    def get(self, key: str, default: Any = None) -> Any:
        """A setting's value (any JSON value), or ``default`` when it was never set."""
        with self._lock, self._connect() as db:
            row = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set(self, key: str, value: Any) -> None:
        """Set a setting; None removes it (back to its default)."""
        with self._lock, self._connect() as db:
            if value is None:
                db.execute("DELETE FROM settings WHERE key = ?", (key,))
            else:
                db.execute(
                    "INSERT INTO settings (key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, json.dumps(value)),
                )

    def settings(self) -> dict[str, Any]:
        with self._lock, self._connect() as db:
            return {key: json.loads(value) for key, value in db.execute("SELECT key, value FROM settings")}


def migrate(db: sqlite3.Connection) -> int:
    """Bring the schema to the latest version; returns that version. A database written by a newer
    release (a version this one does not know) is refused rather than guessed at."""
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version > len(MIGRATIONS):
        raise StateError(f"The state database has schema version {version}, newer than this release knows.")
    for number in range(version, len(MIGRATIONS)):
        db.executescript(f"BEGIN; {MIGRATIONS[number]} PRAGMA user_version = {number + 1}; COMMIT;")
    return len(MIGRATIONS)
