"""Members' questions: ``/ask``, mentioning the bot (with follow-ups in a thread) and "Find sources"."""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from index import Answer, QuestionError

from .. import render
from ..app import NO_MENTIONS
from ..errors import send_ephemeral

if TYPE_CHECKING:
    from ..app import OnRecordBot

log = logging.getLogger(__name__)

PAGES = 3  # "More excerpts" pages through up to this many pages of excerpts
THREAD_MEMORY = 2000


def question_cooldown(interaction: discord.Interaction) -> app_commands.Cooldown | None:
    settings = interaction.client.settings  # type: ignore[attr-defined]
    return app_commands.Cooldown(settings.ask_rate, settings.ask_per_seconds)


async def source_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Documents whose id or title contains what has been typed."""
    service = interaction.client.service  # type: ignore[attr-defined]
    needle = current.lower()
    choices = []
    for info in await service.sources():
        if needle in info.doc_id.lower() or needle in info.title.lower():
            label = render.shorten(f"{info.title} ({info.doc_id})", 100)
            choices.append(app_commands.Choice(name=label, value=info.doc_id[:100]))
    return choices[:25]


async def speaker_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """People the sources quote, one of whose names starts with what has been typed; the most quoted first."""
    service = interaction.client.service  # type: ignore[attr-defined]
    choices = []
    for person in (await service.speakers(current[:100]))[:25]:
        plural = "" if person.quotes == 1 else "s"
        label = render.shorten(f"{person.name} ({person.quotes} quote{plural})", 100)
        choices.append(app_commands.Choice(name=label, value=person.name[:100]))
    return choices


class AnswerView(discord.ui.View):
    """Pages through further excerpts; a private answer can be posted to the channel."""

    def __init__(self, answer: Answer, *, private: bool, owner_id: int) -> None:
        super().__init__(timeout=900)
        self.answer = answer
        self.page = 0
        self.owner_id = owner_id
        self.total_pages = render.pages(answer)
        if self.total_pages <= 1:
            self.remove_item(self.more)
        if not private or not answer.answered:
            self.remove_item(self.post)

    def embed(self) -> discord.Embed:
        return render.answer_embed(self.answer, self.page)

    @discord.ui.button(label="More excerpts", style=discord.ButtonStyle.secondary)
    async def more(self, interaction: discord.Interaction, button: discord.ui.Button[AnswerView]) -> None:
        self.page = (self.page + 1) % self.total_pages
        button.label = "First excerpts" if self.page == self.total_pages - 1 else "More excerpts"
        await interaction.response.edit_message(embed=self.embed(), view=self, allowed_mentions=NO_MENTIONS)

    @discord.ui.button(label="Post to channel", style=discord.ButtonStyle.primary)
    async def post(self, interaction: discord.Interaction, button: discord.ui.Button[AnswerView]) -> None:
        if interaction.user.id != self.owner_id:
            await send_ephemeral(interaction, "Only the member who asked can post this answer.")
            return
        embed = self.embed()
        embed.set_author(name=f"Asked by {interaction.user.display_name}")
        await interaction.response.send_message(embed=embed, allowed_mentions=NO_MENTIONS)


class AskCog(commands.Cog):
    """Answers questions with quotes from the sources."""

    def __init__(self, bot: OnRecordBot) -> None:
        self.bot = bot
        self.service = bot.service
        # The last question asked in each answer thread, carried into the next one's retrieval.
        self.thread_topics: OrderedDict[int, str] = OrderedDict()
        self.mention_cooldown = commands.CooldownMapping.from_cooldown(
            bot.settings.ask_rate, bot.settings.ask_per_seconds, commands.BucketType.user
        )
        self.find_sources_menu = app_commands.ContextMenu(name="Find sources", callback=self.find_sources)
        bot.tree.add_command(self.find_sources_menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.find_sources_menu.name, type=self.find_sources_menu.type)

    @app_commands.command(name="ask")
    @app_commands.describe(
        question="What you want to know; the answer quotes the sources word for word.",
        source="Answer from this document only.",
        speaker="Quote only this person (start typing a name: the people the sources quote).",
        private="Only you see the answer (you can still post it to the channel).",
    )
    @app_commands.autocomplete(source=source_autocomplete, speaker=speaker_autocomplete)
    @app_commands.checks.dynamic_cooldown(question_cooldown)
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
        answer = await self.service.ask(question, source=source, speaker=speaker, limit=render.PAGE_SIZE * PAGES)
        view = AnswerView(answer, private=private, owner_id=interaction.user.id)
        await interaction.followup.send(embed=view.embed(), view=view, ephemeral=private, allowed_mentions=NO_MENTIONS)

    async def find_sources(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Excerpts that best support or relate to a message's text."""
        text = " ".join((message.content or "").split())[: self.bot.service.library.settings.max_question_chars]
        try:
            self.service.check_question(text)
        except QuestionError:
            await send_ephemeral(interaction, "That message has no text to look up.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        answer = await self.service.ask(text, limit=render.PAGE_SIZE * PAGES)
        view = AnswerView(answer, private=True, owner_id=interaction.user.id)
        embed = view.embed()
        embed.title = "Sources for this message"
        await interaction.followup.send(embed=embed, view=view, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if message.author.bot or me is None or me not in message.mentions or message.guild is None:
            return
        question = re.sub(rf"<@!?{me.id}>", " ", message.content).strip()
        if not question:
            await message.reply(
                "Ask me a question after the mention, or use `/ask`.",
                allowed_mentions=NO_MENTIONS,
                mention_author=False,
            )
            return
        bucket = self.mention_cooldown.get_bucket(message)
        retry_after = bucket.update_rate_limit() if bucket else None
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
        async with channel.typing():
            answer = await self.service.ask(question, context=context, limit=render.PAGE_SIZE * PAGES)
        view = AnswerView(answer, private=False, owner_id=message.author.id)
        thread: discord.Thread | None = channel if isinstance(channel, discord.Thread) else None
        if thread is None and isinstance(channel, discord.TextChannel) and self._can_thread(channel):
            thread = await message.create_thread(name=render.shorten(" ".join(question.split()), 90))
        if thread is not None:
            await thread.send(embed=view.embed(), view=view, allowed_mentions=NO_MENTIONS)
            self._remember(thread.id, question)
        else:
            await message.reply(embed=view.embed(), view=view, allowed_mentions=NO_MENTIONS, mention_author=False)

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
