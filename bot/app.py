"""The bot: dependencies through the constructor, cogs loaded and commands synced in setup_hook."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from .answers import AnswerStore
from .checks import QuestionRate, is_bot_owner
from .errors import NOT_ENABLED, on_tree_error, send_ephemeral
from .service import LibraryService
from .settings import BotSettings

log = logging.getLogger(__name__)

COGS = (
    "bot.cogs.ask",
    "bot.cogs.speakers",
    "bot.cogs.sources",
    "bot.cogs.admin",
    "bot.cogs.settings",
    "bot.cogs.feedback",
    "bot.cogs.report",
)
# What an owner may still use in a server that is not on the allow-list: the command that allows it.
ALLOW_COMMAND = "allow-server"
NO_MENTIONS = discord.AllowedMentions.none()


def intents() -> discord.Intents:
    """No privileged intents: slash commands need none, and a message that mentions the bot carries
    its content without the message-content intent."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    return wanted


class OnRecordTree(app_commands.CommandTree["OnRecordBot"]):
    """The command tree, with the allow-list of servers checked before any command runs."""

    async def interaction_check(self, interaction: discord.Interaction[OnRecordBot], /) -> bool:
        guild_id = interaction.guild_id
        if guild_id is None or await interaction.client.service.allowed(guild_id):
            return True
        command = interaction.command
        if command is not None and command.name == ALLOW_COMMAND and await is_bot_owner(interaction):
            return True
        if interaction.type is discord.InteractionType.autocomplete:
            await interaction.response.autocomplete([])
        else:
            await send_ephemeral(interaction, NOT_ENABLED)
        return False


class OnRecordBot(commands.AutoShardedBot):
    """Answers from the library; every message it sends pings nobody."""

    def __init__(self, settings: BotSettings, service: LibraryService, **options: Any) -> None:
        if settings.shard_ids:  # this process serves only these of the shard_count shards (scale-out)
            options["shard_ids"] = list(settings.shard_ids)
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            allowed_mentions=NO_MENTIONS,
            help_command=None,
            shard_count=settings.shard_count,
            tree_cls=OnRecordTree,
            **options,
        )
        self.settings = settings
        self.service = service
        self.question_rate = QuestionRate(settings.ask_rate, settings.ask_per_seconds)
        self.answers = AnswerStore(settings.state_dir / "answers.sqlite3", settings.answer_keep_days)
        self.tree.on_error = on_tree_error  # type: ignore[method-assign]
        self._closer: asyncio.Task[None] | None = None

    async def setup_hook(self) -> None:
        self._closer = asyncio.create_task(self._close_idle_collections(), name="onrecord-close-idle")
        report = await self.service.prepare()
        if report is not None:
            log.info("built the index before answering: %d documents, %d chunks", report.documents, report.chunks)
        for name in COGS:
            await self.load_extension(name)
            log.info("loaded %s", name)
        if self.settings.dev_guild_id:
            guild = discord.Object(id=self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to guild %s", len(synced), self.settings.dev_guild_id)
        else:
            synced = await self.tree.sync()
            log.info("synced %d global commands", len(synced))

    async def close(self) -> None:
        if self._closer is not None:
            self._closer.cancel()
        await super().close()
        self.answers.close()

    async def _close_idle_collections(self, every_s: float = 60.0) -> None:
        """Close the servers' collections nobody has asked for a while (they reopen on the next question)."""
        while True:
            await asyncio.sleep(every_s)
            try:
                closed = await asyncio.to_thread(self.service.collections.close_idle)
            except Exception:
                log.exception("closing idle collections failed")
                continue
            if closed:
                log.info("closed %d idle collections", closed)

    async def on_message(self, message: discord.Message) -> None:
        """Mentions are handled by the ask cog; there are no prefix commands to process."""

    async def in_enabled_guild(self, message: discord.Message) -> bool:
        """Whether a message's server is one the bot answers in (for mentions, outside the tree)."""
        return message.guild is not None and await self.service.allowed(message.guild.id)

    async def on_ready(self) -> None:
        log.info("ready as %s in %d servers (%d shards)", self.user, len(self.guilds), self.shard_count or 1)
