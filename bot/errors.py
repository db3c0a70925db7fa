"""The command tree's one error handler, and the bot's own check failure.

Library errors carry a message fit to show; cooldowns say when to try again; failed checks say
"not allowed"; anything else gets a short apology while the traceback goes to the log.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from index import LibraryError

from . import render

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong while answering. It has been logged."


class NotModerator(app_commands.CheckFailure):
    """The member may not manage this server's sources."""


class NotOwner(app_commands.CheckFailure):
    """Only the bot's owners manage the shared library."""


class NotEnabled(app_commands.CheckFailure):
    """The bot is not enabled in this server (``ONRECORD_ALLOWED_GUILDS``)."""


NOT_ENABLED = "OnRecord is not enabled in this server. The bot's owner can enable it with /allow-server."


def user_message(error: Exception) -> str | None:
    """What to tell the member about ``error``, or None if it is a bug to log."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, LibraryError):
        return render.plain(render.without_paths(str(error)))
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"You're asking quickly: try again in {max(1, round(error.retry_after))} s."
    if isinstance(error, NotModerator):
        return "You're not allowed to do that: it needs the Manage Server permission or the moderator role."
    if isinstance(error, NotOwner):
        return "Only the bot's owners can change the shared library."
    if isinstance(error, NotEnabled):
        return NOT_ENABLED
    if isinstance(error, app_commands.CheckFailure):
        return "You're not allowed to use that command here."
    return None


async def send_ephemeral(interaction: discord.Interaction, text: str) -> None:
    """Tell the member, whether or not the interaction was already answered or deferred.

    After a public deferral Discord turns the first follow-up into the public "thinking…" message,
    whatever its flags; so that message is deleted first and the text goes to the member alone.
    """
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
            return
        if interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
            original = await interaction.original_response()
            if not original.flags.ephemeral:
                await interaction.delete_original_response()
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())
    except discord.HTTPException:
        log.warning("could not send an error message to the member", exc_info=True)


async def on_tree_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    message = user_message(error)
    if message is None:
        command = interaction.command.qualified_name if interaction.command else "?"
        log.error("command %s failed", command, exc_info=error)
        message = APOLOGY
    await send_ephemeral(interaction, message)
