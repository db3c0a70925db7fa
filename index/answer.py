"""From scored sentences to an `Answer`: excerpts, attribution, and abstention.

An excerpt is an exact span of a document's text: a ranked sentence, grown sentence by sentence
within its paragraph and into the neighbouring ones (the better-scoring neighbour first) while the
budget allows, or cut at a word
boundary when a single sentence is longer than the budget. Excerpts never overlap or repeat each
other. When the best evidence's confidence is below ``min_score`` the answer says the sources do not
cover the question and carries the nearest passages only as such.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .analysis import NOT_PROSE
from .models import AlsoReported, Answer, Excerpt, normalised
from .search import Candidate, topic_stems
from .store import Generation

_WORD = re.compile(r"\w[\w'’-]*")


@dataclass(frozen=True)
class Shape:
    """How excerpts are cut from the ranked sentences."""

    # A neighbouring sentence of the same paragraph joins the excerpt while the budget allows, if
    # its own score is at least this share of the excerpt's best (0: fill the budget with context).
    # Filling won clearly in scripts/tune.py: the answer often sits next to the sentence that
    # matches the question best.
    neighbour_ratio: float = 0.0
    # Excerpts after the first must score (a probability, see `Weights`) at least this share of the
    # first. With the listwise fit, 0.0 scored best on the dev halves (hit@3; scripts/tune.py).
    min_relative: float = 0.0
    # Whether an excerpt may grow into the next or previous paragraph (only across blank space, never
    # over furniture or a page break): news paragraphs are often one sentence long, and the answer to
    # a question is often the sentence after the one that restates it. On the dev halves: news hit@1
    # 0.565 -> 0.633, SQuAD unchanged (scripts/tune.py --try '{"across_paragraphs": false}').
    across_paragraphs: bool = True


# Two sentences of different sources whose vectors are at least this close tell the same thing (an
# agency report carried by several outlets, lightly edited): one is quoted, the others named beside it.
SAME_REPORT_COSINE = 0.95


@dataclass(frozen=True)
class _Window:
    doc_row: int
    start: int
    end: int
    sentences: tuple[int, ...]
    score: float
    confidence: float
    main: int  # the sentence that was ranked; the others are its context
    also: list[int] = field(default_factory=list)  # rows of other documents telling the same sentence


def compose(
    generation: Generation,
    question: str,
    candidates: Sequence[Candidate],
    *,
    max_excerpts: int,
    budget: int,
    min_score: float,
    shape: Shape = Shape(),
    within: frozenset[int] | None = None,
) -> Answer:
    """The answer for ``question`` from ranked candidates; with ``within`` (sentence ids, e.g. one
    person's quotes) an excerpt grows only over those sentences."""
    focus = topic_stems(generation, question)
    windows = _windows(generation, focus, candidates, max_excerpts, budget, shape, within)
    confidence = windows[0].confidence if windows else None
    if not windows or windows[0].confidence < min_score:
        closest = [_excerpt(generation, w) for w in windows]
        return Answer(question=question, answered=False, excerpts=[], closest=closest, confidence=confidence)
    top = windows[0].score
    kept = [w for w in windows if w.confidence >= min_score and w.score >= top * shape.min_relative]
    return Answer(
        question=question, answered=True, excerpts=[_excerpt(generation, w) for w in kept], confidence=confidence
    )


def _windows(
    generation: Generation,
    focus: frozenset[str],
    candidates: Sequence[Candidate],
    limit: int,
    budget: int,
    shape: Shape,
    within: frozenset[int] | None = None,
) -> list[_Window]:
    """Excerpt windows around the best candidates, at most ``limit``; ``focus`` is the question's
    topic words (stemmed), where a sentence longer than the budget is cut."""
    by_id = {c.sentence: c for c in candidates}
    chosen: list[_Window] = []
    seen_text: list[str] = []
    quoted: dict[int, _Window] = {}  # fingerprint of every sentence already quoted -> its excerpt
    # The vectors of the first candidates, to tell the same report in other words (read in one go).
    head = [c.sentence for c in candidates[: 8 * limit]]
    vectors = generation.rows("sentences", np.array(head, dtype=np.int64)) if head else np.zeros((0, 1))
    for number, candidate in enumerate(candidates):
        if len(chosen) >= limit:
            break
        sid = candidate.sentence
        if int(generation.sentence_kinds[sid]) & NOT_PROSE:
            continue  # a heading, a list label, a link: searchable context, never an excerpt
        doc_row = int(generation.sentence_doc[sid])
        same = quoted.get(int(generation.sentence_fingerprint[sid])) or _same_report(
            generation, chosen, vectors, head, number
        )
        if same is not None:
            # This sentence (or a copy of it) is already quoted: a copy in another source is named beside it.
            if same.doc_row != doc_row and doc_row not in same.also:
                same.also.append(doc_row)
            continue
        window = _widen(generation, focus, candidate, by_id, budget, shape, within)
        if any(w.doc_row == window.doc_row and w.start < window.end and window.start < w.end for w in chosen):
            continue
        text = normalised(generation.text(window.doc_row, window.start, window.end))
        if any(text in other or other in text for other in seen_text):
            continue
        chosen.append(window)
        seen_text.append(text)
        quoted.update((f, window) for f in generation.sentence_fingerprint[list(window.sentences)].tolist())
    return chosen


def _same_report(
    generation: Generation, chosen: Sequence[_Window], vectors: np.ndarray, head: Sequence[int], number: int
) -> _Window | None:
    """The chosen excerpt of another document whose ranked sentence says what candidate ``number`` says."""
    if number >= len(head) or not chosen:
        return None
    doc_row = int(generation.sentence_doc[head[number]])
    for window in chosen:
        if window.doc_row == doc_row or window.main not in head:
            continue
        if float(vectors[number] @ vectors[head.index(window.main)]) >= SAME_REPORT_COSINE:
            return window
    return None


def _widen(
    generation: Generation,
    focus: frozenset[str],
    candidate: Candidate,
    by_id: dict[int, Candidate],
    budget: int,
    shape: Shape,
    within: frozenset[int] | None = None,
) -> _Window:
    """The candidate's sentence, grown sentence by sentence within its paragraph (or, with
    ``shape.across_paragraphs``, into the next ones) and ``within``, while it fits."""
    ratio = shape.neighbour_ratio
    sid, score, confidence = candidate.sentence, candidate.score, candidate.confidence
    doc_row = int(generation.sentence_doc[sid])
    start, end = int(generation.sentence_start[sid]), int(generation.sentence_end[sid])
    if end - start > budget:
        text = generation.text(doc_row, start, end)
        start, end = _cut(text, start, budget, focus, generation.stem)
        return _Window(doc_row, start, end, (sid,), score, confidence, sid)
    first = last = sid
    while True:
        options = [
            n for n, edge in ((last + 1, last), (first - 1, first))
            if _joinable(generation, n, edge, shape.across_paragraphs) and (within is None or n in within)
        ]  # fmt: skip
        options = [
            n for n in options
            if max(end, int(generation.sentence_end[n])) - min(start, int(generation.sentence_start[n])) <= budget
            and _score(by_id, n) >= score * ratio
        ]  # fmt: skip
        if not options:
            break
        best = max(options, key=lambda n: _score(by_id, n))  # ties go to the sentence after
        first, last = min(first, best), max(last, best)
        start, end = int(generation.sentence_start[first]), int(generation.sentence_end[last])
    return _Window(doc_row, start, end, tuple(range(first, last + 1)), score, confidence, sid)


def _joinable(generation: Generation, other: int, edge: int, across: bool = False) -> bool:
    """``other`` exists, is prose, and is in the same document and paragraph as ``edge`` (the window's
    sentence beside it); with ``across``, in a neighbouring paragraph of the same page when only blank
    space lies between them."""
    if not (
        0 <= other < generation.n_sentences
        and not int(generation.sentence_kinds[other]) & NOT_PROSE
        and generation.sentence_doc[other] == generation.sentence_doc[edge]
    ):
        return False
    if generation.sentence_paragraph[other] == generation.sentence_paragraph[edge]:
        return True
    if not across:
        return False
    doc_row = int(generation.sentence_doc[edge])
    before, after = min(other, edge), max(other, edge)
    gap_start, gap_end = int(generation.sentence_end[before]), int(generation.sentence_start[after])
    doc = generation.documents[doc_row]
    same_page = doc.page_of(gap_start) == doc.page_of(gap_end)
    return same_page and not generation.text(doc_row, gap_start, gap_end).strip()


def _score(by_id: dict[int, Candidate], sid: int) -> float:
    candidate = by_id.get(sid)
    return candidate.score if candidate is not None else 0.0


def _cut(
    text: str, start: int, budget: int, focus: frozenset[str] = frozenset(), stem: Callable[[str], str] = str.lower
) -> tuple[int, int]:
    """A piece of a sentence longer than the budget: whole words, at most ``budget`` characters,
    holding as many of the question's topic words (``focus``, as ``stem`` makes them) as any such
    piece can; the earliest of those, so the sentence's own start when it is as good."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    wanted = [stem(text[a:b]) if focus else "" for a, b in words]
    held: Counter[str] = Counter()
    best_first, best_score, right = 0, -1, 0
    for left, (begin, _) in enumerate(words):  # a sliding window of whole words
        while right < len(words) and words[right][1] - begin <= budget:
            if wanted[right] in focus:
                held[wanted[right]] += 1
            right += 1
        if len(held) > best_score:
            best_first, best_score = left, len(held)
        if right == len(words):
            break  # every later piece is a part of this one
        if wanted[left] in focus:
            held[wanted[left]] -= 1
            if not held[wanted[left]]:
                del held[wanted[left]]
    begin = words[best_first][0] if words else 0
    piece = text[begin : begin + budget]
    if begin + budget < len(text):  # end at a word's end
        cut = len(piece)
        while cut > budget // 2 and not text[begin + cut].isspace():
            cut -= 1
        piece = piece[:cut] if cut > budget // 2 else piece
    piece = re.sub(r"[\s,;:\-–—(\[]+$", "", piece.rstrip())
    return start + begin, start + begin + len(piece)


def span_excerpt(generation: Generation, sentences: Sequence[int], budget: int, score: float = 1.0) -> Excerpt:
    """Consecutive sentences of one document as an excerpt, cut at ``budget`` characters (from the
    start, at a word's end) when longer."""
    first, last = int(sentences[0]), int(sentences[-1])
    doc_row = int(generation.sentence_doc[first])
    start, end = int(generation.sentence_start[first]), int(generation.sentence_end[last])
    if end - start > budget:
        start, end = _cut(generation.text(doc_row, start, end), start, budget)
        last = max(s for s in range(first, last + 1) if int(generation.sentence_start[s]) < end)
    return _excerpt(generation, _Window(doc_row, start, end, tuple(range(first, last + 1)), score, score, first))


def excerpt_at(generation: Generation, doc_row: int, start: int, end: int, score: float = 1.0) -> Excerpt | None:
    """The excerpt ``text[start:end]`` of a document, attributed like any other (a pinned answer read
    again from the current generation); None when no sentence of the document lies in that span."""
    doc = generation.documents[doc_row]
    first, last = doc.sentence_first, doc.sentence_end
    inside = (generation.sentence_start[first:last] < end) & (generation.sentence_end[first:last] > start)
    sentences = tuple(int(s) + first for s in np.nonzero(inside)[0])
    if not sentences:
        return None
    return _excerpt(generation, _Window(doc_row, start, end, sentences, score, score, sentences[0]))


def _excerpt(generation: Generation, window: _Window) -> Excerpt:
    doc = generation.documents[window.doc_row]
    # The one person its sentences quote. When they quote two or more, whose words the excerpt is
    # would be a guess: it names nobody rather than the wrong person.
    named = {s for s in generation.speakers(window.sentences).values() if s}
    speaker = named.pop() if len(named) == 1 else None
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
        also=[_also(generation, row) for row in window.also],
    )


def _also(generation: Generation, doc_row: int) -> AlsoReported:
    doc = generation.documents[doc_row]
    return AlsoReported(doc_id=doc.doc_id, title=doc.title, author=doc.author, url=doc.url, published=doc.published)
