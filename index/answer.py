"""From scored sentences to an `Answer`: excerpts, attribution, and abstention.

An excerpt is an exact span of a document's text: a sentence, widened to a neighbour in the same
paragraph when that neighbour is nearly as relevant and the budget allows, or cut at a word boundary
when a single sentence is longer than the budget. Excerpts never overlap or repeat each other. When
the best evidence's confidence is below ``min_score`` the answer says the sources do not cover the question
and carries the nearest passages only as such.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from .models import Answer, Excerpt
from .search import Candidate
from .store import Generation

_NEIGHBOUR_RATIO = 0.85
_MIN_RELATIVE = 0.70  # later excerpts must score at least this share of the first


@dataclass(frozen=True)
class _Window:
    doc_row: int
    start: int
    end: int
    sentences: tuple[int, ...]
    score: float
    confidence: float


def compose(
    generation: Generation,
    question: str,
    candidates: Sequence[Candidate],
    *,
    max_excerpts: int,
    budget: int,
    min_score: float,
) -> Answer:
    """The answer for ``question`` from ranked candidates."""
    windows = _windows(generation, candidates, max_excerpts, budget)
    confidence = windows[0].confidence if windows else None
    if not windows or windows[0].confidence < min_score:
        closest = [_excerpt(generation, w) for w in windows]
        return Answer(question=question, answered=False, excerpts=[], closest=closest, confidence=confidence)
    top = windows[0].score
    kept = [w for w in windows if w.confidence >= min_score and w.score >= top * _MIN_RELATIVE]
    return Answer(
        question=question, answered=True, excerpts=[_excerpt(generation, w) for w in kept], confidence=confidence
    )


def _windows(generation: Generation, candidates: Sequence[Candidate], limit: int, budget: int) -> list[_Window]:
    by_id = {c.sentence: c for c in candidates}
    chosen: list[_Window] = []
    seen_text: list[str] = []
    for candidate in candidates:
        if len(chosen) >= limit:
            break
        sid = candidate.sentence
        if any(sid in w.sentences for w in chosen):
            continue
        window = _widen(generation, candidate, by_id, budget)
        if any(w.doc_row == window.doc_row and w.start < window.end and window.start < w.end for w in chosen):
            continue
        text = _normalise(generation.text(window.doc_row, window.start, window.end))
        if any(text in other or other in text for other in seen_text):
            continue
        chosen.append(window)
        seen_text.append(text)
    return chosen


def _widen(generation: Generation, candidate: Candidate, by_id: dict[int, Candidate], budget: int) -> _Window:
    sid, score, confidence = candidate.sentence, candidate.score, candidate.confidence
    doc_row = int(generation.sentence_doc[sid])
    start, end = int(generation.sentence_start[sid]), int(generation.sentence_end[sid])
    members = [sid]
    if end - start > budget:
        start, end = _cut(generation.text(doc_row, start, end), start, budget)
        return _Window(doc_row, start, end, (sid,), score, confidence)
    paragraph = generation.sentence_paragraph[sid]
    for neighbour in _neighbours(generation, sid, by_id):
        if generation.sentence_doc[neighbour] != doc_row or generation.sentence_paragraph[neighbour] != paragraph:
            continue
        n_start, n_end = int(generation.sentence_start[neighbour]), int(generation.sentence_end[neighbour])
        if max(end, n_end) - min(start, n_start) > budget:
            continue
        if by_id[neighbour].score < score * _NEIGHBOUR_RATIO:
            continue
        start, end = min(start, n_start), max(end, n_end)
        members.append(neighbour)
    return _Window(doc_row, start, end, tuple(sorted(members)), score, confidence)


def _neighbours(generation: Generation, sid: int, by_id: dict[int, Candidate]) -> list[int]:
    """Adjacent sentences that were scored, the better one first."""
    near = [n for n in (sid - 1, sid + 1) if n in by_id]
    return sorted(near, key=lambda n: by_id[n].score, reverse=True)


def _cut(text: str, start: int, budget: int) -> tuple[int, int]:
    """The longest prefix of ``text`` within ``budget`` characters that ends at a word's end."""
    cut = budget
    while cut > budget // 2 and not text[cut].isspace():
        cut -= 1
    if cut <= budget // 2:
        cut = budget
    piece = text[:cut].rstrip()
    piece = re.sub(r"[\s,;:\-–—(\[]+$", "", piece)
    return start, start + len(piece)


def _excerpt(generation: Generation, window: _Window) -> Excerpt:
    doc = generation.documents[window.doc_row]
    speakers = generation.speakers(window.sentences)
    speaker = next((speakers[s] for s in window.sentences if speakers.get(s)), None)
    page = doc.page_of(window.start)
    paragraph = int(generation.sentence_paragraph[window.sentences[0]]) + 1
    return Excerpt(
        quote=generation.text(window.doc_row, window.start, window.end),
        doc_id=doc.doc_id,
        title=doc.title,
        path=doc.path,
        url=doc.url,
        author=doc.author,
        published=doc.published,
        speaker=speaker,
        location=f"p. {page}" if page is not None else f"paragraph {paragraph}",
        start=window.start,
        end=window.end,
        score=round(window.score, 4),
    )


def _normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())
