"""Members' feedback and its keeping: the answer's feedback controls (bot/feedback.py) registered,
``/privacy`` (what is kept about questions, and how long), and the moderators' ``/log-delete`` and
``/pin-remove``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from index import SourceError

from .. import render
from ..app import NO_MENTIONS
from ..checks import moderator_only
from ..feedback import FlagExcerpt, PinAnswer, PinPick, Vote

if TYPE_CHECKING:
    from ..app import OnRecordBot

ITEMS = (Vote, FlagExcerpt, PinAnswer, PinPick)


async def pin_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """This server's pins whose question contains what has been typed."""
    if interaction.guild_id is None:
        return []
    pins = await interaction.client.service.pins(interaction.guild_id)  # type: ignore[attr-defined]
    needle = current.casefold()
    return [
        app_commands.Choice(name=render.shorten(render.plain(f"{p.question} → {p.doc_id}"), 100), value=str(p.id))
        for p in pins
        if needle in p.question.casefold()
    ][:25]


class FeedbackCog(commands.Cog):
    """Votes, flags and pins on answers; what is kept about questions."""

    def __init__(self, bot: OnRecordBot) -> None:
        self.bot = bot
        self.service = bot.service

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*ITEMS)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*ITEMS)

    @app_commands.command(name="privacy")
    async def privacy(self, interaction: discord.Interaction) -> None:
        """What OnRecord keeps about the questions asked here, and for how long."""
        settings = self.service.collections.settings
        await interaction.response.send_message(
            render.privacy_text(settings.log_days, settings.feedback_days), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="log-delete")
    @app_commands.describe(feedback="Also delete the members' votes and flags on answers.")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @moderator_only()
    async def log_delete(self, interaction: discord.Interaction, feedback: bool = False) -> None:
        """Delete this server's question log (and, if asked, the feedback on answers)."""
        assert interaction.guild_id is not None  # guild_only
        questions, given = await self.service.delete_log(interaction.guild_id, feedback=feedback)
        text = f"Deleted the question log ({questions} questions)."
        if feedback:
            text += f" Deleted {given} votes and flags."
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="pin-remove")
    @app_commands.describe(pin="The pinned question (start typing it).")
    @app_commands.autocomplete(pin=pin_autocomplete)
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @moderator_only()
    async def pin_remove(self, interaction: discord.Interaction, pin: str) -> None:
        """Remove a pinned answer: the question is answered from the sources as before."""
        assert interaction.guild_id is not None  # guild_only
        removed = await self.service.unpin(interaction.guild_id, int(pin)) if pin.isdigit() else None
        if removed is None:
            raise SourceError("There is no such pin; start typing its question to pick it.")
        await interaction.response.send_message(
            f"Removed the pin of “{render.safe(removed.question)}”.", ephemeral=True, allowed_mentions=NO_MENTIONS
        )


async def setup(bot: OnRecordBot) -> None:
    await bot.add_cog(FeedbackCog(bot))
