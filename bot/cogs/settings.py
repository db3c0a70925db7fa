"""A server's own settings (``/settings``: its moderator role, whether it reads the shared library) and
the owners' ``/allow-server`` for the allow-list (``ONRECORD_ALLOWED_GUILDS``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from index import SourceError

from .. import render
from ..app import ALLOW_COMMAND, NO_MENTIONS
from ..checks import moderator_only, owner_only
from ..service import MODERATOR_ROLE, USE_SHARED

if TYPE_CHECKING:
    from ..app import OnRecordBot


class SettingsCog(commands.Cog):
    """Per-server settings, kept in the server's state database."""

    def __init__(self, bot: OnRecordBot) -> None:
        self.bot = bot
        self.service = bot.service

    @app_commands.command(name="settings")
    @app_commands.rename(moderator_role="moderator-role", clear_role="clear-role")
    @app_commands.describe(
        moderator_role="A role whose members may manage this server's sources (besides Manage Server).",
        shared="Answer from the shared library too (on by default), or from this server's sources only.",
        clear_role="Remove the moderator role.",
    )
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @moderator_only()
    async def settings(
        self,
        interaction: discord.Interaction,
        moderator_role: discord.Role | None = None,
        shared: bool | None = None,
        clear_role: bool = False,
    ) -> None:
        """Show or change this server's settings."""
        assert interaction.guild_id is not None  # guild_only
        guild_id = interaction.guild_id
        if moderator_role is not None and moderator_role.guild.id != guild_id:
            raise SourceError("That role is not one of this server's.")
        if moderator_role is not None:
            await self.service.set_setting(guild_id, MODERATOR_ROLE, moderator_role.id)
        elif clear_role:
            await self.service.set_setting(guild_id, MODERATOR_ROLE, None)
        if shared is not None:
            await self.service.set_setting(guild_id, USE_SHARED, shared)
        role = await self.service.setting(guild_id, MODERATOR_ROLE)
        uses_shared = await self.service.setting(guild_id, USE_SHARED, True)
        lines = [
            f"Moderator role: {f'<@&{role}>' if role else 'none (Manage Server only)'}",
            "Shared library: "
            + ("on: answers quote it and this server's sources" if uses_shared else "off: this server's sources only"),
        ]
        await interaction.response.send_message("\n".join(lines), ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name=ALLOW_COMMAND)
    @app_commands.rename(server_id="server-id")
    @app_commands.describe(server_id="The server to enable (default: this one).")
    @app_commands.default_permissions(manage_guild=True)
    @owner_only()
    async def allow_server(self, interaction: discord.Interaction, server_id: str | None = None) -> None:
        """Enable the bot in a server that is not on the allow-list (the bot's owners only)."""
        if server_id is None and interaction.guild_id is None:
            raise SourceError("Give the server's id, or use this command in that server.")
        if server_id is not None and not server_id.strip().isdigit():
            raise SourceError("A server id is a number (Developer Mode: right-click the server, Copy Server ID).")
        guild_id = int(server_id) if server_id is not None else interaction.guild_id
        assert guild_id is not None
        await self.service.allow(guild_id)
        await interaction.response.send_message(
            f"OnRecord is now enabled in server {render.code(str(guild_id))}.", ephemeral=True
        )


async def setup(bot: OnRecordBot) -> None:
    await bot.add_cog(SettingsCog(bot))
