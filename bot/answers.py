"""Answers that carry buttons, kept on disk by key so the buttons work after a restart.

An answer message's buttons hold only a key and a page in their custom ids; what the buttons need
(the answer, who asked, whether it was private, its title, whether it was posted) is here, in SQLite
beside the index. Entries older than `keep_days` are removed when new ones are written. Every call
blocks on the disk: the bot calls it in a worker thread.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import discord

from index import Answer

from .errors import send_ephemeral

KEY = "[0-9a-f]{16}"  # an answer's key, as the buttons' custom ids hold it
EXPIRED = "This answer is no longer kept; please ask again."

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,
    answer TEXT NOT NULL,
    owner_id INTEGER NOT NULL,
    private INTEGER NOT NULL,
    title TEXT,
    posted INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
)
"""


@dataclass(frozen=True)
class StoredAnswer:
    key: str
    answer: Answer
    owner_id: int
    private: bool
    title: str | None
    posted: bool


class AnswerStore:
    """Answers by key (16 hex characters), in one SQLite file."""

    def __init__(self, path: Path, keep_days: float = 30.0) -> None:
        self.path = path
        self.keep_s = keep_days * 86400
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)
            self._db = db
        return self._db

    def put(self, answer: Answer, *, owner_id: int, private: bool, title: str | None = None) -> str:
        """Keep ``answer``; returns its key."""
        key = secrets.token_hex(8)
        now = time.time()
        with self._lock:
            db = self._connection()
            db.execute("DELETE FROM answers WHERE created < ?", (now - self.keep_s,))
            db.execute(
                "INSERT INTO answers (key, answer, owner_id, private, title, created) VALUES (?, ?, ?, ?, ?, ?)",
                (key, answer.model_dump_json(), owner_id, int(private), title, now),
            )
        return key

    def get(self, key: str) -> StoredAnswer | None:
        with self._lock:
            row = (
                self._connection()
                .execute("SELECT answer, owner_id, private, title, posted FROM answers WHERE key = ?", (key,))
                .fetchone()
            )
        if row is None:
            return None
        try:
            answer = Answer.model_validate_json(row[0])
        except ValueError:  # written by another version of the bot: treated as gone
            return None
        return StoredAnswer(key, answer, int(row[1]), bool(row[2]), row[3], bool(row[4]))

    def claim_post(self, key: str) -> bool:
        """Mark the answer posted; False if it already was (a second press, even a simultaneous one)."""
        with self._lock:
            cursor = self._connection().execute("UPDATE answers SET posted = 1 WHERE key = ? AND posted = 0", (key,))
        return cursor.rowcount == 1

    def release_post(self, key: str) -> None:
        """Undo `claim_post` after the post itself failed, so the member can try again."""
        with self._lock:
            self._connection().execute("UPDATE answers SET posted = 0 WHERE key = ?", (key,))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


async def stored_answer(interaction: discord.Interaction, key: str) -> StoredAnswer | None:
    """The answer a button's custom id names, or None after telling the member it is no longer kept."""
    stored: StoredAnswer | None = await asyncio.to_thread(interaction.client.answers.get, key)  # type: ignore[attr-defined]
    if stored is None:
        await send_ephemeral(interaction, EXPIRED)
    return stored
