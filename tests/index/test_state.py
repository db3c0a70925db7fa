"""A collection's state database: counters and settings that last, and a schema that migrates."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from index.state import MIGRATIONS, State, StateError


def test_counters_and_settings_survive_a_new_instance(tmp_path: Path) -> None:
    state = State(tmp_path / "c" / "state.sqlite")
    state.count("answered")
    state.count("answered", by=2)
    state.count("abstained")
    state.set("moderator_role", 1234)
    state.set("shared", False)

    again = State(tmp_path / "c" / "state.sqlite")
    assert again.counters() == {"answered": 3, "abstained": 1}
    assert again.get("moderator_role") == 1234 and again.get("shared") is False
    assert again.get("missing", "default") == "default"
    again.set("moderator_role", None)
    assert State(tmp_path / "c" / "state.sqlite").get("moderator_role") is None


def test_a_new_database_is_at_the_latest_schema_and_an_old_one_is_brought_up(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    State(path).counters()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    old = tmp_path / "old.sqlite"
    sqlite3.connect(old).close()  # version 0: an empty file from before the first migration
    State(old).count("answered")
    with sqlite3.connect(old) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_a_database_from_a_newer_release_is_refused_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StateError, match="newer than this release"):
        State(path).counters()
