"""Rebuild the index from the sources folder, embedding only what changed.

A document whose content hash, and the model and chunking settings, match the current generation is
carried over with its spans and vectors; new and changed documents are segmented, attributed,
chunked and embedded; removed ones are simply not written. The result is a new generation that
becomes current atomically (see `store`). One build runs at a time: an ``flock`` on
``build.lock``, which the kernel releases if the holder dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path

import numpy as np

from . import attribution, segment
from .analysis import passage_text
from .clean import EXTRACTOR_VERSION
from .embedding import Embedder
from .errors import BuildInProgressError, CorruptIndexError, NoIndexError
from .extraction import ExtractionCache, Limits
from .loaders import scan
from .models import BuildReport, Chunk, Document, Sentence, Skipped
from .settings import IndexSettings
from .store import (
    MANIFEST,
    EmbeddedTexts,
    Generation,
    IndexedDocument,
    Manifest,
    current_name,
    embedded_texts,
    open_current,
    remove_old_generations,
    write_generation,
)

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)`` while a build runs."""

_EMBED_STEP = 256

# How a passage's vector is made (part of the chunking settings: a change re-embeds every document).
# 2: pooled from its sentences' vectors and its title's (see `passage_vectors`); before, each passage
# went through the model on its own, which doubled the tokens of a build.
PASSAGE_VECTORS = 2


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index's build lock, or raise `BuildInProgressError` at once."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / "build.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise BuildInProgressError("A rebuild is already running; try again when it has finished.") from error
        yield
    finally:
        os.close(fd)


def chunking_settings(settings: IndexSettings, embedder: Embedder) -> dict[str, int]:
    """The settings that shape spans and vectors: a change means every document is re-embedded."""
    return {
        "chunk_tokens": min(settings.chunk_tokens, embedder.max_tokens),
        "chunk_overlap": settings.chunk_overlap,
        "segmenter": 2,  # bump when segmentation changes: spans of old indexes differ
        "attribution": attribution.VERSION,  # the speakers old indexes stored differ when attribution changes
        "extractor": EXTRACTOR_VERSION,  # an unchanged file yields other text when extraction changes
        "passages": PASSAGE_VECTORS,
    }


def build(
    settings: IndexSettings, embedder: Embedder, progress: Progress | None = None, *, serving: str | None = None
) -> BuildReport:
    """Scan the sources and write a new current generation. Returns what changed.

    ``serving`` names the generation the caller serves: when it is current, its files still match
    their checksums and it was built from exactly these sources, with this model and these settings,
    it is kept as it is without being opened a second time (an unchanged rebuild then costs the scan
    and the checksums). A damaged one takes the long way, which reports the damage and rebuilds."""
    started = time.perf_counter()
    report = BuildReport()
    notify = progress or (lambda stage, done, total: None)
    with build_lock(settings.index_dir):
        notify("scanning", 0, 1)
        cache = ExtractionCache(settings.index_dir / "extracted", Limits.of(settings))
        documents, report.skipped = scan(settings.docs_dir, int(settings.max_file_mb * 1e6), load=cache.load)
        cache.prune()
        log.info("read %d files, %d of them from the extraction cache", cache.hits + cache.misses, cache.hits)
        served_as_is = _served_unchanged(settings, embedder, serving, documents) if serving else None
        if serving and served_as_is is not None:
            report.unchanged, report.documents = len(documents), len(documents)
            report.chunks = served_as_is.chunks
            report.generation = serving
            remove_old_generations(settings.index_dir)
            report.seconds = time.perf_counter() - started
            log.info("sources unchanged: %s keeps serving (%.2f s)", serving, report.seconds)
            return report
        previous, whole = _previous(settings, embedder, report)
        chunking = chunking_settings(settings, embedder)
        old_hashes = previous.manifest.documents if previous is not None and whole else {}

        report.added = [d.doc_id for d in documents if d.doc_id not in old_hashes]
        report.changed = [d.doc_id for d in documents if old_hashes.get(d.doc_id, d.content_hash) != d.content_hash]
        report.removed = sorted(set(old_hashes) - {d.doc_id for d in documents})
        if previous is not None and whole and _nothing_to_do(settings, previous, report):
            # The current generation already holds exactly these sources: keep serving it.
            report.unchanged, report.documents, report.chunks = len(documents), len(documents), previous.n_chunks
            report.generation = previous.name
            previous.close()
            remove_old_generations(settings.index_dir)
            report.seconds = time.perf_counter() - started
            log.info("sources unchanged: %s keeps serving (%.2f s)", previous.name, report.seconds)
            return report
        renewed = {*report.added, *report.changed}
        fresh = [d for d in documents if d.doc_id in renewed]
        kept = {
            d.doc_id: _carry_over(previous, d.doc_id)
            for d in documents
            if previous is not None and whole and d.doc_id not in renewed
        }
        report.unchanged = len(kept)

        # Vectors to reuse: those of the current generation, whatever its format (a damaged one lends none).
        served = current_name(settings.index_dir)
        checked = previous is not None and previous.name == served  # opening it verified its checksums
        pool = (
            VectorPool.of(settings.index_dir / served, embedder, frozenset(kept), checked) if served and fresh else None
        )
        built = {item.doc.doc_id: item for item in _index_documents(fresh, embedder, chunking, notify, report, pool)}
        ordered = [item for d in documents if (item := kept.get(d.doc_id) or built.get(d.doc_id))]
        for doc_id in {*report.added, *report.changed} - set(built):
            (report.added if doc_id in report.added else report.changed).remove(doc_id)
        notify("writing", 0, 1)
        folder = write_generation(settings.index_dir, ordered, model=embedder.name, dim=embedder.dim, chunking=chunking)
        if previous is not None:
            previous.close()
        remove_old_generations(settings.index_dir)
        notify("writing", 1, 1)
    report.generation = folder.name
    report.documents = len(ordered)
    report.chunks = sum(len(item.chunks) for item in ordered)
    report.seconds = time.perf_counter() - started
    log.info(
        "built %s: %d documents (%d added, %d changed, %d removed, %d skipped), %d chunks, %d texts embedded in %.1f s",
        folder.name, report.documents, len(report.added), len(report.changed), len(report.removed),
        len(report.skipped), report.chunks, report.embedded, report.seconds,
    )  # fmt: skip
    return report


def _served_unchanged(
    settings: IndexSettings, embedder: Embedder, serving: str, documents: Sequence[Document]
) -> Manifest | None:
    """The manifest of ``serving`` when it is current, undamaged and holds exactly ``documents`` (by
    content hash), built with this model and these chunking settings; else None (the long way)."""
    if serving != current_name(settings.index_dir):
        return None
    try:
        manifest = Manifest.read(settings.index_dir / serving)
    except CorruptIndexError:
        return None
    same = (
        manifest.model == embedder.name
        and manifest.dim == embedder.dim
        and manifest.chunking == chunking_settings(settings, embedder)
        and manifest.documents == {d.doc_id: d.content_hash for d in documents}
    )
    return manifest if same and manifest.damaged_file(settings.index_dir / serving) is None else None


def _nothing_to_do(settings: IndexSettings, previous: Generation, report: BuildReport) -> bool:
    """No source was added, changed or removed, and ``previous`` is what CURRENT names (not a fallback)."""
    unchanged = not (report.added or report.changed or report.removed)
    return unchanged and previous.name == current_name(settings.index_dir)


def _previous(settings: IndexSettings, embedder: Embedder, report: BuildReport) -> tuple[Generation | None, bool]:
    """The current generation if its vectors can be reused, and whether its documents can be carried
    over whole (same model and chunking); otherwise why not, in the report."""
    try:
        previous = open_current(settings.index_dir)
    except NoIndexError:
        return None, False
    except CorruptIndexError as error:
        report.full_rebuild_reason = f"{error} Rebuilding everything."
        log.warning(report.full_rebuild_reason)
        return None, False
    if previous.manifest.model != embedder.name or previous.manifest.dim != embedder.dim:
        report.full_rebuild_reason = (
            f"Full rebuild: the model changed from {previous.manifest.model!r} to {embedder.name!r}."
        )
        log.info(report.full_rebuild_reason)
        previous.close()
        return None, False
    wanted = chunking_settings(settings, embedder)
    old = previous.manifest.chunking
    if old != wanted:
        # Spans are cut anew, but a sentence or passage whose text is unchanged keeps its vector.
        changed = sorted(k for k in wanted.keys() | old.keys() if k != "extractor" and old.get(k) != wanted.get(k))
        reasons = []
        if old.get("extractor") != wanted["extractor"]:
            reasons.append("text extraction changed (an unchanged file now yields other text)")
        if changed:
            reasons.append(f"the chunking settings changed ({', '.join(changed)})")
        report.full_rebuild_reason = "Full rebuild: " + " and ".join(reasons) + "."
        log.info(report.full_rebuild_reason)
        return previous, False
    return previous, True


def _carry_over(previous: Generation, doc_id: str) -> IndexedDocument:
    stored = previous.by_id[doc_id]
    doc, sentences, chunks = previous.full_document(stored.row)
    return IndexedDocument(
        doc=doc,
        sentences=sentences,
        chunks=chunks,
        sentence_vectors=previous.vectors("sentences", stored.sentence_first, stored.sentence_end),
        chunk_vectors=previous.vectors("chunks", stored.chunk_first, stored.chunk_end),
    )


def analyse(doc: Document, embedder: Embedder, chunk_tokens: int, overlap: int) -> tuple[list[Sentence], list[Chunk]]:
    """Sentences (with speakers) and chunks of one document."""
    sentences, chunks, _ = _analysed(doc, embedder, chunk_tokens, overlap)
    return sentences, chunks


def _analysed(
    doc: Document, embedder: Embedder, chunk_tokens: int, overlap: int
) -> tuple[list[Sentence], list[Chunk], list[int]]:
    sentences = attributed_sentences(doc)
    counts = embedder.count_tokens([doc.text[s.start : s.end] for s in sentences])
    return sentences, segment.chunks(sentences, counts, chunk_tokens, overlap), counts


def attributed_sentences(doc: Document) -> list[Sentence]:
    """The document's sentences, each with its speaker (None for narration), as an index stores them."""
    paras = segment.paragraphs(doc)
    spans = segment.sentences(doc, paras)
    who = attribution.speakers(doc.text, paras, spans)
    return [Sentence(s.start, s.end, s.paragraph, name) for s, name in zip(spans, who, strict=True)]


def _index_documents(
    docs: Sequence[Document],
    embedder: Embedder,
    chunking: dict[str, int],
    notify: Progress,
    report: BuildReport,
    pool: VectorPool | None = None,
) -> list[IndexedDocument]:
    analysed: list[tuple[Document, list[Sentence], list[Chunk], list[int]]] = []
    for number, doc in enumerate(docs):
        notify("segmenting", number, len(docs))
        try:
            sentences, chunks, counts = _analysed(doc, embedder, chunking["chunk_tokens"], chunking["chunk_overlap"])
        except Exception as error:  # one bad document must not stop the build
            log.exception("could not segment %s", doc.doc_id)
            report.skipped.append(Skipped(doc.doc_id, f"it could not be segmented ({error.__class__.__name__})"))
            continue
        if not sentences:
            report.skipped.append(Skipped(doc.doc_id, "it has no sentences to index"))
            continue
        analysed.append((doc, sentences, chunks, counts))

    # Only sentences (and titles) go through the model; a passage is pooled from them. Vectors the
    # previous generation holds for the same exact text are taken from it instead.
    sentence_texts = [doc.text[s.start : s.end] for doc, sentences, _, _ in analysed for s in sentences]
    chunk_texts = [passage_text(d.title, d.text[c.start : c.end]) for d, _, chunks, _ in analysed for c in chunks]
    sentence_vectors = np.zeros((len(sentence_texts), embedder.dim), dtype=np.float32)
    chunk_vectors = np.zeros((len(chunk_texts), embedder.dim), dtype=np.float32)
    missing = pool.fill(sentence_texts, sentence_vectors) if pool is not None else list(range(len(sentence_texts)))
    pooling = pool.fill(chunk_texts, chunk_vectors) if pool is not None else list(range(len(chunk_texts)))
    # Titles of the documents with a passage to pool (a title has no stored vector of its own).
    first_chunk = np.cumsum([0] + [len(chunks) for _, _, chunks, _ in analysed])
    owner = np.searchsorted(first_chunk, pooling, side="right") - 1
    titled = sorted({int(d) for d in owner if analysed[d][0].title.strip()})
    titles = [analysed[d][0].title for d in titled]
    title_vectors = np.zeros((len(titles), embedder.dim), dtype=np.float32)
    title_missing = pool.fill(titles, title_vectors) if pool is not None else list(range(len(titles)))
    wanted = [sentence_texts[i] for i in missing] + [titles[i] for i in title_missing]
    # A text that recurs (a byline, a newsletter plug, a title that is also a sentence) is embedded once.
    first_seen: dict[str, int] = {}
    where = [first_seen.setdefault(text, len(first_seen)) for text in wanted]
    unique = list(first_seen)
    if wanted:
        embedded = _embed_all(unique, embedder, notify)[where]
        sentence_vectors[missing] = embedded[: len(missing)]
        title_vectors[title_missing] = embedded[len(missing) :]
    report.embedded = len(unique)
    known = len(sentence_texts) + len(chunk_texts) - len(missing) - len(pooling)
    if known:
        log.info("%d of %d texts kept the vectors they had", known, len(sentence_texts) + len(chunk_texts))

    title_of = dict(zip(titled, title_vectors.astype(np.float16).astype(np.float32), strict=True))
    title_tokens = dict(zip(titled, embedder.count_tokens(titles), strict=True))
    result = []
    position = chunk_position = 0
    redo = set(pooling)
    # Pooled from the vectors as stored (float16), so a passage pooled later from reused sentence
    # vectors is the same as one pooled now.
    stored = sentence_vectors.astype(np.float16).astype(np.float32)
    for number, (doc, sentences, chunks, counts) in enumerate(analysed):
        s_vecs = sentence_vectors[position : position + len(sentences)]
        s_stored = stored[position : position + len(sentences)]
        c_vecs = chunk_vectors[chunk_position : chunk_position + len(chunks)]
        weights = np.minimum(np.array(counts, dtype=np.float32) + 2, embedder.max_tokens)
        for k, chunk in enumerate(chunks):
            if chunk_position + k in redo:
                title = (title_of[number], title_tokens[number]) if number in title_of else None
                c_vecs[k] = passage_vector(
                    s_stored[chunk.first : chunk.last + 1], weights[chunk.first : chunk.last + 1], title
                )
        position += len(sentences)
        chunk_position += len(chunks)
        result.append(IndexedDocument(doc, sentences, chunks, s_vecs, c_vecs))
    return result


def passage_vector(sentences: np.ndarray, tokens: np.ndarray, title: tuple[np.ndarray, int] | None) -> np.ndarray:
    """A passage's unit vector: the mean of its sentences' vectors (and its title's), each weighted by
    the tokens it pooled, as the model's mean pooling weighs tokens.

    Against the model run over the whole passage (title, newline, text) this agrees to a cosine of
    0.85 on average (news-dev, BENCHMARKS.md), and it reads every sentence where the model's window
    cut longer passages; it costs no pass through the model.
    """
    summed = (sentences * tokens.reshape(-1, 1)).sum(axis=0)
    if title is not None:
        summed = summed + title[0] * title[1]
    norm = float(np.linalg.norm(summed))
    unit: np.ndarray = (summed / norm if norm > 0 else summed).astype(np.float32)
    return unit


class VectorPool:
    """Vectors of a previous generation by the hash of the exact text they embed.

    A document whose metadata changed, or every document after a change of segmentation, extraction
    or index format, is cut anew, yet most of its sentences and passages are the same strings as
    before: they keep their vectors instead of going through the model again (the model is the cost
    of a build).
    """

    def __init__(self, embedded: EmbeddedTexts, kinds: Collection[str] = ("sentences", "chunks")) -> None:
        self._vectors = embedded.vectors
        self._keys = {
            _text_key(text): (kind, row) for kind, rows in embedded.texts.items() if kind in kinds for row, text in rows
        }

    @classmethod
    def of(cls, folder: Path, embedder: Embedder, skip: frozenset[str], verified: bool = False) -> VectorPool | None:
        embedded = embedded_texts(folder, embedder.name, embedder.dim, skip, verified=verified)
        if embedded is None:
            return None
        # Passage vectors made another way are not lent; sentence vectors have always been the model's own.
        same_passages = _passage_method(folder) == PASSAGE_VECTORS
        return cls(embedded, ("sentences", "chunks") if same_passages else ("sentences",))

    def fill(self, texts: Sequence[str], out: np.ndarray) -> list[int]:
        """Copy the known vectors into ``out`` (a row per text); returns the rows still to embed."""
        missing: list[int] = []
        found: dict[str, tuple[list[int], list[int]]] = {"sentences": ([], []), "chunks": ([], [])}
        for i, text in enumerate(texts):
            known = self._keys.get(_text_key(text))
            if known is None:
                missing.append(i)
            else:
                found[known[0]][0].append(i)
                found[known[0]][1].append(known[1])
        for kind, (rows, sources) in found.items():
            if rows:
                out[rows] = self._vectors[kind].take(np.array(sources, dtype=np.int64)).astype(np.float32)
        return missing


def _passage_method(folder: Path) -> int | None:
    try:
        method = json.loads((folder / MANIFEST).read_text("utf-8"))["chunking"].get("passages")
    except (OSError, ValueError, KeyError, AttributeError):
        return None
    return method if isinstance(method, int) else None


def _text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _embed_all(texts: Sequence[str], embedder: Embedder, notify: Progress) -> np.ndarray:
    """Embed shortest first, in steps so progress can be shown; rows come back in the given order.

    Sorting the whole list (not only each batch) keeps padding small across the corpus.
    """
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    order = np.argsort([len(t) for t in texts], kind="stable")
    for start in range(0, len(texts), _EMBED_STEP):
        notify("embedding", start, len(texts))
        rows = order[start : start + _EMBED_STEP]
        vectors[rows] = embedder.embed([texts[i] for i in rows])
    notify("embedding", len(texts), len(texts))
    return vectors
