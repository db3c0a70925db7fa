"""What a collection remembers about its questions: the question log, members' votes and flags on
answers, and the excerpts its moderators pinned as answers. Blocking (SQLite): an async caller runs
it in a worker thread.

Everything lives in the collection's state database (`state.State`, tables of `state._FEEDBACK_SCHEMA`),
so it belongs to one server and goes with its collection. What is kept, and why:

- **The question log**: each question, when, whether it was answered, its confidence and the sources
  quoted (or, unanswered, the closest ones): what `/report` counts. Kept ``log_days``; 0 keeps none.
  It never names who asked.
- **Votes and flags**: "helpful" / "not helpful" on an answer, "wrong speaker" / "does not answer" on one
  excerpt, with the question and the excerpts' sources and spans, so a moderator can find the passage.
  The member is a keyed hash (HMAC-SHA256 with a random key kept in this server's state): enough to
  keep one vote per member per answer, not to tell who voted. Kept ``feedback_days``.
- **Pins**: a question (its text and vector) and the span of a source a moderator chose as its answer.
  A question that is the same or very close (`PIN_COSINE`) gets that excerpt first, read again from
  the current index: if the source no longer holds that text there, the pin is dropped.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .answer import excerpt_at
from .errors import NoIndexError, QuestionError
from .models import Answer, Excerpt, normalised
from .settings import IndexSettings
from .state import State

if TYPE_CHECKING:
    from .collections import Collections
    from .library import Library

log = logging.getLogger(__name__)

# The kinds of flag a member can raise on one excerpt, and how they are named to people.
FLAG_KINDS: dict[str, str] = {"wrong_speaker": "wrong speaker", "no_answer": "does not answer"}
# A question this close (cosine, the model's vectors) to a pinned one gets its pin. Set by hand on
# all-MiniLM-L6-v2 pairs: rewordings of one question score 0.98-1.00 ("What do (the) cartels need to
# make / produce fentanyl?"), a neighbouring but different question 0.90 ("Which chemicals do cartels
# use for fentanyl?"), another topic under 0.5.
PIN_COSINE = 0.92
_KEY_SETTING = "feedback_key"
_DAY_S = 86400.0
_PIN_COLUMNS = "id, question, collection, doc_id, span_start, span_end, quote, created"

Outcome = Literal["recorded", "changed", "unchanged"]


@dataclass(frozen=True)
class Pin:
    """An excerpt (a span of one source) a moderator chose as the answer to a question."""

    id: int
    question: str
    collection: str
    doc_id: str
    start: int
    end: int
    quote: str
    created: float


@dataclass(frozen=True)
class LoggedQuestion:
    asked: float
    question: str
    answered: bool
    confidence: float | None
    pinned: bool
    excerpts: list[dict[str, Any]]  # the sources quoted: collection, doc_id, title, speaker, start, end
    closest: list[dict[str, Any]]  # unanswered: the closest passages' sources, the same way


@dataclass(frozen=True)
class Vote:
    answer: str
    helpful: bool
    at: float
    question: str
    excerpts: list[dict[str, Any]]


@dataclass(frozen=True)
class Flag:
    answer: str
    excerpt: int  # its place in the answer, from 0
    kind: str
    at: float
    question: str
    collection: str | None
    doc_id: str
    title: str
    speaker: str | None
    start: int
    end: int
    quote: str


def source_ref(excerpt: Excerpt) -> dict[str, Any]:
    """Where an excerpt comes from, as kept in the log and with feedback (not its text)."""
    return {
        "collection": excerpt.collection, "doc_id": excerpt.doc_id, "title": excerpt.title,
        "speaker": excerpt.speaker, "start": excerpt.start, "end": excerpt.end,
    }  # fmt: skip


def answer_id(answer: Answer) -> str:
    """An answer's identity for votes: its question and the spans it quotes. A copy of it (a member
    paging through someone else's answer), or the same answer to the same question asked again, is
    the same answer: a member's vote on it is one vote."""
    spans = "|".join(f"{e.collection}:{e.doc_id}:{e.start}-{e.end}" for e in answer.excerpts)
    return hashlib.sha256(f"{normalised(answer.question)}\n{spans}".encode()).hexdigest()[:16]


class Feedback:
    """One collection's question log, votes, flags and pins."""

    def __init__(
        self,
        state: State,
        *,
        log_days: float = 30.0,
        feedback_days: float = 180.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.log_days = log_days
        self.feedback_days = feedback_days
        self.clock = clock

    @classmethod
    def of(cls, state: State, settings: IndexSettings) -> Feedback:
        return cls(state, log_days=settings.log_days, feedback_days=settings.feedback_days)

    # -- members ------------------------------------------------------------------------------------

    def member(self, member_id: int) -> str:
        """The member as kept: a keyed hash, the key this collection's own (made on first use)."""
        with self.state.transaction() as db:
            # INSERT OR IGNORE: two processes making the key at once keep the same one.
            db.execute(
                "INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)",
                (_KEY_SETTING, json.dumps(secrets.token_hex(32))),
            )
            (stored,) = db.execute("SELECT value FROM settings WHERE key = ?", (_KEY_SETTING,)).fetchone()
        key = bytes.fromhex(json.loads(stored))
        return hmac.new(key, str(member_id).encode(), hashlib.sha256).hexdigest()[:32]

    # -- the question log ---------------------------------------------------------------------------

    @property
    def logging(self) -> bool:
        return self.log_days > 0

    def log(self, answer: Answer, *, pinned: bool = False) -> None:
        """Keep one question and what it got (nothing when the log is off); drop what is past keeping."""
        if not self.logging:
            return
        now = self.clock()
        with self.state.transaction() as db:
            db.execute(
                "INSERT INTO questions (asked, question, answered, confidence, pinned, excerpts, closest) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    now, answer.question, int(answer.answered), answer.confidence, int(pinned),
                    json.dumps([source_ref(e) for e in answer.excerpts]),
                    json.dumps([source_ref(e) for e in answer.closest[:3]]),
                ),
            )  # fmt: skip
            db.execute("DELETE FROM questions WHERE asked < ?", (now - self.log_days * _DAY_S,))

    def prune(self) -> None:
        """Remove the questions, votes and flags older than they are kept."""
        now = self.clock()
        log_cutoff = now - self.log_days * _DAY_S if self.logging else float("inf")
        feedback_cutoff = now - self.feedback_days * _DAY_S
        with self.state.transaction() as db:
            db.execute("DELETE FROM questions WHERE asked < ?", (log_cutoff,))
            db.execute("DELETE FROM votes WHERE at < ?", (feedback_cutoff,))
            db.execute("DELETE FROM flags WHERE at < ?", (feedback_cutoff,))

    def delete_log(self, *, feedback: bool = False) -> tuple[int, int]:
        """Delete the whole question log (and, with ``feedback``, the votes and flags); returns how
        many questions and how many votes and flags were deleted."""
        with self.state.transaction() as db:
            questions = db.execute("DELETE FROM questions").rowcount
            given = 0
            if feedback:
                given = db.execute("DELETE FROM votes").rowcount + db.execute("DELETE FROM flags").rowcount
        return questions, given

    def questions(self, since: float, until: float) -> list[LoggedQuestion]:
        self.prune()
        with self.state.transaction() as db:
            rows = db.execute(
                "SELECT asked, question, answered, confidence, pinned, excerpts, closest FROM questions "
                "WHERE asked >= ? AND asked < ? ORDER BY asked",
                (since, until),
            ).fetchall()
        return [
            LoggedQuestion(r[0], r[1], bool(r[2]), r[3], bool(r[4]), json.loads(r[5]), json.loads(r[6])) for r in rows
        ]

    # -- votes and flags ----------------------------------------------------------------------------

    def vote(self, answer: Answer, member_id: int, *, helpful: bool) -> Outcome:
        """The member's vote on the answer: one per member per answer; a second one changes it."""
        member, key, now = self.member(member_id), answer_id(answer), self.clock()
        with self.state.transaction() as db:
            row = db.execute("SELECT helpful FROM votes WHERE answer = ? AND member = ?", (key, member)).fetchone()
            if row is not None and bool(row[0]) == helpful:
                return "unchanged"
            db.execute(
                "INSERT INTO votes (answer, member, helpful, at, question, excerpts) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(answer, member) DO UPDATE SET helpful = excluded.helpful, at = excluded.at",
                (key, member, int(helpful), now, answer.question, json.dumps([source_ref(e) for e in answer.excerpts])),
            )
        return "recorded" if row is None else "changed"

    def flag(self, answer: Answer, member_id: int, excerpt: int, kind: str) -> Outcome:
        """The member's flag on one excerpt of the answer (its place, from 0): one per member per
        excerpt; another kind changes it."""
        if kind not in FLAG_KINDS or not 0 <= excerpt < len(answer.excerpts):
            raise QuestionError("That is not an excerpt of this answer.")
        member, key, now = self.member(member_id), answer_id(answer), self.clock()
        flagged = answer.excerpts[excerpt]
        with self.state.transaction() as db:
            row = db.execute(
                "SELECT kind FROM flags WHERE answer = ? AND member = ? AND excerpt = ?", (key, member, excerpt)
            ).fetchone()
            if row is not None and row[0] == kind:
                return "unchanged"
            db.execute(
                "INSERT INTO flags (answer, member, excerpt, kind, at, question, collection, doc_id, title, speaker, "
                "span_start, span_end, quote) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(answer, member, excerpt) DO UPDATE SET kind = excluded.kind, at = excluded.at",
                (
                    key, member, excerpt, kind, now, answer.question, flagged.collection, flagged.doc_id,
                    flagged.title, flagged.speaker, flagged.start, flagged.end, flagged.quote,
                ),
            )  # fmt: skip
        return "recorded" if row is None else "changed"

    def votes(self, since: float, until: float) -> list[Vote]:
        self.prune()
        with self.state.transaction() as db:
            rows = db.execute(
                "SELECT answer, helpful, at, question, excerpts FROM votes WHERE at >= ? AND at < ? ORDER BY at",
                (since, until),
            ).fetchall()
        return [Vote(r[0], bool(r[1]), r[2], r[3], json.loads(r[4])) for r in rows]

    def flags(self, since: float, until: float) -> list[Flag]:
        self.prune()
        with self.state.transaction() as db:
            rows = db.execute(
                "SELECT answer, excerpt, kind, at, question, collection, doc_id, title, speaker, span_start, "
                "span_end, quote FROM flags WHERE at >= ? AND at < ? ORDER BY at",
                (since, until),
            ).fetchall()
        return [Flag(*r) for r in rows]

    # -- pins ---------------------------------------------------------------------------------------

    def pin(self, question: str, vector: np.ndarray, excerpt: Excerpt, collection: str) -> Pin:
        """Pin ``excerpt`` (of ``collection``) as the answer to ``question``, replacing that
        question's earlier pin."""
        now = self.clock()
        blob = _unit(vector).astype(np.float32).tobytes()
        with self.state.transaction() as db:
            db.execute("DELETE FROM pins WHERE normalised = ?", (normalised(question),))
            cursor = db.execute(
                "INSERT INTO pins (question, normalised, vector, collection, doc_id, span_start, span_end, quote, "
                "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (question, normalised(question), blob, collection, excerpt.doc_id, excerpt.start, excerpt.end,
                 excerpt.quote, now),
            )  # fmt: skip
            pin_id = int(cursor.lastrowid or 0)
        return Pin(pin_id, question, collection, excerpt.doc_id, excerpt.start, excerpt.end, excerpt.quote, now)

    def pins(self) -> list[Pin]:
        with self.state.transaction() as db:
            rows = db.execute(f"SELECT {_PIN_COLUMNS} FROM pins ORDER BY created").fetchall()
        return [Pin(*r) for r in rows]

    def unpin(self, pin_id: int) -> Pin | None:
        """Remove a pin; returns it, or None when there was none of that id."""
        found = next((p for p in self.pins() if p.id == pin_id), None)
        if found is not None:
            with self.state.transaction() as db:
                db.execute("DELETE FROM pins WHERE id = ?", (pin_id,))
        return found

    def has_pins(self) -> bool:
        with self.state.transaction() as db:
            return db.execute("SELECT 1 FROM pins LIMIT 1").fetchone() is not None

    def pin_for(self, question: str, vector: np.ndarray | None) -> Pin | None:
        """The pin of this question, or of the closest pinned question within `PIN_COSINE`."""
        with self.state.transaction() as db:
            rows = db.execute(f"SELECT {_PIN_COLUMNS}, normalised, vector FROM pins").fetchall()
        if not rows:
            return None
        wanted = normalised(question)
        for row in rows:
            if row[8] == wanted:
                return Pin(*row[:8])
        if vector is None:
            return None
        matrix = np.stack([np.frombuffer(row[9], dtype=np.float32) for row in rows])
        cosines = matrix @ _unit(vector).astype(np.float32)
        best = int(np.argmax(cosines))
        return Pin(*rows[best][:8]) if float(cosines[best]) >= PIN_COSINE else None


def _unit(vector: np.ndarray) -> np.ndarray:
    flat = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(flat))
    return flat / norm if norm else flat


def pinned_excerpt(library: Library, pin: Pin) -> Excerpt | None:
    """The pinned span read again from the library's current index, or None when the source is gone
    or no longer holds that text there (it changed: the pin no longer stands)."""
    try:
        generation = library.generation()
    except NoIndexError:
        return None
    doc = generation.by_id.get(pin.doc_id)
    if doc is None or pin.end > doc.chars or generation.text(doc.row, pin.start, pin.end) != pin.quote:
        return None
    return excerpt_at(generation, doc.row, pin.start, pin.end)


def with_pins(
    collections: Collections, feedback: Feedback, answer: Answer, serving: Sequence[str], *, limit: int
) -> tuple[Answer, bool]:
    """The answer with this collection's pinned excerpt for the question first (still verbatim and
    attributed, from the current index), if it has one; and whether it did. A pin whose source no
    longer holds its text is removed. ``serving`` is the collections the answer was drawn from."""
    if answer.speaker is not None or not feedback.has_pins():
        return answer, False  # a question about one person quotes that person only: no pin comes first
    question = answer.question
    vector = collections.queries.cached(question)
    if vector is None:
        vector = collections.queries.embed(question)
    pin = feedback.pin_for(question, vector)
    if pin is None or pin.collection not in serving:
        return answer, False
    excerpt = pinned_excerpt(collections.library(pin.collection), pin)
    if excerpt is None:
        log.info("pin %d no longer matches its source %s: removed", pin.id, pin.doc_id)
        feedback.unpin(pin.id)
        return answer, False
    labelled = sum(1 for name in serving if collections.has_index(name)) > 1
    excerpt = excerpt.model_copy(update={"pinned": True, "collection": pin.collection if labelled else None})

    def overlaps(other: Excerpt) -> bool:
        same_doc = other.doc_id == pin.doc_id and (not labelled or other.collection == pin.collection)
        return same_doc and other.start < pin.end and pin.start < other.end

    others = [e for e in answer.excerpts if not overlaps(e)]
    pinned = answer.model_copy(update={"answered": True, "excerpts": [excerpt, *others][:limit], "closest": []})
    return pinned, True
