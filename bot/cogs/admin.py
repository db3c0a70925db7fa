"""Moderators: ``/reindex``, ``/source-add``, ``/source-remove`` and ``/status``.

Each command is hidden from members by default_member_permissions and, because server admins can
change that, checked again by the bot on every call (`moderator_only`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from index import LibraryError, SourceError
from index.loaders import SUPPORTED_SUFFIXES

from .. import render
from ..app import NO_MENTIONS
from ..checks import moderator_only
from ..delivery import PublicReply
from ..downloads import download
from ..errors import user_message
from ..service import BuildProgress
from .ask import source_autocomplete

if TYPE_CHECKING:
    from ..app import OnRecordBot

log = logging.getLogger(__name__)


class AdminCog(commands.Cog):
    """Keeps the sources and the index up to date."""

    def __init__(self, bot: OnRecordBot) -> None:
        self.bot = bot
        self.service = bot.service

    async def _rebuild(
        self, interaction: discord.Interaction, before: Callable[[], object] | None = None, *, announce: bool = False
    ) -> None:
        """Rebuild with progress edited into the deferred reply, then the summary: through the channel
        when the interaction's token has expired (a long rebuild), posted there if it cannot be edited."""
        reply = PublicReply(interaction, self.bot.settings)
        if announce:
            with contextlib.suppress(discord.HTTPException, LookupError):
                await reply.show("Rebuilding the index… scanning")

        async def show(progress: BuildProgress) -> None:
            await reply.show(f"Rebuilding the index… {progress.describe()}")

        try:
            report = await self.service.rebuild(on_progress=show, before=before)
        except LibraryError as error:
            if reply.token_works and not reply.expiring():
                raise  # told to the moderator alone, by the tree's error handler
            await reply.show(f"The rebuild did not finish: {user_message(error)}", retry=True)
            return
        await reply.show(render.report_text(report), retry=True)

    @app_commands.command(name="reindex")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @moderator_only()
    async def reindex(self, interaction: discord.Interaction) -> None:
        """Re-scan the sources folder and update the index (answers keep flowing meanwhile)."""
        if self.service.rebuilding:
            await interaction.response.send_message(
                "A rebuild is already running; its summary will be posted when it ends.", ephemeral=True
            )
            return
        await interaction.response.defer(thinking=True)
        await self._rebuild(interaction, announce=True)

    @app_commands.command(name="source-add")
    @app_commands.describe(file="A .txt, .md, .html or .pdf file to add to the sources.")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @moderator_only()
    async def source_add(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        """Add a document to the sources and index it."""
        suffix = Path(file.filename).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            allowed = ", ".join(sorted(s.lstrip(".") for s in SUPPORTED_SUFFIXES))
            raise SourceError(f"{file.filename!r} is not a supported type (allowed: {allowed}).")
        limit_mb = min(self.bot.settings.max_upload_mb, self.service.library.settings.max_file_mb)
        if file.size > limit_mb * 1e6:
            raise SourceError(f"{file.filename!r} is {file.size / 1e6:.1f} MB, over the {limit_mb:g} MB limit.")
        if self.service.rebuilding:
            raise SourceError("A rebuild is running; add the file again when it has finished.")
        await interaction.response.defer(thinking=True)
        settings = self.bot.settings
        data = await download(
            file.url, name=file.filename, max_bytes=int(limit_mb * 1e6), hosts=settings.attachment_hosts,
            base=settings.discord_cdn_base, wait_s=settings.retry_wait_s / 5,
        )  # fmt: skip
        library = self.service.library
        saved: list[Path] = []
        await self._rebuild(interaction, before=lambda: saved.append(library.save_source(file.filename, data)))
        log.info("added source %s (%d bytes)", saved[0].name if saved else "?", len(data))

    @app_commands.command(name="source-remove")
    @app_commands.describe(name="The document to remove (start typing its title or file name).")
    @app_commands.autocomplete(name=source_autocomplete)
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @moderator_only()
    async def source_remove(self, interaction: discord.Interaction, name: str) -> None:
        """Remove a document from the sources and the index."""
        if self.service.rebuilding:
            raise SourceError("A rebuild is running; remove the file again when it has finished.")
        await interaction.response.defer(thinking=True)
        library = self.service.library
        await self._rebuild(interaction, before=lambda: library.remove_source(name))

    @app_commands.command(name="status")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @moderator_only()
    async def status(self, interaction: discord.Interaction) -> None:
        """Documents, chunks, model, index build time, uptime and answer counts."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        status = await self.service.status()
        embed = render.status_embed(
            status,
            uptime_s=time.time() - self.service.started,
            answered=self.service.answered,
            abstained=self.service.abstained,
            rebuilding=self.service.rebuilding,
        )
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)


async def setup(bot: OnRecordBot) -> None:
    await bot.add_cog(AdminCog(bot))
