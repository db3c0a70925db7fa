"""The question log, votes, flags, pins and the report of one collection (index/feedback.py, report.py),
on a state database, with a clock the tests move and a deterministic embedder."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from index import Answer, Excerpt, QuestionError, State
from index.feedback import Feedback, answer_id
from index.report import build_report
from index.state import MIGRATIONS
from tests.fakes import HashEmbedder

DAY = 86400.0
START = dt.datetime(2026, 11, 2, 12, tzinfo=dt.UTC).timestamp()


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def excerpt(doc: str = "a.txt", start: int = 0, end: int = 10, speaker: str | None = "Maltz") -> Excerpt:
    return Excerpt(
        quote="x" * (end - start), doc_id=doc, title=f"Title of {doc}", path=None, url=None, author=None,
        published=None, speaker=speaker, location=None, start=start, end=end, score=0.9,
    )  # fmt: skip


def answered(question: str, *excerpts: Excerpt) -> Answer:
    return Answer(question=question, answered=True, excerpts=list(excerpts or [excerpt()]), confidence=0.8)


def abstained(question: str, closest: str = "near.txt") -> Answer:
    return Answer(question=question, answered=False, excerpts=[], closest=[excerpt(closest)], confidence=0.1)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def feedback(tmp_path: Path, clock: Clock) -> Feedback:
    return Feedback(State(tmp_path / "state.sqlite"), log_days=30, feedback_days=90, clock=clock)


def vectors(texts: object) -> np.ndarray:
    return HashEmbedder().embed(list(texts))  # type: ignore[call-overload]


def test_one_vote_per_member_per_answer_changeable_and_never_the_members_id(feedback: Feedback, tmp_path: Path) -> None:
    answer = answered("Who leads it?")
    assert feedback.vote(answer, 1234567890, helpful=True) == "recorded"
    assert feedback.vote(answer, 1234567890, helpful=True) == "unchanged"
    assert feedback.vote(answer, 1234567890, helpful=False) == "changed"
    assert feedback.vote(answer.model_copy(), 1234567890, helpful=False) == "unchanged", "a copy is the same answer"
    assert feedback.vote(answer, 42, helpful=True) == "recorded"
    assert [v.helpful for v in feedback.votes(0, START + 1)] == [False, True]
    with sqlite3.connect(tmp_path / "state.sqlite") as db:
        dump = "\n".join(db.iterdump())
    assert "1234567890" not in dump
    other = Feedback(State(tmp_path / "other.sqlite"))
    assert other.member(42) != feedback.member(42), "each collection hashes with its own key"
    assert Feedback(State(tmp_path / "state.sqlite")).member(42) == feedback.member(42), "the key lasts"


def test_a_flag_names_the_excerpt_and_changes_with_the_members_mind(feedback: Feedback) -> None:
    answer = answered("Who said it?", excerpt("a.txt", 0, 10), excerpt("b.txt", 5, 25, speaker="Dhillon"))
    assert feedback.flag(answer, 7, 1, "wrong_speaker") == "recorded"
    assert feedback.flag(answer, 7, 1, "no_answer") == "changed"
    [flag] = feedback.flags(0, START + 1)
    assert (flag.kind, flag.doc_id, flag.start, flag.end, flag.speaker) == ("no_answer", "b.txt", 5, 25, "Dhillon")
    with pytest.raises(QuestionError):
        feedback.flag(answer, 7, 2, "no_answer")
    with pytest.raises(QuestionError):
        feedback.flag(answer, 7, 0, "rude")


def test_the_log_keeps_questions_for_its_days_and_is_deleted_on_request(feedback: Feedback, clock: Clock) -> None:
    feedback.log(answered("old question"))
    clock.now += 31 * DAY
    feedback.log(abstained("new question"))
    assert [q.question for q in feedback.questions(0, clock.now + 1)] == ["new question"]
    feedback.vote(answered("q"), 1, helpful=True)
    assert feedback.delete_log() == (1, 0)
    assert feedback.questions(0, clock.now + 1) == [] and len(feedback.votes(0, clock.now + 1)) == 1
    assert feedback.delete_log(feedback=True) == (0, 1)


def test_with_log_days_zero_nothing_is_logged(tmp_path: Path) -> None:
    off = Feedback(State(tmp_path / "state.sqlite"), log_days=0)
    off.log(answered("anything"))
    assert off.questions(0, 1e12) == []


def test_votes_and_flags_go_after_feedback_days(feedback: Feedback, clock: Clock) -> None:
    feedback.vote(answered("q"), 1, helpful=False)
    feedback.flag(answered("q"), 1, 0, "no_answer")
    clock.now += 91 * DAY
    assert feedback.votes(0, clock.now + 1) == [] and feedback.flags(0, clock.now + 1) == []


def test_a_pin_is_found_for_the_same_question_or_a_close_vector_only(feedback: Feedback) -> None:
    vector = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    pin = feedback.pin("Who leads the cartel?", vector, excerpt("a.txt", 3, 13), "shared")
    assert feedback.pin_for("who leads the  CARTEL?", None) == pin
    assert feedback.pin_for("Who is the cartel's head?", np.array([0.99, 0.1, 0.0])) == pin
    assert feedback.pin_for("How many died?", np.array([0.5, 0.86, 0.0])) is None
    again = feedback.pin("Who leads the cartel?", vector, excerpt("b.txt", 0, 5), "shared")
    assert feedback.pins() == [again], "one pin per question"
    assert feedback.unpin(again.id) == again and not feedback.has_pins()


def test_the_report_groups_unanswered_questions_and_counts_feedback(feedback: Feedback, clock: Clock) -> None:
    for question in ("How do I bake sourdough bread?", "how do I bake sourdough bread", "Bake sourdough bread how?"):
        feedback.log(abstained(question, "bread.txt"))
    feedback.log(abstained("Who won the world cup?", "sport.txt"))
    good = answered("Who leads it?", excerpt("a.txt"), excerpt("b.txt", speaker="Dhillon"))
    feedback.log(good)
    clock.now += DAY
    feedback.log(answered("Who leads it?", excerpt("a.txt")), pinned=True)
    feedback.vote(good, 1, helpful=False)
    feedback.vote(good, 2, helpful=True)
    feedback.flag(good, 1, 1, "wrong_speaker")
    feedback.flag(good, 2, 1, "wrong_speaker")

    report = build_report(feedback, vectors, collection="guild-1", days=7)

    assert (report.asked, report.answered, report.pinned, report.unanswered) == (6, 2, 1, 4)
    assert [(g.count, g.closest_doc) for g in report.gaps] == [(3, "bread.txt"), (1, "sport.txt")]
    assert report.gaps[0].question == "How do I bake sourdough bread?"
    assert [(d.question, d.not_helpful, d.helpful) for d in report.disliked] == [("Who leads it?", 1, 1)]
    assert [(f.kind, f.count, f.doc_id) for f in report.flagged] == [("wrong_speaker", 2, "b.txt")]
    assert report.sources[0] == ("Title of a.txt", 2) and ("Dhillon", 1) in report.speakers
    assert [(s.asked, s.answered) for s in report.shares if s.asked] == [(5, 1), (1, 1)]
    assert len(report.shares) == 8, "every day of the period, the empty ones too"
    assert answer_id(good) != answer_id(answered("Who leads it?", excerpt("a.txt")))


def test_a_state_database_from_before_feedback_keeps_its_counters(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(MIGRATIONS[0])
        db.execute("INSERT INTO counters VALUES ('answered', 5)")
        db.execute("PRAGMA user_version = 1")
    state = State(path)
    Feedback(state).log(answered("q"))
    assert state.counters() == {"answered": 5}
    assert len(Feedback(state).questions(0, 1e12)) == 1
