"""Who may manage sources (Manage Server, or the configured moderator role; checked on every call), and
how often a member may ask: one budget per member shared by every command that searches the sources."""

from __future__ import annotations

from collections import OrderedDict
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


class QuestionRate:
    """``rate`` questions per ``per`` seconds per member, across /ask, mentions, "Find sources",
    /who-said and "Who said this?" (a member refused one cannot ask through another)."""

    def __init__(self, rate: int, per: float, members: int = 10_000) -> None:
        self.cooldown = app_commands.Cooldown(rate, per)
        self._members: OrderedDict[int, app_commands.Cooldown] = OrderedDict()
        self._limit = members

    def retry_after(self, member_id: int) -> float | None:
        """Count one question; None if allowed, else the seconds until the member may ask again."""
        bucket = self._members.get(member_id)
        if bucket is None:
            bucket = self._members[member_id] = self.cooldown.copy()
            while len(self._members) > self._limit:
                self._members.popitem(last=False)
        self._members.move_to_end(member_id)
        return bucket.update_rate_limit()


async def within_question_rate(interaction: discord.Interaction[Any]) -> bool:
    """The shared question budget: over it, `CommandOnCooldown` ("try again in N s")."""
    rate: QuestionRate = interaction.client.question_rate  # type: ignore[attr-defined]
    retry_after = rate.retry_after(interaction.user.id)
    if retry_after:
        raise app_commands.CommandOnCooldown(rate.cooldown, retry_after)
    return True


def question_rate() -> Callable[[T], T]:
    """`within_question_rate` as a command decorator."""
    return app_commands.check(within_question_rate)
