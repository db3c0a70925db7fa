"""The bot's facade over the collections: Discord's mention syntax is the bot's to strip, a server
reads its own collection and the shared one, and rebuilds wait their turn in a queue."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from bot.service import BuildProgress, LibraryService, Where, without_mentions
from index import SHARED, BuildReport, Collections, IndexSettings, Library, QuestionError, guild_collection
from index.embedding import SentenceTransformerEmbedder
from tests.conftest import DOCS

CARTELS = "What do the cartels need to make fentanyl?"


@pytest.fixture
def service(tmp_path: Path, real_embedder: SentenceTransformerEmbedder) -> LibraryService:
    shutil.copytree(DOCS, tmp_path / "docs")
    settings = IndexSettings(_env_file=None, docs_dir=tmp_path / "docs", data_dir=tmp_path / "data")  # type: ignore[call-arg]
    collections = Collections(settings, embedder=real_embedder)
    collections.shared.rebuild()
    return LibraryService(collections)


def test_mention_syntax_is_not_part_of_a_question(service: LibraryService) -> None:
    assert without_mentions("@everyone <@123> a <@!456> b <@&7> <#8> @here").split() == ["a", "b"]
    with pytest.raises(QuestionError):
        service.check_question("@everyone <@123> <@&987654321>")

    answer = asyncio.run(service.ask(f"@everyone <@123> {CARTELS} <@!456> @here", Where(None, True)))

    assert answer.answered and "precursor chemicals" in answer.excerpts[0].quote
    assert answer.question == CARTELS and "@everyone" not in answer.model_dump_json()


def test_a_server_reads_its_own_and_the_shared_collection_and_counts_its_own_questions(
    service: LibraryService,
) -> None:
    async def scenario() -> tuple[Where, Where, Where]:
        where = await service.where(1)
        await service.set_setting(1, "use_shared", False)
        own_only = await service.where(1)
        await service.ask(CARTELS, where)
        return where, own_only, await service.where(None)

    where, own_only, direct = asyncio.run(scenario())

    assert where.collections == [guild_collection(1), SHARED]
    assert own_only.collections == [guild_collection(1)]
    assert direct.collections == [SHARED]
    assert service.state(guild_collection(1)).counters() == {"answered": 1}
    assert service.state(guild_collection(2)).counters() == {}


class _Held(Library):
    gate = threading.Event()

    def rebuild(self, progress: Any = None) -> BuildReport:
        self.gate.wait(timeout=20)
        return super().rebuild(progress=progress)


def test_rebuilds_beyond_the_limit_wait_and_say_their_place_in_the_queue(
    tmp_path: Path, real_embedder: SentenceTransformerEmbedder
) -> None:
    settings = IndexSettings(_env_file=None, docs_dir=tmp_path / "docs", data_dir=tmp_path / "data")  # type: ignore[call-arg]
    (tmp_path / "docs").mkdir()
    service = LibraryService(Collections(settings, embedder=real_embedder, library_class=_Held), max_rebuilds=1)
    seen: dict[str, list[str]] = {"a": [], "b": []}

    async def scenario() -> None:
        async def show(name: str, progress: BuildProgress) -> None:
            seen[name].append(progress.describe())

        first = asyncio.create_task(
            service.rebuild(guild_collection(1), on_progress=lambda p: show("a", p), interval=0.05)
        )
        await asyncio.sleep(0.2)
        second = asyncio.create_task(
            service.rebuild(guild_collection(2), on_progress=lambda p: show("b", p), interval=0.05)
        )
        await asyncio.sleep(0.3)
        assert service.rebuilding(guild_collection(1)) and service.rebuilding(guild_collection(2))
        _Held.gate.set()
        await asyncio.gather(first, second)

    asyncio.run(scenario())

    assert "waiting: 1 rebuild ahead in the queue" in seen["b"]
    assert not any(text.startswith("waiting") for text in seen["a"])
    assert not service.rebuilding(guild_collection(2))
