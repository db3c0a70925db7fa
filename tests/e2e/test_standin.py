"""Tests of the Discord stand-in, driven by the real discord.py client with a tiny bot defined here.

The tiny bot covers the shapes the product uses: defer then follow up, attachments read from the CDN,
mentions answered in a thread, buttons, autocomplete, a message context menu and a modal.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import discord
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands
from discord.http import Route

from tests.e2e.discord_standin import (
    CALLBACK,
    CHANNEL_MESSAGES,
    EPHEMERAL,
    START_THREAD,
    DiscordStandIn,
    running,
)

pytestmark = pytest.mark.asyncio

FRUITS = ("apple", "banana", "cherry")


def tiny_intents() -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    return intents


class PickView(discord.ui.View):
    @discord.ui.button(label="Yes", custom_id="pick:yes")
    async def yes(self, interaction: discord.Interaction, button: discord.ui.Button[PickView]) -> None:
        await interaction.response.edit_message(content="picked yes", view=None)


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    text: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(label="Your feedback", custom_id="feedback:text")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)


class TinyBot(commands.Bot):
    """A bot with one of each interaction shape, its commands synced to the stand-in's guild."""

    def __init__(self, guild_id: int) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=tiny_intents(),
            guild_ready_timeout=0.05,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
        )
        self.guild = discord.Object(guild_id)
        self.heard: list[str] = []
        self.errors_expected = False
        for command in self._commands():
            self.tree.add_command(command, guild=self.guild)

    async def setup_hook(self) -> None:
        await self.tree.sync(guild=self.guild)

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        self.heard.append(message.content)
        if self.user is None or self.user not in message.mentions:
            return
        if isinstance(message.channel, discord.Thread):
            await message.channel.send(f"in thread: {message.content}")
        else:
            thread = await message.create_thread(name="Answer")
            await thread.send("answer here")

    def _commands(self) -> list[app_commands.Command[Any, ..., Any] | app_commands.ContextMenu]:
        @app_commands.command()
        @app_commands.describe(text="What to say back")
        async def echo(interaction: discord.Interaction, text: str) -> None:
            """Say the text back."""
            await interaction.response.defer(thinking=True)
            await interaction.followup.send(text)

        @app_commands.command()
        @app_commands.describe(file="The file to measure")
        async def size(interaction: discord.Interaction, file: discord.Attachment) -> None:
            """Tell the size of a file, retrying one failed download."""
            await interaction.response.defer()
            try:
                data = await file.read()
            except discord.HTTPException:
                data = await file.read()
            await interaction.followup.send(f"{file.filename}: {len(data)} bytes")

        @app_commands.command()
        async def pick(interaction: discord.Interaction) -> None:
            """Offer a button."""
            await interaction.response.send_message("Pick one", view=PickView())

        @app_commands.command()
        @app_commands.describe(name="A fruit")
        async def fruit(interaction: discord.Interaction, name: str) -> None:
            """Name a fruit."""
            await interaction.response.send_message(name)

        @fruit.autocomplete("name")
        async def fruit_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=f, value=f) for f in FRUITS if current in f]

        @app_commands.command()
        async def feedback(interaction: discord.Interaction) -> None:
            """Ask for feedback in a modal."""
            await interaction.response.send_modal(FeedbackModal())

        @app_commands.command()
        async def slow(interaction: discord.Interaction) -> None:
            """Answer too late."""
            await asyncio.sleep(0.2)
            await interaction.response.send_message("late")

        @app_commands.command()
        async def edits(interaction: discord.Interaction) -> None:
            """Edit, upload, react, fetch, open a thread and delete."""
            assert isinstance(interaction.channel, discord.TextChannel)
            await interaction.response.send_message("first")
            await interaction.edit_original_response(content="second")
            upload = discord.File(io.BytesIO(b"abc"), "a.txt")
            extra = await interaction.followup.send("extra", file=upload, wait=True)
            await extra.edit(content="extra edited")
            original = await interaction.original_response()
            async with interaction.channel.typing():
                await original.add_reaction("\N{THUMBS UP SIGN}")
            fetched = await interaction.channel.fetch_message(original.id)
            thread = await fetched.create_thread(name="edits")
            await thread.send(f"fetched: {fetched.content}, file: {extra.attachments[0].filename}")
            await extra.delete()

        @app_commands.context_menu(name="Quote")
        async def quote(interaction: discord.Interaction, message: discord.Message) -> None:
            await interaction.response.send_message(f"> {message.content}", ephemeral=True)

        return [echo, size, pick, fruit, feedback, slow, edits, quote]


def logged_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    records = caplog.get_records("setup") + caplog.get_records("call")
    return [r for r in records if r.name.split(".")[0] in ("discord", "asyncio") and r.levelno >= logging.ERROR]


async def eventually(check: Callable[[], object], timeout: float = 5) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.01)


@pytest_asyncio.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn() as server:
        yield server


@pytest_asyncio.fixture
async def bot(standin: DiscordStandIn, caplog: pytest.LogCaptureFixture) -> AsyncIterator[TinyBot]:
    caplog.set_level(logging.WARNING)
    tiny = TinyBot(int(standin.guild_id))
    async with running(standin, tiny):
        yield tiny
    if not tiny.errors_expected:
        assert not logged_errors(caplog)


async def test_bot_logs_in_and_syncs_its_commands(standin: DiscordStandIn, bot: TinyBot) -> None:
    routes = [r.route for r in standin.requests]
    assert routes[:2] == ["GET /users/@me", "GET /oauth2/applications/@me"]
    assert {c["name"] for c in standin.commands} == {
        "echo",
        "size",
        "pick",
        "fruit",
        "feedback",
        "slow",
        "edits",
        "Quote",
    }
    assert standin.identify is not None and standin.identify["intents"] == tiny_intents().value
    guild = bot.get_guild(int(standin.guild_id))
    assert guild is not None and guild.me is not None
    assert bot.get_channel(int(standin.channel_id)) is not None
    assert {r.name for r in guild.roles} >= {"@everyone", "Moderator", "Admin"}
    standin.assert_clean()


async def test_echo_defers_then_follows_up(standin: DiscordStandIn, bot: TinyBot) -> None:
    interaction = await standin.slash("echo", {"text": "hello there"})

    first = await interaction.wait_response()
    final = await interaction.wait_final()

    assert first.json["type"] == 5
    assert final["content"] == "hello there"
    [followup] = interaction.followups()
    assert followup.status == 200
    assert followup.json["allowed_mentions"] == {"parse": []}
    # The first follow-up after a deferral replaces the "thinking" message.
    assert final["id"] == interaction.original_id
    assert interaction.latency is not None and interaction.latency < 3
    standin.assert_clean()


async def test_permissions_differ_by_user(standin: DiscordStandIn, bot: TinyBot) -> None:
    manage_guild = discord.Permissions(manage_guild=True).value
    by_user = {}
    for user in ("member", "moderator", "rolemod"):
        interaction = await standin.slash("echo", {"text": user}, user=user)
        await interaction.wait_final()
        by_user[user] = interaction.payload["member"]
    assert not int(by_user["member"]["permissions"]) & manage_guild
    assert int(by_user["moderator"]["permissions"]) & manage_guild
    assert not int(by_user["rolemod"]["permissions"]) & manage_guild
    assert standin.moderator_role_id in by_user["rolemod"]["roles"]


async def test_attachment_is_read_from_the_cdn_after_a_failure(standin: DiscordStandIn, bot: TinyBot) -> None:
    attachment = standin.add_attachment("notes.txt", b"twelve bytes", "text/plain")
    standin.fail_next_cdn = 1

    interaction = await standin.slash("size", {"file": attachment})
    final = await interaction.wait_final()

    assert final["content"] == "notes.txt: 12 bytes"
    assert [r.status for r in standin.requests if r.kind == "cdn"] == [503, 200]


async def test_mention_is_answered_in_a_thread(standin: DiscordStandIn, bot: TinyBot) -> None:
    await standin.post_message("what is on record?")
    started = await standin.wait_for(lambda r: r.route == START_THREAD)
    thread_id = started.response["id"]
    await standin.wait_for(lambda r: r.route == CHANNEL_MESSAGES and r.params["channel_id"] == thread_id)

    await standin.post_message("and then?", channel_id=thread_id)
    await eventually(lambda: len(standin.messages_in(thread_id)) == 2)

    contents = [m["content"] for m in standin.messages_in(thread_id)]
    assert contents == ["answer here", f"in thread: <@{standin.bot_user_id}> and then?"]
    assert bot.heard[0] == f"<@{standin.bot_user_id}> what is on record?"
    standin.assert_clean()


async def test_content_is_hidden_without_the_message_content_intent(standin: DiscordStandIn, bot: TinyBot) -> None:
    await standin.post_message("no mention here", mention_bot=False)
    await eventually(lambda: bot.heard)
    assert bot.heard == [""]


async def test_button_click_updates_the_message(standin: DiscordStandIn, bot: TinyBot) -> None:
    offer = await (await standin.slash("pick")).wait_final()

    click = await standin.click(offer, "pick:yes")
    await click.wait_response()

    assert [c.json["type"] for c in click.callbacks()] == [7]
    assert click.final_message()["content"] == "picked yes"
    assert standin.messages[offer["id"]]["components"] == []


async def test_autocomplete_offers_matching_choices(standin: DiscordStandIn, bot: TinyBot) -> None:
    typing = await standin.autocomplete("fruit", {"name": "an"}, "name")
    choices = await typing.wait_choices()
    assert [c["value"] for c in choices] == ["banana"]


async def test_context_menu_quotes_the_message(standin: DiscordStandIn, bot: TinyBot) -> None:
    target = await standin.post_message("quote me", mention_bot=False)
    interaction = await standin.context_menu("Quote", target)
    final = await interaction.wait_final()
    assert final["content"] == "> quote me"
    assert final["flags"] & EPHEMERAL


async def test_modal_is_shown_and_submitted(standin: DiscordStandIn, bot: TinyBot) -> None:
    opened = await standin.slash("feedback")
    await opened.wait_response()
    submitted = await standin.submit_modal(opened, {"feedback:text": "great"})
    assert (await submitted.wait_final())["content"] == "thanks: great"


async def test_edits_uploads_fetches_and_deletes(standin: DiscordStandIn, bot: TinyBot) -> None:
    interaction = await standin.slash("edits")
    await standin.wait_for(lambda r: r.method == "DELETE")

    [original] = interaction.messages()
    [thread_id] = standin.threads
    upload = interaction.followups()[0]
    assert original["content"] == "second" and original["edited_timestamp"] is not None
    assert [f.filename for f in upload.files] == ["a.txt"] and upload.files[0].data == b"abc"
    assert [r.status for r in interaction.edits()] == [200, 200]
    assert [m["content"] for m in standin.messages_in(thread_id)] == ["fetched: second, file: a.txt"]
    standin.assert_clean()


async def test_discord_limits_are_enforced(standin: DiscordStandIn, bot: TinyBot) -> None:
    channel = bot.get_channel(int(standin.channel_id))
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as too_long:
        await channel.send("x" * 2001)
    with pytest.raises(discord.HTTPException) as big_embed:
        await channel.send(embed=discord.Embed(description="y" * 4097))
    assert (too_long.value.code, big_embed.value.code) == (50035, 50035)
    assert "content" in too_long.value.text and "description" in big_embed.value.text


async def test_late_first_response_is_rejected(
    standin: DiscordStandIn, bot: TinyBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot.errors_expected = True
    standin.interaction_deadline = 0.05
    interaction = await standin.slash("slow")
    answer = await interaction.wait_response()
    assert (answer.status, answer.response["code"]) == (404, 10062)
    with pytest.raises(AssertionError, match="refused"):
        await interaction.wait_final(timeout=1)
    await eventually(lambda: logged_errors(caplog))


async def test_unserved_routes_are_recorded(standin: DiscordStandIn, bot: TinyBot) -> None:
    with pytest.raises(discord.NotFound):
        await bot.http.request(Route("GET", "/guilds/{guild_id}/bans", guild_id=standin.guild_id))
    assert [r.path for r in standin.unserved] == [f"/guilds/{standin.guild_id}/bans"]
    assert all(r.route != CALLBACK for r in standin.unserved)


async def test_wrong_token_fails_login(standin: DiscordStandIn) -> None:
    tiny = TinyBot(int(standin.guild_id))
    try:
        with pytest.raises(discord.LoginFailure):
            await tiny.start("not-the-token")
    finally:
        await tiny.close()


async def test_auto_sharded_bot_logs_in(standin: DiscordStandIn) -> None:
    sharded = commands.AutoShardedBot(
        command_prefix=commands.when_mentioned, intents=tiny_intents(), guild_ready_timeout=0.05
    )
    async with running(standin, sharded):
        assert sharded.get_guild(int(standin.guild_id)) is not None
    assert "GET /gateway/bot" in [r.route for r in standin.requests]
