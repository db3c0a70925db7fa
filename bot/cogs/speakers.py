"""Who said what: ``/quotes`` (a person's quotes, paged), ``/who-said`` and the "Who said this?" menu."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from index import Excerpt

from .. import render
from ..checks import question_rate, within_question_rate
from ..delivery import deliver
from ..errors import send_ephemeral
from ..paging import PagedView
from .ask import speaker_autocomplete

if TYPE_CHECKING:
    from ..app import OnRecordBot


class QuotesView(PagedView):
    """Previous / next through a person's quotes."""

    def __init__(self, asked: str, names: Sequence[str], excerpts: Sequence[Excerpt]) -> None:
        self.asked = asked
        self.names = list(names)
        self.excerpts = list(excerpts)
        super().__init__(pages=-(-len(self.excerpts) // render.QUOTES_PAGE_SIZE), timeout=900)

    def embed(self) -> discord.Embed:
        return render.quotes_embed(self.asked, self.names, self.excerpts, self.page)


class SpeakersCog(commands.Cog):
    """What the sources quote each person saying, and who said a given quote."""

    def __init__(self, bot: OnRecordBot) -> None:
        self.bot = bot
        self.service = bot.service
        self.settings = bot.settings
        self.who_said_menu = app_commands.ContextMenu(name="Who said this?", callback=self.who_said_message)
        self.who_said_menu.add_check(within_question_rate)
        bot.tree.add_command(self.who_said_menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.who_said_menu.name, type=self.who_said_menu.type)

    @app_commands.command(name="quotes")
    @app_commands.describe(
        speaker="The person (start typing a name: the people the sources quote).",
        private="Only you see the list.",
    )
    @app_commands.autocomplete(speaker=speaker_autocomplete)
    async def quotes(self, interaction: discord.Interaction, speaker: str, private: bool = False) -> None:
        """Everything the sources quote a person saying, the newest source first."""
        self.service.check_question(speaker)
        await interaction.response.defer(ephemeral=private, thinking=True)
        names, excerpts = await self.service.quotes(await self.service.where(interaction.guild_id), speaker)
        await QuotesView(" ".join(speaker.split()), names, excerpts).send(interaction, self.settings)

    @app_commands.command(name="who-said")
    @app_commands.describe(
        text="The quote (quotation marks, case and spacing do not matter; a name with it is checked).",
        private="Only you see the answer.",
    )
    @question_rate()
    async def who_said(self, interaction: discord.Interaction, text: str, private: bool = False) -> None:
        """Find a quote in the sources: who said it, in which source and when."""
        self.service.check_question(text)
        await interaction.response.defer(ephemeral=private, thinking=True)
        result = await self.service.who_said(await self.service.where(interaction.guild_id), text)
        await deliver(interaction, self.settings, embed=render.who_said_embed(result))

    async def who_said_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Who the sources say said the quote in a message, and whether the message names the right person."""
        text = self.service.message_text(message.content)
        if text is None:
            await send_ephemeral(interaction, "That message has no text to look up.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.service.who_said(await self.service.where(interaction.guild_id), text)
        await deliver(interaction, self.settings, embed=render.who_said_embed(result))


async def setup(bot: OnRecordBot) -> None:
    await bot.add_cog(SpeakersCog(bot))
