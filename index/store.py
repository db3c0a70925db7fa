"""The generation format: the index on disk as complete generations side by side, one of them current.

This module owns the schema, the manifest and ``CURRENT``, and writes (`write_generation`) and opens
(`Generation`, `open_current`) a generation. What a generation stores about a text is computed in
`index.analysis`; its vector files and lexical indexes are read row by row through `index.readers`.

A generation is a folder holding

- ``library.sqlite``: documents (metadata and extracted text), sentences and chunks as offsets;
- ``sentences.spans.npy`` and ``chunks.spans.npy``: the same offsets as memory-mapped int64 columns,
  plus each sentence's fingerprint (a hash of its normalised text, to drop repeated quotes cheaply)
  what kinds of answer it can hold (`analysis.answer_kinds`: a date, a number) and a signature of the
  names it holds (`analysis.name_signature`);
- ``sentences.f16.npy`` and ``chunks.f16.npy``: every unit vector, half precision, read row by row
  with positional reads (`readers.NpyRows`) for the candidates of a question and carried into the next
  generation;
- ``chunks.faiss``: inner-product (cosine) search over the chunks; exact (flat) while that is fast,
  IVF with 8-bit scalar quantisation above `FLAT_LIMIT` vectors, chosen per generation and recorded
  in the manifest. Sentences have no vector index: their candidates come from the best passages and
  BM25, which measured the same on SQuAD as searching every sentence too (BENCHMARKS.md) at half the
  cost of a question;
- ``bm25-sentences/`` and ``bm25-chunks/``: bm25s lexical indexes (numpy arrays and JSON, no pickle),
  served one posting list at a time (`readers.Postings`);
- ``manifest.json``, written last: format, model, dimension, chunking settings, each document's
  content hash, build time and a SHA-256 of every other file.

``CURRENT`` names the generation that serves. A build writes a new generation under a temporary
name, renames it into place and then replaces ``CURRENT``, each with `index.files` (fsync, then
``os.replace``), so a reader sees the old generation or the new one, never half of one.
Loading checks the manifest and every checksum.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .analysis import fingerprint, lexical_tokenizer, name_signature, passage_text, sentence_kind, word_ids
from .errors import CorruptIndexError, NoIndexError
from .files import TEMP_PREFIX, atomic_folder, atomic_write
from .models import Chunk, Document, Sentence, SourceInfo, page_number
from .readers import NpyRows, Postings

log = logging.getLogger(__name__)

FORMAT_VERSION = 7
FLAT_LIMIT = 50_000  # exact search up to here: about 3 ms per query on one core (scripts/bench.py)
_BIG_FILE = 64 << 20  # files larger than this are checked by size and sampled blocks, not hashed whole
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
DATABASE = "library.sqlite"
_SCHEMA = """
CREATE TABLE documents (
    row INTEGER PRIMARY KEY, doc_id TEXT UNIQUE NOT NULL, title TEXT NOT NULL, path TEXT, url TEXT,
    author TEXT, published TEXT, content_hash TEXT NOT NULL, page_starts TEXT NOT NULL,
    furniture TEXT NOT NULL, labels TEXT NOT NULL, text TEXT NOT NULL,
    sentence_first INTEGER NOT NULL, sentence_end INTEGER NOT NULL,
    chunk_first INTEGER NOT NULL, chunk_end INTEGER NOT NULL
);
CREATE TABLE sentences (
    id INTEGER PRIMARY KEY, doc_row INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    paragraph INTEGER NOT NULL, speaker TEXT
);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY, doc_row INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    first INTEGER NOT NULL, last INTEGER NOT NULL
);
"""


@dataclass
class IndexedDocument:
    """A document ready to store: its spans, speakers and vectors."""

    doc: Document
    sentences: list[Sentence]
    chunks: list[Chunk]
    sentence_vectors: np.ndarray
    chunk_vectors: np.ndarray


@dataclass(frozen=True)
class Manifest:
    """What a generation was built from; compared with the settings to decide what to rebuild."""

    format: int
    model: str
    dim: int
    chunking: dict[str, Any]
    documents: dict[str, str]
    built_at: str
    sentences: int
    chunks: int
    checksums: dict[str, str]
    vector_index: dict[str, str]

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        try:
            data = json.loads((folder / MANIFEST).read_text("utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError) as error:
            raise CorruptIndexError(
                f"The index in {folder} has no readable manifest ({error.__class__.__name__})."
            ) from error

    def damaged_file(self, folder: Path) -> str | None:
        """The first of the generation's files in ``folder`` that is missing or does not match its checksum."""
        for name, expected in self.checksums.items():
            path = folder / name
            if not path.is_file() or _checksum(path) != expected:
                return name
        return None


class Generation:
    """One complete index generation opened read-only. Safe to query from several threads."""

    def __init__(self, folder: Path, *, model: str | None = None, dim: int | None = None) -> None:
        self.folder = folder
        self.manifest = Manifest.read(folder)
        self._verify(model, dim)
        try:
            self.sentence_vectors = NpyRows(folder / "sentences.f16.npy")
            self.chunk_vectors = NpyRows(folder / "chunks.f16.npy")
            self.chunk_index = _read_faiss(folder / "chunks.faiss", self.manifest.vector_index["chunks"])
            self.sentence_postings = Postings(folder / "bm25-sentences")
            self.chunk_postings = Postings(folder / "bm25-chunks")
            self.tokenizer = lexical_tokenizer()
            self.tokenizer.load_vocab(str(folder / "bm25-sentences"))
            self.chunk_tokenizer = lexical_tokenizer()
            self.chunk_tokenizer.load_vocab(str(folder / "bm25-chunks"))
            self._db = sqlite3.connect(f"file:{folder / DATABASE}?mode=ro", uri=True, check_same_thread=False)
            self._db_lock = threading.Lock()
            self._title_tokens: dict[int, frozenset[int]] = {}
            self._load_tables()
        except CorruptIndexError:
            raise
        except Exception as error:  # faiss and bm25s raise bare RuntimeError/ValueError on bad files
            raise CorruptIndexError(
                f"The index in {folder} cannot be loaded ({error.__class__.__name__}: {error})."
            ) from error

    def _verify(self, model: str | None, dim: int | None) -> None:
        manifest = self.manifest
        if manifest.format != FORMAT_VERSION:
            raise CorruptIndexError(f"The index in {self.folder} has format {manifest.format}, not {FORMAT_VERSION}.")
        if model is not None and manifest.model != model:
            raise CorruptIndexError(
                f"The index in {self.folder} was built with model {manifest.model!r}, not {model!r}."
            )
        if dim is not None and manifest.dim != dim:
            raise CorruptIndexError(f"The index in {self.folder} has dimension {manifest.dim}, not {dim}.")
        if (name := manifest.damaged_file(self.folder)) is not None:
            raise CorruptIndexError(f"The index in {self.folder} is damaged: {name} does not match its checksum.")

    def _load_tables(self) -> None:
        rows = self._db.execute(
            "SELECT row, doc_id, title, path, url, author, published, content_hash, page_starts,"
            " sentence_first, sentence_end, chunk_first, chunk_end, length(text) FROM documents ORDER BY row"
        ).fetchall()
        self.documents: list[StoredDocument] = [StoredDocument.from_row(r) for r in rows]
        self.by_id = {d.doc_id: d for d in self.documents}
        # Each document's publication day (proleptic ordinal; 0: undated), for the questions' periods.
        self.doc_published = np.array([d.published.toordinal() if d.published else 0 for d in self.documents])
        self.doc_chunks = np.array([(d.chunk_first, d.chunk_end) for d in self.documents], dtype=np.int64).reshape(
            -1, 2
        )
        n = self.manifest.sentences
        # Offsets are memory-mapped (bounded by the files' size: 56 bytes a sentence, 40 a chunk).
        sent = np.load(self.folder / "sentences.spans.npy", mmap_mode="r").view(np.ndarray)
        chunk = np.load(self.folder / "chunks.spans.npy", mmap_mode="r").view(np.ndarray)
        if (
            sent.shape != (n, 7)
            or chunk.shape != (self.manifest.chunks, 5)
            or self.sentence_vectors.shape != (n, self.manifest.dim)
            or self.chunk_vectors.shape != (len(chunk), self.manifest.dim)
            or self.chunk_index.ntotal != len(chunk)
        ):
            raise CorruptIndexError(f"The index in {self.folder} is inconsistent: its tables and vectors disagree.")
        self.sentence_doc, self.sentence_start, self.sentence_end, self.sentence_paragraph = sent.T[:4]
        self.sentence_fingerprint = sent[:, 4]
        self.sentence_kinds = sent[:, 5]
        self.sentence_names = sent[:, 6]
        self.chunk_doc = chunk[:, 0]
        # Contiguous copies (8 bytes a chunk): searchsorted on a strided column would copy it per call.
        self.chunk_first = np.ascontiguousarray(chunk[:, 3])
        self.chunk_last = np.ascontiguousarray(chunk[:, 4])

    @property
    def name(self) -> str:
        return self.folder.name

    def stem(self, word: str) -> str:
        """A word as the lexical index stems it."""
        lower = word.lower()
        stemmed: str = self.tokenizer.stemmer(lower) if self.tokenizer.stemmer else lower
        return stemmed

    def title_tokens(self, doc_row: int) -> frozenset[int]:
        """The lexical word ids of a document's title (sentence vocabulary), cached."""
        cached = self._title_tokens.get(doc_row)
        if cached is None:
            cached = frozenset(word_ids(self.tokenizer, self.documents[doc_row].title))
            self._title_tokens[doc_row] = cached
        return cached

    def text(self, doc_row: int, start: int, end: int) -> str:
        """``text[start:end]`` of a stored document (SQLite counts characters, as Python does)."""
        with self._db_lock:
            row = self._db.execute(
                "SELECT substr(text, ?, ?) FROM documents WHERE row = ?", (start + 1, end - start, doc_row)
            ).fetchone()
        return str(row[0]) if row else ""

    def speakers(self, sentence_ids: Iterable[int]) -> dict[int, str | None]:
        ids = [int(i) for i in sentence_ids]
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        with self._db_lock:
            rows = self._db.execute(f"SELECT id, speaker FROM sentences WHERE id IN ({marks})", ids).fetchall()
        return {int(i): s for i, s in rows}

    def quoted_sentences(self) -> list[tuple[int, str]]:
        """``(sentence id, speaker)`` of every sentence that has a speaker, in id order."""
        with self._db_lock:
            rows = self._db.execute(
                "SELECT id, speaker FROM sentences WHERE speaker IS NOT NULL AND speaker != '' ORDER BY id"
            ).fetchall()
        return [(int(i), str(s)) for i, s in rows]

    def full_document(self, doc_row: int) -> tuple[Document, list[Sentence], list[Chunk]]:
        """Everything stored for one document, to carry it into the next generation unchanged."""
        with self._db_lock:
            d = self._db.execute(
                "SELECT doc_id, title, path, url, author, published, content_hash, page_starts, furniture, text,"
                " labels"
                " FROM documents WHERE row = ?",
                (doc_row,),
            ).fetchone()
            sents = self._db.execute(
                'SELECT start, "end", paragraph, speaker FROM sentences WHERE doc_row = ? ORDER BY id', (doc_row,)
            ).fetchall()
            chunks = self._db.execute(
                'SELECT start, "end", first, last FROM chunks WHERE doc_row = ? ORDER BY id', (doc_row,)
            ).fetchall()
        doc = Document(
            doc_id=d[0], title=d[1], path=d[2], url=d[3], author=d[4],
            published=dt.date.fromisoformat(d[5]) if d[5] else None, content_hash=d[6],
            page_starts=tuple(json.loads(d[7])), furniture=tuple(tuple(x) for x in json.loads(d[8])), text=d[9],
            labels=tuple(tuple(x) for x in json.loads(d[10])),
        )  # fmt: skip
        first = self.documents[doc_row].sentence_first
        return (
            doc,
            [Sentence(s, e, p, who) for s, e, p, who in sents],
            [Chunk(s, e, f - first, last - first) for s, e, f, last in chunks],
        )

    @property
    def n_sentences(self) -> int:
        return self.manifest.sentences

    @property
    def n_chunks(self) -> int:
        return self.manifest.chunks

    def vectors(self, kind: str, first: int, end: int) -> np.ndarray:
        """Rows ``[first, end)`` of the stored vectors, as float32."""
        stored = self.sentence_vectors if kind == "sentences" else self.chunk_vectors
        return np.asarray(stored[first:end], dtype=np.float32)

    def rows(self, kind: str, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of the listed rows, as float32."""
        stored = self.sentence_vectors if kind == "sentences" else self.chunk_vectors
        return stored.take(ids).astype(np.float32)

    def cosines(self, kind: str, ids: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Cosine of each listed row with the query vector (rows and query are unit length)."""
        scores: np.ndarray = self.rows(kind, ids) @ query
        return scores

    def sources(self) -> list[SourceInfo]:
        return [d.info() for d in self.documents]

    def close(self) -> None:
        with self._db_lock:
            self._db.close()


@dataclass(frozen=True)
class StoredDocument:
    """A document's metadata and row ranges, held in memory (its text stays on disk)."""

    row: int
    doc_id: str
    title: str
    path: str | None
    url: str | None
    author: str | None
    published: dt.date | None
    content_hash: str
    page_starts: tuple[int, ...]
    sentence_first: int
    sentence_end: int
    chunk_first: int
    chunk_end: int
    chars: int

    @classmethod
    def from_row(cls, r: Sequence[Any]) -> StoredDocument:
        return cls(
            row=r[0], doc_id=r[1], title=r[2], path=r[3], url=r[4], author=r[5],
            published=dt.date.fromisoformat(r[6]) if r[6] else None, content_hash=r[7],
            page_starts=tuple(json.loads(r[8])), sentence_first=r[9], sentence_end=r[10],
            chunk_first=r[11], chunk_end=r[12], chars=r[13],
        )  # fmt: skip

    def info(self) -> SourceInfo:
        return SourceInfo(
            doc_id=self.doc_id, title=self.title, path=self.path, url=self.url, author=self.author,
            published=self.published, chunks=self.chunk_end - self.chunk_first,
            sentences=self.sentence_end - self.sentence_first, chars=self.chars,
        )  # fmt: skip

    def page_of(self, offset: int) -> int | None:
        return page_number(self.page_starts, offset)


@dataclass
class EmbeddedTexts:
    """What a generation embedded, read straight from its files whatever its format version: each
    sentence's and passage's exact text beside its row in the vector files (`embedded_texts`)."""

    texts: dict[str, list[tuple[int, str]]]  # kind -> (row, text)
    vectors: dict[str, NpyRows]


def embedded_texts(
    folder: Path, model: str, dim: int, skip: frozenset[str] = frozenset(), *, verified: bool = False
) -> EmbeddedTexts | None:
    """The texts and vectors of the generation in ``folder`` if it was embedded by ``model`` (documents
    named in ``skip`` left out), or None when it cannot be read. Needs only the tables and vector files
    that every format has, so an index of an older format still lends its vectors to the rebuild.
    Their checksums are checked unless the caller has just opened the generation (``verified``)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
        if manifest.get("model") != model or manifest.get("dim") != dim:
            return None
        files = (DATABASE, "sentences.f16.npy", "chunks.f16.npy")
        damaged = [] if verified else [n for n in files if _checksum(folder / n) != manifest["checksums"][n]]
        if damaged:  # a damaged file lends nothing
            log.warning("the vectors in %s are not reused: %s does not match its checksum", folder, damaged[0])
            return None
        vectors = {kind: NpyRows(folder / f"{kind}.f16.npy") for kind in ("sentences", "chunks")}
        db = sqlite3.connect(f"file:{folder / DATABASE}?mode=ro", uri=True)
        try:
            docs = {row: (doc_id, title, text) for row, doc_id, title, text in db.execute(
                "SELECT row, doc_id, title, text FROM documents"
            )}  # fmt: skip
            found: dict[str, list[tuple[int, str]]] = {}
            for kind in ("sentences", "chunks"):
                rows = db.execute(f'SELECT id, doc_row, start, "end" FROM {kind} ORDER BY id').fetchall()
                if len(rows) != len(vectors[kind]) or vectors[kind].shape[1:] != (dim,):
                    return None
                found[kind] = [
                    (i, text[a:b] if kind == "sentences" else passage_text(title, text[a:b]))
                    for i, row, a, b in rows
                    for doc_id, title, text in (docs[row],)
                    if doc_id not in skip
                ]
        finally:
            db.close()
    except (OSError, ValueError, KeyError, sqlite3.Error) as error:
        log.info("the vectors in %s cannot be reused (%s)", folder, error)
        return None
    return EmbeddedTexts(found, vectors)


def write_generation(
    index_dir: Path,
    documents: Sequence[IndexedDocument],
    *,
    model: str,
    dim: int,
    chunking: dict[str, Any],
) -> Path:
    """Write a complete generation beside the current one and make it current. Returns its folder."""

    index_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    final = index_dir / f"gen-{stamp}"
    with atomic_folder(final) as tmp:
        sentence_texts, chunk_texts = _write_database(tmp / DATABASE, documents)
        _write_vectors(tmp / "sentences.f16.npy", documents, "sentences", dim)
        kinds = {
            "chunks": _write_faiss(
                tmp / "chunks.faiss", _write_vectors(tmp / "chunks.f16.npy", documents, "chunks", dim)
            )
        }
        _write_bm25(tmp / "bm25-sentences", sentence_texts)
        _write_bm25(tmp / "bm25-chunks", chunk_texts)
        checksums = {p.relative_to(tmp).as_posix(): _checksum(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
        manifest = Manifest(
            format=FORMAT_VERSION, model=model, dim=dim, chunking=chunking,
            documents={d.doc.doc_id: d.doc.content_hash for d in documents},
            built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            sentences=len(sentence_texts), chunks=len(chunk_texts), checksums=checksums, vector_index=kinds,
        )  # fmt: skip
        (tmp / MANIFEST).write_text(json.dumps(manifest.__dict__, indent=1, sort_keys=True), "utf-8")
    set_current(index_dir, final.name)
    return final


def _write_vectors(path: Path, documents: Sequence[IndexedDocument], kind: str, dim: int) -> np.ndarray:
    """Stream every document's vectors of one kind into a half-precision .npy; returns it memory-mapped."""
    parts = [d.sentence_vectors if kind == "sentences" else d.chunk_vectors for d in documents]
    total = sum(len(p) for p in parts)
    stored = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(total, dim))
    row = 0
    for part in parts:
        stored[row : row + len(part)] = part
        row += len(part)
    stored.flush()
    loaded: np.ndarray = np.load(path, mmap_mode="r")
    return loaded


def _write_database(path: Path, documents: Sequence[IndexedDocument]) -> tuple[list[str], list[str]]:
    sentence_texts: list[str] = []
    chunk_texts: list[str] = []
    sentence_spans: list[tuple[int, int, int, int, int, int, int]] = []
    chunk_spans: list[tuple[int, int, int, int, int]] = []
    db = sqlite3.connect(path)
    try:
        db.executescript(_SCHEMA)
        sentence_id = chunk_id = 0
        for row, item in enumerate(documents):
            doc = item.doc
            db.execute(
                "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    row, doc.doc_id, doc.title, doc.path, doc.url, doc.author,
                    doc.published.isoformat() if doc.published else None, doc.content_hash,
                    json.dumps(list(doc.page_starts)), json.dumps([list(f) for f in doc.furniture]),
                    json.dumps([list(f) for f in doc.labels]), doc.text,
                    sentence_id, sentence_id + len(item.sentences), chunk_id, chunk_id + len(item.chunks),
                ),
            )  # fmt: skip
            db.executemany(
                "INSERT INTO sentences VALUES (?,?,?,?,?,?)",
                [(sentence_id + i, row, s.start, s.end, s.paragraph, s.speaker) for i, s in enumerate(item.sentences)],
            )
            sentence_spans.extend(
                (row, s.start, s.end, s.paragraph, fingerprint(text), sentence_kind(doc, s), name_signature(text))
                for s in item.sentences
                for text in (doc.text[s.start : s.end],)
            )
            chunk_spans.extend((row, c.start, c.end, sentence_id + c.first, sentence_id + c.last) for c in item.chunks)
            db.executemany(
                "INSERT INTO chunks VALUES (?,?,?,?,?,?)",
                [
                    (chunk_id + i, row, c.start, c.end, sentence_id + c.first, sentence_id + c.last)
                    for i, c in enumerate(item.chunks)
                ],
            )
            sentence_texts.extend(doc.text[s.start : s.end] for s in item.sentences)
            chunk_texts.extend(passage_text(doc.title, doc.text[c.start : c.end]) for c in item.chunks)
            sentence_id += len(item.sentences)
            chunk_id += len(item.chunks)
        db.commit()
    finally:
        db.close()
    np.save(path.parent / "sentences.spans.npy", np.array(sentence_spans, dtype=np.int64).reshape(-1, 7))
    np.save(path.parent / "chunks.spans.npy", np.array(chunk_spans, dtype=np.int64).reshape(-1, 5))
    return sentence_texts, chunk_texts


def _write_bm25(folder: Path, texts: list[str]) -> None:
    import bm25s

    tokenizer = lexical_tokenizer()
    ids = tokenizer.tokenize(texts or [""], return_as="ids", show_progress=False)
    retriever = bm25s.BM25()
    retriever.index(ids, show_progress=False)
    retriever.save(str(folder), show_progress=False)
    tokenizer.save_vocab(str(folder))


def _write_faiss(path: Path, vectors: np.ndarray) -> str:
    """Write the search index that suits the number of vectors; returns its kind for the manifest.

    ``vectors`` may be memory-mapped half precision: they are added in float32 batches.
    """
    import faiss

    n, dim = vectors.shape
    if n <= FLAT_LIMIT:
        index: Any = faiss.IndexFlatIP(dim)
        kind = "flat"
    else:
        lists = int(4 * np.sqrt(n))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        rows = np.sort(np.random.default_rng(0).choice(n, min(n, lists * 64), replace=False))
        index.train(np.asarray(vectors[rows], dtype=np.float32))
        kind = f"ivf{lists},sq8,nprobe{max(16, lists // 16)}"
    for start in range(0, n, 65_536):
        index.add(np.ascontiguousarray(vectors[start : start + 65_536], dtype=np.float32))
    faiss.write_index(index, str(path))
    return kind


def _read_faiss(path: Path, kind: str) -> Any:
    import faiss

    if kind == "none":
        return None
    index: Any = faiss.read_index(str(path))
    if kind.startswith("ivf"):
        index.nprobe = int(kind.rsplit("nprobe", 1)[1])
    return index


def _checksum(path: Path) -> str:
    """SHA-256 of the file; for a big file, of its size and 16 evenly spaced 64 KiB blocks."""
    size = path.stat().st_size
    if size <= _BIG_FILE:
        return _sha256(path)
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        for k in range(16):
            handle.seek((size - (64 << 10)) * k // 15)
            digest.update(handle.read(64 << 10))
    return "sampled:" + digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def set_current(index_dir: Path, name: str) -> None:
    """Point CURRENT at a generation atomically."""
    atomic_write(index_dir / CURRENT, name + "\n")


def current_name(index_dir: Path) -> str | None:
    try:
        name = (index_dir / CURRENT).read_text("utf-8").strip()
    except OSError:
        return None
    return name or None


def open_current(index_dir: Path, *, model: str | None = None, dim: int | None = None) -> Generation:
    """Open the generation CURRENT names, or else the newest older one that is intact.

    A damaged current generation is reported in one log line and the last good one serves instead.
    Raises `NoIndexError` when nothing was ever built, `CorruptIndexError` when nothing usable is left.
    """
    name = current_name(index_dir)
    if name is None or not (index_dir / name).is_dir():
        raise NoIndexError(f"No index has been built in {index_dir} yet.")
    started = time.perf_counter()
    try:
        generation = Generation(index_dir / name, model=model, dim=dim)
    except CorruptIndexError as error:
        generation = _last_good(index_dir, name, model, dim, error)
    log.info("opened index %s in %.2f s", generation.name, time.perf_counter() - started)
    return generation


def _last_good(
    index_dir: Path, broken: str, model: str | None, dim: int | None, error: CorruptIndexError
) -> Generation:
    log.error("%s", error)
    for folder in sorted(index_dir.glob("gen-*"), reverse=True):
        if folder.name == broken or not folder.is_dir():
            continue
        try:
            generation = Generation(folder, model=model, dim=dim)
        except CorruptIndexError:
            continue
        log.warning("serving the last good index %s instead of %s", folder.name, broken)
        return generation
    raise error


def remove_old_generations(index_dir: Path, keep: int = 2) -> list[str]:
    """Delete all but the newest ``keep`` generations (the current one always stays) and stale temp folders."""
    current = current_name(index_dir)
    generations = sorted(p for p in index_dir.glob("gen-*") if p.is_dir())
    doomed = [p for p in generations[:-keep] if p.name != current] if keep else []
    doomed += [p for p in index_dir.glob(f"{TEMP_PREFIX}*") if p.is_dir()]
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    # A write killed half way leaves its temporary; the second pattern is the name CURRENT's used to have.
    for stale in [*index_dir.glob(f"{TEMP_PREFIX}*"), *index_dir.glob(f".{CURRENT}.*.tmp")]:
        if stale.is_file():
            stale.unlink(missing_ok=True)
    return [p.name for p in doomed]
