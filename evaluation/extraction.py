"""`onrecord eval-extraction`: how much of a web page's article body the HTML loader keeps, and how much
of what it indexes is not body.

The folder holds ``truth.jsonl`` (``{"id", "file", "url", "body"}``, the body as a person marked it) and
the pages (``file``, gzipped HTML allowed). For each page and each extractor:

- body recall (sentences): the share of the true body's sentences found whole (as a run of words) in
  the extracted text; body recall (words): the share of its words kept (multiset overlap);
- non-body share: the share of the sentences the index would hold (`segment.sentences`) whose words
  are not a run of the true body's words (menus, related links, promos, captions);
- excerpt non-body share: the same among the sentences that can be excerpts (prose; see
  `analysis.NOT_PROSE`);
- URL agreement: the extracted URL equals the page's (the only metadata the truth holds).

Pages are split into two halves by their id (even / odd as a hexadecimal number): choices are fitted
on the even half and reported on both.
"""

from __future__ import annotations

import gzip
import json
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index import segment
from index.analysis import NOT_PROSE, sentence_kind
from index.errors import LibraryError
from index.html import HtmlText, previous_loader, read_html, trafilatura_defaults
from index.models import Document

Extractor = Callable[[str], HtmlText]
EXTRACTORS: dict[str, Extractor] = {
    "shipped": read_html,
    "trafilatura defaults": trafilatura_defaults,
    "before issue 11": previous_loader,
}
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’)]*\s+|\n+")


@dataclass
class PageScore:
    page_id: str
    sentence_recall: float
    word_recall: float
    indexed: int
    non_body: int
    excerptable: int
    excerptable_non_body: int
    url_ok: bool | None
    seconds: float


@dataclass
class Summary:
    extractor: str
    half: str
    pages: int
    sentence_recall: float
    word_recall: float
    non_body_share: float
    excerpt_non_body_share: float
    url_agreement: float | None
    ms_per_page: float
    worst: list[tuple[str, float]] = field(default_factory=list)


def words(text: str) -> list[str]:
    """Lower-case words and numbers, compatibility forms folded, soft hyphens dropped (the loaders drop
    them, `clean.quotable`, so "Not\u00adfall" is the word "notfall" on both sides): what is compared."""
    return re.findall(r"\w+", unicodedata.normalize("NFKC", text.replace("\u00ad", "")).casefold())


def _contains(haystack: str, needle: list[str]) -> bool:
    return " " + " ".join(needle) + " " in haystack


def score_page(page_id: str, html: str, body: str, url: str | None, extract: Extractor) -> PageScore:
    started = time.perf_counter()
    try:
        extracted = extract(html)
    except LibraryError:
        extracted = HtmlText("", {}, ())
    seconds = time.perf_counter() - started
    got = " " + " ".join(words(extracted.text)) + " "
    truth_sentences = [w for s in _SENTENCE_END.split(body) if len(w := words(s)) >= 3]
    found = sum(_contains(got, s) for s in truth_sentences)
    truth_words, got_words = Counter(words(body)), Counter(got.split())
    kept = sum(min(n, got_words[w]) for w, n in truth_words.items())
    body_flat = " " + " ".join(words(body)) + " "
    doc = Document(doc_id=page_id, text=extracted.text, title="", labels=extracted.labels)
    indexed = non_body = excerptable = excerptable_non_body = 0
    for sentence in segment.sentences(doc) if extracted.text else []:
        kind = sentence_kind(doc, sentence)
        piece = words(extracted.text[sentence.start : sentence.end])
        if not piece:
            continue
        outside = not _contains(body_flat, piece)
        indexed += 1
        non_body += outside
        if not kind & NOT_PROSE:
            excerptable += 1
            excerptable_non_body += outside
    url_ok = None if not url else _same_url(extracted.meta.get("url"), url)
    return PageScore(
        page_id, found / max(len(truth_sentences), 1), kept / max(sum(truth_words.values()), 1),
        indexed, non_body, excerptable, excerptable_non_body, url_ok, seconds,
    )  # fmt: skip


def _same_url(got: object, want: str) -> bool:
    def bare(u: str) -> str:
        return re.sub(r"^https?://(www\.)?", "", u.strip()).rstrip("/").split("#")[0]

    return isinstance(got, str) and bare(got) == bare(want)


def _read_page(folder: Path, row: dict[str, Any]) -> str:
    path = folder / str(row["file"])
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    from index.loaders import decode_text

    return decode_text(data)


def evaluate(folder: Path, extractors: dict[str, Extractor] | None = None) -> list[Summary]:
    """Score every extractor on every page; a summary per extractor for the even half, the odd half
    and all pages."""
    truth_path = folder / "truth.jsonl"
    if not truth_path.is_file():
        raise LibraryError(f"{folder} has no truth.jsonl: not an extraction evaluation folder.")
    rows = [json.loads(line) for line in truth_path.read_text("utf-8").splitlines() if line.strip()]
    pages = [(row, _read_page(folder, row)) for row in rows]
    summaries = []
    for name, extract in (extractors or EXTRACTORS).items():
        scores = [score_page(str(r["id"]), html, str(r["body"]), r.get("url"), extract) for r, html in pages]
        for half, keep in (("even", 0), ("odd", 1), ("all", None)):
            chosen = [s for s in scores if keep is None or _parity(s.page_id) == keep]
            summaries.append(_summarise(name, half, chosen))
    return summaries


def _parity(page_id: str) -> int:
    try:
        return int(page_id, 16) % 2
    except ValueError:
        return int(re.sub(r"\D", "", page_id) or 0) % 2


def _summarise(name: str, half: str, scores: list[PageScore]) -> Summary:
    n = max(len(scores), 1)
    urls = [s.url_ok for s in scores if s.url_ok is not None]
    return Summary(
        extractor=name, half=half, pages=len(scores),
        sentence_recall=sum(s.sentence_recall for s in scores) / n,
        word_recall=sum(s.word_recall for s in scores) / n,
        non_body_share=sum(s.non_body for s in scores) / max(sum(s.indexed for s in scores), 1),
        excerpt_non_body_share=sum(s.excerptable_non_body for s in scores) / max(sum(s.excerptable for s in scores), 1),
        url_agreement=sum(urls) / len(urls) if urls else None,
        ms_per_page=1000 * sum(s.seconds for s in scores) / n,
        worst=sorted(((s.page_id[:12], round(s.sentence_recall, 3)) for s in scores), key=lambda p: p[1])[:5],
    )  # fmt: skip


def table(summaries: list[Summary]) -> str:
    """The summaries as a Markdown table."""
    lines = [
        "| extractor | pages | body recall (sentences) | body recall (words) | non-body share of indexed sentences "
        "| non-body share of excerptable sentences | URL agreement | ms/page |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        url = f"{s.url_agreement:.3f}" if s.url_agreement is not None else "-"
        lines.append(
            f"| {s.extractor} ({s.half}) | {s.pages} | {s.sentence_recall:.3f} | {s.word_recall:.3f} | "
            f"{s.non_body_share:.2%} | {s.excerpt_non_body_share:.2%} | {url} | {s.ms_per_page:.0f} |"
        )
    return "\n".join(lines)
