"""Who says a sentence: direct quotations and the speakers news prose attributes them to.

News writing marks speech with quotation marks and a speech verb next to a name ("…,” Dhillon
said.", "…,” said Uttam Dhillon, …", "…,” Derek Maltz, a former agent, said"). A quotation that
runs on into the next paragraph opens that paragraph with a quotation mark and names nobody, so it
keeps the previous speaker. A surname alone is expanded to the fullest form of the name the text
used before ("Dhillon" -> "Uttam Dhillon").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .models import Sentence, Span

_UPPER = "A-ZÀ-ÖØ-Þ"
_WORD = rf"[{_UPPER}][\w’'\-]*"
_TITLE = r"(?:Dr|Mr|Mrs|Ms|Prof|Sen|Rep|Gov|Gen)\.\s+"
_NAME = rf"(?:{_TITLE})?{_WORD}(?:\s+(?:{_WORD}|de|del|la|van|von|bin|al))*"
_SAY = (
    r"(?:said|says|added|adds|told|stated|states|explained|explains|noted|notes|wrote|writes|asked|asks"
    r"|argued|argues|continued|warned|warns|insisted|recalled|testified|tweeted)"
)
_ROLE = (
    r"(?:spokesperson|spokesman|spokeswoman|official|officials|representative|statement|source|sources"
    r"|analyst|expert|agency|department)"
)
_PRONOUNS = {"He", "She", "They", "It", "We", "I", "This", "That", "The", "A", "An"}

_PATTERNS = [
    # "Derek Maltz, a former DEA special agent, said" / "Dhillon said" / "Dhillon added"
    re.compile(rf"(?P<name>{_NAME})(?:,[^,“”\"]{{1,100}},)?\s+{_SAY}\b"),
    # "said Uttam Dhillon, former acting administrator" / "Dr. said Wanda Felbab-Brown"
    re.compile(rf"\b{_SAY}\s+(?P<name>{_NAME})"),
    # "according to Jane Roe"
    re.compile(rf"\b[Aa]ccording to\s+(?P<name>{_NAME})"),
    # "a Department of Homeland spokesperson said"
    re.compile(rf"(?P<name>\b(?:a|an|the)\s+[^,.;:“”\"]{{0,60}}?\b{_ROLE})\s+{_SAY}\b"),
]
_OPENING = '“"'
_MIN_QUOTE_WORDS = 4


@dataclass(frozen=True)
class _Quote:
    start: int
    end: int


def speakers(text: str, paras: Sequence[Span], sents: Sequence[Sentence]) -> list[str | None]:
    """The speaker of each sentence that is, or sits inside, a direct quotation; else None."""
    quote_speakers: list[tuple[_Quote, str]] = []
    previous: str | None = None  # speaker of the previous paragraph's last quotation
    for para in paras:
        quotes = _quotes(text, para)
        attributions = _attributions(text, para, quotes) if quotes else []
        last: str | None = None
        for quote in quotes:
            speaker = _nearest(quote, attributions)
            if speaker is None and previous and quote.start == para.start:
                speaker = previous  # a quotation continued from the previous paragraph
            if speaker is not None:
                last = _full_name(text, speaker)
                quote_speakers.append((quote, last))
        previous = last

    result: list[str | None] = []
    for sent in sents:
        speaker = None
        for quote, name in quote_speakers:
            if quote.start < sent.end and sent.start < quote.end:
                speaker = name
                break
        result.append(speaker)
    return result


def _quotes(text: str, para: Span) -> list[_Quote]:
    """Quotation spans of a paragraph, marks included; an unclosed one runs to the paragraph's end."""
    quotes: list[_Quote] = []
    i = para.start
    while i < para.end:
        ch = text[i]
        if ch in _OPENING:
            closer = "”" if ch == "“" else '"'
            close = text.find(closer, i + 1, para.end)
            end = para.end if close < 0 else close + 1
            if len(text[i:end].split()) >= _MIN_QUOTE_WORDS:
                quotes.append(_Quote(i, end))
            i = end
        else:
            i += 1
    return quotes


def _attributions(text: str, para: Span, quotes: Sequence[_Quote]) -> list[tuple[int, int, str]]:
    """Speech attributions in the paragraph's narration (quotations blanked out)."""
    chars = list(text[para.start : para.end])
    for quote in quotes:
        for k in range(quote.start - para.start, quote.end - para.start):
            chars[k] = "\u2592"
    narration = "".join(chars)
    found: list[tuple[int, int, str]] = []
    for pattern in _PATTERNS:
        for match in pattern.finditer(narration):
            name = match.group("name").strip()
            if name.split()[0] in _PRONOUNS and pattern is not _PATTERNS[3]:
                continue
            found.append((para.start + match.start(), para.start + match.end(), name))
    return found


def _nearest(quote: _Quote, attributions: Sequence[tuple[int, int, str]]) -> str | None:
    best: tuple[int, str] | None = None
    for start, end, name in attributions:
        distance = start - quote.end if start >= quote.end else quote.start - end
        distance = max(distance, 0)
        if best is None or distance < best[0]:
            best = (distance, name)
    return best[1] if best else None


def _full_name(text: str, name: str) -> str:
    """Expand a one-word surname to the longest earlier mention that ends with it."""
    name = re.sub(r"^(?:Dr|Mr|Mrs|Ms|Prof)\.\s+", "", name)
    if " " in name:
        return name
    pattern = re.compile(rf"\b((?:{_WORD}\s+){{1,3}}){re.escape(name)}\b")
    best = name
    for match in pattern.finditer(text):
        words = [w for w in match.group(1).split() if w not in _PRONOUNS]
        candidate = " ".join([*words, name])
        if len(candidate) > len(best) and words:
            best = candidate
    return best
