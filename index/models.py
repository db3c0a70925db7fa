"""The data the library passes around: documents, their spans, excerpts and answers."""

from __future__ import annotations

import bisect
import datetime as dt
import unicodedata
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

NOT_COVERED = "The sources do not cover this question."


@dataclass(frozen=True)
class Document:
    """One source as extracted: its text (quotes are slices of it) and its metadata."""

    doc_id: str
    text: str
    title: str
    path: str | None = None
    url: str | None = None
    author: str | None = None
    published: dt.date | None = None
    content_hash: str = ""
    # Start offset of each page in ``text`` (PDFs only); page n starts at page_starts[n - 1].
    page_starts: tuple[int, ...] = ()
    # Spans of ``text`` that are page furniture (never segmented, never quoted).
    furniture: tuple[tuple[int, int], ...] = ()
    # Spans that are not prose (headings, list labels, table rows): indexed as context, never an excerpt.
    labels: tuple[tuple[int, int], ...] = ()

    def page_of(self, offset: int) -> int | None:
        """1-based page holding ``offset``, or None when the document has no pages."""
        return page_number(self.page_starts, offset)


def page_number(page_starts: tuple[int, ...], offset: int) -> int | None:
    """1-based page whose start is the last one at or before ``offset``; None without pages."""
    if not page_starts:
        return None
    return max(bisect.bisect_right(page_starts, offset), 1)


def normalised(text: str) -> str:
    """The text as compared for repeats: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass(frozen=True)
class Span:
    """A half-open character range ``[start, end)`` of a document's text."""

    start: int
    end: int


@dataclass(frozen=True)
class Sentence:
    """A sentence of a document, with the paragraph it sits in and who says it, if anyone."""

    start: int
    end: int
    paragraph: int
    speaker: str | None = None


@dataclass(frozen=True)
class Chunk:
    """Whole consecutive sentences ``[first, last]`` that fit the model's window."""

    start: int
    end: int
    first: int
    last: int


@dataclass(frozen=True)
class Skipped:
    """A source file that was not indexed, and why."""

    path: str
    reason: str


class AlsoReported(BaseModel):
    """Another source that tells the same sentence (a copy or a close variant), named beside an excerpt."""

    model_config = ConfigDict(frozen=True)

    doc_id: str
    title: str
    author: str | None
    url: str | None
    published: dt.date | None


class Excerpt(BaseModel):
    """An exact span of a source (``quote == text[start:end]``) with its attribution.

    ``also`` names other sources whose own sentence says the same (several outlets carrying one
    report): they are not repeated as excerpts of their own.
    """

    model_config = ConfigDict(frozen=True)

    quote: str
    doc_id: str
    title: str
    path: str | None
    url: str | None
    author: str | None
    published: dt.date | None
    speaker: str | None
    location: str | None
    start: int
    end: int
    score: float
    also: list[AlsoReported] = []
    # Which collection the source is in ("shared", "guild-<id>"), when an answer draws on several.
    collection: str | None = None
    # A moderator pinned this excerpt as the answer to the question (index/feedback.py).
    pinned: bool = False


class Answer(BaseModel):
    """What the library says to a question: excerpts, or that the sources do not cover it."""

    question: str
    answered: bool
    excerpts: list[Excerpt]
    # When not answered: the nearest passages, shown as such and never as an answer.
    closest: list[Excerpt] = []
    # The best evidence's confidence (compared with ``min_score`` to decide whether to answer);
    # None when nothing was retrieved. For evaluation and calibration, not part of the public JSON.
    confidence: float | None = None
    # A question about one person ("What did Dhillon say about Mexico?", or ``speaker=``): the name
    # as asked (or as quoted, when it names one person), and the speakers of the sources it matched
    # (empty: the sources quote nobody of that name). Every excerpt is then theirs.
    speaker: str | None = None
    speakers: list[str] = []

    def to_json_dict(self) -> dict[str, object]:
        """The public JSON shape of ``onrecord ask --json`` (``speaker`` and ``speakers`` only for a
        question about a person, an excerpt's ``also`` only when other sources tell the same)."""
        hidden = {"closest", "confidence"} | ({"speaker", "speakers"} if self.speaker is None else set())
        data = self.model_dump(mode="json", exclude=hidden)
        for excerpt in data["excerpts"]:
            if not excerpt["also"]:
                del excerpt["also"]
            if excerpt["collection"] is None:
                del excerpt["collection"]
            if not excerpt["pinned"]:
                del excerpt["pinned"]
        return data

    def abstention(self) -> str:
        """What to say when not answered, in one sentence."""
        if self.speaker is None:
            return NOT_COVERED
        if not self.speakers:
            return f"The sources quote nobody called {self.speaker}."
        return f"The sources hold no quote of {self.speaker} on that."


@dataclass(frozen=True)
class SourceInfo:
    """An indexed document as listed by ``sources``."""

    doc_id: str
    title: str
    path: str | None
    url: str | None
    author: str | None
    published: dt.date | None
    chunks: int
    sentences: int
    chars: int
    collection: str | None = None  # set when several collections are listed together


@dataclass
class BuildReport:
    """What a rebuild did."""

    documents: int = 0
    chunks: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    embedded: int = 0
    seconds: float = 0.0
    full_rebuild_reason: str | None = None
    generation: str = ""


@dataclass(frozen=True)
class SpeakerInfo:
    """A person (or a described source, "a Department of Homeland spokesperson") the sources quote."""

    name: str
    quotes: int  # quotations: runs of their sentences within one paragraph
    sentences: int
    documents: int


class QuoteMatch(BaseModel):
    """Where the sources hold a quote a member looked up, and how closely (0-100) it matches."""

    excerpt: Excerpt
    similarity: float
    # Whether the speaker the member named is the one the sources give; None when they named nobody.
    claim_agrees: bool | None = None


class WhoSaid(BaseModel):
    """What the sources say about who said a piece of text (``onrecord who-said``, "Who said this?")."""

    text: str  # the quote looked up (what the member wrote, less any attribution around it)
    claimed: str | None = None  # the speaker the member's text names for it, if any
    matches: list[QuoteMatch] = []

    @property
    def found(self) -> bool:
        return bool(self.matches)

    def verdict(self, match: QuoteMatch) -> str:
        """One sentence: whom the sources attribute a match to, set against the member's claim."""
        speaker = match.excerpt.speaker
        if speaker is None:
            if self.claimed:
                return f"The sources do not attribute this to {self.claimed}: they quote nobody for it."
            return "The sources quote nobody for this: it is the source's own text."
        if self.claimed and not match.claim_agrees:
            return f"The sources attribute this to {speaker}, not {self.claimed}."
        return f"The sources attribute this to {speaker}."
