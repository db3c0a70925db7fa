"""Reading a source file within a budget, and never twice: the limits around `loaders.load_document`
and the extraction cache.

A small file can cost a lot to read: a 2 KB PDF whose page draws a form that draws a form... lays out
10^5 lines of text (a minute of CPU); a page tree can list pages many times over; a large HTML page
keeps trafilatura busy. So before a file is read its size is checked (HTML has its own, lower limit),
a PDF's page tree is walked with a bounded number of steps (its page count under `Limits.max_pdf_pages`,
no page or branch listed twice), and the reading itself runs under a per-file time limit. Over any of
them the file is skipped with the reason.

The time limit interrupts the reader where it is: a watchdog timer raises `_OverBudget` in the
reading thread (``PyThreadState_SetAsyncExc``), which Python delivers between two bytecodes. The
readers are pure Python (pdfminer.six, trafilatura's Python parts); a single long C call (say,
decompressing a stream) finishes first, and the size limits bound those.

Extraction results, and refusals, are cached by the file's content hash (with its metadata sidecar)
plus the extractor and metadata versions and the limits, as JSON under the index folder: a rebuild
parses only new and changed files, and a file refused for its cost is not paid for again. The cache
holds what the current sources yield; entries no build used are removed at the end of each build.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import datetime as dt
import hashlib
import io
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import loaders
from .clean import EXTRACTOR_VERSION
from .errors import SourceError
from .files import atomic_write
from .models import Document
from .settings import IndexSettings

log = logging.getLogger(__name__)

# Bump when the metadata checks (index/metadata.py) change what an unchanged file yields.
METADATA_VERSION = 1
_CACHE_FORMAT = 1


@dataclasses.dataclass(frozen=True)
class Limits:
    """What reading one source file may cost."""

    max_bytes: int = 25_000_000
    max_html_bytes: int = 5_000_000
    max_pdf_pages: int = 2_000
    max_seconds: float = 60.0

    @classmethod
    def of(cls, settings: IndexSettings) -> Limits:
        return cls(
            max_bytes=int(settings.max_file_mb * 1e6),
            max_html_bytes=int(settings.max_html_mb * 1e6),
            max_pdf_pages=settings.max_pdf_pages,
            max_seconds=settings.max_extract_seconds,
        )

    def key(self) -> str:
        return f"{self.max_bytes}-{self.max_html_bytes}-{self.max_pdf_pages}-{self.max_seconds:g}"


_REFIRE_S = 0.05


class _OverBudget(BaseException):  # a BaseException: a reader's "except Exception" cannot swallow it
    """Raised into the reading thread when its time is up."""


@contextlib.contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Run the block for at most ``seconds``; over it, `SourceError` saying so."""
    thread = threading.get_ident()
    lock = threading.Lock()
    state = {"done": False, "fired": False}
    timers: list[threading.Timer] = []

    def fire() -> None:
        with lock:
            if not state["done"]:
                state["fired"] = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread), ctypes.py_object(_OverBudget))
                # Raised while the thread ran a garbage collector's callback (a weakref callback,
                # a __del__), the exception is printed and dropped: so it is raised again until the
                # block has ended.
                again = threading.Timer(_REFIRE_S, fire)
                again.daemon = True
                timers.append(again)
                again.start()

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timers.append(timer)
    timer.start()
    over = False
    try:
        yield
    except _OverBudget:
        over = True
    finally:
        while True:
            try:
                with lock:
                    state["done"] = True
                    for pending in timers:
                        pending.cancel()
                    if state["fired"]:  # raised but perhaps not yet delivered: withdraw it
                        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread), None)
                break
            except _OverBudget:  # delivered just now, on the way out
                over = True
    if over:
        raise SourceError(f"reading it took over {seconds:g} s, the limit per file")


def check_pdf_pages(data: bytes, max_pages: int) -> None:
    """Walk a PDF's page tree in at most a few steps per allowed page: refuse more than ``max_pages``
    pages, and a page or branch listed twice (one page listed 10,000 times is an attack, not a book).
    A file pypdf cannot open is left for the PDF reader to refuse with its own reason."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            return  # the reader says "encrypted"
        catalog = reader.trailer["/Root"].get_object()
        if not isinstance(catalog, DictionaryObject):
            return
        stack: list[Any] = [catalog.raw_get("/Pages")]
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError):
        return
    seen: set[tuple[int, int]] = set()
    pages = steps = 0
    while stack:
        steps += 1
        if steps > 2 * max_pages + 64:
            raise SourceError(f"its page tree is too large (over {max_pages:,} pages, the limit)")
        ref = stack.pop()
        if isinstance(ref, IndirectObject):
            if (ref.idnum, ref.generation) in seen:
                raise SourceError("its page tree lists the same page more than once")
            seen.add((ref.idnum, ref.generation))
        try:
            node = ref.get_object()
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError):
            continue
        if not isinstance(node, DictionaryObject):
            continue
        kids = node.raw_get("/Kids") if "/Kids" in node else None
        kids = kids.get_object() if isinstance(kids, IndirectObject) else kids
        if isinstance(kids, ArrayObject):
            stack.extend(reversed(kids))
        else:
            pages += 1
            if pages > max_pages:
                raise SourceError(f"it has over {max_pages:,} pages, the limit")


def read_within_limits(path: Path, root: Path, limits: Limits) -> Document:
    """`loaders.load_document` after the size and page checks, under the time limit."""
    suffix = path.suffix.lower()
    with contextlib.suppress(OSError):  # an unreadable file gets the loader's own reason
        size = path.stat().st_size
        if suffix in loaders.HTML_SUFFIXES and size > limits.max_html_bytes:
            raise SourceError(
                f"it is a {size / 1e6:.1f} MB web page, over the {limits.max_html_bytes / 1e6:g} MB limit for HTML"
            )
        if suffix in loaders.PDF_SUFFIXES and size <= limits.max_bytes:
            with time_budget(limits.max_seconds):
                check_pdf_pages(path.read_bytes(), limits.max_pdf_pages)
    with time_budget(limits.max_seconds):
        return loaders.load_document(path, root, limits.max_bytes)


class ExtractionCache:
    """Documents (or refusals) by content key, one JSON file each under ``folder``."""

    def __init__(self, folder: Path, limits: Limits) -> None:
        self.folder = folder
        self.limits = limits
        self.used: set[str] = set()
        self.hits = 0
        self.misses = 0

    def load(self, path: Path, root: Path) -> Document:
        """The file's document, read from the cache when its content is unchanged."""
        key = self._key(path)
        if key is None:  # too large or unreadable: the loader says why
            return read_within_limits(path, root, self.limits)
        self.used.add(key)
        cached = self._get(key)
        doc_id = path.relative_to(root).as_posix()
        if isinstance(cached, str):
            self.hits += 1
            raise SourceError(cached)
        if cached is not None:
            try:
                document = _document(cached, doc_id, path)
            except (KeyError, TypeError, ValueError):
                log.warning("ignored a damaged extraction cache entry %s", key)
            else:
                self.hits += 1
                return document
        self.misses += 1
        try:
            doc = read_within_limits(path, root, self.limits)
        except SourceError as error:
            self._put(key, {"refused": str(error)})
            raise
        self._put(key, _stored(doc, path))
        return doc

    def prune(self) -> None:
        """Remove the entries no load since this cache was made has used."""
        if not self.folder.is_dir():
            return
        for entry in self.folder.iterdir():
            if entry.suffix == ".json" and entry.stem not in self.used:
                entry.unlink(missing_ok=True)

    def _key(self, path: Path) -> str | None:
        try:
            if path.stat().st_size > self.limits.max_bytes:
                return None
            data = path.read_bytes()
            sidecar = path.with_name(path.name + loaders.SIDECAR_SUFFIX)
            extra = sidecar.read_bytes() if sidecar.is_file() else b""
        except OSError:
            return None
        versions = f"{_CACHE_FORMAT}-{EXTRACTOR_VERSION}-{METADATA_VERSION}-{path.suffix.lower()}-{self.limits.key()}"
        digest = hashlib.sha256(data + b"\0" + extra).hexdigest()  # the document's content hash
        return hashlib.sha256(f"{digest}:{versions}".encode()).hexdigest()[:40]

    def _get(self, key: str) -> dict[str, Any] | str | None:
        try:
            entry = json.loads((self.folder / f"{key}.json").read_text("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:  # a damaged entry is read again from the file
            log.warning("ignored a damaged extraction cache entry %s (%s)", key, error.__class__.__name__)
            return None
        if isinstance(entry, dict) and isinstance(entry.get("refused"), str):
            return str(entry["refused"])
        return entry if isinstance(entry, dict) and isinstance(entry.get("text"), str) else None

    def _put(self, key: str, entry: dict[str, Any]) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write(self.folder / f"{key}.json", json.dumps(entry, ensure_ascii=False), errors="surrogatepass")
        except OSError as error:  # a cache that cannot be written costs time, never a document
            log.warning("could not write the extraction cache (%s)", error.strerror or error)


def _stored(doc: Document, path: Path) -> dict[str, Any]:
    named = doc.title == loaders._title_from_name(path)
    return {
        "text": doc.text,
        "title": None if named else doc.title,  # a title made from the file name follows the name
        "url": doc.url,
        "author": doc.author,
        "published": doc.published.isoformat() if doc.published else None,
        "content_hash": doc.content_hash,
        "page_starts": list(doc.page_starts),
        "furniture": [list(span) for span in doc.furniture],
        "labels": [list(span) for span in doc.labels],
    }


def _document(entry: dict[str, Any], doc_id: str, path: Path) -> Document:
    published = entry.get("published")
    return Document(
        doc_id=doc_id,
        text=entry["text"],
        title=entry.get("title") or loaders._title_from_name(path),
        path=doc_id,
        url=entry.get("url"),
        author=entry.get("author"),
        published=dt.date.fromisoformat(published) if published else None,
        content_hash=entry.get("content_hash", ""),
        page_starts=tuple(entry.get("page_starts") or ()),
        furniture=tuple((int(a), int(b)) for a, b in entry.get("furniture") or ()),
        labels=tuple((int(a), int(b)) for a, b in entry.get("labels") or ()),
    )
