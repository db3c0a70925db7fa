"""`onrecord eval`: how often OnRecord's quotes hold the answer, beside three common baselines.

A data set is a folder with ``corpus.jsonl`` (``{"doc_id", "title", "text", ...}`` a line) and
``questions.jsonl`` (``{"qid", "question", "answers": [...], "doc_id", ...}`` a line); see
``shared/eval/README.md``. Each corpus document is written as a ``.txt`` source with a ``.meta.yaml``
sidecar holding its title, and indexed by the normal `Library` build. The sources folder and the index
live in a cache folder named by a hash of the corpus, the model and the chunking settings, so a second
run re-embeds nothing (the build carries unchanged documents over with their vectors).

Every question goes through `Library.ask`, the code path of ``onrecord ask``, and is scored on the
quotes a user would see:

- ``hit@1`` / ``hit@3``: a gold answer string occurs (case-insensitively) in the first excerpt / in
  one of the first three;
- ``doc@1``: the first excerpt comes from the gold document;
- ``abstained``: the share answered "not in the sources" (an abstention is a miss for the above);
- latency of each ``ask`` (retrieval and answer, model loaded), p50 and p95.

Baselines, on the same corpus and model and cut to the same excerpt budget so no method buys hits with
length: ``recipe`` (the RAG recipe users copy: 1000-character chunks with 200 overlap, FAISS L2, top 4),
``bm25`` and ``dense`` (each index alone over OnRecord's own sentences).

Not-in-the-sources probes (questions about documents that are not indexed) measure abstention, and
`calibrate` turns their confidences into a choice of ``min_score``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import math
import random
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from index.analysis import word_ids
from index.embedding import Embedder, load_embedder
from index.errors import LibraryError, QuestionError
from index.files import atomic_path, atomic_write
from index.library import Library, safe_filename
from index.models import Answer
from index.settings import IndexSettings
from index.store import Generation

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)``, like a build's progress."""

DEFAULT_CACHE = Path(".onrecord/eval-cache")
CACHE_FORMAT = 1  # bump when what is cached changes shape
RECIPE_CHUNK_CHARS = 1000
RECIPE_OVERLAP_CHARS = 200
RECIPE_SEPARATORS = ("\n\n", "\n", " ", "")
RECIPE_TOP = 4
SENTENCE_TOP = 3
PROBE_TARGET = 0.8  # calibration: abstain on at least this share of the probes
_EMBED_STEP = 256
_NOTIFY_EVERY = 25  # questions between progress updates: a bar redrawn per question floods a logged stderr
_LATENCY_SAMPLE = 20  # single-question embeddings timed to report what dense baselines would add


class EvalError(LibraryError):
    """The data set or the options cannot be evaluated as given."""


# -- data ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorpusDoc:
    """One source document of a data set, with the metadata a moderator's source would carry."""

    doc_id: str
    title: str
    text: str
    url: str | None = None
    published: dt.date | None = None
    authors: tuple[str, ...] = ()

    def sidecar(self) -> dict[str, Any]:
        """The ``.meta.yaml`` fields of this document as a source (what is unknown is left out)."""
        meta: dict[str, Any] = {"title": self.title, "eval_doc_id": self.doc_id}
        if self.url:
            meta["url"] = self.url
            outlet = outlet_of(self.url)
            if outlet:
                meta["outlet"] = outlet
        if self.authors:
            meta["author"] = ", ".join(self.authors)
        if self.published:
            meta["published"] = self.published.isoformat()
        return meta


@dataclass(frozen=True)
class EvalQuestion:
    """A question, its accepted answers, the documents that hold them and the day it was asked.

    Only ``question`` and ``asked_on`` reach the library; the rest is for scoring.
    """

    qid: str
    question: str
    answers: tuple[str, ...]
    doc_id: str
    doc_ids: tuple[str, ...] = ()  # every document that holds the answer (``doc_id`` among them)
    asked_on: dt.date | None = None

    @property
    def gold_docs(self) -> tuple[str, ...]:
        return self.doc_ids or (self.doc_id,)


@dataclass(frozen=True)
class DataSet:
    """A corpus, its questions, and the SHA-256 of the corpus file (part of the cache key)."""

    name: str
    documents: list[CorpusDoc]
    questions: list[EvalQuestion]
    corpus_sha: str


def load_dataset(folder: Path) -> DataSet:
    """Read ``corpus.jsonl`` and ``questions.jsonl`` from ``folder``. Raises `EvalError`."""
    corpus_path, questions_path = folder / "corpus.jsonl", folder / "questions.jsonl"
    for path in (corpus_path, questions_path):
        if not path.is_file():
            raise EvalError(f"{path} does not exist: a data set folder holds corpus.jsonl and questions.jsonl.")
    corpus_bytes = corpus_path.read_bytes()
    documents = [_corpus_doc(row) for row in read_jsonl(corpus_bytes, corpus_path, ("doc_id", "text"))]
    if len({d.doc_id for d in documents}) != len(documents):
        raise EvalError(f"{corpus_path} has repeated doc_id values.")
    required = ("qid", "question", "answers", "doc_id")
    questions = [_question(row) for row in read_jsonl(questions_path.read_bytes(), questions_path, required)]
    return DataSet(folder.name, documents, questions, hashlib.sha256(corpus_bytes).hexdigest())


def _corpus_doc(row: dict[str, Any]) -> CorpusDoc:
    return CorpusDoc(
        doc_id=str(row["doc_id"]),
        title=str(row.get("title") or row["doc_id"]),
        text=str(row["text"]),
        url=str(row["url"]) if row.get("url") else None,
        published=_date(row.get("publish_date") or row.get("published")),
        authors=_authors(row.get("authors") or row.get("author")),
    )


def _question(row: dict[str, Any]) -> EvalQuestion:
    return EvalQuestion(
        qid=str(row["qid"]),
        question=str(row["question"]),
        answers=tuple(str(a) for a in row["answers"]),
        doc_id=str(row["doc_id"]),
        doc_ids=tuple(str(d) for d in row.get("doc_ids") or ()),
        asked_on=_date(row.get("question_date")),
    )


def _date(value: object) -> dt.date | None:
    """A data set's date ("2023/01/05", "2023-01-05", or with a time after it); None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10].replace("/", "-"))
    except ValueError:
        return None


def _authors(value: object) -> tuple[str, ...]:
    """Author names as scraped: a list or one string; an entry that merely runs other entries together
    ("Amir Vera Dakin Andone" beside "Amir Vera" and "Dakin Andone") is dropped."""
    names = [value] if isinstance(value, str) else list(value) if isinstance(value, list) else []
    cleaned = [" ".join(str(n).split()) for n in names]
    cleaned = [n for n in dict.fromkeys(cleaned) if n]
    return tuple(n for n in cleaned if not any(other != n and other in n for other in cleaned))


def outlet_of(url: str) -> str | None:
    """The outlet a URL names, as its host without "www." ("cnn.com"); None for a URL without a host."""
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    for prefix in ("www.", "edition.", "amp.", "m."):
        host = host.removeprefix(prefix)
    return host or None


def read_jsonl(data: bytes, path: Path, required: Sequence[str]) -> Iterable[dict[str, Any]]:
    """The JSON objects of a data set file (``data``, read from ``path``), one a line; `EvalError` names
    the line that is not JSON or lacks a ``required`` key."""
    for number, line in enumerate(data.decode("utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            raise EvalError(f"{path} line {number} is not valid JSON ({error}).") from error
        missing = [key for key in required if not isinstance(row, dict) or key not in row]
        if missing:
            raise EvalError(f"{path} line {number} lacks {', '.join(missing)}.")
        yield row


def select(items: Sequence[EvalQuestion], *, limit: int | None, sample: int | None, seed: int) -> list[EvalQuestion]:
    """The first ``limit`` items, or a seeded random ``sample`` of them kept in file order."""
    chosen = list(items)
    if sample is not None and sample < len(chosen):
        rows = sorted(random.Random(seed).sample(range(len(chosen)), sample))
        chosen = [chosen[i] for i in rows]
    if limit is not None:
        chosen = chosen[:limit]
    return chosen


def write_sources(documents: Sequence[CorpusDoc], docs_dir: Path) -> dict[str, str]:
    """Write each document as ``<safe name>.txt`` plus a title sidecar; returns source id -> doc_id.

    Files whose bytes are already right are left alone and files of other documents are removed, so
    the incremental build sees exactly the corpus and reuses what it embedded before.
    """
    docs_dir.mkdir(parents=True, exist_ok=True)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for doc in documents:
        stem = safe_filename(f"{doc.doc_id}.txt").removesuffix(".txt")
        name, number = f"{stem}.txt", 1
        while name.lower() in taken:  # two ids can sanitise to one name (and file systems may fold case)
            number += 1
            name = f"{stem}-{number}.txt"
        taken.add(name.lower())
        mapping[name] = doc.doc_id
        _write_if_changed(docs_dir / name, doc.text.encode("utf-8"))
        sidecar = yaml.safe_dump(doc.sidecar(), allow_unicode=True, sort_keys=False)
        _write_if_changed(docs_dir / f"{name}.meta.yaml", sidecar.encode("utf-8"))
    wanted = set(mapping) | {f"{n}.meta.yaml" for n in mapping}
    for path in docs_dir.iterdir():
        if path.is_file() and path.name not in wanted:
            path.unlink()
    return mapping


def _write_if_changed(path: Path, data: bytes) -> None:
    if path.is_file() and path.read_bytes() == data:
        return
    atomic_write(path, data)  # its temporary is hidden: the scanner skips dot files


# -- scoring ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one method returned for one question, reduced to what is scored."""

    answered: bool
    quotes: tuple[str, ...]
    doc_ids: tuple[str, ...]  # data-set doc ids of the quotes, in the same order
    ms: float
    confidence: float | None = None
    # The best quote even when the method abstained (OnRecord's nearest passage), for calibration.
    best_quote: str | None = None


def outcome_of(answer: Answer | None, doc_ids: Mapping[str, str], ms: float) -> Outcome:
    """Score-ready form of an `Answer` (None: the question was refused, which counts as abstaining)."""
    if answer is None:
        return Outcome(answered=False, quotes=(), doc_ids=(), ms=ms)
    shown = answer.excerpts if answer.answered else []
    nearest = answer.excerpts or answer.closest
    return Outcome(
        answered=answer.answered,
        quotes=tuple(e.quote for e in shown),
        doc_ids=tuple(doc_ids.get(e.doc_id, e.doc_id) for e in shown),
        ms=ms,
        confidence=answer.confidence,
        best_quote=nearest[0].quote if nearest else None,
    )


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def contains_answer(quote: str, answers: Iterable[str]) -> bool:
    """Whether any answer string occurs in ``quote``, ignoring case (and runs of whitespace)."""
    folded = _fold(quote)
    return any((a := _fold(answer)) and a in folded for answer in answers)


def hit_at(outcome: Outcome, answers: Sequence[str], k: int) -> bool:
    """A gold answer occurs in one of the first ``k`` quotes; an abstention is a miss."""
    return outcome.answered and any(contains_answer(q, answers) for q in outcome.quotes[:k])


def doc_at_1(outcome: Outcome, doc_ids: Sequence[str]) -> bool:
    """The first quote comes from a document that holds the answer; an abstention is a miss."""
    return outcome.answered and bool(outcome.doc_ids) and outcome.doc_ids[0] in doc_ids


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between ranks; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _share(flags: Iterable[bool]) -> float:
    items = list(flags)
    return sum(items) / len(items) if items else 0.0


@dataclass(frozen=True)
class Scores:
    """One method's figures over a question set (shares in [0, 1], latencies in ms)."""

    questions: int
    hit1: float
    hit3: float
    doc1: float
    abstained: float
    p50_ms: float
    p95_ms: float

    def to_json_dict(self) -> dict[str, float | int]:
        return {
            "hit@1": round(self.hit1, 4), "hit@3": round(self.hit3, 4), "doc@1": round(self.doc1, 4),
            "abstained": round(self.abstained, 4), "p50_ms": round(self.p50_ms, 2),
            "p95_ms": round(self.p95_ms, 2), "questions": self.questions,
        }  # fmt: skip


def score(questions: Sequence[EvalQuestion], outcomes: Sequence[Outcome]) -> Scores:
    """Scores of answerable questions and one method's outcomes for them (same order)."""
    if len(questions) != len(outcomes):
        raise ValueError("one outcome per question is needed")
    pairs = list(zip(questions, outcomes, strict=True))
    latencies = [o.ms for o in outcomes]
    return Scores(
        questions=len(pairs),
        hit1=_share(hit_at(o, q.answers, 1) for q, o in pairs),
        hit3=_share(hit_at(o, q.answers, 3) for q, o in pairs),
        doc1=_share(doc_at_1(o, q.gold_docs) for q, o in pairs),
        abstained=_share(not o.answered for o in outcomes),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
    )


@dataclass(frozen=True)
class ProbeScores:
    """Abstention where the sources hold no answer, and answering where they do."""

    probes: int
    probes_abstained: float
    probe_p50_ms: float
    answerable: int
    answerable_answered: float


def probe_scores(answerable: Sequence[Outcome], probes: Sequence[Outcome]) -> ProbeScores:
    return ProbeScores(
        probes=len(probes),
        probes_abstained=_share(not o.answered for o in probes),
        probe_p50_ms=percentile([o.ms for o in probes], 50),
        answerable=len(answerable),
        answerable_answered=_share(o.answered for o in answerable),
    )


# -- calibration -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThresholdRow:
    """What ``min_score = threshold`` would do: probes abstained, answerable answered, hit@1."""

    threshold: float
    probes_abstained: float
    answered: float
    hit1: float

    def to_json_dict(self) -> dict[str, float]:
        return {
            "threshold": round(self.threshold, 3), "probes_abstained": round(self.probes_abstained, 4),
            "answered": round(self.answered, 4), "hit@1": round(self.hit1, 4),
        }  # fmt: skip


@dataclass(frozen=True)
class Calibration:
    """A grid of thresholds, the current one, and the best one for the target."""

    rows: list[ThresholdRow]
    current: ThresholdRow
    best: ThresholdRow | None  # None: no threshold reaches the target
    target: float

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "target_probes_abstained": self.target,
            "best": self.best.to_json_dict() if self.best else None,
            "current": self.current.to_json_dict(),
            "grid": [r.to_json_dict() for r in self.rows],
        }


def default_grid(step: float = 0.05, top: float = 0.8) -> list[float]:
    return [round(i * step, 3) for i in range(round(top / step) + 1)]


def calibrate(
    answerable: Sequence[tuple[EvalQuestion, Outcome]],
    probes: Sequence[Outcome],
    *,
    current: float,
    thresholds: Sequence[float] | None = None,
    target: float = PROBE_TARGET,
) -> Calibration:
    """What each abstention threshold would do, from one run's confidences.

    The best window of an answer does not depend on ``min_score`` (it only decides whether to show
    it), so one run at any threshold says what every threshold would do: a question is answered at
    ``t`` when its confidence is at least ``t``, and its first quote is then the best window's. The
    best threshold answers the most answerable questions while abstaining on at least ``target`` of
    the probes; it is searched on a 0.005 grid, finer than the displayed one.
    """
    # Scored once: whether each best quote holds the answer does not depend on the threshold.
    holds = [o.best_quote is not None and contains_answer(o.best_quote, q.answers) for q, o in answerable]

    def row(t: float) -> ThresholdRow:
        def answers(o: Outcome) -> bool:
            return o.confidence is not None and o.confidence >= t

        return ThresholdRow(
            threshold=t,
            probes_abstained=_share(not answers(o) for o in probes),
            answered=_share(answers(o) for _, o in answerable),
            hit1=_share(answers(o) and hit for (_, o), hit in zip(answerable, holds, strict=True)),
        )

    fine = [row(i / 200) for i in range(201)]
    passing = [r for r in fine if r.probes_abstained >= target]
    best = max(passing, key=lambda r: (r.answered, -r.threshold)) if passing else None
    return Calibration(
        rows=[row(t) for t in (thresholds or default_grid())], current=row(current), best=best, target=target
    )


# -- baselines -------------------------------------------------------------------------------------


def recursive_split(
    text: str,
    chunk_size: int = RECIPE_CHUNK_CHARS,
    overlap: int = RECIPE_OVERLAP_CHARS,
    separators: Sequence[str] = RECIPE_SEPARATORS,
) -> list[str]:
    """Chunks as LangChain's ``RecursiveCharacterTextSplitter(chunk_size, chunk_overlap)`` cuts them.

    Written here rather than adding langchain as a dependency for one function. Its behaviour: split
    on the first separator that occurs ("\\n\\n", then "\\n", then " ", then every character), keeping
    each separator at the start of the piece after it; pieces too long are split again with the next
    separators; runs of short pieces are merged into chunks of at most ``chunk_size`` characters,
    each starting with up to ``overlap`` characters of whole pieces from the end of the one before;
    chunks are stripped of surrounding whitespace and empty ones dropped.
    """
    if overlap > chunk_size:
        raise ValueError("the overlap must not exceed the chunk size")
    return _split_recursively(text, list(separators), chunk_size, overlap)


def _split_recursively(text: str, separators: list[str], size: int, overlap: int) -> list[str]:
    separator, finer = separators[-1], []
    for position, candidate in enumerate(separators):
        if candidate == "":
            separator = ""
            break
        if candidate in text:
            separator, finer = candidate, separators[position + 1 :]
            break
    chunks: list[str] = []
    short: list[str] = []
    for piece in _pieces(text, separator):
        if len(piece) < size:
            short.append(piece)
            continue
        if short:
            chunks.extend(_merge(short, size, overlap))
            short = []
        chunks.extend(_split_recursively(piece, finer, size, overlap) if finer else [piece])
    if short:
        chunks.extend(_merge(short, size, overlap))
    return chunks


def _pieces(text: str, separator: str) -> list[str]:
    if not separator:
        return list(text)
    first, *rest = text.split(separator)
    return [p for p in (first, *(separator + r for r in rest)) if p]


def _merge(pieces: Sequence[str], size: int, overlap: int) -> list[str]:
    chunks: list[str] = []
    window: deque[str] = deque()
    total = 0
    for piece in pieces:
        if window and total + len(piece) > size:
            _emit(chunks, "".join(window))
            while total > overlap or (total and total + len(piece) > size):
                total -= len(window.popleft())
        window.append(piece)
        total += len(piece)
    _emit(chunks, "".join(window))
    return chunks


def _emit(chunks: list[str], text: str) -> None:
    stripped = text.strip()
    if stripped:
        chunks.append(stripped)


def truncate_words(text: str, budget: int) -> str:
    """``text`` cut to at most ``budget`` characters at a word boundary (a lone long word is cut)."""
    if len(text) <= budget:
        return text
    for cut in range(budget, 0, -1):
        if text[cut].isspace():
            return text[:cut].rstrip()
    return text[:budget]


class RecipeBaseline:
    """The recipe a user would copy: recursive 1000/200 chunks, FAISS ``IndexFlatL2``, top 4.

    The recipe embeds with ``normalize_embeddings=False``; all-MiniLM-L6-v2's own pipeline ends in a
    Normalize module, so that gives the same unit vectors the library's embedder returns (with either
    backend), and the recipe's L2 distances rank chunks as it would.
    """

    def __init__(
        self, documents: Sequence[CorpusDoc], embedder: Embedder, cache_dir: Path, progress: Progress, budget: int
    ) -> None:
        import faiss

        self.budget = budget
        self.chunks: list[str] = []
        self.owners: list[str] = []
        for doc in documents:
            pieces = recursive_split(doc.text)
            self.chunks.extend(pieces)
            self.owners.extend([doc.doc_id] * len(pieces))
        vectors = cached_vectors(cache_dir / "recipe", self.chunks, embedder, progress, "embedding recipe chunks")
        self.index = faiss.IndexFlatL2(embedder.dim)
        if len(vectors):
            self.index.add(vectors)

    def search(self, vector: np.ndarray) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if self.index.ntotal == 0:
            return (), ()
        _, ids = self.index.search(vector.reshape(1, -1), min(RECIPE_TOP, self.index.ntotal))
        rows = [int(i) for i in ids[0] if i >= 0]
        return tuple(truncate_words(self.chunks[i], self.budget) for i in rows), tuple(self.owners[i] for i in rows)


class SentenceBaselines:
    """BM25 alone and dense alone over the sentences of OnRecord's own index generation: bm25s over
    its BM25 index, and exact FAISS search over its sentence vectors."""

    def __init__(self, generation: Generation, doc_ids: Mapping[str, str], budget: int) -> None:
        import bm25s
        import faiss

        self.generation = generation
        self.retriever = bm25s.BM25.load(str(generation.folder / "bm25-sentences"), mmap=True, show_progress=False)
        self.index = faiss.IndexFlatIP(generation.manifest.dim)
        for first in range(0, generation.n_sentences, 65_536):
            self.index.add(generation.vectors("sentences", first, first + 65_536))
        self.budget = budget
        self.texts: list[str] = []
        self.owners: list[str] = []
        for doc in generation.documents:
            text = generation.text(doc.row, 0, doc.chars)
            owner = doc_ids.get(doc.doc_id, doc.doc_id)
            for sid in range(doc.sentence_first, doc.sentence_end):
                start, end = int(generation.sentence_start[sid]), int(generation.sentence_end[sid])
                self.texts.append(truncate_words(text[start:end], budget))
                self.owners.append(owner)

    def bm25(self, question: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        tokens = word_ids(self.generation.tokenizer, question)
        if not tokens or not self.texts:
            return (), ()
        scores = np.asarray(self.retriever.get_scores(tokens), dtype=np.float32)
        k = min(SENTENCE_TOP, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        rows = [int(i) for i in sorted(top, key=lambda i: (-scores[i], i)) if scores[i] > 0]
        return self._pick(rows)

    def dense(self, vector: np.ndarray) -> tuple[tuple[str, ...], tuple[str, ...]]:
        total = self.generation.n_sentences
        if total == 0:
            return (), ()
        k = min(SENTENCE_TOP, total)
        _, ids = self.index.search(vector.reshape(1, -1), k)
        return self._pick([int(i) for i in ids[0] if i >= 0])

    def _pick(self, rows: Sequence[int]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return tuple(self.texts[i] for i in rows), tuple(self.owners[i] for i in rows)


def cached_vectors(stem: Path, texts: Sequence[str], embedder: Embedder, progress: Progress, stage: str) -> np.ndarray:
    """Embeddings of ``texts``, read from ``<stem>-<hash of texts>.npy`` when it is there, else saved."""
    digest = hashlib.sha256("\0".join(texts).encode("utf-8")).hexdigest()[:16]
    path = stem.with_name(f"{stem.name}-{digest}.npy")
    if path.is_file():
        try:
            vectors = np.load(path)
            if vectors.shape == (len(texts), embedder.dim):
                return np.ascontiguousarray(vectors, dtype=np.float32)
        except (OSError, ValueError) as error:
            log.warning("ignoring unreadable cache %s (%s)", path, error)
    vectors = embed_in_steps(texts, embedder, progress, stage)
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        np.save(handle, vectors)
    return vectors


def embed_in_steps(texts: Sequence[str], embedder: Embedder, progress: Progress, stage: str) -> np.ndarray:
    """Embed shortest first (less padding), a step at a time so progress can be shown."""
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    order = np.argsort([len(t) for t in texts], kind="stable")
    for start in range(0, len(texts), _EMBED_STEP):
        progress(stage, start, len(texts))
        rows = order[start : start + _EMBED_STEP]
        vectors[rows] = embedder.embed([texts[i] for i in rows])
    progress(stage, len(texts), len(texts))
    return vectors


# -- the run ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalOptions:
    """What to evaluate and how (the flags of ``onrecord eval``)."""

    data_dir: Path
    cache_root: Path = DEFAULT_CACHE
    limit: int | None = None
    sample: int | None = None
    seed: int = 0
    baselines: bool = False
    unanswerable_dir: Path | None = None
    holdout: float | None = None
    min_score: float | None = None
    calibrate: bool = False


@dataclass
class EvalReport:
    """Everything one ``onrecord eval`` run measured."""

    data: str
    documents: int
    model: str
    min_score: float
    cache_dir: Path
    index_s: float
    embedded: int
    scores: Scores
    baselines: dict[str, Scores] | None = None
    query_embed_ms: float | None = None
    probes: ProbeScores | None = None
    calibration: Calibration | None = None
    wall_s: float = 0.0
    details: list[dict[str, Any]] = field(default_factory=list)

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON summary of ``onrecord eval --json`` (per-question details are left out)."""
        result: dict[str, Any] = {
            **self.scores.to_json_dict(),
            "index_s": round(self.index_s, 2),
            "embedded": self.embedded,
            "documents": self.documents,
            "model": self.model,
            "min_score": self.min_score,
            "data": self.data,
            "wall_s": round(self.wall_s, 1),
        }
        if self.baselines is not None:
            result["baselines"] = {
                name: {k: v for k, v in s.to_json_dict().items() if k != "abstained"}
                for name, s in self.baselines.items()
            }
            result["query_embed_ms"] = round(self.query_embed_ms or 0.0, 2)
        if self.probes is not None:
            result["unanswerable"] = {
                "questions": self.probes.probes,
                "abstained": round(self.probes.probes_abstained, 4),
                "p50_ms": round(self.probes.probe_p50_ms, 2),
            }
            result["answerable"] = {
                "questions": self.probes.answerable,
                "answered": round(self.probes.answerable_answered, 4),
            }
        if self.calibration is not None:
            result["calibration"] = self.calibration.to_json_dict()
        return result


def cache_key(dataset: DataSet, embedder: Embedder, settings: IndexSettings, holdout: float | None) -> str:
    """Names the cached sources, index and vectors: corpus bytes, model and held-out share."""
    # Chunking is not part of the key: a build over the same sources notices a change of chunking or
    # segmentation itself and re-embeds only texts it has no vector for.
    material = {"format": CACHE_FORMAT, "corpus": dataset.corpus_sha, "model": embedder.name, "holdout": holdout}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode("utf-8")).hexdigest()[:20]


def cached_library(
    dataset: DataSet,
    documents: Sequence[CorpusDoc],
    settings: IndexSettings,
    embedder: Embedder,
    cache_root: Path,
    holdout: float | None,
) -> tuple[Library, dict[str, str]]:
    """A library over ``documents`` written as sources in the data set's cache folder (`cache_key`),
    not yet rebuilt, and the map from its source ids back to the data set's doc ids."""
    workspace = cache_root / cache_key(dataset, embedder, settings, holdout)
    cached = settings.model_copy(update={"docs_dir": workspace / "docs", "index_dir": workspace / "index"})
    doc_ids = write_sources(documents, cached.docs_dir)
    return Library(cached, embedder=embedder), doc_ids


def split_corpus(
    dataset: DataSet, holdout: float | None
) -> tuple[list[CorpusDoc], list[EvalQuestion], list[EvalQuestion]]:
    """Documents to index, their questions, and the questions of held-out documents (probes).

    ``holdout`` keeps the first ``1 - holdout`` of the documents in file order and turns the
    questions of the rest into must-abstain probes.
    """
    documents = dataset.documents
    if holdout is not None:
        if not 0 < holdout < 1:
            raise EvalError(f"--holdout must be between 0 and 1, not {holdout}.")
        keep = len(documents) - round(len(documents) * holdout)
        if not 0 < keep < len(documents):
            raise EvalError(f"--holdout {holdout} leaves no documents on one side of {len(documents)}.")
        documents = documents[:keep]
    indexed = {d.doc_id for d in documents}
    held = {d.doc_id for d in dataset.documents} - indexed
    answerable = [q for q in dataset.questions if q.doc_id in indexed]
    probes = [q for q in dataset.questions if q.doc_id in held]
    orphans = len(dataset.questions) - len(answerable) - len(probes)
    if orphans:
        log.warning("%d questions name documents that are not in the corpus; they are left out", orphans)
    return documents, answerable, probes


def run_eval(
    options: EvalOptions,
    settings: IndexSettings,
    *,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> EvalReport:
    """Index the data set (cached), answer its questions, and score OnRecord and the baselines."""
    started = time.perf_counter()
    notify: Progress = progress or (lambda stage, done, total: None)
    for flag, value in (("--limit", options.limit), ("--sample", options.sample)):
        if value is not None and value < 1:
            raise EvalError(f"{flag} must be at least 1, not {value}.")
    dataset = load_dataset(options.data_dir)
    documents, answerable, probes = split_corpus(dataset, options.holdout)
    if options.unanswerable_dir is not None:
        indexed = {d.doc_id for d in documents}
        other = load_dataset(options.unanswerable_dir).questions
        outside = [q for q in other if q.doc_id not in indexed]
        if len(outside) < len(other):
            log.warning("%d probes are about indexed documents; they are left out", len(other) - len(outside))
        probes += outside
    answerable = select(answerable, limit=options.limit, sample=options.sample, seed=options.seed)
    probes = select(probes, limit=options.limit, sample=options.sample, seed=options.seed)
    if not answerable:
        raise EvalError(f"{options.data_dir} has no questions about its indexed documents.")
    if options.calibrate and not probes:
        raise EvalError("Calibration needs not-in-the-sources probes: add --holdout or --unanswerable.")

    model = embedder or load_embedder(settings)
    if options.min_score is not None:
        settings = settings.model_copy(update={"min_score": options.min_score})
    library, doc_ids = cached_library(dataset, documents, settings, model, options.cache_root, options.holdout)
    eval_settings, workspace = library.settings, library.settings.docs_dir.parent
    build_started = time.perf_counter()
    build = library.rebuild(progress=notify)
    index_s = time.perf_counter() - build_started
    if build.skipped:
        log.warning("%d documents were not indexed: %s", len(build.skipped), build.skipped[:3])

    outcomes = _ask_all(library, answerable, doc_ids, notify, "OnRecord")
    probe_outcomes = _ask_all(library, probes, doc_ids, notify, "probes")
    report = EvalReport(
        data=dataset.name, documents=build.documents, model=model.name, min_score=eval_settings.min_score,
        cache_dir=workspace, index_s=index_s, embedded=build.embedded, scores=score(answerable, outcomes),
    )  # fmt: skip
    baseline_outcomes: dict[str, list[Outcome]] = {}
    if options.baselines:
        baseline_outcomes, report.query_embed_ms = _run_baselines(
            library, documents, answerable, doc_ids, workspace, notify
        )
        report.baselines = {name: score(answerable, found) for name, found in baseline_outcomes.items()}
    if probes:
        report.probes = probe_scores(outcomes, probe_outcomes)
    if options.calibrate:
        report.calibration = calibrate(
            list(zip(answerable, outcomes, strict=True)), probe_outcomes, current=eval_settings.min_score
        )
    report.details = _details(answerable, outcomes, probes, probe_outcomes, baseline_outcomes)
    report.wall_s = time.perf_counter() - started
    return report


def _ask_all(
    library: Library, questions: Sequence[EvalQuestion], doc_ids: Mapping[str, str], notify: Progress, stage: str
) -> list[Outcome]:
    """Each question through `Library.ask`, timed alone (the model and index are already loaded)."""
    if questions:
        _warm_up(library, questions[0])
    outcomes = []
    for number, question in enumerate(questions):
        if number % _NOTIFY_EVERY == 0:
            notify(stage, number, len(questions))
        began = time.perf_counter()
        try:
            answer: Answer | None = library.ask(question.question, now=question.asked_on)
        except QuestionError:
            answer = None  # refused before searching: the user gets no quote
        outcomes.append(outcome_of(answer, doc_ids, (time.perf_counter() - began) * 1000))
    notify(stage, len(questions), len(questions))
    return outcomes


def _warm_up(library: Library, question: EvalQuestion) -> None:
    """One untimed question, so first-call costs (lazy allocations, page cache) stay out of p95."""
    with contextlib.suppress(QuestionError):
        library.ask(question.question, now=question.asked_on)


def _run_baselines(
    library: Library,
    documents: Sequence[CorpusDoc],
    questions: Sequence[EvalQuestion],
    doc_ids: Mapping[str, str],
    workspace: Path,
    notify: Progress,
) -> tuple[dict[str, list[Outcome]], float]:
    """The three baselines' outcomes, and the p50 ms of embedding one question alone.

    Questions are embedded once, in batches, and the vectors serve both dense baselines, so their
    latencies are of the search alone; the returned p50 is what embedding adds for a single query.
    """
    embedder = library.embedder
    texts = [_searchable(library, q.question) for q in questions]
    vectors = cached_vectors(workspace / "questions", texts, embedder, notify, "embedding questions")
    single = []
    for text in texts[:_LATENCY_SAMPLE]:
        began = time.perf_counter()
        embedder.embed([text])
        single.append((time.perf_counter() - began) * 1000)

    budget = library.settings.excerpt_chars
    recipe = RecipeBaseline(documents, embedder, workspace, notify, budget)
    sentences = SentenceBaselines(library.generation(), doc_ids, budget)
    methods: dict[str, Callable[[int], tuple[tuple[str, ...], tuple[str, ...]]]] = {
        "recipe": lambda i: recipe.search(vectors[i]),
        "bm25": lambda i: sentences.bm25(texts[i]),
        "dense": lambda i: sentences.dense(vectors[i]),
    }
    results: dict[str, list[Outcome]] = {}
    for name, method in methods.items():
        found = []
        for i in range(len(questions)):
            if i % _NOTIFY_EVERY == 0:
                notify(name, i, len(questions))
            began = time.perf_counter()
            quotes, owners = method(i)
            found.append(Outcome(True, quotes, owners, (time.perf_counter() - began) * 1000))
        notify(name, len(questions), len(questions))
        results[name] = found
    return results, percentile(single, 50)


def _searchable(library: Library, question: str) -> str:
    """The question as `Library.ask` searches for it (the raw text if it would be refused)."""
    try:
        return library.clean_question(question)
    except QuestionError:
        return question


def _details(
    questions: Sequence[EvalQuestion],
    outcomes: Sequence[Outcome],
    probes: Sequence[EvalQuestion],
    probe_outcomes: Sequence[Outcome],
    baselines: Mapping[str, Sequence[Outcome]],
) -> list[dict[str, Any]]:
    """One record a question (probes after the answerable ones), for ``--out`` and error analysis."""
    rows = []
    for number, (question, outcome) in enumerate(zip(questions, outcomes, strict=True)):
        row = _detail(question, outcome, probe=False)
        row["baselines"] = {
            name: {
                "hit@1": hit_at(found[number], question.answers, 1),
                "hit@3": hit_at(found[number], question.answers, 3),
                "doc@1": doc_at_1(found[number], question.gold_docs),
                "first": found[number].quotes[0] if found[number].quotes else None,
            }
            for name, found in baselines.items()
        }
        rows.append(row)
    rows.extend(_detail(q, o, probe=True) for q, o in zip(probes, probe_outcomes, strict=True))
    return rows


def _detail(question: EvalQuestion, outcome: Outcome, *, probe: bool) -> dict[str, Any]:
    return {
        "qid": question.qid,
        "question": question.question,
        "answers": list(question.answers),
        "doc_id": question.doc_id,
        "probe": probe,
        "answered": outcome.answered,
        "confidence": None if outcome.confidence is None else round(outcome.confidence, 4),
        "hit@1": hit_at(outcome, question.answers, 1),
        "hit@3": hit_at(outcome, question.answers, 3),
        "doc@1": doc_at_1(outcome, question.gold_docs),
        "ms": round(outcome.ms, 2),
        "excerpts": [{"doc_id": d, "quote": q} for q, d in zip(outcome.quotes, outcome.doc_ids, strict=True)],
        "nearest": None if outcome.answered else outcome.best_quote,
    }


def write_details(report: EvalReport, path: Path) -> None:
    """Per-question records as JSON lines, written atomically (`atomic_path`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as handle:
        for row in report.details:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
