"""What the bot knows: ``/sources`` (paged) and ``/source`` (one document's metadata)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from index import NoIndexError, SourceError, SourceInfo

from .. import render
from ..delivery import deliver
from ..paging import PagedView
from .ask import source_autocomplete

if TYPE_CHECKING:
    from ..app import OnRecordBot

PAGE_SIZE = 10


class SourcesView(PagedView):
    """Previous / next through the list of documents."""

    def __init__(self, sources: Sequence[SourceInfo]) -> None:
        self.sources = list(sources)
        super().__init__(pages=-(-len(self.sources) // PAGE_SIZE), timeout=600)

    def embed(self) -> discord.Embed:
        return render.sources_embed(self.sources, self.page, PAGE_SIZE)


class SourcesCog(commands.Cog):
    """Lists the indexed documents."""

    def __init__(self, bot: OnRecordBot) -> None:
        self.service = bot.service
        self.settings = bot.settings

    @app_commands.command(name="sources")
    async def sources(self, interaction: discord.Interaction) -> None:
        """List the documents the bot answers from."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        where = await self.service.where(interaction.guild_id)
        try:
            sources = await self.service.sources(where)
        except NoIndexError:
            sources = []
        await SourcesView(sources).send(interaction, self.settings)

    @app_commands.command(name="source")
    @app_commands.describe(name="The document (start typing its title or file name).")
    @app_commands.autocomplete(name=source_autocomplete)
    async def source(self, interaction: discord.Interaction, name: str) -> None:
        """Show one document's title, outlet or author, date and link."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        where = await self.service.where(interaction.guild_id)
        match = next(
            (s for s in await self.service.sources(where) if name in (s.doc_id, f"{s.collection}:{s.doc_id}")), None
        )
        if match is None:
            raise SourceError(f"There is no source called {render.safe(name)!r}; see /sources.")
        await deliver(interaction, self.settings, embed=render.source_embed(match))


async def setup(bot: OnRecordBot) -> None:
    await bot.add_cog(SourcesCog(bot))
