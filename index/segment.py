"""Paragraphs, sentences and chunks of a document, as character offsets into its text.

Sentences come from syntok, a rule-based segmenter that keeps "Dr.", "U.S." and initials together
and reports each token's offset; offsets are taken from its tokens while cutting, never found later
by searching the text. Chunks are runs of whole sentences that fit the embedding model's window.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from syntok import segmenter

from .models import Chunk, Document, Sentence, Span

_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")


def paragraphs(doc: Document) -> list[Span]:
    """Paragraph spans of the text, with page furniture cut out and edges stripped of whitespace.

    Paragraphs are separated by blank lines; a text with none (HTML extraction gives one block per
    line) is split at line ends instead. A PDF page break always ends a paragraph.
    """
    text = doc.text
    separator = _BLANK_LINE if _BLANK_LINE.search(text) else re.compile(r"\n")
    cuts = sorted(
        [(m.start(), m.end()) for m in separator.finditer(text)]
        + list(doc.furniture)
        + [(s, s) for s in doc.page_starts]
    )
    spans: list[Span] = []
    position = 0
    for start, end in [*cuts, (len(text), len(text))]:
        if start > position:
            spans.extend(_stripped(text, position, start))
        position = max(position, end)
    return spans


def _stripped(text: str, start: int, end: int) -> list[Span]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if any(ch.isalnum() for ch in text[start:end]):
        return [Span(start, end)]
    return []


def sentences(doc: Document, paras: Sequence[Span] | None = None) -> list[Sentence]:
    """Sentences of every paragraph, in document order; pieces without a letter or digit are dropped."""
    result: list[Sentence] = []
    for number, para in enumerate(paras if paras is not None else paragraphs(doc)):
        piece = doc.text[para.start : para.end]
        for block in segmenter.analyze(piece):
            for sentence in block:
                # syntok marks a break at a whitespace-only line with an empty token after the spaces
                tokens = [token for token in sentence if token.value]
                if not tokens:
                    continue
                start = para.start + tokens[0].offset
                last = tokens[-1]
                end = para.start + last.offset + len(last.value)
                if any(ch.isalnum() for ch in doc.text[start:end]):
                    result.append(Sentence(start, end, number))
    return result


def chunks(
    sents: Sequence[Sentence],
    token_counts: Sequence[int],
    max_tokens: int,
    overlap: int = 1,
) -> list[Chunk]:
    """Greedy runs of whole sentences whose token counts sum to at most ``max_tokens``.

    Neighbouring chunks share ``overlap`` sentences so a passage is never cut off from the sentence
    that introduces it. A single sentence longer than the window is a chunk of its own (the model
    reads its first ``max_tokens`` tokens).
    """
    result: list[Chunk] = []
    first = 0
    n = len(sents)
    while first < n:
        last = first
        used = token_counts[first]
        while last + 1 < n and used + token_counts[last + 1] <= max_tokens:
            last += 1
            used += token_counts[last]
        result.append(Chunk(sents[first].start, sents[last].end, first, last))
        if last + 1 >= n:
            break
        first = max(last + 1 - overlap, first + 1)
    return result


TokenCounter = Callable[[Sequence[str]], list[int]]
