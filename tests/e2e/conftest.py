"""Fixtures for end-to-end tests of the real bot against the Discord stand-in.

The bot is the unmodified `OnRecordBot` over a `Library` with the real bundled model and real FAISS.
The seed docs are indexed once per session; each test gets its own copy of the sources and the index,
so it may add or remove files. Every test that runs the bot fails if discord.py (or the bot, or
asyncio) logs an ERROR, or if the bot called a route the stand-in does not serve.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.app import OnRecordBot
from bot.service import LibraryService
from bot.settings import BotSettings
from index import Collections, Library
from index.embedding import Embedder
from tests.conftest import DOCS, make_settings
from tests.e2e.discord_standin import (
    CALLBACK,
    CHANNEL_MESSAGE,
    CHANNEL_MESSAGES,
    FOLLOWUP,
    UPDATE_MESSAGE,
    WEBHOOK_MESSAGE,
    DiscordStandIn,
    Payload,
    running,
)

WATCHED_LOGGERS = ("discord", "bot", "asyncio", "index")

SEED_DOC = "2022-09-01-mexican-cartels-fentanyl.txt"


class RecordingHandler(logging.Handler):
    """Keeps every record at WARNING or above from the loggers the e2e tests watch."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in WATCHED_LOGGERS:
            self.records.append(record)

    def errors(self) -> list[logging.LogRecord]:
        return [r for r in self.records if r.levelno >= logging.ERROR]


@pytest.fixture
def log_errors() -> Iterator[RecordingHandler]:
    """Fails the test if anything watched logged an ERROR, from setup to the bot's close."""
    handler = RecordingHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
    errors = handler.errors()
    assert not errors, "logged errors: " + "; ".join(f"{r.name}: {r.getMessage()}" for r in errors)


@dataclass(frozen=True)
class Seed:
    """The seed sources and their index, built once (the shared collection), and the data folder of
    the servers' collections."""

    docs: Path
    index: Path

    @property
    def data(self) -> Path:
        return self.index.parent / "data"


@pytest.fixture(scope="session")
def seed(real_embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Seed:
    """The repo's docs/ indexed once with the real model, to be copied by each test."""
    root = tmp_path_factory.mktemp("e2e-seed")
    shutil.copytree(DOCS, root / "docs")
    Library(make_settings(root / "docs", root / "index"), embedder=real_embedder).rebuild()
    return Seed(root / "docs", root / "index")


@pytest.fixture
def workdir(seed: Seed, tmp_path: Path) -> Seed:
    """This test's own copy of the seed sources and index."""
    copy = Seed(tmp_path / "docs", tmp_path / "index")
    shutil.copytree(seed.docs, copy.docs)
    shutil.copytree(seed.index, copy.index)
    return copy


CollectionsFactory = Callable[..., Collections]


@pytest.fixture
def make_collections(workdir: Seed, real_embedder: Embedder) -> CollectionsFactory:
    """``make_collections(library_class=..., excerpt_chars=...)``: the collections of this test, with
    the copy of the seed as the shared one and the servers' own under ``workdir.data``."""

    def make(library_class: type[Library] = Library, **settings: Any) -> Collections:
        index_settings = make_settings(workdir.docs, workdir.index, data_dir=workdir.data, **settings)
        return Collections(index_settings, embedder=real_embedder, library_class=library_class)

    return make


@pytest.fixture
def collections(make_collections: CollectionsFactory) -> Collections:
    return make_collections()


@pytest.fixture
def library(collections: Collections) -> Library:
    """The shared collection's library (the seed)."""
    return collections.shared


def guild_docs(standin: DiscordStandIn, workdir: Seed, guild_id: str | None = None) -> Path:
    """The sources folder of a server's own collection (the stand-in's guild by default)."""
    return workdir.data / "collections" / f"guild-{guild_id or standin.guild_id}" / "docs"


@pytest.fixture(autouse=True)
def no_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own OnRecord variables must not change what these tests run."""
    for name in list(os.environ):
        if name.upper().startswith("ONRECORD_") or name.upper() == "DISCORD_TOKEN":
            monkeypatch.delenv(name)


def bot_settings(token: str, **fields: Any) -> BotSettings:
    """`BotSettings` from field names, without any `.env` file."""
    return BotSettings(_env_file=None, discord_token=token, **fields)  # type: ignore[call-arg]


@pytest_asyncio.fixture
async def standin(log_errors: RecordingHandler) -> AsyncIterator[DiscordStandIn]:
    """The stand-in; after the test (and the bot's close) no request may have gone unserved and no
    message the bot sent may have pinged anyone."""
    async with DiscordStandIn() as server:
        yield server
        server.assert_clean()
        pinging = [b for b in bot_message_bodies(server) if b.get("allowed_mentions", {}).get("parse") != []]
        assert not pinging, f"messages that may ping: {pinging}"


# -- reading what the bot sent ---------------------------------------------------------------------

MESSAGE_ROUTES = (FOLLOWUP, CHANNEL_MESSAGES, f"PATCH {WEBHOOK_MESSAGE}", "PATCH /channels/{channel_id}/messages/")


def bot_message_bodies(standin: DiscordStandIn) -> list[Payload]:
    """The bodies of every message the bot created or edited (callbacks included)."""
    bodies: list[Payload] = []
    for request in standin.requests:
        body = request.json
        if request.route == CALLBACK and isinstance(body, dict):
            body = body.get("data") if body.get("type") in (CHANNEL_MESSAGE, UPDATE_MESSAGE) else None
        elif not request.route.startswith(MESSAGE_ROUTES):
            body = None
        if isinstance(body, dict) and ("content" in body or "embeds" in body):
            bodies.append(body)
    return bodies


def answer_quotes(description: str) -> list[str]:
    """The quoted lines of an answer embed, as rendered (escaped)."""
    return [line[2:] for line in description.splitlines() if line.startswith("> ")]


def unescape(rendered: str) -> str:
    """Undo `render.safe`: markdown escapes and the zero-width space that defuses mentions."""
    return re.sub(r"\\([\\*_`~|\[\]>#-])", r"\1", rendered.replace("@\u200b", "@"))


def assert_verbatim(rendered_quote: str, *folders: Path) -> None:
    """The quote, unescaped, is word for word in one of the source files of the folders (modulo
    whitespace); a quote shortened with an ellipsis must be a verbatim prefix."""
    quote = unescape(rendered_quote)
    texts = [
        " ".join(p.read_text("utf-8").split())
        for docs in folders
        for p in docs.iterdir()
        if p.is_file() and not p.name.endswith(".meta.yaml")
    ]
    if any(quote in text for text in texts):
        return
    assert quote.endswith("…"), f"not verbatim: {quote!r}"
    assert any(quote[:-1].rstrip() in text for text in texts), f"not a verbatim prefix: {quote!r}"


BotFactory = Callable[..., AbstractAsyncContextManager[OnRecordBot]]


@pytest.fixture
def start_bot(standin: DiscordStandIn, collections: Collections, workdir: Seed) -> BotFactory:
    """``async with start_bot(ask_rate=1) as bot``: the real bot, logged in and ready, closed after.
    Its answers are kept beside this test's index (a second bot started in the test finds them), and
    it downloads attachments from the stand-in's CDN."""

    @asynccontextmanager
    async def start(collections: Collections = collections, **fields: Any) -> AsyncIterator[OnRecordBot]:
        defaults = {"state_dir": workdir.index.parent / "bot-state", "discord_cdn_base": standin.cdn_base}
        settings = bot_settings(standin.token, **{**defaults, **fields})
        service = LibraryService(
            collections, max_rebuilds=settings.max_rebuilds, allowed_guilds=settings.allowed_guilds
        )
        bot = OnRecordBot(settings, service, guild_ready_timeout=0.05)
        async with running(standin, bot, timeout=30):
            yield bot

    return start


@pytest_asyncio.fixture
async def bot(start_bot: BotFactory) -> AsyncIterator[OnRecordBot]:
    """The bot with default settings (a generous question rate)."""
    async with start_bot(ask_rate=100) as running_bot:
        yield running_bot
