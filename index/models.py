"""The data the library passes around: documents, their spans, excerpts and answers."""

from __future__ import annotations

import bisect
import datetime as dt
import unicodedata
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict


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


class Excerpt(BaseModel):
    """An exact span of a source (``quote == text[start:end]``) with its attribution."""

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

    def to_json_dict(self) -> dict[str, object]:
        """The public JSON shape of ``onrecord ask --json``."""
        return self.model_dump(mode="json", exclude={"closest", "confidence"})


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
