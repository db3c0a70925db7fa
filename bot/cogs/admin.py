"""Moderators: ``/reindex``, ``/source-add``, ``/source-remove`` and ``/status``.

Each command changes the server's own library, or with ``library: shared`` the shared one, which
only the bot's owners may change. The commands are hidden from members by default_member_permissions
and, because server admins can change that, checked again by the bot on every call (`require_manager`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from index import SHARED, BuildInProgressError, LibraryError, NoIndexError, SourceError, guild_collection

from .. import render
from ..app import NO_MENTIONS
from ..checks import moderator_only, require_manager
from ..delivery import PublicReply
from ..downloads import download
from ..errors import send_ephemeral, user_message
from ..service import REBUILD_RUNNING, BuildProgress
from .ask import source_choices

if TYPE_CHECKING:
    from ..app import OnRecordBot

log = logging.getLogger(__name__)


LibraryChoice = Literal["server", "shared"]
LIBRARY_HELP = "Which library: this server's own (default) or the shared one (the bot's owners only)."


async def removable_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """The documents of the library the command changes (``library`` option): only those can be removed."""
    service = interaction.client.service  # type: ignore[attr-defined]
    shared = getattr(interaction.namespace, "library", "server") == "shared" or interaction.guild_id is None
    collection = SHARED if shared else guild_collection(interaction.guild_id)  # type: ignore[arg-type]
    try:
        return source_choices(await service.own_sources(collection), current)
    except NoIndexError:
        return []


class ReplaceView(discord.ui.View):
    """Asks the member who uploaded whether a source of the same name is to be replaced."""

    def __init__(self, owner_id: int) -> None:
        super().__init__(timeout=120)
        self.owner_id = owner_id
        self.pressed: discord.Interaction | None = None

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await send_ephemeral(interaction, "Only the member who uploaded the file can answer this.")
            return False
        return True

    @discord.ui.button(label="Replace", style=discord.ButtonStyle.danger)
    async def replace(self, interaction: discord.Interaction, _: discord.ui.Button[ReplaceView]) -> None:
        self.pressed = interaction
        await interaction.response.defer(thinking=True)
        self.stop()

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _: discord.ui.Button[ReplaceView]) -> None:
        await interaction.response.edit_message(content="Nothing was changed.", view=None)
        self.stop()


class AdminCog(commands.Cog):
    """Keeps each collection's sources and index up to date."""

    def __init__(self, bot: OnRecordBot) -> None:
        self.bot = bot
        self.service = bot.service

    async def _target(self, interaction: discord.Interaction, library: LibraryChoice) -> str:
        """The collection a command changes, once the member is allowed to change it."""
        collection = (
            SHARED if library == "shared" or interaction.guild_id is None else guild_collection(interaction.guild_id)
        )
        await require_manager(interaction, collection)
        if self.service.rebuilding(collection):
            raise BuildInProgressError(REBUILD_RUNNING)
        return collection

    async def _rebuild(
        self,
        interaction: discord.Interaction,
        collection: str,
        before: Callable[[], object] | None = None,
        *,
        announce: bool = False,
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
            report = await self.service.rebuild(collection, on_progress=show, before=before)
        except LibraryError as error:
            if reply.token_works and not reply.expiring():
                raise  # told to the moderator alone, by the tree's error handler
            await reply.show(f"The rebuild did not finish: {user_message(error)}", retry=True)
            return
        await reply.show(render.report_text(report), retry=True)

    @app_commands.command(name="reindex")
    @app_commands.describe(library=LIBRARY_HELP)
    @app_commands.default_permissions(manage_guild=True)
    async def reindex(self, interaction: discord.Interaction, library: LibraryChoice = "server") -> None:
        """Re-scan the sources folder and update the index (answers keep flowing meanwhile)."""
        collection = await self._target(interaction, library)
        await interaction.response.defer(thinking=True)
        await self._rebuild(interaction, collection, announce=True)

    @app_commands.command(name="source-add")
    @app_commands.describe(file="A .txt, .md, .html or .pdf file to add to the sources.", library=LIBRARY_HELP)
    @app_commands.default_permissions(manage_guild=True)
    async def source_add(
        self, interaction: discord.Interaction, file: discord.Attachment, library: LibraryChoice = "server"
    ) -> None:
        """Add a document to the sources and index it."""
        collection = await self._target(interaction, library)
        limit_mb = self.bot.settings.max_upload_mb
        if file.size > limit_mb * 1e6:
            raise SourceError(f"{file.filename!r} is {file.size / 1e6:.1f} MB, over the {limit_mb:g} MB limit.")
        target = self.service.library(collection)
        upload = await asyncio.to_thread(target.check_upload, file.filename, file.size)
        reply_to = interaction
        if upload.replaces:
            view = ReplaceView(interaction.user.id)
            await interaction.response.send_message(
                f"There is already a source called {render.code(upload.name)}. Replace it (and its metadata)?",
                view=view, ephemeral=True, allowed_mentions=NO_MENTIONS,
            )  # fmt: skip
            if await view.wait() or view.pressed is None:
                with contextlib.suppress(discord.HTTPException):
                    await interaction.edit_original_response(content="Nothing was changed.", view=None)
                return
            reply_to = view.pressed
            with contextlib.suppress(discord.HTTPException):
                await interaction.edit_original_response(content=f"Replacing {render.code(upload.name)}…", view=None)
        else:
            await interaction.response.defer(thinking=True)
        settings = self.bot.settings
        data = await download(
            file.url, name=file.filename, max_bytes=int(limit_mb * 1e6), hosts=settings.attachment_hosts,
            base=settings.discord_cdn_base, wait_s=settings.retry_wait_s / 5,
        )  # fmt: skip
        saved: list[Path] = []

        def save() -> None:
            saved.append(target.save_source(file.filename, data, replace=upload.replaces))

        await self._rebuild(reply_to, collection, before=save)
        log.info("added source %s to %s (%d bytes)", saved[0].name if saved else "?", collection, len(data))

    @app_commands.command(name="source-remove")
    @app_commands.describe(name="The document to remove (start typing its title or file name).", library=LIBRARY_HELP)
    @app_commands.autocomplete(name=removable_autocomplete)
    @app_commands.default_permissions(manage_guild=True)
    async def source_remove(
        self, interaction: discord.Interaction, name: str, library: LibraryChoice = "server"
    ) -> None:
        """Remove a document from the sources and the index."""
        collection = await self._target(interaction, library)
        await interaction.response.defer(thinking=True)
        target = self.service.library(collection)
        doc_id = name.partition(":")[2] if name.startswith(f"{collection}:") else name
        await self._rebuild(interaction, collection, before=lambda: target.remove_source(doc_id))

    @app_commands.command(name="status")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @moderator_only()
    async def status(self, interaction: discord.Interaction) -> None:
        """This server's library and the shared one: documents, index build time, answer counts."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        where = await self.service.where(interaction.guild_id)
        statuses = await self.service.status(where)
        running = [s.collection for s in statuses if self.service.rebuilding(s.collection)]
        embed = render.status_embed(statuses, uptime_s=time.time() - self.service.started, rebuilding=running)
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)


async def setup(bot: OnRecordBot) -> None:
    await bot.add_cog(AdminCog(bot))
