"""Who may manage sources: Manage Server, or the configured moderator role. Checked on every call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import discord
from discord import app_commands

from .errors import NotModerator

T = TypeVar("T")


def is_moderator(member: discord.abc.User, permissions: discord.Permissions, moderator_role: str | None) -> bool:
    if permissions.manage_guild or permissions.administrator:
        return True
    if moderator_role and isinstance(member, discord.Member):
        wanted = moderator_role.strip().lower()
        return any(str(role.id) == wanted or role.name.lower() == wanted for role in member.roles)
    return False


def moderator_only() -> Callable[[T], T]:
    """A server-side check (Discord's default_member_permissions only hides the command)."""

    async def predicate(interaction: discord.Interaction[Any]) -> bool:
        role = getattr(interaction.client, "settings", None)
        role_name = getattr(role, "moderator_role", None)
        if interaction.guild is None or not is_moderator(interaction.user, interaction.permissions, role_name):
            raise NotModerator()
        return True

    return app_commands.check(predicate)
