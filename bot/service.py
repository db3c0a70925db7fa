"""The collections as the bot uses them: every blocking call in a worker thread, rebuilds queued.

A server answers from its own collection plus the shared one (unless its moderators turned the shared
one off); a direct message from the shared one. Questions keep being answered while a rebuild runs:
the build writes a new generation in a thread and the library swaps to it when it is complete. At
most ``max_rebuilds`` rebuilds run at once in a process, one per collection; the others wait their
turn, and their progress message says their place in the queue.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from index import (
    SHARED,
    Answer,
    BuildInProgressError,
    BuildReport,
    Collections,
    Excerpt,
    Library,
    LibraryStatus,
    NoIndexError,
    QuestionError,
    SourceInfo,
    SpeakerInfo,
    State,
    StateError,
    WhoSaid,
    guild_collection,
)
from index.feedback import Feedback, Outcome, Pin, with_pins
from index.report import FeedbackReport, build_report, question_vectors

log = logging.getLogger(__name__)

# Discord's mention syntax says nothing about the question: it is the bot's to strip, not the library's.
_MENTION = re.compile(r"<(?:@[!&]?|#)\d+>|@(?:everyone|here)\b")
# Settings of a server's collection, in its state database.
MODERATOR_ROLE = "moderator_role"
USE_SHARED = "use_shared"
REBUILD_RUNNING = "A rebuild is already running; its summary will be posted when it ends. Try again then."
# In the shared collection's state: servers an owner allowed from Discord.
ALLOWED_GUILDS = "allowed_guilds"


def without_mentions(text: str) -> str:
    return _MENTION.sub(" ", text or "")


@dataclass
class BuildProgress:
    """The latest progress of a rebuild (or its place in the queue), written from the build thread."""

    stage: str = "starting"
    done: int = 0
    total: int = 0
    waiting: int = 0  # rebuilds ahead of this one in the queue; 0 once it runs
    updated: float = field(default_factory=time.monotonic)

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.stage, self.done, self.total, self.updated = stage, done, total, time.monotonic()

    def describe(self) -> str:
        if self.waiting:
            ahead = "rebuild" if self.waiting == 1 else "rebuilds"
            return f"waiting: {self.waiting} {ahead} ahead in the queue"
        if self.total > 1:
            return f"{self.stage}: {self.done:,}/{self.total:,}"
        return f"{self.stage}…"


@dataclass(frozen=True)
class Where:
    """Which collections a command reads: the server's own (None in a direct message) and the shared one."""

    own: str | None
    shared: bool

    @property
    def collections(self) -> list[str]:
        return [c for c in (self.own, SHARED if self.shared else None) if c is not None]


@dataclass(frozen=True)
class CollectionStatus:
    collection: str
    status: LibraryStatus | None  # None: nothing indexed yet
    counters: dict[str, int]


class LibraryService:
    """Async facade over `Collections`, with the per-server counters and settings `/status` shows."""

    def __init__(self, collections: Collections, *, max_rebuilds: int = 1, allowed_guilds: tuple[int, ...] = ()):
        self.collections = collections
        self.started = time.time()
        self.allowed_guilds = frozenset(allowed_guilds)
        self._running: set[str] = set()
        self._slots = asyncio.Semaphore(max_rebuilds)
        self._queue: list[BuildProgress] = []

    @property
    def shared(self) -> Library:
        return self.collections.shared

    def rebuilding(self, collection: str) -> bool:
        return collection in self._running

    # -- where a server reads ----------------------------------------------------------------------

    def state(self, collection: str) -> State:
        return self.collections.state(collection)

    async def where(self, guild_id: int | None) -> Where:
        if guild_id is None:
            return Where(None, True)
        own = guild_collection(guild_id)
        use_shared = await asyncio.to_thread(self.state(own).get, USE_SHARED, True)
        return Where(own, bool(use_shared))

    async def allowed(self, guild_id: int) -> bool:
        """Whether the bot answers in this server: every server when no allow-list is set."""
        if not self.allowed_guilds or guild_id in self.allowed_guilds:
            return True
        allowed = await asyncio.to_thread(self.state(SHARED).get, ALLOWED_GUILDS, [])
        return guild_id in allowed

    async def allow(self, guild_id: int) -> None:
        state = self.state(SHARED)
        allowed = await asyncio.to_thread(state.get, ALLOWED_GUILDS, [])
        if guild_id not in allowed:
            await asyncio.to_thread(state.set, ALLOWED_GUILDS, [*allowed, guild_id])

    async def setting(self, guild_id: int, key: str, default: object = None) -> object:
        return await asyncio.to_thread(self.state(guild_collection(guild_id)).get, key, default)

    async def set_setting(self, guild_id: int, key: str, value: object) -> None:
        await asyncio.to_thread(self.state(guild_collection(guild_id)).set, key, value)

    # -- questions ---------------------------------------------------------------------------------

    async def prepare(self) -> BuildReport | None:
        """Load the model and the shared index, building it first if there is none, and read who is
        quoted (so the first question or speaker autocomplete does not wait for it). When another
        process is building the shared index (scale-out by shard), wait for it instead."""
        while True:
            try:
                report = await asyncio.to_thread(self.shared.ensure_index)
                break
            except BuildInProgressError:
                log.info("another process is building the shared index; waiting for it")
                await asyncio.sleep(1.0)
        await asyncio.to_thread(self.shared.speaker_table)
        await asyncio.to_thread(lambda: self.shared.embedder)
        return report

    def check_question(self, question: str) -> str:
        """Instant validation (no I/O): raises `QuestionError` with a message for the member."""
        return self.shared.clean_question(without_mentions(question))

    def message_text(self, content: str | None) -> str | None:
        """A message's text as a question (one line, within the length limit) for the message menus,
        or None when it has nothing to search for."""
        text = " ".join((content or "").split())[: self.shared.settings.max_question_chars]
        try:
            self.check_question(text)
        except QuestionError:
            return None
        return text

    async def ask(
        self,
        question: str,
        where: Where,
        *,
        source: str | None = None,
        context: str | None = None,
        limit: int | None = None,
        speaker: str | None = None,
        asked: bool = True,
    ) -> Answer:
        """The answer over the collections ``where`` names, counted in the server's own state. A
        question a member ``asked`` (not a message looked up) gets the server's pinned excerpt for
        it first and goes into its question log, here in the worker thread with the answer."""
        question, context = without_mentions(question), context and without_mentions(context)

        def work() -> Answer:
            answer = self.collections.ask(
                question, where.collections, source=source, context=context, limit=limit, speaker=speaker
            )
            own = where.own or SHARED
            if asked:
                answer = self._with_pins(own, answer, where, limit, plain=source is None and speaker is None)
            self.state(own).count("answered" if answer.answered else "abstained")
            return answer

        return await asyncio.to_thread(work)

    def _with_pins(self, own: str, answer: Answer, where: Where, limit: int | None, *, plain: bool) -> Answer:
        """The pinned excerpt first (plain questions only: not one source's, not one speaker's), then
        the question logged. Neither may cost the member the answer: a failing state database is logged."""
        feedback = self.feedback(own)
        pinned = False
        try:
            if plain:
                limit = limit or self.collections.settings.max_excerpts
                answer, pinned = with_pins(self.collections, feedback, answer, where.collections, limit=limit)
            feedback.log(answer, pinned=pinned)
        except StateError:
            log.warning("the question log or pins of %s failed", own, exc_info=True)
        return answer

    # -- feedback, pins and the report ---------------------------------------------------------------

    def feedback(self, collection: str) -> Feedback:
        return Feedback.of(self.state(collection), self.collections.settings)

    def own(self, guild_id: int | None) -> str:
        """The collection whose log and feedback a server's answers go to (direct messages: the shared one)."""
        return SHARED if guild_id is None else guild_collection(guild_id)

    async def vote(self, guild_id: int | None, answer: Answer, member_id: int, *, helpful: bool) -> Outcome:
        return await asyncio.to_thread(self.feedback(self.own(guild_id)).vote, answer, member_id, helpful=helpful)

    async def flag(self, guild_id: int | None, answer: Answer, member_id: int, excerpt: int, kind: str) -> Outcome:
        return await asyncio.to_thread(self.feedback(self.own(guild_id)).flag, answer, member_id, excerpt, kind)

    async def pin(self, where: Where, answer: Answer, excerpt: int) -> Pin:
        """Pin excerpt number ``excerpt`` of ``answer`` as the answer to its question, in the server's own
        collection (the excerpt may be of the shared one)."""

        def work() -> Pin:
            chosen = answer.excerpts[excerpt]
            collection = chosen.collection or self.collections.locate(chosen.doc_id, where.collections)[0]
            queries = self.collections.queries
            vector = queries.cached(answer.question)
            if vector is None:
                vector = queries.embed(answer.question)
            return self.feedback(where.own or SHARED).pin(answer.question, vector, chosen, collection)

        return await asyncio.to_thread(work)

    async def pins(self, guild_id: int) -> list[Pin]:
        return await asyncio.to_thread(self.feedback(self.own(guild_id)).pins)

    async def unpin(self, guild_id: int, pin_id: int) -> Pin | None:
        return await asyncio.to_thread(self.feedback(self.own(guild_id)).unpin, pin_id)

    async def delete_log(self, guild_id: int, *, feedback: bool) -> tuple[int, int]:
        return await asyncio.to_thread(self.feedback(self.own(guild_id)).delete_log, feedback=feedback)

    async def report(self, collection: str, days: float) -> FeedbackReport:
        vectors = question_vectors(self.collections.queries)
        return await asyncio.to_thread(
            lambda: build_report(self.feedback(collection), vectors, collection=collection, days=days)
        )

    async def speakers(self, where: Where, typed: str = "") -> list[SpeakerInfo]:
        return await asyncio.to_thread(self._quiet, lambda: self.collections.speakers(where.collections, typed), [])

    async def quotes(self, where: Where, speaker: str) -> tuple[list[str], list[Excerpt]]:
        return await asyncio.to_thread(self.collections.quotes, where.collections, without_mentions(speaker))

    async def who_said(self, where: Where, text: str) -> WhoSaid:
        return await asyncio.to_thread(self.collections.who_said, where.collections, without_mentions(text))

    async def sources(self, where: Where) -> list[SourceInfo]:
        return await asyncio.to_thread(self.collections.sources, where.collections)

    async def own_sources(self, collection: str) -> list[SourceInfo]:
        """The documents of one collection (the ones a moderator may remove)."""
        return await asyncio.to_thread(self.collections.sources, [collection])

    @staticmethod
    def _quiet(call: Callable[[], list[SpeakerInfo]], empty: list[SpeakerInfo]) -> list[SpeakerInfo]:
        try:
            return call()
        except NoIndexError:
            return empty

    async def status(self, where: Where) -> list[CollectionStatus]:
        """The server's own collection and the shared one: what each serves, and the server's counts."""

        def work() -> list[CollectionStatus]:
            shown = [where.own] if where.own else []
            shown.append(SHARED)
            result = []
            for name in shown:
                library = self.collections.library(name)
                status = library.status() if self.collections.has_index(name) else None
                counters = self.state(name).counters() if name == (where.own or SHARED) else {}
                result.append(CollectionStatus(name, status, counters))
            return result

        return await asyncio.to_thread(work)

    # -- changing a collection ---------------------------------------------------------------------

    def library(self, collection: str) -> Library:
        return self.collections.library(collection)

    async def rebuild(
        self,
        collection: str,
        on_progress: Callable[[BuildProgress], Awaitable[None]] | None = None,
        before: Callable[[], object] | None = None,
        interval: float = 2.0,
    ) -> BuildReport:
        """Rebuild one collection in a thread, when a slot is free; ``before`` (e.g. saving an
        upload) runs in the same thread first.

        Raises `BuildInProgressError` at once if that collection is already being rebuilt here or
        elsewhere (the build lock).
        """
        if collection in self._running:
            raise BuildInProgressError(REBUILD_RUNNING)
        self._running.add(collection)
        progress = BuildProgress()
        self._queue.append(progress)
        try:
            progress.waiting = self._queue.index(progress)
            while True:
                try:
                    await asyncio.wait_for(self._slots.acquire(), timeout=interval)
                    break
                except TimeoutError:
                    progress.waiting = max(1, self._queue.index(progress))
                    await self._report(on_progress, progress)
            try:
                self._queue.remove(progress)
                progress.waiting = 0
                return await self._run(collection, progress, on_progress, before, interval)
            finally:
                self._slots.release()
        finally:
            if progress in self._queue:
                self._queue.remove(progress)
            self._running.discard(collection)

    async def _run(
        self,
        collection: str,
        progress: BuildProgress,
        on_progress: Callable[[BuildProgress], Awaitable[None]] | None,
        before: Callable[[], object] | None,
        interval: float,
    ) -> BuildReport:
        library = self.collections.library(collection)

        def work() -> BuildReport:
            if before is not None:
                before()
            return library.rebuild(progress=progress)

        task = asyncio.create_task(asyncio.to_thread(work))
        while not task.done():
            await asyncio.wait({task}, timeout=interval)
            if not task.done():
                await self._report(on_progress, progress)
        return await task

    @staticmethod
    async def _report(on_progress: Callable[[BuildProgress], Awaitable[None]] | None, progress: BuildProgress) -> None:
        if on_progress is None:
            return
        try:
            await on_progress(progress)
        except Exception:  # a failed progress edit must not abort the rebuild
            log.warning("progress update failed", exc_info=True)
