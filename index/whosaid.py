"""Who said this? Find a piece of text in the sources, word for word or nearly, and its speaker.

Quotation marks, case, diacritics, punctuation and spacing are ignored: both sides are reduced to
lower-case words. Candidates are the sentences BM25 ranks highest for the text's words; each grows
into a window of neighbouring sentences of its document at least as long as the text, and the text
is aligned inside it with rapidfuzz (the best-matching substring, Indel similarity 0-100). A window
that matches at least `MIN_SIMILARITY` holds the quote; the sentences the alignment covers are the
excerpt shown. No model is involved.

What a member pastes often carries its own attribution ("“They just need precursor chemicals,”
Maltz said."). The quoted part is what is looked up, and a name around it is the speaker the member
claims, to be compared with the one the sources give.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from .analysis import word_ids
from .answer import span_excerpt
from .models import QuoteMatch, WhoSaid
from .speakers import SpeakerTable, name_words, names_match
from .store import Generation

# Near-exact: a typo or a changed short word in a sentence-long quote stays above it, a paraphrase
# falls well below (scripts/who_said_eval.py chose it on half of PolNeAR's quotations, BENCHMARKS.md).
MIN_SIMILARITY = 90.0
MIN_CHARS = 12  # fewer characters than this (once reduced) would match too much by chance
CANDIDATES = 24  # sentences by BM25 that are aligned
MAX_WINDOW = 12  # sentences in one window at most
MAX_MATCHES = 3
_CLOSE_TO_BEST = 5.0  # other sources are listed when they match within this of the best

_MARKS = '“”„‟"«»‹›「」『』'
_QUOTED = re.compile(rf"[{_MARKS}‘](?P<quote>[^{_MARKS}]{{8,}}?)[{_MARKS}’](?!\w)")
_CAPITAL = r"[A-ZÀ-ÖØ-Þ][\w’'\-.]*"
_CAPITAL_NAME = re.compile(rf"(?<![\w’'])(?:{_CAPITAL})(?:\s+(?:{_CAPITAL}|de|van|von|bin|al)){{0,3}}")
_NOT_NAMES = frozenset(
    [
        "the",
        "this",
        "that",
        "these",
        "those",
        "he",
        "she",
        "they",
        "it",
        "we",
        "i",
        "you",
        "who",
        "what",
        "when",
        "where",
        "why",
        "how",
        "did",
        "does",
        "is",
        "was",
        "said",
        "says",
        "according",
        "quote",
        "source",
        "yes",
        "no",
        "not",
        "never",
        "lol",
        "so",
        "and",
        "but",
        "or",
        "if",
        "also",
        "just",
    ]
)
_SPEECH = r"(?:said|says|say|stated|wrote|writes|tweeted|told|added|claims|claimed|according\s+to)"
_CLAIM_PATTERNS = [
    re.compile(rf"^\W*(?P<name>{_CAPITAL_NAME.pattern})\s*(?:,[^,]{{1,60}},\s*)?(?:{_SPEECH}\b|:)"),
    re.compile(rf"(?:{_SPEECH}|[-–—―]+|~)\s*(?:by\s+)?(?P<name>{_CAPITAL_NAME.pattern})\W*$"),
]


def reduced(text: str) -> str:
    """Lower-case words separated by single spaces: no marks, punctuation, diacritics or case."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()
    folded = re.sub(r"(?<=\w)[’'](?=\w)", "", folded)  # "we’re" and "we're" are one word
    return " ".join(re.sub(r"[\W_]+", " ", folded).split())


@dataclass(frozen=True)
class Lookup:
    """What a member's text asks about: the quote, and the speaker it names, if any."""

    quote: str
    claim_text: str  # the rest of the text, where an attribution would be


def split_claim(text: str) -> Lookup:
    """The quoted part of a text (the longest span in quotation marks, if any) and the rest. The text
    is a cleaned question (`Library.clean_question`: no links, one line)."""
    text = " ".join(text.split())
    quoted = [m for m in _QUOTED.finditer(text) if len(m.group("quote").split()) >= 3]
    if quoted:
        best = max(quoted, key=lambda m: len(m.group("quote")))
        return Lookup(best.group("quote").strip(" ,;:"), text[: best.start()] + " … " + text[best.end() :])
    for pattern in _CLAIM_PATTERNS:  # Dhillon said: they just need ... / they just need ... — Dhillon
        found = pattern.search(text)
        if found is not None and _is_name(found.group("name")):
            rest = (text[: found.start()] + " " + text[found.end() :]).strip(" :,.-–—")
            if len(reduced(rest)) >= MIN_CHARS:
                return Lookup(rest, found.group(0))
    return Lookup(text, "")


def _is_name(candidate: str) -> bool:
    words = candidate.split()
    return bool(words) and all(w.casefold().strip(".") not in _NOT_NAMES for w in words[:1])


def claimed_speaker(claim_text: str, table: SpeakerTable) -> str | None:
    """The speaker the rest of a member's text names: a person the sources quote, else a capitalised
    name next to a speech verb, a dash or a colon."""
    if not claim_text.strip():
        return None
    candidates = [m.group(0).strip(" .") for m in _CAPITAL_NAME.finditer(claim_text)]
    for candidate in candidates:
        if _is_name(candidate) and table.match(candidate, names_only=True):
            return candidate
    for pattern in _CLAIM_PATTERNS:
        found = pattern.search(claim_text.replace("…", " ").strip())
        if found is not None and _is_name(found.group("name")):
            return found.group("name").strip(" .")
    return None


def agrees(claimed: str, speaker: str | None) -> bool:
    """Whether the name a member gave means the speaker the sources give."""
    return speaker is not None and names_match(name_words(claimed), name_words(speaker))


def who_said(
    generation: Generation, table: SpeakerTable, text: str, budget: int, min_similarity: float = MIN_SIMILARITY
) -> WhoSaid:
    """The places in the sources that hold ``text`` (or its quoted part), best first."""
    lookup = split_claim(text)
    claimed = claimed_speaker(lookup.claim_text, table)
    query = reduced(lookup.quote)
    result = WhoSaid(text=lookup.quote, claimed=claimed)
    if len(query) < MIN_CHARS or generation.n_sentences == 0:
        return result
    found = _aligned(generation, query, min_similarity)
    if not found:
        return result
    best = found[0][0]
    matches: list[QuoteMatch] = []
    for similarity, sentences in found:
        if similarity < best - _CLOSE_TO_BEST or len(matches) >= MAX_MATCHES:
            break
        excerpt = span_excerpt(generation, sentences, max(budget, int(len(lookup.quote) * 1.3)), similarity / 100)
        agreement = None if claimed is None else agrees(claimed, excerpt.speaker)
        matches.append(QuoteMatch(excerpt=excerpt, similarity=round(similarity, 1), claim_agrees=agreement))
    return result.model_copy(update={"matches": matches})


def _aligned(generation: Generation, query: str, cutoff: float) -> list[tuple[float, tuple[int, ...]]]:
    """(similarity, sentences covered) of each candidate window holding the query, best first; one
    per place (windows that cover the same sentences are one)."""
    tokens = word_ids(generation.tokenizer, query)
    if not tokens:
        return []
    scores = generation.sentence_postings.query(tokens).scores()
    picked = np.flatnonzero(scores > 0)
    if len(picked) > CANDIDATES:
        picked = picked[np.argpartition(-scores[picked], CANDIDATES - 1)[:CANDIDATES]]
    seen: set[tuple[int, ...]] = set()
    found: list[tuple[float, int, tuple[int, ...]]] = []
    for sid in sorted(picked.tolist(), key=lambda s: -scores[s]):
        hit = _align(generation, query, int(sid), cutoff)
        if hit is not None and hit[1] not in seen:
            seen.add(hit[1])
            published = generation.documents[int(generation.sentence_doc[hit[1][0]])].published
            found.append((hit[0], published.toordinal() if published else 10**7, hit[1]))
    found.sort(key=lambda f: (-f[0], f[1]))  # equal matches: the earliest source first (the original)
    return [(similarity, sentences) for similarity, _, sentences in found]


def _align(generation: Generation, query: str, sid: int, cutoff: float) -> tuple[float, tuple[int, ...]] | None:
    """The query aligned in a window around sentence ``sid``: its similarity and the sentences the
    alignment covers, or None when it is below ``cutoff``."""
    doc = generation.documents[int(generation.sentence_doc[sid])]
    texts = {sid: reduced(_sentence(generation, sid))}
    # The quote may start anywhere in this sentence and run on after it, or end in it: the window
    # holds the query's length of text on either side of it (within the document).
    first = last = sid
    after = before = 0
    while after < len(query) and last + 1 < doc.sentence_end and last - first + 1 < MAX_WINDOW:
        last += 1
        texts[last] = reduced(_sentence(generation, last))
        after += len(texts[last]) + 1
    while before < len(query) and first - 1 >= doc.sentence_first and last - first + 1 < MAX_WINDOW:
        first -= 1
        texts[first] = reduced(_sentence(generation, first))
        before += len(texts[first]) + 1
    order = list(range(first, last + 1))
    window, starts = _joined([texts[s] for s in order])
    if len(window) < len(query) * 0.9:
        return None  # the document holds less text than the quote around here
    alignment = fuzz.partial_ratio_alignment(query, window, score_cutoff=cutoff)
    if alignment is None:
        return None
    begin, end = alignment.dest_start, alignment.dest_end
    covered = tuple(s for s, (a, b) in zip(order, starts, strict=True) if a < end and begin < b)
    return (alignment.score, covered) if covered else None


def _joined(texts: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """The texts joined by spaces, and where each lies in the result."""
    spans: list[tuple[int, int]] = []
    at = 0
    for text in texts:
        spans.append((at, at + len(text)))
        at += len(text) + 1
    return " ".join(texts), spans


def _sentence(generation: Generation, sid: int) -> str:
    return generation.text(
        int(generation.sentence_doc[sid]), int(generation.sentence_start[sid]), int(generation.sentence_end[sid])
    )
