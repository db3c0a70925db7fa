"""The library as the bot uses it: every blocking call in a worker thread, one rebuild at a time.

Questions keep being answered while a rebuild runs: the build writes a new generation in a thread
and the library swaps to it when it is complete.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from index import (
    Answer,
    BuildInProgressError,
    BuildReport,
    Excerpt,
    Library,
    LibraryStatus,
    QuestionError,
    SourceInfo,
    SpeakerInfo,
    WhoSaid,
)

log = logging.getLogger(__name__)


@dataclass
class BuildProgress:
    """The latest progress of a running rebuild, written from the build thread."""

    stage: str = "starting"
    done: int = 0
    total: int = 0
    updated: float = field(default_factory=time.monotonic)

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.stage, self.done, self.total, self.updated = stage, done, total, time.monotonic()

    def describe(self) -> str:
        if self.total > 1:
            return f"{self.stage}: {self.done:,}/{self.total:,}"
        return f"{self.stage}…"


class LibraryService:
    """Async facade over `Library`, with the counters `/status` shows."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.started = time.time()
        self.answered = 0
        self.abstained = 0
        self._rebuilding: asyncio.Lock = asyncio.Lock()

    @property
    def rebuilding(self) -> bool:
        return self._rebuilding.locked()

    async def prepare(self) -> BuildReport | None:
        """Load the model and the index, building it first if there is none, and read who is quoted
        (so the first question or speaker autocomplete does not wait for it)."""
        report = await asyncio.to_thread(self.library.ensure_index)
        await asyncio.to_thread(self.library.speaker_table)
        return report

    def check_question(self, question: str) -> str:
        """Instant validation (no I/O): raises `QuestionError` with a message for the member."""
        return self.library.clean_question(question)

    def message_text(self, content: str | None) -> str | None:
        """A message's text as a question (one line, within the length limit) for the message menus,
        or None when it has nothing to search for."""
        text = " ".join((content or "").split())[: self.library.settings.max_question_chars]
        try:
            self.check_question(text)
        except QuestionError:
            return None
        return text

    async def ask(
        self,
        question: str,
        *,
        source: str | None = None,
        context: str | None = None,
        limit: int | None = None,
        speaker: str | None = None,
    ) -> Answer:
        answer = await asyncio.to_thread(
            self.library.ask, question, source=source, context=context, limit=limit, speaker=speaker
        )
        if answer.answered:
            self.answered += 1
        else:
            self.abstained += 1
        return answer

    async def speakers(self, typed: str = "") -> list[SpeakerInfo]:
        """The people the sources quote (the first call reads them from the index)."""
        return await asyncio.to_thread(self.library.speakers, typed)

    async def quotes(self, speaker: str) -> tuple[list[str], list[Excerpt]]:
        return await asyncio.to_thread(self.library.quotes, speaker)

    async def who_said(self, text: str) -> WhoSaid:
        return await asyncio.to_thread(self.library.who_said, text)

    async def sources(self) -> list[SourceInfo]:
        return await asyncio.to_thread(self.library.sources)

    async def status(self) -> LibraryStatus:
        return await asyncio.to_thread(self.library.status)

    async def rebuild(
        self,
        on_progress: Callable[[BuildProgress], Awaitable[None]] | None = None,
        before: Callable[[], object] | None = None,
        interval: float = 2.0,
    ) -> BuildReport:
        """Rebuild in a thread; ``before`` (e.g. saving an upload) runs in the same thread first.

        Raises `BuildInProgressError` at once if a rebuild is already running here or elsewhere.
        """
        if self._rebuilding.locked():
            raise BuildInProgressError("A rebuild is already running; its summary will be posted when it ends.")
        async with self._rebuilding:
            progress = BuildProgress()

            def work() -> BuildReport:
                if before is not None:
                    before()
                return self.library.rebuild(progress=progress)

            task = asyncio.create_task(asyncio.to_thread(work))
            while not task.done():
                await asyncio.wait({task}, timeout=interval)
                if on_progress is not None and not task.done():
                    try:
                        await on_progress(progress)
                    except Exception:  # a failed progress edit must not abort the rebuild
                        log.warning("progress update failed", exc_info=True)
            return await task
