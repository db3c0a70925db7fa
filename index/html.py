"""A web page's article: its body as paragraphs, its headings, lists and tables marked as not prose, and
its metadata (title, author as a name, published date from the article's metadata, canonical URL).

trafilatura finds the main content and returns it as XML (``head``, ``p``, ``list/item``, ``table/row``,
links as ``ref``); the text is rebuilt from those blocks, one paragraph each, so what is a heading is
known. On top of trafilatura:

- text that trafilatura leaves outside a block (a paragraph after a heading, given as the heading's tail)
  is a paragraph of its own;
- promo lines ("Sign up for our newsletter", "CLICK HERE", "Also on site.com ...", reprint notices), short
  labels ("Share", "Photo: AP", "Comments"), time-stamp lines and layout labels such as
  "narrow-browser-and-phone" are dropped; so is the headline, which is the document's title already;
- captions and credits (``figcaption``, caption/credit classes, text that repeats a picture's alt text) and
  the paragraphs of a page's smaller articles (other posts' teasers) are found in the page itself and dropped;
- when precision-first extraction keeps much less than the recall-first one (extraction that stopped
  early), the recall-first body is used;
- headings, list labels and table rows are ``labels``: indexed and searchable, never an excerpt;
- the date comes from the page's metadata (``article:published_time``, JSON-LD...) only, never from a
  date found in the text; an author written as a sentence ("Phil Helsel is a reporter") becomes the name.

The settings were chosen on the even half of ../shared/eval/html-extraction and reported on both halves
(BENCHMARKS.md, `onrecord eval-extraction`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .clean import quotable
from .errors import SourceError

# trafilatura's mode for the body ("precision", "balanced" or "recall"); the recall-first body replaces
# it when it is much longer.
PRIMARY = "precision"
# A body this much shorter than the recall-first extraction's means precision-first extraction stopped early.
FALLBACK_RATIO = 0.5
_SHORT_WORDS = 30
# Calls to action and site furniture: a short block (at most _SHORT_WORDS words) that holds one is dropped.
_PROMO = re.compile(
    r"^\W*(?:click here|sign up|subscribe|follow us|share (?:this|on)|read more|related(?: articles| stories"
    r"| coverage| content| links)?\b|advertisement|download (?:the|our) app|get the app|more from|recommended"
    r"|you (?:may|might) also like|trending|most (?:read|popular)|watch:|listen:|see also|sponsored"
    r"|if you (?:enjoyed|liked) this|also on \w+\.\w+|tell us what you think|order reprints"
    r"|thank you for (?:reading|subscribing))"
    r"|\b(?:newsletter|click here|all rights reserved|cookie|privacy policy|terms of (?:use|service)"
    r"|for (?:your )?personal,? non-commercial use|subscriber agreement|an error has occurred"
    r"|(?:copy|share) (?:the|this) link|please try again later)\b",
    re.IGNORECASE,
)
# Words that open a label ("Share", "Photo: AP", "Comments") but also ordinary sentences ("Photos released
# online show..."): only a block of at most _LABEL_WORDS words that starts with one is dropped.
_LABEL_WORDS = 8
_PROMO_LABEL = re.compile(
    r"^\W*(?:follow\b|share\b|like this\b|more \w+(?: \w+)?:|(?:photo|image|credit|caption)s?\b|back to\b"
    r"|print\b|text size|comments?\W*$|advertisement\W*$)",
    re.IGNORECASE,
)
# A block that is a time stamp ("November 20, 2019 - 11:28 AMT"): the page's furniture, not a sentence.
_DATELINE = re.compile(r"\b(?:1[89]|20)\d{2}\b.*\b\d{1,2}[:h]\d{2}\b|\b\d{1,2}[:h]\d{2}\b.*\b(?:1[89]|20)\d{2}\b")
_LAYOUT_LABEL = re.compile(r"^[\W_]*[a-z0-9]+(?:[-_][a-z0-9]+){2,}[\W_]*$")
_AUTHOR_SENTENCE = re.compile(
    r"\s+(?:is|was|has been|are|covers|writes|reports)\b.*$|^\s*(?:by|written by|posted by)\s+", re.IGNORECASE
)
# Elements of the page looked at for captions, up to this many characters of text.
_MARKED_TAGS = ("p", "figcaption", "div", "span", "small", "figure")
_MARKED_CHARS = 600
_TEASER_SHARE = 0.5
# An article's later parts are looked for this many levels above its last extracted paragraph, and added
# when they hold at least this many words.
_PART_DEPTH = 4
_PART_WORDS = 50
_CAPTION_CLASS = re.compile(r"caption|credit", re.IGNORECASE)
_BLOCKS = {"head", "p", "item", "row", "quote", "code"}
# Inside a run of text, not a block of their own.
_INLINE = {"hi", "ref", "lb", "del", "graphic", "span"}


@dataclass(frozen=True)
class HtmlText:
    """The article's text, its metadata, and the spans of it that are not prose."""

    text: str
    meta: dict[str, Any]
    labels: tuple[tuple[int, int], ...]


def read_html(raw: str) -> HtmlText:
    """The article of a page. Raises `SourceError` when no main text is found."""
    precise = _blocks(_extract(raw, PRIMARY))
    recall = _blocks(_extract(raw, "recall"))
    chosen = precise
    if _words(recall[1]) and _words(precise[1]) < FALLBACK_RATIO * _words(recall[1]):
        chosen = recall
    meta, blocks = chosen
    tree = _page_tree(raw)
    not_body = _not_body(tree) if tree is not None else set()
    if tree is not None:
        blocks = _continued(tree, blocks, not_body)
    blocks = [(tag, text) for tag, text in blocks if tag == "head" or _bare(text) not in not_body]
    if not blocks:
        raise SourceError("no main text could be extracted from the HTML")
    return _assemble(meta, blocks)


def _page_tree(raw: str) -> Any:
    """The page parsed as HTML, or None when lxml cannot read it (the extraction then goes without)."""
    import lxml.html  # type: ignore[import-untyped]
    from lxml import etree

    try:
        parser = lxml.html.HTMLParser(encoding="utf-8")
        return lxml.html.document_fromstring(raw.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, ValueError):
        return None


def _continued(tree: Any, blocks: list[tuple[str, str]], not_body: set[str]) -> list[tuple[str, str]]:
    """``blocks`` with the paragraphs of the article's later parts when trafilatura kept only the first.

    Some sites cut an article into parts of the same kind (sibling ``div``s with the same class, ads
    between them) and trafilatura keeps one part. The page's last extracted paragraph that lies in such a
    part (an element up to `_PART_DEPTH` levels up that is followed by siblings of the same tag and class)
    is found, and the later parts' paragraphs that were not extracted are inserted after it.
    """
    kept = {_bare(text): i for i, (tag, text) in enumerate(blocks) if tag == "p"}
    extracted = [p for p in tree.iter("p") if _bare(p.text_content()) in kept]
    found = next((hit for p in reversed(extracted) if (hit := _later_parts(p))), None)
    if found is None:
        return blocks
    last, siblings = found
    added: list[tuple[str, str]] = []
    for sibling in siblings:
        for paragraph in sibling.iter("p"):
            text = " ".join(quotable(paragraph.text_content()).split())
            key = _bare(text)
            if key and key not in kept and key not in not_body and not _is_clutter("p", text):
                added.append(("p", text))
                kept[key] = -1
    if _words(added) < _PART_WORDS:
        return blocks
    at = kept[_bare(last.text_content())] + 1
    return [*blocks[:at], *added, *blocks[at:]]


def _later_parts(paragraph: Any) -> tuple[Any, list[Any]] | None:
    """The last paragraph of its part and the part's later siblings of the same tag and class, if any."""
    part = paragraph.getparent()
    for _ in range(_PART_DEPTH):
        if part is None or part.tag in {"body", "html"}:
            return None
        cls = part.get("class")
        siblings = [s for s in part.itersiblings() if s.tag == part.tag and s.get("class") == cls] if cls else []
        if siblings:
            return paragraph, siblings
        part = part.getparent()
    return None


def _not_body(tree: Any) -> set[str]:
    """From the page itself, what trafilatura's XML no longer shows: the texts (`_bare`) of its captions
    and credits (``figcaption``, elements whose class names a caption or credit, and pictures' alt texts,
    which a caption under the picture often repeats) and of other articles' teasers (`_teasers`)."""
    captions: set[str] = set()
    for element in tree.iter(_MARKED_TAGS):
        text = element.text_content()
        if not text or len(text) > _MARKED_CHARS:
            continue
        if element.tag == "figcaption" or _CAPTION_CLASS.search(element.get("class") or ""):
            captions.add(_bare(text))
    for image in tree.iter("img"):  # a caption often repeats the picture's alt text
        if key := _bare(image.get("alt") or ""):
            captions.add(key)
    captions |= _teasers(tree)
    captions.discard("")
    return captions


def _teasers(tree: Any) -> set[str]:
    """The paragraphs of the page's smaller articles: when a page holds several ``article`` elements, the
    one with the most text is the story and one under `_TEASER_SHARE` of its size is another post's teaser
    (related posts, "more from this author"); articles of similar size (forum posts, comments) are left."""
    leaves = [(len(a.text_content().strip()), a) for a in tree.iter("article") if not a.xpath(".//article")]
    if len(leaves) < 2:
        return set()
    largest = max(chars for chars, _ in leaves)
    found: set[str] = set()
    for chars, article in leaves:
        if chars < _TEASER_SHARE * largest:
            found.update(_bare(p.text_content()) for p in article.iter("p", "li", "h1", "h2", "h3", "h4"))
    return found


def _extract(raw: str, mode: str) -> Any:
    import trafilatura
    from lxml import etree  # type: ignore[import-untyped]

    xml = trafilatura.extract(
        raw,
        output_format="xml",
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        # Links off: with them trafilatura's XML loses the space after a link ("MacBook Prowas").
        include_links=False,
        favor_recall=mode == "recall",
        favor_precision=mode == "precision",
        # The published date from the page's own metadata, not a date guessed from its text.
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if not xml:
        return None
    try:
        return etree.fromstring(xml.encode("utf-8"))
    except etree.XMLSyntaxError:
        return None


def _blocks(doc: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The page's metadata and its kept blocks as (kind, text), in order."""
    if doc is None:
        return {}, []
    meta = {
        "title": doc.get("title"),
        "author": _author(doc.get("author")),
        "published": doc.get("date"),
        "url": doc.get("url"),
        "sitename": doc.get("sitename"),
    }
    blocks: list[tuple[str, str]] = []
    for lb in doc.iter("lb"):  # a line break inside a block separates words
        lb.tail = " " + (lb.tail or "")
    main = doc.find("main")
    title = _bare(meta["title"] or "")
    for tag, text in _walk(main) if main is not None else []:
        if not any(ch.isalnum() for ch in text) or _is_clutter(tag, text):
            continue
        if tag == "head" and title and _is_title(_bare(text), title):
            continue  # the headline: it is the document's title already, not a section of its body
        blocks.append((tag, text))
    return {k: v for k, v in meta.items() if v}, blocks


def _walk(container: Any) -> list[tuple[str, str]]:
    """The blocks under ``container`` as (kind, text), in document order.

    trafilatura's XML does not always wrap text in a block: a paragraph can follow a heading as its tail
    ("<head>Deal</head>The price of...") or sit directly in ``main`` or a ``list``. Such runs of loose
    text are paragraphs of their own; skipping them lost most of the body of some pages.
    """
    out: list[tuple[str, str]] = []
    run: list[str] = [container.text or ""]

    def flush() -> None:
        text = " ".join(quotable("".join(run)).split())
        if text:
            out.append(("p", text))
        run.clear()

    for child in container:
        if not isinstance(child.tag, str):  # comments and processing instructions
            run.append(child.tail or "")
        elif child.tag in _INLINE:
            run.append("".join(child.itertext()))
            run.append(child.tail or "")
        else:
            flush()
            if child.tag in _BLOCKS:
                out.append(_block(child))
            else:
                out.extend(_walk(child))
            run.append(child.tail or "")
    flush()
    return out


def _block(element: Any) -> tuple[str, str]:
    if element.tag == "row":
        cells = [" ".join("".join(c.itertext()).split()) for c in element]
        text = " | ".join(c for c in cells if c)
    else:
        text = " ".join(quotable("".join(element.itertext())).split())
    return element.tag, text


def _is_clutter(tag: str, text: str) -> bool:
    """Promos, site furniture and layout labels: never article body.

    No link-density rule: trafilatura's XML keeps no links here (see `_extract`), and measured on the page's
    own links, short link-dense blocks were more often marked body ("[CNET]", "See it now: Amazon") than
    not on the even half of the evaluation pages."""
    n_words = len(text.split())
    if _LAYOUT_LABEL.match(text):
        return True
    if n_words <= _SHORT_WORDS and _PROMO.search(text):
        return True
    if n_words <= _LABEL_WORDS and _PROMO_LABEL.search(text):
        return True
    return tag != "row" and n_words <= _LABEL_WORDS and _DATELINE.search(text) is not None  # not a timetable


def _bare(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def _is_title(heading: str, title: str) -> bool:
    """Whether a heading is the page's title, which is often "Headline | Site" or "Headline - Site"."""
    return bool(heading) and (heading == title or (len(heading) >= 20 and title.startswith(heading)))


def _words(blocks: list[tuple[str, str]]) -> int:
    return sum(len(text.split()) for _, text in blocks)


def _assemble(meta: dict[str, Any], blocks: list[tuple[str, str]]) -> HtmlText:
    parts: list[str] = []
    labels: list[tuple[int, int]] = []
    offset = 0
    for kind, text in blocks:
        if parts:
            offset += 2
        if kind in {"head", "row"} or (kind == "item" and not _is_sentence(text)):
            labels.append((offset, offset + len(text)))
        parts.append(text)
        offset += len(text)
    return HtmlText("\n\n".join(parts), meta, tuple(labels))


def _is_sentence(text: str) -> bool:
    return len(text.split()) >= 6 and text.rstrip('"”’)')[-1:] in ".!?"


def _author(value: str | None) -> str | None:
    """An author field as names: "Phil Helsel is a reporter for NBC News" -> "Phil Helsel"."""
    if not value:
        return None
    names = [_AUTHOR_SENTENCE.sub("", part).strip(" ,;") for part in re.split(r"\s*[;|]\s*", value)]
    names = [n for n in names if n and len(n.split()) <= 5]
    return "; ".join(dict.fromkeys(names)) or None


def trafilatura_defaults(raw: str) -> HtmlText:
    """trafilatura's own default settings, for comparison (`onrecord eval-extraction`)."""
    import trafilatura

    extracted: Any = trafilatura.bare_extraction(raw, with_metadata=True)
    if extracted is None or not (extracted.text or "").strip():
        raise SourceError("no main text could be extracted from the HTML")
    text = quotable(str(extracted.text))
    return HtmlText(text, {"url": extracted.url, "author": extracted.author}, ())


def previous_loader(raw: str) -> HtmlText:
    """The HTML loader as it was before issue 11 (recall-first plain text), for comparison."""
    import trafilatura

    extracted: Any = trafilatura.bare_extraction(
        raw, with_metadata=True, include_comments=False, include_tables=True, favor_recall=True
    )
    if extracted is None or not (extracted.text or "").strip():
        raise SourceError("no main text could be extracted from the HTML")
    return HtmlText(quotable(str(extracted.text)), {"url": extracted.url, "author": extracted.author}, ())
