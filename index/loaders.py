"""Source files to `Document`s: plain text, Markdown with front matter, HTML and PDF.

Metadata comes from the file itself (front matter, HTML meta tags, PDF info) and is overridden by an
optional sidecar ``<file>.meta.yaml`` beside it, which any file type can have. A file that cannot be
read raises `SourceError` with a reason fit to show; `scan` turns that into a `Skipped` entry.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from . import metadata
from .clean import quotable
from .errors import SourceError
from .models import Document, Skipped

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
SIDECAR_SUFFIX = ".meta.yaml"
_MARKDOWN_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t].*$", re.MULTILINE)
# Control bytes that text files do not hold (tab, newline, CR and form feed aside); over 10% is binary.
_BINARY_BYTES = [bytes([b]) for b in (*range(0, 9), 11, *range(14, 32), 127)]


def scan(
    root: Path, max_bytes: int, load: Callable[[Path, Path], Document] | None = None
) -> tuple[list[Document], list[Skipped]]:
    """Load every supported file below ``root`` (with ``load(path, root)``, by default `load_document`);
    unreadable ones are skipped with the reason."""
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for path in _candidate_files(root, skipped):
        try:
            documents.append(load(path, root) if load is not None else load_document(path, root, max_bytes))
        except SourceError as error:
            log.warning("skipped %s: %s", path, error)
            skipped.append(Skipped(_relative(path, root), str(error)))
        except Exception as error:  # a reader's bug or an unforeseen file: that file is skipped, not the build
            log.exception("could not read %s", path)
            skipped.append(Skipped(_relative(path, root), unreadable(error)))
    return documents, skipped


def source_files(root: Path) -> list[Path]:
    """The files below ``root`` that a build reads as sources: never a sidecar, a hidden file, a
    link out of the folder or an unsupported type. Empty when the folder does not exist."""
    return list(_candidate_files(root, [])) if root.is_dir() else []


def unreadable(error: Exception) -> str:
    """The reason shown for a file a reader failed on unexpectedly (the traceback goes to the log)."""
    return f"it could not be read ({error.__class__.__name__}; the details are in the log)"


def _candidate_files(root: Path, skipped: list[Skipped]) -> Iterator[Path]:
    if not root.is_dir():
        raise SourceError(f"The sources folder {root} does not exist.")
    real_root = root.resolve()
    for path in sorted(root.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if path.name.endswith(SIDECAR_SUFFIX) or path.is_dir():
            continue
        if path.is_symlink() and not path.resolve().is_relative_to(real_root):
            skipped.append(Skipped(_relative(path, root), "it links outside the sources folder"))
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            skipped.append(Skipped(_relative(path, root), f"unsupported file type {path.suffix or '(none)'!r}"))
            continue
        yield path


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def load_document(path: Path, root: Path, max_bytes: int) -> Document:
    """Extract one file's text and metadata. Raises `SourceError` with the reason on failure."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SourceError(f"it is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit")
        data = path.read_bytes()
    except OSError as error:
        raise SourceError(f"it cannot be read ({error.strerror or error})") from error
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    sidecar_bytes = sidecar.read_bytes() if sidecar.is_file() else b""

    suffix = path.suffix.lower()
    labels: tuple[tuple[int, int], ...] = ()
    if suffix in PDF_SUFFIXES:
        text, meta, page_starts = _extract_pdf(data)
    elif suffix in HTML_SUFFIXES:
        text, meta, labels = _extract_html(quotable(_decode(data)))
        page_starts = ()
    elif suffix in {".md", ".markdown"}:
        text, meta = _extract_markdown(quotable(_decode(data)))  # YAML refuses control characters
        labels = tuple((m.start(), m.end()) for m in _MARKDOWN_HEADING.finditer(text))
        page_starts = ()
    else:
        text, meta = _decode(data), {}
        page_starts = ()

    text = quotable(text)  # idempotent: page starts computed on cleaned pages stay right
    meta = metadata.sanitized(meta)  # what the file itself claims (meta tags, PDF info) is dropped when wrong
    sidecar_meta = _read_sidecar(sidecar_bytes, sidecar.name)
    if "outlet" in sidecar_meta and "author" not in sidecar_meta:
        meta.pop("author", None)  # the sidecar's outlet overrides an author found in the file
    meta.update(sidecar_meta)
    furniture = _furniture_spans(text, meta.get("furniture"))
    if not _has_words(text, furniture):
        raise SourceError("it has no text to index")

    doc_id = _relative(path, root)
    return Document(
        doc_id=doc_id,
        text=text,
        title=_clean_str(meta.get("title")) or _title_from_name(path),
        path=doc_id,
        url=_clean_str(meta.get("url")),
        author=_clean_str(meta.get("author") or meta.get("outlet")),
        published=_parse_date(meta.get("published") or meta.get("date")),
        content_hash=hashlib.sha256(data + b"\0" + sidecar_bytes).hexdigest(),
        page_starts=page_starts,
        furniture=furniture,
        labels=labels,
    )


def decode_text(data: bytes) -> str:
    """A text file's bytes as text safe to quote (`clean.quotable`). Raises `SourceError` for binary."""
    return quotable(_decode(data))


def _decode(data: bytes) -> str:
    """Bytes to text: UTF-8 first, else the charset detector's best guess; binary is refused.

    Valid UTF-8 with a few stray control characters (a NUL from a broken export) is text: `quotable`
    removes them. Anything else with a NUL near its start is binary.
    """
    head = data[:8192]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    if text is not None and sum(head.count(b) for b in _BINARY_BYTES) * 10 <= len(head):
        return text
    if b"\0" in head:
        raise SourceError("it is not a text file (it contains binary data)")
    if text is not None:
        return text
    western = _as_western(data)
    if western is not None:
        return western
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise SourceError("it is not a text file (no text encoding fits it)")
    log.info("decoded as %s", best.encoding)
    return str(best)


def _as_western(data: bytes) -> str | None:
    """``data`` as cp1252 (a superset of Latin-1's letters) when it reads as Western European text.

    The detector guesses worst on short Western texts ("crème" comes back as cp1257 "crčme"), the
    most common legacy files. Such text is mostly ASCII letters with sparse accented ones and no
    stray symbols; Cyrillic, Greek or Central European bytes read as cp1252 are not, and fall through.
    """
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    letters = accented = 0
    for ch in text:
        if ch.isalpha():
            letters += 1
            accented += not ch.isascii()
        elif not ch.isascii() and unicodedata.category(ch)[0] not in "PZ" and ch not in "€£¥°":
            return None
    return text if letters and accented * 5 <= letters else None


def _extract_markdown(raw: str) -> tuple[str, dict[str, Any]]:
    return metadata.front_matter(raw)  # bounded YAML, fields checked


def _extract_html(raw: str) -> tuple[str, dict[str, Any], tuple[tuple[int, int], ...]]:
    from .html import read_html

    extracted = read_html(raw)
    meta = dict(extracted.meta)
    if "author" not in meta and "sitename" in meta:
        meta["author"] = meta["sitename"]  # the outlet, when the page names no person
    meta.pop("sitename", None)
    return extracted.text, meta, extracted.labels


def _extract_pdf(data: bytes) -> tuple[str, dict[str, Any], tuple[int, ...]]:
    """Text in reading order (`pdf.read_pdf`); metadata from the file's info when it is real."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    from .pdf import read_pdf

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise SourceError("it is an encrypted PDF")
        info = reader.metadata
    except SourceError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as error:
        raise SourceError(f"it is not a readable PDF ({error.__class__.__name__})") from error
    try:
        extracted = read_pdf(data)
    except Exception as error:  # pdfminer raises a zoo of its own and builtin errors on broken files
        raise SourceError(f"it is not a readable PDF ({error.__class__.__name__})") from error
    meta: dict[str, Any] = {}
    with contextlib.suppress(ValueError, TypeError, AttributeError):  # a malformed info dictionary
        if info is not None and _real_title(info.title):
            meta["title"] = info.title
        if info is not None and info.author and _real_title(info.author):
            meta["author"] = info.author
    if "title" not in meta and extracted.title:
        meta["title"] = extracted.title
    if extracted.published is not None:  # stated on the first page; the file's creation date is not one
        meta["published"] = extracted.published
    return extracted.text, meta, extracted.page_starts


_JUNK_TITLE = re.compile(
    r"^(?:untitled\b.*|title|document\d*|slide \d+|presentation\d*|pdf|none|null|microsoft (?:word|powerpoint)\b.*)$"
    r"|\.(?:pdf|docx?|tex|dvi|indd|qxd|rtf|odt|pptx?|xlsx?)$",
    re.IGNORECASE,
)


def _real_title(value: object) -> bool:
    """Whether a PDF info field is a real name and not what a tool put there (a file name, "Untitled")."""
    text = " ".join(str(value or "").split())
    return sum(ch.isalpha() for ch in text) >= 3 and not _JUNK_TITLE.search(text)


def _read_sidecar(data: bytes, name: str) -> dict[str, Any]:
    return metadata.sidecar(data, name)  # bounded YAML, fields checked


def _furniture_spans(text: str, furniture: object) -> tuple[tuple[int, int], ...]:
    if not furniture:
        return ()
    if isinstance(furniture, str):
        furniture = [furniture]
    if not isinstance(furniture, list):
        raise SourceError("its 'furniture' metadata must be a list of strings")
    spans = []
    for snippet in furniture:
        for match in re.finditer(re.escape(str(snippet)), text):
            spans.append((match.start(), match.end()))
    return tuple(sorted(spans))


def _has_words(text: str, furniture: tuple[tuple[int, int], ...]) -> bool:
    position = 0
    for start, end in (*furniture, (len(text), len(text))):
        if any(ch.isalnum() for ch in text[position:start]):
            return True
        position = max(position, end)
    return False


def _clean_str(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(quotable(str(value)).split())
    return text or None


def _parse_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def _title_from_name(path: Path) -> str:
    words = re.sub(r"[-_]+", " ", path.stem).strip()
    return words[:1].upper() + words[1:] if words else path.name
