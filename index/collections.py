"""Collections: one library per owner of sources (the shared one, and one per Discord server).

A collection is a sources folder, its index generations and its state database (`state.State`),
under ``<data_dir>/collections/<id>/{docs,index,state.sqlite}``. The **shared** collection is the
project's ``docs/`` (``docs_dir``) with its index under ``data_dir``: what the CLI, ``make demo`` and
every server read unless they turn it off. A server's collection (``guild-<id>``) is created on first
use.

`Collections` opens a collection on first use and closes the least recently used one beyond
``max_open_collections``, or one idle for ``collection_idle_s``; all of them share one model, one
cache of question vectors and one pool of worker threads (`QueryVectors`). An answer over several
collections is each collection's own answer, merged on the excerpts' scores: the ranker's fused
score is a probability that the sentence holds the answer, the same scale in every collection.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .embedding import Embedder
from .errors import LibraryError, NoIndexError, QuestionError
from .library import Library, QueryVectors, Quota
from .models import Answer, Excerpt, SourceInfo, SpeakerInfo, WhoSaid
from .settings import IndexSettings
from .state import State
from .store import current_name

log = logging.getLogger(__name__)

SHARED = "shared"
_ID = re.compile(r"(?:shared|guild-\d{1,20})")


def guild_collection(guild_id: int) -> str:
    """The id of a Discord server's own collection."""
    return f"guild-{guild_id}"


@dataclass
class _Open:
    library: Library
    used: float


class Collections:
    """Every collection of a data folder, opened on demand and sharing one model."""

    def __init__(
        self, settings: IndexSettings, embedder: Embedder | None = None, *, library_class: type[Library] = Library
    ) -> None:
        self.settings = settings
        self.queries = QueryVectors(settings, embedder)
        self._library_class = library_class  # a subclass lets a test hold a rebuild, or fail one
        migrate_single_library(settings)
        self.shared = library_class(settings, queries=self.queries)
        self._open: OrderedDict[str, _Open] = OrderedDict()
        self._states: dict[str, State] = {}
        self._lock = threading.Lock()

    # -- collections -----------------------------------------------------------------------------

    def folder(self, collection: str) -> Path:
        return self.settings.data_dir / "collections" / _checked(collection)

    def library(self, collection: str) -> Library:
        """The collection's library, opened (and its folders made) on first use."""
        if _checked(collection) == SHARED:
            return self.shared
        now = time.monotonic()
        with self._lock:
            entry = self._open.get(collection)
            if entry is None:
                entry = self._open[collection] = _Open(self._make(collection), now)
            entry.used = now
            self._open.move_to_end(collection)
            closing = self._beyond_limits(now)
        for library in closing:
            library.close()
        return entry.library

    def _make(self, collection: str) -> Library:
        folder = self.folder(collection)
        settings = self.settings.model_copy(update={"docs_dir": folder / "docs", "index_dir": folder / "index"})
        settings.docs_dir.mkdir(parents=True, exist_ok=True)
        quota = Quota(self.settings.max_sources_per_guild, int(self.settings.max_mb_per_guild * 1e6))
        return self._library_class(settings, queries=self.queries, quota=quota)

    def _beyond_limits(self, now: float) -> list[Library]:
        """Take out of the open set the least used collections beyond the limit and the idle ones
        (called with the lock held; they are closed after it is released)."""
        closing: list[Library] = []
        while len(self._open) > self.settings.max_open_collections:
            closing.append(self._open.popitem(last=False)[1].library)
        for name in [n for n, e in self._open.items() if now - e.used > self.settings.collection_idle_s]:
            closing.append(self._open.pop(name).library)
        return closing

    def close_idle(self) -> int:
        """Close the collections idle for longer than ``collection_idle_s``; returns how many."""
        with self._lock:
            closing = self._beyond_limits(time.monotonic())
        for library in closing:
            library.close()
        return len(closing)

    def open_count(self) -> int:
        with self._lock:
            return len(self._open)

    def has_index(self, collection: str) -> bool:
        if collection == SHARED:
            return self.shared.has_index()
        return current_name(self.folder(collection) / "index") is not None

    def state(self, collection: str) -> State:
        """The collection's state database (counters, settings), created on first use."""
        with self._lock:
            state = self._states.get(collection)
            if state is None:
                state = self._states[collection] = State(self.folder(collection) / "state.sqlite")
            return state

    # -- questions over several collections ------------------------------------------------------

    def ask(
        self,
        question: str,
        collections: Sequence[str],
        *,
        source: str | None = None,
        context: str | None = None,
        limit: int | None = None,
        now: dt.date | dt.datetime | None = None,
        speaker: str | None = None,
    ) -> Answer:
        """One answer from several collections: each one's answer, merged best excerpt first. With
        ``source`` (``<collection>:<doc id>`` or a bare id), from that document only. Raises
        `NoIndexError` when none of them has an index yet."""
        limit = limit or self.settings.max_excerpts
        serving = wanted = self._serving(collections)
        if source is not None:
            owner, doc_id = self.locate(source, wanted)
            wanted, source = [owner], doc_id
        answers = []
        for name in wanted:
            library = self.library(name)
            answers.append(
                (name, library.ask(question, source=source, context=context, limit=limit, now=now, speaker=speaker))
            )
        return merge_answers(answers, limit, labelled=len(serving) > 1)

    def _serving(self, collections: Sequence[str]) -> list[str]:
        """`_present`, or `NoIndexError` when none of the collections has an index yet."""
        serving = self._present(collections)
        if not serving:
            raise NoIndexError("There are no sources here yet: a moderator can add some with /source-add.")
        return serving

    def locate(self, source: str, collections: Sequence[str]) -> tuple[str, str]:
        """Which collection holds ``source`` (``<collection>:<doc id>``, or a bare id looked up in
        ``collections`` in order) and its document id there. Raises `QuestionError`."""
        owner, colon, doc_id = source.partition(":")
        if colon and owner in collections and any(s.doc_id == doc_id for s in self.library(owner).sources()):
            return owner, doc_id
        for name in collections:
            if self.has_index(name) and any(s.doc_id == source for s in self.library(name).sources()):
                return name, source
        raise QuestionError(f"There is no source called {source!r}.")

    def sources(self, collections: Sequence[str]) -> list[SourceInfo]:
        """Every document of the collections, each saying its collection when there are several."""
        listed: list[SourceInfo] = []
        present = self._present(collections)
        for name in present:
            for info in self.library(name).sources():
                listed.append(replace(info, collection=name) if len(present) > 1 else info)
        return listed

    def speakers(self, collections: Sequence[str], typed: str = "") -> list[SpeakerInfo]:
        """The people quoted in any of the collections, their counts added up, the most quoted first."""
        people: dict[str, SpeakerInfo] = {}
        for name in self._present(collections):
            for person in self.library(name).speakers(typed):
                seen = people.get(person.name)
                if seen is not None:
                    person = SpeakerInfo(
                        person.name, seen.quotes + person.quotes, seen.sentences + person.sentences,
                        seen.documents + person.documents,
                    )  # fmt: skip
                people[person.name] = person
        return sorted(people.values(), key=lambda p: (-p.quotes, p.name))

    def quotes(self, collections: Sequence[str], speaker: str) -> tuple[list[str], list[Excerpt]]:
        """A person's quotations in any of the collections, the newest source first."""
        names: list[str] = []
        excerpts: list[Excerpt] = []
        present = self._present(collections)
        for name in present:
            found, quoted = self.library(name).quotes(speaker)
            names += [n for n in found if n not in names]
            excerpts += [_labelled(e, name, len(present) > 1) for e in quoted]
        excerpts.sort(key=lambda e: e.published or dt.date.min, reverse=True)
        return names, excerpts

    def who_said(self, collections: Sequence[str], text: str) -> WhoSaid:
        """Where any of the collections hold ``text``, the closest match first."""
        found: WhoSaid | None = None
        present = self._serving(collections)
        for name in present:
            result = self.library(name).who_said(text)
            labelled = len(present) > 1
            matches = [m.model_copy(update={"excerpt": _labelled(m.excerpt, name, labelled)}) for m in result.matches]
            found = (
                result.model_copy(update={"matches": matches})
                if found is None
                else found.model_copy(update={"matches": found.matches + matches})
            )
        assert found is not None  # _serving names at least one collection
        return found.model_copy(update={"matches": sorted(found.matches, key=lambda m: -m.similarity)})

    def _present(self, collections: Sequence[str]) -> list[str]:
        return [name for name in dict.fromkeys(collections) if self.has_index(name)]


def merge_answers(answers: Sequence[tuple[str, Answer]], limit: int, *, labelled: bool) -> Answer:
    """Several collections' answers to one question as one: the excerpts of those that answer, the
    highest score first (the newest source first among equal scores: a person's quotes), each
    naming its collection when ``labelled``; when none answers, their closest passages the same way."""
    if len(answers) == 1 and not labelled:
        return answers[0][1]
    question = answers[0][1].question
    answered = [(name, a) for name, a in answers if a.answered]

    def ranked(pick: Callable[[Answer], list[Excerpt]], among: Sequence[tuple[str, Answer]]) -> list[Excerpt]:
        pooled = [_labelled(e, name, labelled) for name, a in among for e in pick(a)]
        pooled.sort(key=lambda e: (e.score, e.published or dt.date.min), reverse=True)
        return pooled[:limit]

    confidences = [a.confidence for _, a in answers if a.confidence is not None]
    speakers = list(dict.fromkeys(n for _, a in answers for n in a.speakers))
    speaker = next((a.speaker for _, a in answers if a.speaker is not None), None)
    if len(speakers) == 1 and speaker is not None:
        speaker = speakers[0]
    return Answer(
        question=question,
        answered=bool(answered),
        excerpts=ranked(lambda a: a.excerpts, answered),
        closest=[] if answered else ranked(lambda a: a.closest, answers),
        confidence=max(confidences) if confidences else None,
        speaker=speaker,
        speakers=speakers,
    )


def _labelled(excerpt: Excerpt, collection: str, labelled: bool) -> Excerpt:
    return excerpt.model_copy(update={"collection": collection}) if labelled else excerpt


def _checked(collection: str) -> str:
    if not _ID.fullmatch(collection):
        raise LibraryError(f"{collection!r} is not a collection name (shared, or guild-<server id>).")
    return collection


def migrate_single_library(settings: IndexSettings) -> bool:
    """Move an index from before collections (``<data_dir>/index``) to the shared collection's place,
    once, when the shared index has not been given a folder of its own. Returns whether it moved.
    A rename within the data folder: atomic, and nothing is rebuilt."""
    old, new = settings.legacy_index_dir, settings.index_dir
    if "index_dir" in settings.model_fields_set or new.exists() or current_name(old) is None:
        return False
    new.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(old, new)
    except OSError as error:
        log.warning("could not move the index from %s to %s (%s); it will be rebuilt", old, new, error)
        return False
    log.info("moved the index from %s to the shared collection's folder %s", old, new)
    return True
