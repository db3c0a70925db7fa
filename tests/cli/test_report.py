"""``onrecord report``: the moderators' report of a collection in the terminal (in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main
from index import Answer, Excerpt, IndexSettings, State
from index.feedback import Feedback


def _excerpt() -> Excerpt:
    return Excerpt(
        quote="They just need precursor chemicals.", doc_id="cartels.txt", title="Mexican cartels", path=None,
        url=None, author=None, published=None, speaker="Maltz", location=None, start=0, end=35, score=0.9,
    )  # fmt: skip


def test_report_prints_the_collections_gaps_feedback_and_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("ONRECORD_DATA_DIR", "ONRECORD_DOCS_DIR", "ONRECORD_INDEX_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ONRECORD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ONRECORD_DOCS_DIR", str(tmp_path / "docs"))
    monkeypatch.setenv("ONRECORD_BACKEND", "torch")
    settings = IndexSettings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    feedback = Feedback.of(State(settings.data_dir / "collections" / "guild-7" / "state.sqlite"), settings)
    answer = Answer(question="What do cartels need?", answered=True, excerpts=[_excerpt()], confidence=0.9)
    feedback.log(answer)
    feedback.log(Answer(question="How do I bake sourdough bread?", answered=False, excerpts=[]))
    feedback.log(Answer(question="how do I bake sourdough bread", answered=False, excerpts=[]))
    feedback.vote(answer, 1, helpful=False)

    assert main(["report", "--collection", "guild-7", "--days", "3"]) == 0
    out = capsys.readouterr().out
    assert "Report of guild-7: the last 3 days" in out
    assert "3 asked, 1 answered (33%)" in out
    assert "1. How do I bake sourdough bread?  (asked 2x)" in out
    assert "What do cartels need?  (1 not helpful, 0 helpful)" in out
    assert "1  Mexican cartels" in out and "1  Maltz" in out

    assert main(["report", "--collection", "guild-x"]) == 1
    assert "not a collection name" in capsys.readouterr().err
