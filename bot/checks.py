"""Who may manage sources (a server's: Manage Server or its moderator role; the shared library: the bot's
owners; checked on every call), and how often a member may ask: one budget per member shared by every
command that searches the sources."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection
from typing import Any, TypeVar

import discord
from discord import app_commands

from index import SHARED

from .errors import NotModerator, NotOwner
from .service import MODERATOR_ROLE

T = TypeVar("T")


def is_moderator(member: discord.abc.User, permissions: discord.Permissions, role_ids: Collection[int]) -> bool:
    """Manage Server (or Administrator) in this server, or one of its moderator roles, matched by id:
    a role id belongs to one server, so a role of the same name elsewhere grants nothing."""
    if permissions.manage_guild or permissions.administrator:
        return True
    return isinstance(member, discord.Member) and any(role.id in role_ids for role in member.roles)


async def moderator_roles(interaction: discord.Interaction[Any]) -> set[int]:
    """The server's own moderator role (``/settings``) and the configured role id, if any."""
    client = interaction.client
    roles = {client.settings.moderator_role} if client.settings.moderator_role else set()  # type: ignore[attr-defined]
    if interaction.guild_id is not None:
        own = await client.service.setting(interaction.guild_id, MODERATOR_ROLE)  # type: ignore[attr-defined]
        if own:
            roles.add(int(own))
    return roles


async def is_bot_owner(interaction: discord.Interaction[Any]) -> bool:
    """The application's owner or a member of its team (discord.py's ``is_owner``), or a user in
    ``ONRECORD_OWNER_IDS``: the people who curate the shared library."""
    client = interaction.client
    if interaction.user.id in client.settings.owner_ids:  # type: ignore[attr-defined]
        return True
    return bool(await client.is_owner(interaction.user))  # type: ignore[attr-defined]


async def require_manager(interaction: discord.Interaction[Any], collection: str) -> None:
    """Raise unless the member may change ``collection``: the shared one its owners only, a server's
    own its moderators (in that server)."""
    if collection == SHARED:
        if not await is_bot_owner(interaction):
            raise NotOwner()
        return
    if interaction.guild is None or not is_moderator(
        interaction.user, interaction.permissions, await moderator_roles(interaction)
    ):
        raise NotModerator()


def moderator_only() -> Callable[[T], T]:
    """A server-side check (Discord's default_member_permissions only hides the command)."""

    async def predicate(interaction: discord.Interaction[Any]) -> bool:
        if interaction.guild is None or not is_moderator(
            interaction.user, interaction.permissions, await moderator_roles(interaction)
        ):
            raise NotModerator()
        return True

    return app_commands.check(predicate)


def owner_only() -> Callable[[T], T]:
    async def predicate(interaction: discord.Interaction[Any]) -> bool:
        if not await is_bot_owner(interaction):
            raise NotOwner()
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
