"""`Library`: the one object front ends use: build, ask, list sources, add and remove them.

It serves one index generation at a time and swaps to a new one after a rebuild; a question that is
being answered keeps the generation it started with. Everything here blocks (model, FAISS, disk):
an async caller runs it in a worker thread.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import build as builder
from . import metadata
from . import speakers as people
from .analysis import content_stems
from .answer import compose, span_excerpt
from .embedding import Embedder, load_embedder
from .errors import CorruptIndexError, NoIndexError, QuestionError, SourceError, SourceExistsError
from .extraction import ExtractionCache, Limits
from .files import atomic_write
from .loaders import SIDECAR_SUFFIX, SUPPORTED_SUFFIXES, source_files, unreadable
from .models import Answer, BuildReport, Excerpt, SourceInfo, SpeakerInfo, WhoSaid
from .search import CONFIDENCE_FEATURES, Candidate, gather, lexical, topic_stems
from .settings import IndexSettings
from .store import Generation, current_name, open_current
from .whosaid import who_said

log = logging.getLogger(__name__)

# Zero-width characters and every bidirectional control (ALM U+061C, the isolates U+2066-2069 too).
_INVISIBLE = re.compile(r"[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
# A link says nothing the sources could match: a masked link keeps its text, a bare address goes.
_MASKED_LINK = re.compile(r"\[([^\]]*)\]\(\s*<?https?://[^)\s]*>?\s*\)")
_ADDRESS = re.compile(r"<?\bhttps?://\S+")
_MARKUP = re.compile(r"[*_~`|]+")  # Markdown emphasis, code and spoiler marks glued to the words
# Discord hides ||spoilered|| text from readers: an aside the member chose not to show, not what they
# ask (searched, one word no source holds costs a small library's coverage, and the answer's title,
# which repeats the question, would show it to the whole channel). A question all in spoilers keeps it.
_SPOILER = re.compile(r"\|\|.*?\|\|", re.DOTALL)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_QUERY_CACHE_SIZE = 1024
# How often (seconds) a library looks whether another process has made a newer generation current.
CURRENT_CHECK_S = 1.0
# A sentence this close (cosine) to the topic of a question about its speaker answers it without
# sharing a word: set by hand, high, so that a person is never quoted off the topic.
_SAME_MEANING = 0.6


@dataclass(frozen=True)
class LibraryStatus:
    """What is being served."""

    generation: str | None
    documents: int
    chunks: int
    sentences: int
    model: str
    built_at: str | None


class QueryVectors:
    """The model, loaded on first use, with the vectors of recent questions and the worker threads
    that embed them: one per process, shared by every library (collection) it serves."""

    def __init__(self, settings: IndexSettings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._embedder_lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="onrecord-embed")

    @property
    def embedder(self) -> Embedder:
        with self._embedder_lock:
            if self._embedder is None:
                self._embedder = load_embedder(self.settings)
            return self._embedder

    @property
    def loaded(self) -> Embedder | None:
        return self._embedder

    def cached(self, query: str) -> np.ndarray | None:
        with self._cache_lock:
            vector = self._cache.get(query)
            if vector is not None:
                self._cache.move_to_end(query)  # repeated questions (a busy server) skip the model
            return vector

    def embed(self, query: str) -> np.ndarray:
        vector: np.ndarray = self.embedder.embed([query])[0]
        with self._cache_lock:
            self._cache[query] = vector
            while len(self._cache) > _QUERY_CACHE_SIZE:
                self._cache.popitem(last=False)
        return vector


class Library:
    """Sources, their index and the answers drawn from them."""

    def __init__(
        self,
        settings: IndexSettings,
        embedder: Embedder | None = None,
        *,
        queries: QueryVectors | None = None,
        quota: Quota | None = None,
    ) -> None:
        self.settings = settings
        self.quota = quota
        self.queries = queries or QueryVectors(settings, embedder)
        self._generation: Generation | None = None
        self._swap_lock = threading.Lock()
        self._checked_current = 0.0
        self._speaker_table: people.SpeakerTable | None = None
        self._speaker_lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        """The model, loaded on first use."""
        return self.queries.embedder

    # -- the index -------------------------------------------------------------------------------

    def generation(self) -> Generation:
        """The generation being served, opened on first use. Raises `NoIndexError`.

        When another process (the CLI, or the bot process that built the shared collection) has made a
        newer generation current, the next call after `CURRENT_CHECK_S` serves it."""
        with self._swap_lock:
            if self._generation is not None and time.monotonic() - self._checked_current > CURRENT_CHECK_S:
                self._checked_current = time.monotonic()
                if current_name(self.settings.index_dir) not in (None, self._generation.name):
                    log.info("%s is no longer current: serving the newer generation", self._generation.name)
                    self._generation = None
            if self._generation is None:
                # Checked by model name only, so listing sources needs no model; ask() checks the dimension.
                self._generation = open_current(self.settings.index_dir, model=self._model_name())
                self._checked_current = time.monotonic()
            return self._generation

    def close(self) -> None:
        """Stop serving (the collection is closed when idle); the next call opens the generation again."""
        with self._swap_lock:
            self._generation = None
        with self._speaker_lock:
            self._speaker_table = None

    def _model_name(self) -> str:
        loaded = self.queries.loaded
        return loaded.name if loaded is not None else self.settings.model

    def has_index(self) -> bool:
        return current_name(self.settings.index_dir) is not None

    def ensure_index(self) -> BuildReport | None:
        """Open the index, building it first if there is none (or the current one is unusable)."""
        try:
            self.generation()
            return None
        except (NoIndexError, CorruptIndexError) as error:
            log.info("%s Building it from %s.", error, self.settings.docs_dir)
            return self.rebuild()

    def rebuild(self, progress: builder.Progress | None = None) -> BuildReport:
        """Re-scan the sources, write a new generation and start serving it (sources unchanged since the
        generation this library serves: keep serving that one)."""
        with self._swap_lock:
            serving = self._generation.name if self._generation is not None else None
        report = builder.build(self.settings, self.embedder, progress, serving=serving)
        if report.generation != serving:  # an unchanged rebuild keeps the generation this library serves
            self.reload()
        return report

    def reload(self) -> None:
        """Serve the generation CURRENT names now (queries in flight finish on the old one)."""
        fresh = open_current(self.settings.index_dir, model=self._model_name())
        with self._swap_lock:
            self._generation = fresh

    # -- questions -------------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        *,
        source: str | None = None,
        context: str | None = None,
        limit: int | None = None,
        now: dt.date | dt.datetime | None = None,
        speaker: str | None = None,
    ) -> Answer:
        """Answer from the sources only, with at most ``limit`` excerpts (default: the setting).

        ``context`` (say, the previous question of a conversation) is added to what is searched for,
        so a follow-up like "and who leads it?" finds the topic; it is never quoted. ``speaker`` (any
        of a person's names) quotes that person only; a question like "What did Dhillon say about
        Mexico?" does the same when the sources quote someone of that name. ``now`` is the time of
        asking (default: the clock): "this week" or "the latest" are read against it, and a source
        dated after it is one the asker could not have meant.
        """
        today = now.date() if isinstance(now, dt.datetime) else now or dt.date.today()
        started = time.perf_counter()
        clean = self.clean_question(question)
        if speaker is not None and not " ".join(speaker.split()):
            speaker = None
        generation = self.generation()
        if generation.manifest.dim != self.embedder.dim:
            raise CorruptIndexError(
                f"The index has {generation.manifest.dim}-dimensional vectors but the model makes "
                f"{self.embedder.dim}; rebuild it with `onrecord index`."
            )
        if source is not None and source not in generation.by_id:
            raise QuestionError(f"There is no source called {source!r}.")
        table = self.speaker_table(generation)
        about = self._about(table, clean, speaker)
        limit = limit or self.settings.max_excerpts
        if about is not None:
            answer = self._ask_about(generation, table, about, clean, source, context, limit, today)
        else:
            query = f"{self.clean_question(context)} {clean}" if context else clean
            candidates = self._candidates(generation, query, source, today) if generation.n_sentences else []
            answer = compose(
                generation, clean, candidates,
                max_excerpts=limit, budget=self.settings.excerpt_chars, min_score=self.settings.min_score,
            )  # fmt: skip
        log.info(
            "answered=%s excerpts=%d speaker=%s in %.1f ms (question of %d chars)",
            answer.answered, len(answer.excerpts), about is not None, (time.perf_counter() - started) * 1000,
            len(clean),
        )  # fmt: skip
        return answer

    def _about(self, table: people.SpeakerTable, question: str, speaker: str | None) -> people.SpeakerQuestion | None:
        """Whom the question is about: the speaker asked for, else one it names in a "what did X say" way."""
        if speaker is None:
            return people.speaker_question(question, table)
        asked = " ".join(self.clean_question(speaker).split())
        names = table.match(asked)
        return people.SpeakerQuestion(asked, names, people.without_names(question, names))

    def _ask_about(
        self,
        generation: Generation,
        table: people.SpeakerTable,
        about: people.SpeakerQuestion,
        question: str,
        source: str | None,
        context: str | None,
        limit: int,
        today: dt.date,
    ) -> Answer:
        """The answer quoting one person only: their quotes on the question's topic or, when it has
        none ("What has Felbab-Brown said?"), their quotes, the newest source first."""
        shown = about.names[0] if len(about.names) == 1 else about.asked
        empty = Answer(question=question, answered=False, excerpts=[], speaker=shown, speakers=about.names)
        allowed = table.sentence_ids(about.names)
        if source is not None:
            doc = generation.by_id[source]
            allowed = allowed[(allowed >= doc.sentence_first) & (allowed < doc.sentence_end)]
        if len(allowed) == 0:
            return empty
        topic = people.topic_words(people.without_names(about.topic, about.names))
        if not topic_stems(generation, topic):
            quotes = table.quotes_of(about.names, None if source is None else generation.by_id[source].row)
            excerpts = [span_excerpt(generation, q.sentences, self.settings.excerpt_chars) for q in quotes[:limit]]
            return empty.model_copy(update={"answered": True, "excerpts": excerpts})
        query = f"{self.clean_question(context)} {topic}" if context else topic
        ranked = self._candidates(generation, query, source, today, allowed)
        candidates = self._on_topic(generation, table, topic, ranked, limit)
        answer = compose(
            generation, topic, candidates, max_excerpts=limit, budget=self.settings.excerpt_chars,
            min_score=self.settings.min_score, within=frozenset(allowed.tolist()),
        )  # fmt: skip
        return answer.model_copy(update={"question": question, "speaker": shown, "speakers": about.names})

    def _on_topic(
        self,
        generation: Generation,
        table: people.SpeakerTable,
        topic: str,
        candidates: list[Candidate],
        limit: int,
    ) -> list[Candidate]:
        """The best of a person's sentences whose own quotation speaks of the topic: it holds one of
        the topic's words, or the sentence is very close to it in meaning. (The usual confidence
        counts the words of the whole passage, which may be another person's or the reporter's:
        asked what Felbab-Brown said about China, a passage that mentions China beside her quote
        about profits is no answer.)"""
        wanted = topic_stems(generation, topic)
        kept: list[Candidate] = []
        for candidate in candidates:
            if len(kept) >= 4 * limit:
                break
            quote = table.quote_of.get(candidate.sentence)
            sentences = quote.sentences if quote is not None else (candidate.sentence,)
            doc_row = int(generation.sentence_doc[sentences[0]])
            text = generation.text(
                doc_row, int(generation.sentence_start[sentences[0]]), int(generation.sentence_end[sentences[-1]])
            )
            if candidate.sentence_dense >= _SAME_MEANING or wanted & content_stems(generation.tokenizer, text):
                kept.append(candidate)
        return kept

    def _candidates(
        self,
        generation: Generation,
        query: str,
        source: str | None,
        today: dt.date,
        allowed: np.ndarray | None = None,
    ) -> list[Candidate]:
        """Ranked sentences. The model embeds the query in a worker thread (onnxruntime and torch
        release the GIL) while this thread does the lexical half of the search: on two cores the
        question costs about the embedding plus the vector half (scripts/bench.py)."""
        vector = self.queries.cached(query)
        if vector is not None:
            return gather(generation, vector, query, doc_id=source, today=today, allowed=allowed).rank()
        pending = self.queries.workers.submit(self.queries.embed, query)
        found = lexical(generation, query, doc_id=source)
        return gather(
            generation, pending.result(), query, doc_id=source, found=found, today=today, allowed=allowed
        ).rank()

    def confidence_features(self, question: str, *, now: dt.date | None = None) -> tuple[float, ...]:
        """The best candidate's evidence as the abstention confidence reads it (`CONFIDENCE_FEATURES`);
        zeros when nothing is found. For calibration (scripts/abstain.py)."""
        generation = self.generation()
        clean = self.clean_question(question)
        candidates = self._candidates(generation, clean, None, now or dt.date.today()) if generation.n_sentences else []
        return candidates[0].evidence if candidates else (0.0,) * len(CONFIDENCE_FEATURES)

    def clean_question(self, question: str) -> str:
        """The searchable text of a question, or `QuestionError` saying what is wrong with it."""
        text = unicodedata.normalize("NFKC", question or "")
        text = _INVISIBLE.sub("", text)
        shown = _SPOILER.sub(" ", text)
        text = shown if any(ch.isalnum() for ch in shown) else text
        text = _MARKUP.sub(" ", _ADDRESS.sub(" ", _MASKED_LINK.sub(r"\1", text)))
        text = " ".join(text.split())
        if len(text) > self.settings.max_question_chars:
            raise QuestionError(
                f"That question is {len(text):,} characters long; please keep it under "
                f"{self.settings.max_question_chars:,}."
            )
        if not any(ch.isalnum() for ch in text):
            raise QuestionError("Please ask a question in words: this one has nothing to search for.")
        return text

    # -- speakers --------------------------------------------------------------------------------

    def speaker_table(self, generation: Generation | None = None) -> people.SpeakerTable:
        """Who is quoted where in the generation served (read from the index once per generation)."""
        generation = generation or self.generation()
        with self._speaker_lock:
            if self._speaker_table is None or self._speaker_table.generation is not generation:
                started = time.perf_counter()
                self._speaker_table = people.SpeakerTable(generation)
                log.info("read the speakers of %s in %.1f ms", generation.name, (time.perf_counter() - started) * 1000)
            return self._speaker_table

    def speakers(self, typed: str = "") -> list[SpeakerInfo]:
        """The people the sources quote, the most quoted first; with ``typed``, those one of whose
        names starts with it (for autocomplete)."""
        return people.speakers_matching(self.speaker_table().people(), typed)

    def quotes(self, speaker: str, *, source: str | None = None) -> tuple[list[str], list[Excerpt]]:
        """Everything the sources quote a person saying (any of their names), the newest source
        first: the speakers matched and their quotations, each within the excerpt budget."""
        generation = self.generation()
        if source is not None and source not in generation.by_id:
            raise QuestionError(f"There is no source called {source!r}.")
        table = self.speaker_table(generation)
        names = table.match(" ".join(self.clean_question(speaker).split()))
        doc_row = None if source is None else generation.by_id[source].row
        quotes = table.quotes_of(names, doc_row)
        return names, [span_excerpt(generation, q.sentences, self.settings.excerpt_chars) for q in quotes]

    def who_said(self, text: str) -> WhoSaid:
        """Where the sources hold ``text`` (word for word or nearly), with its speaker; and whether the
        speaker the text itself names for it is the one the sources give."""
        clean = self.clean_question(text)
        generation = self.generation()
        return who_said(generation, self.speaker_table(generation), clean, self.settings.excerpt_chars)

    # -- sources ---------------------------------------------------------------------------------

    def sources(self) -> list[SourceInfo]:
        return self.generation().sources()

    def status(self) -> LibraryStatus:
        generation = self.generation()
        manifest = generation.manifest
        return LibraryStatus(
            generation=generation.name, documents=len(generation.documents), chunks=manifest.chunks,
            sentences=manifest.sentences, model=manifest.model, built_at=manifest.built_at,
        )  # fmt: skip

    def check_upload(self, filename: str, size: int) -> Upload:
        """The one check of an upload before it is fetched or saved: its type, its size and this
        collection's quota; says under which name it would be saved and whether that replaces a source."""
        name = safe_filename(filename)
        if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
            allowed = ", ".join(sorted(s.lstrip(".") for s in SUPPORTED_SUFFIXES))
            raise SourceError(f"{filename!r} is not a supported type (allowed: {allowed}).")
        limit = int(self.settings.max_file_mb * 1e6)
        if size > limit:
            raise SourceError(f"{filename!r} is {size / 1e6:.1f} MB, over the {self.settings.max_file_mb:g} MB limit.")
        target = self.settings.docs_dir / name
        exists = target.is_file()
        if self.quota is not None:
            files = source_files(self.settings.docs_dir)
            others = [f for f in files if f.name != name or f.parent != self.settings.docs_dir]
            if len(others) + 1 > self.quota.max_sources:
                raise SourceError(
                    f"{filename!r} was not added: this server's library is full ({self.quota.max_sources:,} "
                    "sources); remove one first."
                )
            used = sum(f.stat().st_size for f in others)
            if used + size > self.quota.max_bytes:
                raise SourceError(
                    f"{filename!r} was not added: it would take this server's library over its "
                    f"{self.quota.max_bytes / 1e6:g} MB ({used / 1e6:.1f} MB used); remove a source first."
                )
        return Upload(name=name, target=target, replaces=exists)

    def save_source(
        self, filename: str, data: bytes, *, replace: bool = False, meta: Mapping[str, Any] | None = None
    ) -> Path:
        """Check an uploaded file and save it into the sources folder under a safe name.

        The file must pass `check_upload` and be readable as a document; it is written to a temporary
        name and renamed, so a half-written file is never indexed. A file of the same name is replaced
        only when ``replace`` says so, and then with its metadata sidecar: the new file never borrows
        the old one's title, outlet or date. ``meta`` (a fetched page's address and dates) is written as
        the new file's sidecar.
        """
        upload = self.check_upload(filename, len(data))
        if upload.replaces and not replace:
            raise SourceExistsError(f"There is already a source called {upload.name!r}.")
        docs = self.settings.docs_dir
        docs.mkdir(parents=True, exist_ok=True)
        _remove_stale_uploads(docs)
        tmp = docs / f".upload-{dt.datetime.now().timestamp():.6f}{Path(upload.name).suffix}"
        try:
            try:
                tmp.write_bytes(data)
            except OSError as error:
                raise SourceError(f"it could not be saved ({error.strerror or error})") from error
            # Refuses binary, empty, broken PDF... with the reason; the rebuild that follows finds it in the cache.
            ExtractionCache(self.settings.index_dir / "extracted", Limits.of(self.settings)).load(tmp, docs)
            sidecar = _sidecar_yaml(meta, upload.name) if meta else None
            _sidecar(upload.target).unlink(missing_ok=True)
            tmp.replace(upload.target)
            if sidecar is not None:
                atomic_write(_sidecar(upload.target), sidecar)
        except SourceError as error:
            raise SourceError(f"{filename!r} was not added: {error}.") from error
        except Exception as error:  # an unforeseen reader failure refuses the file, named, like any other
            log.exception("could not read the upload %s", upload.name)
            raise SourceError(f"{filename!r} was not added: {unreadable(error)}.") from error
        finally:
            tmp.unlink(missing_ok=True)  # on every path: no hidden upload is left in the sources folder
        return upload.target

    def remove_source(self, doc_id: str) -> Path:
        """Delete a source file and its metadata sidecar from the sources folder. Only a source
        can be removed: never a sidecar, a hidden file or anything outside the folder."""
        docs = self.settings.docs_dir.resolve()
        target = (docs / doc_id).resolve()
        if not target.is_relative_to(docs) or target not in {f.resolve() for f in source_files(docs)}:
            raise SourceError(f"There is no source file called {doc_id!r}.")
        target.unlink()
        _sidecar(target).unlink(missing_ok=True)
        return target


@dataclass(frozen=True)
class Quota:
    """How much a collection may hold (a server's; the shared collection has none)."""

    max_sources: int
    max_bytes: int


@dataclass(frozen=True)
class Upload:
    """Where an upload would be saved, and whether a source of that name is there already."""

    name: str
    target: Path
    replaces: bool


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _sidecar_yaml(meta: Mapping[str, Any], name: str) -> str:
    """A sidecar's YAML for ``meta``, checked as the loader will check it (`SourceError` names a wrong field)."""
    import yaml

    text = yaml.safe_dump(dict(meta), allow_unicode=True, sort_keys=False)
    metadata.sidecar(text.encode("utf-8"), name + SIDECAR_SUFFIX)
    return text


def _remove_stale_uploads(docs: Path, older_than_s: float = 3600) -> None:
    """Remove upload temporaries a killed process left behind (a live upload is seconds old)."""
    for leftover in docs.glob(".upload-*"):
        with contextlib.suppress(OSError):
            if time.time() - leftover.stat().st_mtime > older_than_s:
                leftover.unlink()


def safe_filename(filename: str) -> str:
    """A plain file name: no folders, no leading dots, only letters, digits, '.', '_' and '-'."""
    base = Path(filename.replace("\\", "/")).name
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = _SAFE_NAME.sub("-", unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()).strip(".-_")
    suffix = _SAFE_NAME.sub("", suffix).lower()
    if not stem:
        stem = "source"
    return f"{stem[:100]}.{suffix}" if suffix else stem[:100]
