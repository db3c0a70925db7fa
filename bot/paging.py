"""Previous / next buttons over a list shown a page at a time (``/sources``, ``/quotes``)."""

from __future__ import annotations

import discord

from .app import NO_MENTIONS
from .delivery import deliver
from .settings import BotSettings


class PagedView(discord.ui.View):
    """A view that pages through ``pages`` pages; a subclass renders page ``self.page`` in `embed`."""

    def __init__(self, pages: int, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.page = 0
        self.last_page = max(0, pages - 1)
        self._sync_buttons()

    def embed(self) -> discord.Embed:
        raise NotImplementedError

    async def send(self, interaction: discord.Interaction, settings: BotSettings) -> None:
        """The first page as the deferred reply; a single page goes without buttons."""
        if self.last_page == 0:
            self.stop()
            await deliver(interaction, settings, embed=self.embed())
        else:
            await deliver(interaction, settings, embed=self.embed(), view=self)

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= self.last_page

    async def _show(self, interaction: discord.Interaction) -> None:
        self._sync_buttons()
        await interaction.response.edit_message(embed=self.embed(), view=self, allowed_mentions=NO_MENTIONS)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button[PagedView]) -> None:
        self.page = max(0, self.page - 1)
        await self._show(interaction)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button[PagedView]) -> None:
        self.page = min(self.last_page, self.page + 1)
        await self._show(interaction)
