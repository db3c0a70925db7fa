"""PDF text in reading order, as a person reads the page: pdfminer.six's layout analysis plus page rules.

pdfminer groups characters into lines and lines into blocks by their position on the page, not by the
order of the file's content stream (which some generators write row by row across columns). On top of
its blocks this module

- leaves out running headers and footers (one-line blocks near the top or bottom of the page whose
  text, digits aside, repeats across pages) and page numbers, so no sentence holds them;
- drops superscript footnote markers (small raised digits) from body lines; the footnotes themselves
  stay, as paragraphs of their own after the columns above them;
- orders blocks column by column: blocks that span several columns (titles, full-width figures,
  footnotes) cut the page into bands, read top to bottom, each band's columns left to right;
- joins a line-end hyphenation when the joined word is a word (it occurs elsewhere in the document,
  or in pyspellchecker's English word list), and keeps the hyphen otherwise ("well-known");
- turns hard line breaks inside a paragraph into spaces, keeps paragraphs (blocks, and short lines
  that end a sentence) apart with a blank line, and joins a paragraph that runs on into the next column;
- normalises ligatures and other compatibility glyphs ("ﬁ" -> "fi") with NFKC, those glyphs only.

The measurements behind the choice of pdfminer.six are in BENCHMARKS.md (scripts/pdf_extractors.py).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .clean import quotable

# Near the top or bottom of the page: where running headers, footers and page numbers sit.
_BAND = 0.2
_PAGE_NUMBER = re.compile(
    r"^[\W_]*(?:page|p\.|seite|pagina)?\s*(?:\d{1,4}|[ivxlc]{1,7})(?:\s*(?:of|/|von|de)\s*\d{1,4})?[\W_]*$",
    re.IGNORECASE,
)
_MARKERS = set("0123456789*†‡§¹²³⁴⁵⁶⁷⁸⁹⁰")
_CID = re.compile(r"\(cid:\d+\)")
_LINE_END_HYPHEN = re.compile("[\u00ad\u2010\u2011]$")
# Compatibility glyphs that NFKC turns into what they stand for: ligatures and presentation forms,
# full-width forms, typographic spaces. Others (½, ², ™) keep their meaning and are left alone.
_COMPAT = re.compile("[\ufb00-\ufb4f\ufe70-\ufefe\uff01-\uffee\u2000-\u200a\u202f\u205f\u3000\u00a0]")
_WORD_AT_END = re.compile(r"([^\W\d_]+)-$")
_WORD_AT_START = re.compile(r"^([^\W\d_]+)")
_WORDS = re.compile(r"[^\W\d_]+")
_ENDS_SENTENCE = re.compile(r"[.!?:;…\"”’)\]]$")
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_DATES = [
    re.compile(rf"\b(?P<month>{_MONTHS})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>(?:19|20)\d\d)\b", re.I),
    re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<month>{_MONTHS})\.?,?\s+(?P<year>(?:19|20)\d\d)\b", re.I),
    re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<month>\d\d)-(?P<day>\d\d)\b"),
]


@dataclass
class Line:
    text: str
    x0: float
    x1: float
    y0: float
    y1: float
    size: float


@dataclass
class Block:
    lines: list[Line]
    x0: float
    x1: float
    y0: float
    y1: float

    @property
    def size(self) -> float:
        return statistics.median(line.size for line in self.lines)

    @property
    def width(self) -> float:
        return self.x1 - self.x0


@dataclass
class Page:
    width: float
    height: float
    blocks: list[Block]


@dataclass
class PdfText:
    """A PDF's text in reading order, where each page starts in it, and what the pages say about it."""

    text: str
    page_starts: tuple[int, ...]
    title: str | None = None
    published: dt.date | None = None
    left_out: list[str] = field(default_factory=list)  # the header, footer and page-number lines dropped


def read_pdf(data: bytes) -> PdfText:
    """The text of every page in reading order. Raises what pdfminer raises on a broken file."""
    return assemble(layout_pages(data))


def layout_pages(data: bytes) -> list[Page]:
    """Every page's text blocks as pdfminer's layout analysis finds them."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextBox

    pages = []
    for lt_page in extract_pages(io.BytesIO(data), laparams=LAParams()):
        blocks = []
        for item in lt_page:
            if isinstance(item, LTTextBox):
                lines = _rows([line for lt_line in item if (line := _line(lt_line)) is not None])
                if lines:
                    blocks.append(Block(lines, item.x0, item.x1, item.y0, item.y1))
        pages.append(Page(lt_page.width, lt_page.height, blocks))
    return pages


def _rows(lines: list[Line]) -> list[Line]:
    """Pieces of one printed line made one line, left to right. Layout analysis splits a justified
    line at a wide gap and may list its pieces out of order ("Integer non enim." before "magna.")."""
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda ln: -(ln.y0 + ln.y1) / 2):
        middle = (line.y0 + line.y1) / 2
        if rows and abs(middle - (rows[-1][0].y0 + rows[-1][0].y1) / 2) < 0.4 * max(line.size, rows[-1][0].size):
            rows[-1].append(line)
        else:
            rows.append([line])
    merged = []
    for row in rows:
        row.sort(key=lambda ln: ln.x0)
        merged.append(
            Line(
                " ".join(ln.text for ln in row), row[0].x0, max(ln.x1 for ln in row),
                min(ln.y0 for ln in row), max(ln.y1 for ln in row), statistics.median(ln.size for ln in row),
            )
        )  # fmt: skip
    return merged


def _line(lt_line: Any) -> Line | None:
    from pdfminer.layout import LTChar

    chars = [c for c in lt_line if isinstance(c, LTChar)]
    if not chars:
        return None
    size = statistics.median(c.size for c in chars)
    baseline = statistics.median(c.y0 for c in chars)
    pieces = []
    for item in lt_line:
        text = item.get_text()
        if (
            isinstance(item, LTChar)
            and text in _MARKERS
            and item.size < 0.8 * size
            and item.y0 > baseline + 0.15 * size
        ):
            continue  # a superscript footnote marker: not part of the sentence
        pieces.append(text)
    # A soft or Unicode hyphen at a line's end is the typesetter's break: make it a plain one to join.
    text = _LINE_END_HYPHEN.sub("-", _CID.sub("", "".join(pieces)).rstrip())
    text = " ".join(_COMPAT.sub(lambda m: unicodedata.normalize("NFKC", m.group()), quotable(text)).split())
    if not text:
        return None
    return Line(text, lt_line.x0, lt_line.x1, lt_line.y0, lt_line.y1, size)


def assemble(pages: Sequence[Page]) -> PdfText:
    """Pages of blocks to one text: furniture left out, blocks in reading order, lines made paragraphs."""
    running = _running_keys(pages)
    left_out: list[str] = []
    vocabulary = _vocabulary(pages)
    page_texts = []
    for page in pages:
        body = _body_blocks(page, running, left_out)
        _drop_stray_markers(body)
        paragraphs = _paragraphs(_reading_order(body), vocabulary)
        page_texts.append("\n\n".join(paragraphs))
    starts, offset = [], 0
    for text in page_texts:
        starts.append(offset)
        offset += len(text) + 2
    first = _body_blocks(pages[0], running, []) if pages else []
    return PdfText("\n\n".join(page_texts), tuple(starts), _largest_text(first), _stated_date(first), left_out)


def _vocabulary(pages: Sequence[Page]) -> Counter[str]:
    """The document's words where no line break cuts them: the halves of a hyphenated word are left out."""
    words: Counter[str] = Counter()
    for page in pages:
        for block in page.blocks:
            broken = False  # the line before ended in a hyphen: this line's first word is a tail
            for line in block.lines:
                found = _WORDS.findall(line.text)
                ends_broken = line.text.endswith("-")
                words.update(w.casefold() for w in found[int(broken) : len(found) - int(ends_broken)])
                broken = ends_broken
    return words


def _key(text: str) -> str:
    """A line as compared across pages: digits masked (page numbers differ), case and spaces ignored."""
    return " ".join(re.sub(r"\d+", "#", text.casefold()).split())


def _in_band(block: Block, page: Page) -> bool:
    return block.y0 >= page.height * (1 - _BAND) or block.y1 <= page.height * _BAND


def _is_furniture_candidate(block: Block, page: Page) -> bool:
    # Headers and footers stand apart from the body, so layout analysis boxes them on their own.
    return len(block.lines) <= 2 and _in_band(block, page)


def _running_keys(pages: Sequence[Page]) -> set[str]:
    """Lines near the top or bottom that repeat on enough pages to be running headers or footers."""
    if len(pages) < 2:
        return set()
    seen: Counter[str] = Counter()
    for page in pages:
        keys = {_key(line.text) for b in page.blocks if _is_furniture_candidate(b, page) for line in b.lines}
        seen.update(keys)
    needed = max(2, round(0.2 * len(pages)))
    return {key for key, count in seen.items() if count >= needed}


def _body_blocks(page: Page, running: set[str], left_out: list[str]) -> list[Block]:
    body = []
    for block in page.blocks:
        if _is_furniture_candidate(block, page):
            kept = []
            for line in block.lines:
                if _key(line.text) in running or _PAGE_NUMBER.match(line.text):
                    left_out.append(line.text)
                else:
                    kept.append(line)
            if not kept:
                continue
            block = Block(kept, block.x0, block.x1, min(ln.y0 for ln in kept), max(ln.y1 for ln in kept))
        body.append(block)
    return body


def _drop_stray_markers(blocks: list[Block]) -> None:
    """A superscript marker that layout analysis boxed on its own (small digits beside a body line)."""
    if not blocks:
        return
    body_size = statistics.median(line.size for b in blocks for line in b.lines)
    blocks[:] = [
        b for b in blocks
        if not (len(b.lines) == 1 and set(b.lines[0].text) <= _MARKERS | {" ", ","} and b.size < 0.8 * body_size)
    ]  # fmt: skip


def _reading_order(blocks: Sequence[Block]) -> list[Block]:
    """Bands cut by blocks that span columns, top to bottom; in each band, columns left to right."""
    if len(blocks) < 2:
        return list(blocks)
    columns = _columns(blocks)
    spanning = sorted((b for b in blocks if _columns_touched(b, columns) > 1), key=lambda b: -b.y1)
    ordered: list[Block] = []
    rest = [b for b in blocks if not any(b is s for s in spanning)]
    for cut in [*spanning, None]:
        # The blocks above this spanning block (by their middle) form a band.
        limit = cut.y1 if cut is not None else float("-inf")
        band = [b for b in rest if (b.y0 + b.y1) / 2 > limit]
        rest = [b for b in rest if (b.y0 + b.y1) / 2 <= limit]
        ordered.extend(sorted(band, key=lambda b: (_column_of(b, columns), -b.y1)))
        if cut is not None:
            ordered.append(cut)
    return ordered


def _columns(blocks: Sequence[Block]) -> list[tuple[float, float]]:
    """x-ranges of the columns: body blocks (three lines or more) that start at one left edge make one
    column, as wide as such blocks usually are."""
    body = [b for b in blocks if len(b.lines) >= 3] or list(blocks)
    groups: list[list[Block]] = []
    for block in sorted(body, key=lambda b: b.x0):
        if groups and block.x0 - groups[-1][-1].x0 <= 12:
            groups[-1].append(block)
        else:
            groups.append([block])
    return [(min(b.x0 for b in g), statistics.median(b.x1 for b in g)) for g in groups]


def _columns_touched(block: Block, columns: Sequence[tuple[float, float]]) -> int:
    """How many columns the block reaches into (by more than a few points): over one, it spans them."""
    return sum(1 for a, b in columns if min(block.x1, b) - max(block.x0, a) > 3)


def _column_of(block: Block, columns: Sequence[tuple[float, float]]) -> int:
    overlaps = [min(block.x1, b) - max(block.x0, a) for a, b in columns]
    return max(range(len(columns)), key=lambda i: overlaps[i]) if columns else 0


def _paragraphs(blocks: Sequence[Block], vocabulary: Counter[str]) -> list[str]:
    """Each block's lines joined into paragraphs; a paragraph that runs on into the next block is joined."""
    paragraphs: list[str] = []
    for block in blocks:
        pieces = _block_paragraphs(block, vocabulary)
        if paragraphs and pieces and _runs_on(paragraphs[-1], pieces[0]):
            paragraphs[-1] = _join(paragraphs[-1], pieces[0], vocabulary)
            pieces = pieces[1:]
        paragraphs.extend(pieces)
    return paragraphs


def _block_paragraphs(block: Block, vocabulary: Counter[str]) -> list[str]:
    paragraphs = [block.lines[0].text]
    for before, line in zip(block.lines, block.lines[1:], strict=False):
        short = before.x1 < block.x1 - 0.15 * block.width
        other_type = abs(before.size - line.size) > 0.15 * max(before.size, line.size)
        if other_type or (short and _ENDS_SENTENCE.search(before.text)):
            paragraphs.append(line.text)
        else:
            paragraphs[-1] = _join(paragraphs[-1], line.text, vocabulary)
    return paragraphs


def _runs_on(paragraph: str, following: str) -> bool:
    """The paragraph stops mid-sentence and the next piece goes on in lower case."""
    return not _ENDS_SENTENCE.search(paragraph) and following[:1].islower()


def _join(text: str, following: str, vocabulary: Counter[str]) -> str:
    """Two lines of one paragraph: a line-end hyphen is joined when the whole word is a word."""
    head, tail = _WORD_AT_END.search(text), _WORD_AT_START.match(following)
    if head and tail and following[:1].islower():
        left, right = head.group(1).casefold(), tail.group(1).casefold()
        if _is_word(left + right, vocabulary) or not (_is_word(left, vocabulary) and _is_word(right, vocabulary)):
            # A word broken at a syllable ("infor-mation"; "sollic-itudin": no part is a word either).
            return text[:-1] + following
        return text + following  # a compound of two words ("well-known"): the hyphen is the author's
    return f"{text} {following}"


def _is_word(word: str, vocabulary: Counter[str]) -> bool:
    """In the document elsewhere (where no line broke it), or in the English word list."""
    return vocabulary[word] > 0 or _known(word)


@functools.lru_cache(maxsize=1)
def _dictionary() -> Any:
    from spellchecker import SpellChecker

    return SpellChecker(language="en", distance=1)


def _known(word: str) -> bool:
    return word in _dictionary()


def _largest_text(blocks: Sequence[Block]) -> str | None:
    """The first page's largest text, when it is larger than the body: the title a reader sees."""
    if not blocks:
        return None
    sizes = [line.size for b in blocks for line in b.lines]
    body, top = statistics.median(sizes), max(sizes)
    if top < 1.15 * body:
        return None
    lines = [line for b in blocks for line in b.lines if line.size >= 0.95 * top]
    title = " ".join(line.text for line in lines[:4])
    return title[:200] if sum(ch.isalpha() for ch in title) >= 2 else None


def _stated_date(blocks: Sequence[Block]) -> dt.date | None:
    """A full date written near the start of the first page (under the title, as reports and papers
    put it); never the file's creation date."""
    text = " ".join(line.text for b in sorted(blocks, key=lambda b: -b.y1)[:8] for line in b.lines[:3])
    for pattern in _DATES:
        for match in pattern.finditer(text):
            month = match.group("month")
            number = int(month) if month.isdigit() else _month_number(month)
            try:
                return dt.date(int(match.group("year")), number, int(match.group("day")))
            except ValueError:
                continue
    return None


def _month_number(name: str) -> int:
    prefix = name.casefold()[:3]
    return ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"].index(prefix) + 1
