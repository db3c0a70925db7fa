"""Members' questions: ``/ask``, mentioning the bot (with follow-ups in a thread) and "Find sources"."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from index import Answer, NoIndexError, QuestionError, SourceInfo

from .. import render
from ..answers import KEY, StoredAnswer, stored_answer
from ..app import NO_MENTIONS
from ..checks import question_rate, within_question_rate
from ..delivery import deliver
from ..errors import NOT_ENABLED, send_ephemeral
from ..feedback import feedback_items

if TYPE_CHECKING:
    from ..app import OnRecordBot

log = logging.getLogger(__name__)

PAGES = 3  # "More excerpts" pages through up to this many pages of excerpts
THREAD_MEMORY = 2000


def source_choices(sources: Sequence[SourceInfo], current: str) -> list[app_commands.Choice[str]]:
    """Documents whose id or title contains what has been typed; when they come from several
    collections, the value says which (``shared:seed.txt``) and the label too."""
    needle = current.lower()
    choices = []
    for info in sources:
        if needle in info.doc_id.lower() or needle in info.title.lower():
            where = f" · {render.collection_name(info.collection)}" if info.collection else ""
            label = render.shorten(render.plain(f"{info.title} ({info.doc_id}){where}"), 100)
            value = f"{info.collection}:{info.doc_id}" if info.collection else info.doc_id
            if len(value) <= 100:
                choices.append(app_commands.Choice(name=label, value=value))
    return choices[:25]


async def source_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Documents of the collections this server reads."""
    service = interaction.client.service  # type: ignore[attr-defined]
    where = await service.where(interaction.guild_id)
    try:
        return source_choices(await service.sources(where), current)
    except NoIndexError:
        return []


async def speaker_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """People the sources quote, one of whose names starts with what has been typed; the most quoted first."""
    service = interaction.client.service  # type: ignore[attr-defined]
    where = await service.where(interaction.guild_id)
    choices = []
    for person in (await service.speakers(where, current[:100]))[:25]:
        plural = "" if person.quotes == 1 else "s"
        label = render.shorten(render.plain(f"{person.name} ({person.quotes} quote{plural})"), 100)
        choices.append(app_commands.Choice(name=label, value=person.name[:100]))
    return choices


def answer_embed(stored: StoredAnswer, page: int) -> discord.Embed:
    embed = render.answer_embed(stored.answer, page)
    if stored.title:
        embed.title = stored.title
    return embed


def answer_view(stored: StoredAnswer, page: int) -> discord.ui.View | None:
    """The buttons of an answer showing ``page``: none are kept in memory, their custom ids say it all
    (see `MoreExcerpts`, `PostAnswer` and the feedback items of bot/feedback.py), so they work for as
    long as the answer is kept, restarts included."""
    view = discord.ui.View(timeout=None)
    total = render.pages(stored.answer)
    if total > 1:
        view.add_item(MoreExcerpts(stored.key, (page + 1) % total, last=page == total - 1))
    if stored.private and stored.answer.answered:
        view.add_item(PostAnswer(stored.key, page, posted=stored.posted))
    for item in feedback_items(stored, page):
        view.add_item(item)
    return view if view.children else None


class MoreExcerpts(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"onrecord:more:(?P<key>{KEY}):(?P<page>\d+)"
):
    """Shows the next page: in the message for the member who asked, in a private copy for anyone else."""

    def __init__(self, key: str, page: int, *, last: bool = False) -> None:
        label = "First excerpts" if last else "More excerpts"
        super().__init__(
            discord.ui.Button(label=label, style=discord.ButtonStyle.secondary, custom_id=f"onrecord:more:{key}:{page}")
        )
        self.key, self.page = key, page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> MoreExcerpts:
        return cls(match["key"], int(match["page"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        stored = await stored_answer(interaction, self.key)
        if stored is None:
            return
        page = self.page % render.pages(stored.answer)
        if interaction.user.id == stored.owner_id:
            view = answer_view(stored, page)
            await interaction.response.edit_message(
                embed=answer_embed(stored, page), view=view, allowed_mentions=NO_MENTIONS
            )
            return
        # Someone else's answer: their own private copy, which they page through alone.
        answers = interaction.client.answers  # type: ignore[attr-defined]
        key = await asyncio.to_thread(
            answers.put, stored.answer, owner_id=interaction.user.id, private=False, title=stored.title
        )
        copy = StoredAnswer(key, stored.answer, interaction.user.id, False, stored.title, False)
        await interaction.response.send_message(
            embed=answer_embed(copy, page), view=answer_view(copy, page) or discord.utils.MISSING,
            ephemeral=True, allowed_mentions=NO_MENTIONS,
        )  # fmt: skip


class PostAnswer(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"onrecord:post:(?P<key>{KEY}):(?P<page>\d+)"
):
    """Posts a private answer to the channel, once; the button is disabled after use."""

    def __init__(self, key: str, page: int, *, posted: bool = False) -> None:
        label = "Posted to the channel" if posted else "Post to channel"
        super().__init__(
            discord.ui.Button(
                label=label, style=discord.ButtonStyle.primary, custom_id=f"onrecord:post:{key}:{page}", disabled=posted
            )
        )
        self.key, self.page = key, page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PostAnswer:
        return cls(match["key"], int(match["page"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        stored = await stored_answer(interaction, self.key)
        if stored is None:
            return
        if interaction.user.id != stored.owner_id:
            await send_ephemeral(interaction, "Only the member who asked can post this answer.")
            return
        answers = interaction.client.answers  # type: ignore[attr-defined]
        if not await asyncio.to_thread(answers.claim_post, self.key):
            await send_ephemeral(interaction, "This answer has already been posted to the channel.")
            return
        page = self.page % render.pages(stored.answer)
        posted = StoredAnswer(stored.key, stored.answer, stored.owner_id, stored.private, stored.title, True)
        await interaction.response.edit_message(view=answer_view(posted, page), allowed_mentions=NO_MENTIONS)
        embed = answer_embed(stored, page)
        embed.set_author(name=render.shorten(f"Asked by {render.plain(interaction.user.display_name)}", 256))
        try:
            await interaction.followup.send(embed=embed, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.warning("posting an answer to the channel failed", exc_info=True)
            await asyncio.to_thread(answers.release_post, self.key)
            with contextlib.suppress(discord.HTTPException):
                await interaction.edit_original_response(view=answer_view(stored, page))
            await send_ephemeral(interaction, "Discord did not take the post; please try again.")


class AskCog(commands.Cog):
    """Answers questions with quotes from the sources."""

    def __init__(self, bot: OnRecordBot) -> None:
        self.bot = bot
        self.service = bot.service
        # The last question asked in each answer thread, carried into the next one's retrieval.
        self.thread_topics: OrderedDict[int, str] = OrderedDict()
        self.find_sources_menu = app_commands.ContextMenu(name="Find sources", callback=self.find_sources)
        self.find_sources_menu.add_check(within_question_rate)
        bot.tree.add_command(self.find_sources_menu)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(MoreExcerpts, PostAnswer)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.find_sources_menu.name, type=self.find_sources_menu.type)
        self.bot.remove_dynamic_items(MoreExcerpts, PostAnswer)

    async def _keep(self, answer: Answer, owner_id: int, *, private: bool, title: str | None = None) -> StoredAnswer:
        key = await asyncio.to_thread(self.bot.answers.put, answer, owner_id=owner_id, private=private, title=title)
        return StoredAnswer(key, answer, owner_id, private, title, False)

    async def _reply(self, interaction: discord.Interaction, stored: StoredAnswer) -> None:
        """Edit the deferred reply into the answer, through Discord's outages (`delivery.deliver`)."""
        view = answer_view(stored, 0)
        await deliver(interaction, self.bot.settings, embed=answer_embed(stored, 0), view=view)

    @app_commands.command(name="ask")
    @app_commands.describe(
        question="What you want to know; the answer quotes the sources word for word.",
        source="Answer from this document only.",
        speaker="Quote only this person (start typing a name: the people the sources quote).",
        private="Only you see the answer (you can still post it to the channel).",
    )
    @app_commands.autocomplete(source=source_autocomplete, speaker=speaker_autocomplete)
    @question_rate()
    async def ask(
        self,
        interaction: discord.Interaction,
        question: str,
        source: str | None = None,
        speaker: str | None = None,
        private: bool = False,
    ) -> None:
        """Ask a question; get verbatim, attributed quotes from the sources."""
        self.service.check_question(question)
        await interaction.response.defer(ephemeral=private, thinking=True)
        where = await self.service.where(interaction.guild_id)
        answer = await self.service.ask(question, where, source=source, speaker=speaker, limit=render.PAGE_SIZE * PAGES)
        await self._reply(interaction, await self._keep(answer, interaction.user.id, private=private))

    async def find_sources(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Excerpts that best support or relate to a message's text."""
        text = self.service.message_text(message.content)
        if text is None:
            await send_ephemeral(interaction, "That message has no text to look up.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        # A message looked up is not a question a member asked: not logged, no pinned answer.
        where = await self.service.where(interaction.guild_id)
        answer = await self.service.ask(text, where, limit=render.PAGE_SIZE * PAGES, asked=False)
        stored = await self._keep(answer, interaction.user.id, private=True, title="Sources for this message")
        await self._reply(interaction, stored)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if message.author.bot or me is None or me not in message.mentions or message.guild is None:
            return
        if not await self.bot.in_enabled_guild(message):
            await message.reply(NOT_ENABLED, allowed_mentions=NO_MENTIONS, mention_author=False)
            return
        question = re.sub(rf"<@!?{me.id}>", " ", message.content).strip()
        if not question:
            await message.reply(
                "Ask me a question after the mention, or use `/ask`.",
                allowed_mentions=NO_MENTIONS,
                mention_author=False,
            )
            return
        retry_after = self.bot.question_rate.retry_after(message.author.id)
        if retry_after:
            await message.reply(
                f"You're asking quickly: try again in {max(1, round(retry_after))} s.",
                allowed_mentions=NO_MENTIONS, mention_author=False,
            )  # fmt: skip
            return
        try:
            self.service.check_question(question)
        except QuestionError as error:
            await message.reply(str(error), allowed_mentions=NO_MENTIONS, mention_author=False)
            return
        try:
            await self._answer_mention(message, question)
        except Exception:
            log.exception("answering a mention failed")
            await message.reply(
                "Sorry, something went wrong while answering. It has been logged.",
                allowed_mentions=NO_MENTIONS, mention_author=False,
            )  # fmt: skip

    async def _answer_mention(self, message: discord.Message, question: str) -> None:
        channel = message.channel
        context = self.thread_topics.get(channel.id) if isinstance(channel, discord.Thread) else None
        where = await self.service.where(message.guild.id if message.guild else None)
        async with channel.typing():
            answer = await self.service.ask(question, where, context=context, limit=render.PAGE_SIZE * PAGES)
        stored = await self._keep(answer, message.author.id, private=False)
        embed, view = answer_embed(stored, 0), answer_view(stored, 0) or discord.utils.MISSING
        thread: discord.Thread | None = channel if isinstance(channel, discord.Thread) else None
        if thread is None and isinstance(channel, discord.TextChannel) and self._can_thread(channel):
            name = render.shorten(" ".join(render.plain(question).split()), 90) or "Question"
            thread = await message.create_thread(name=name)
        if thread is not None:
            await thread.send(embed=embed, view=view, allowed_mentions=NO_MENTIONS)
            self._remember(thread.id, question)
        else:
            await message.reply(embed=embed, view=view, allowed_mentions=NO_MENTIONS, mention_author=False)

    def _can_thread(self, channel: discord.TextChannel) -> bool:
        me = channel.guild.me
        return me is not None and channel.permissions_for(me).create_public_threads

    def _remember(self, thread_id: int, question: str) -> None:
        self.thread_topics[thread_id] = question
        self.thread_topics.move_to_end(thread_id)
        while len(self.thread_topics) > THREAD_MEMORY:
            self.thread_topics.popitem(last=False)


async def setup(bot: OnRecordBot) -> None:
    await bot.add_cog(AskCog(bot))
