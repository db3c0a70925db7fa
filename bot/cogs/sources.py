"""What the bot knows: ``/sources`` (paged) and ``/source`` (one document's metadata)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from index import SourceError, SourceInfo

from .. import render
from ..app import NO_MENTIONS
from ..delivery import deliver
from .ask import source_autocomplete

if TYPE_CHECKING:
    from ..app import OnRecordBot

PAGE_SIZE = 10


class SourcesView(discord.ui.View):
    """Previous / next through the list of documents."""

    def __init__(self, sources: Sequence[SourceInfo]) -> None:
        super().__init__(timeout=600)
        self.sources = list(sources)
        self.page = 0
        self.last_page = max(0, (len(self.sources) - 1) // PAGE_SIZE)
        self._sync_buttons()

    def embed(self) -> discord.Embed:
        return render.sources_embed(self.sources, self.page, PAGE_SIZE)

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= self.last_page

    async def _show(self, interaction: discord.Interaction) -> None:
        self._sync_buttons()
        await interaction.response.edit_message(embed=self.embed(), view=self, allowed_mentions=NO_MENTIONS)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button[SourcesView]) -> None:
        self.page = max(0, self.page - 1)
        await self._show(interaction)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button[SourcesView]) -> None:
        self.page = min(self.last_page, self.page + 1)
        await self._show(interaction)


class SourcesCog(commands.Cog):
    """Lists the indexed documents."""

    def __init__(self, bot: OnRecordBot) -> None:
        self.service = bot.service
        self.settings = bot.settings

    @app_commands.command(name="sources")
    async def sources(self, interaction: discord.Interaction) -> None:
        """List the documents the bot answers from."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        view = SourcesView(await self.service.sources())
        if view.last_page == 0:
            view.stop()
            await deliver(interaction, self.settings, embed=view.embed())
        else:
            await deliver(interaction, self.settings, embed=view.embed(), view=view)

    @app_commands.command(name="source")
    @app_commands.describe(name="The document (start typing its title or file name).")
    @app_commands.autocomplete(name=source_autocomplete)
    async def source(self, interaction: discord.Interaction, name: str) -> None:
        """Show one document's title, outlet or author, date and link."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        match = next((s for s in await self.service.sources() if s.doc_id == name), None)
        if match is None:
            raise SourceError(f"There is no source called {render.safe(name)!r}; see /sources.")
        await deliver(interaction, self.settings, embed=render.source_embed(match))


async def setup(bot: OnRecordBot) -> None:
    await bot.add_cog(SourcesCog(bot))
