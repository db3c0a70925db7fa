"""The feedback controls under an answer: "Helpful" / "Not helpful", a menu to flag one excerpt
("wrong speaker", "does not answer") and, for moderators, "Pin as answer".

Like the answer's other buttons (bot/cogs/ask.py) they are DynamicItems: their custom ids hold the
answer's key (and the page shown), so they work after a restart for as long as the answer is kept.
What they record goes to the server's collection (`index.feedback`), through the service, in a
worker thread; the member gets an ephemeral thanks.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any

import discord

from index import LibraryError
from index.feedback import FLAG_KINDS

from . import render
from .answers import KEY, StoredAnswer, stored_answer
from .checks import is_moderator, moderator_roles
from .errors import APOLOGY, send_ephemeral, user_message

log = logging.getLogger(__name__)

THANKS = {
    "recorded": "Thanks: your feedback is recorded.",
    "changed": "Thanks: your feedback is changed.",
    "unchanged": "You gave this feedback already; thanks.",
}
PIN_LABEL = "Pin as answer"
NOT_MODERATOR = "Only this server's moderators can pin an answer."


def told_errors(
    callback: Callable[[Any, discord.Interaction], Coroutine[Any, Any, None]],
) -> Callable[[Any, discord.Interaction], Coroutine[Any, Any, None]]:
    """A component's callback whose library errors (a source no longer there, a state database that
    fails) are told to the member, as the command tree's handler does for commands."""

    async def guarded(self: Any, interaction: discord.Interaction) -> None:
        try:
            await callback(self, interaction)
        except LibraryError as error:
            await send_ephemeral(interaction, user_message(error) or APOLOGY)

    return guarded


def feedback_items(stored: StoredAnswer, page: int) -> list[discord.ui.Item[Any]]:
    """The feedback controls of an answer showing ``page``: the votes always; the pin and the flags
    when it quotes something."""
    items: list[discord.ui.Item[Any]] = [Vote(stored.key, helpful=True), Vote(stored.key, helpful=False)]
    answer = stored.answer
    if answer.answered and answer.excerpts:
        items.append(PinAnswer(stored.key))
        first = page * render.PAGE_SIZE
        shown = range(first, min(first + render.PAGE_SIZE, len(answer.excerpts)))
        if shown:
            items.append(FlagExcerpt(stored.key, page, shown))
    return items


class Vote(discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"onrecord:vote:(?P<key>{KEY}):(?P<helpful>[01])"):
    """One member's "Helpful" or "Not helpful" on an answer: one vote per member, changeable."""

    def __init__(self, key: str, *, helpful: bool) -> None:
        super().__init__(
            discord.ui.Button(
                label="Helpful" if helpful else "Not helpful",
                style=discord.ButtonStyle.success if helpful else discord.ButtonStyle.secondary,
                custom_id=f"onrecord:vote:{key}:{int(helpful)}",
            )
        )
        self.key, self.helpful = key, helpful

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Vote:
        return cls(match["key"], helpful=match["helpful"] == "1")

    @told_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        stored = await stored_answer(interaction, self.key)
        if stored is None:
            return
        service = interaction.client.service  # type: ignore[attr-defined]
        outcome = await service.vote(interaction.guild_id, stored.answer, interaction.user.id, helpful=self.helpful)
        await send_ephemeral(interaction, THANKS[outcome])


class FlagExcerpt(
    discord.ui.DynamicItem[discord.ui.Select[Any]], template=rf"onrecord:flag:(?P<key>{KEY}):(?P<page>\d+)"
):
    """A menu flagging one excerpt of the page shown: "wrong speaker" or "does not answer"."""

    def __init__(self, key: str, page: int, shown: range | None = None) -> None:
        options = [
            discord.SelectOption(label=f"Excerpt {number + 1}: {label}", value=f"{number}:{kind}")
            for number in shown or range(0)
            for kind, label in FLAG_KINDS.items()
        ]
        super().__init__(
            discord.ui.Select(
                custom_id=f"onrecord:flag:{key}:{page}",
                placeholder="Flag an excerpt…",
                options=options or [discord.SelectOption(label="-", value="-")],
            )
        )
        self.key, self.page = key, page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> FlagExcerpt:
        return cls(match["key"], int(match["page"]))

    @told_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        stored = await stored_answer(interaction, self.key)
        if stored is None:
            return
        number, _, kind = _picked(interaction).partition(":")
        if not number.isdigit() or kind not in FLAG_KINDS or int(number) >= len(stored.answer.excerpts):
            await send_ephemeral(interaction, "That is not an excerpt of this answer.")
            return
        service = interaction.client.service  # type: ignore[attr-defined]
        outcome = await service.flag(interaction.guild_id, stored.answer, interaction.user.id, int(number), kind)
        await send_ephemeral(interaction, THANKS[outcome])


def _picked(interaction: discord.Interaction) -> str:
    """The value picked in a select menu (its interaction's data; a DynamicItem's own select is a new one)."""
    data: Any = interaction.data or {}
    values = data.get("values") or [""]
    return str(values[0])


async def _moderator(interaction: discord.Interaction) -> bool:
    if interaction.guild is not None and is_moderator(
        interaction.user, interaction.permissions, await moderator_roles(interaction)
    ):
        return True
    await send_ephemeral(interaction, NOT_MODERATOR)
    return False


class PinAnswer(discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"onrecord:pin:(?P<key>{KEY})"):
    """For a moderator: a private menu of the answer's excerpts, to pin one as the answer."""

    def __init__(self, key: str) -> None:
        super().__init__(
            discord.ui.Button(label=PIN_LABEL, style=discord.ButtonStyle.secondary, custom_id=f"onrecord:pin:{key}")
        )
        self.key = key

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PinAnswer:
        return cls(match["key"])

    @told_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        if not await _moderator(interaction):
            return
        stored = await stored_answer(interaction, self.key)
        if stored is None:
            return
        view = discord.ui.View(timeout=None)
        view.add_item(PinPick(self.key, stored))
        await interaction.response.send_message(
            render.pin_prompt(stored.answer), view=view, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )


class PinPick(discord.ui.DynamicItem[discord.ui.Select[Any]], template=rf"onrecord:pinpick:(?P<key>{KEY})"):
    """The excerpt a moderator pins as the answer to the question."""

    def __init__(self, key: str, stored: StoredAnswer | None = None) -> None:
        excerpts = stored.answer.excerpts[:25] if stored is not None else []
        options = [
            discord.SelectOption(
                label=render.pin_option(number, e), value=str(number), description=render.pin_source(e)
            )
            for number, e in enumerate(excerpts)
        ]
        super().__init__(
            discord.ui.Select(
                custom_id=f"onrecord:pinpick:{key}",
                placeholder="The excerpt to give first…",
                options=options or [discord.SelectOption(label="-", value="-")],
            )
        )
        self.key = key

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PinPick:
        return cls(match["key"])

    @told_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        if not await _moderator(interaction):
            return
        stored = await stored_answer(interaction, self.key)
        if stored is None:
            return
        number = _picked(interaction)
        if not number.isdigit() or int(number) >= len(stored.answer.excerpts):
            await send_ephemeral(interaction, "That is not an excerpt of this answer.")
            return
        service = interaction.client.service  # type: ignore[attr-defined]
        where = await service.where(interaction.guild_id)
        pin = await service.pin(where, stored.answer, int(number))
        log.info("pinned an excerpt of %s as an answer in %s", pin.doc_id, where.own)
        await interaction.response.edit_message(
            content=render.pinned_text(stored.answer, int(number)),
            view=None,
            allowed_mentions=discord.AllowedMentions.none(),
        )
