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

from tests.e2e.conftest import RecordingHandler
from tests.e2e.discord_standin import (
    CALLBACK,
    CHANNEL_MESSAGES,
    DM,
    EPHEMERAL,
    START_THREAD,
    DiscordStandIn,
    StandInGuild,
    StandInUser,
    running,
)

pytestmark = pytest.mark.asyncio

FRUITS = ("apple", "banana", "cherry")


def tiny_intents(*, members: bool = False) -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.members = members  # to have the guilds' members cached from GUILD_CREATE
    return intents


class PickView(discord.ui.View):
    @discord.ui.button(label="Yes", custom_id="pick:yes")
    async def yes(self, interaction: discord.Interaction, button: discord.ui.Button[PickView]) -> None:
        await interaction.response.edit_message(content="picked yes", view=None)


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    text: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(label="Your feedback", custom_id="feedback:text")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)


def where_commands() -> list[app_commands.Command[Any, ..., Any]]:
    """Global commands that say where they were run: ``/where`` anywhere, ``/here`` in guilds only."""

    async def answer(interaction: discord.Interaction) -> None:
        client = interaction.client
        shards = client.shard_ids if isinstance(client, discord.AutoShardedClient) else None
        await interaction.response.send_message(f"guild {interaction.guild_id} shards {shards}")

    where = app_commands.Command(name="where", description="Say where this is.", callback=answer)
    here = app_commands.guild_only(app_commands.Command(name="here", description="Guilds only.", callback=answer))
    return [where, here]


class TinyBot(commands.Bot):
    """A bot with one of each interaction shape, its commands synced to the stand-in's guilds (and
    the global `where_commands`)."""

    def __init__(self, *guild_ids: int, intents: discord.Intents | None = None) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents or tiny_intents(),
            guild_ready_timeout=0.05,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
        )
        self.synced_guilds = [discord.Object(guild_id) for guild_id in guild_ids]
        self.heard: list[str] = []
        self.seen: list[discord.Interaction] = []
        self.errors_expected = False
        for guild in self.synced_guilds:
            for command in self._commands():
                self.tree.add_command(command, guild=guild)
        for command in where_commands():
            self.tree.add_command(command)

    async def setup_hook(self) -> None:
        await self.tree.sync()
        for guild in self.synced_guilds:
            await self.tree.sync(guild=guild)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        self.seen.append(interaction)

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


# -- several guilds, the application's owner, shards ---------------------------------------------


def cached_member(bot: discord.Client, guild: StandInGuild, user: StandInUser) -> discord.Member:
    found = bot.get_guild(int(guild.id))
    assert found is not None, f"the bot does not see {guild!r}"
    member = found.get_member(int(user.id))
    assert member is not None, f"the bot does not see {user.key!r} in {guild!r}"
    return member


async def test_two_guilds_have_their_own_people_roles_and_permissions(standin: DiscordStandIn) -> None:
    main = standin.guilds["main"]
    other = standin.add_guild("b")
    traveller = other.add_member(main.user("moderator"), key="traveller")  # no roles in b
    other.add_member(main.user("member"), roles=[other.admin_role_id], key="visitor")
    tiny = TinyBot(int(main.id), int(other.id), intents=tiny_intents(members=True))
    async with running(standin, tiny):
        guild_b = tiny.get_guild(int(other.id))
        assert guild_b is not None and guild_b.me is not None
        assert {g.id for g in tiny.guilds} == {int(main.id), int(other.id)}
        assert guild_b.owner_id == int(other.user("owner").id) != int(main.user("owner").id)
        assert [r.name for r in guild_b.roles] == ["@everyone", "Moderator", "Admin", "OnRecord"]
        assert not {r.id for r in guild_b.roles} & {int(r["id"]) for r in main.roles}
        channel = tiny.get_channel(int(other.channel_id))
        assert isinstance(channel, discord.TextChannel) and channel.guild == guild_b
        assert main.channel_id != other.channel_id

        # b's own people are other people than main's, and only members of b.
        assert other.user("member").id != main.user("member").id
        assert tiny.get_guild(int(main.id)).get_member(int(other.user("member").id)) is None  # type: ignore[union-attr]
        # Permissions are per guild: Manage Server in main but not in b, and the other way round.
        assert cached_member(tiny, main, traveller).guild_permissions.manage_guild
        assert not cached_member(tiny, other, traveller).guild_permissions.manage_guild
        assert not cached_member(tiny, main, main.user("member")).guild_permissions.manage_guild
        assert cached_member(tiny, other, main.user("member")).guild_permissions.manage_guild
        assert cached_member(tiny, other, other.user("moderator")).guild_permissions.manage_guild
        assert not cached_member(tiny, other, other.user("rolemod")).guild_permissions.manage_guild
        assert cached_member(tiny, other, other.user("owner")).guild_permissions.administrator
        assert standin.permissions_of("traveller", "b") == other.permissions_of(traveller)
    standin.assert_clean()


async def test_an_interaction_in_guild_b_reaches_the_bot_from_b(standin: DiscordStandIn) -> None:
    other = standin.add_guild("b")
    tiny = TinyBot(int(standin.guild_id), int(other.id))
    async with running(standin, tiny):
        interaction = await standin.slash("echo", {"text": "from b"}, user="moderator", guild="b")
        final = await interaction.wait_final()
        typing = await standin.autocomplete("fruit", {"name": "ch"}, "name", guild="b")
        assert [c["value"] for c in await typing.wait_choices()] == ["cherry"]
        offer = await (await standin.slash("pick", guild="b")).wait_final()
        click = await standin.click(offer, "pick:yes", user="rolemod")
        await click.wait_response()

        assert final["content"] == "from b" and final["channel_id"] == other.channel_id
        assert interaction.payload["guild_id"] == other.id == interaction.guild_id
        assert interaction.payload["member"]["user"]["id"] == other.user("moderator").id
        seen = tiny.seen[0]
        assert seen.guild_id == int(other.id) and seen.channel_id == int(other.channel_id)
        assert isinstance(seen.user, discord.Member) and seen.user.id == int(other.user("moderator").id)
        assert seen.permissions.manage_guild and seen.user.guild_permissions.manage_guild
        # A click on a message in b is made in b, by b's rolemod.
        assert click.guild_id == other.id and click.user["id"] == other.user("rolemod").id
        assert standin.messages[offer["id"]]["content"] == "picked yes"
        with pytest.raises(ValueError, match="not in guild"):
            await standin.slash("echo", {"text": "x"}, guild="main", channel_id=other.channel_id)
        with pytest.raises(KeyError, match="no user 'traveller'"):
            await standin.slash("echo", {"text": "x"}, user="traveller", guild="b")
    standin.assert_clean()


async def test_a_mention_in_guild_b_is_answered_in_a_thread_of_b(standin: DiscordStandIn) -> None:
    other = standin.add_guild("b")
    tiny = TinyBot(int(standin.guild_id), int(other.id))
    async with running(standin, tiny):
        posted = await standin.post_message("what is on record?", guild="b")
        started = await standin.wait_for(lambda r: r.route == START_THREAD)
        thread = standin.threads[started.response["id"]]
        assert posted["channel_id"] == other.channel_id
        assert thread["guild_id"] == other.id and thread["parent_id"] == other.channel_id
        assert list(other.threads) == [thread["id"]] and not standin.guild.threads
        await standin.post_message("and then?", channel_id=thread["id"], user="owner")
        await eventually(lambda: len(standin.messages_in(thread["id"])) == 2)
        found = tiny.get_channel(int(thread["id"]))
        assert isinstance(found, discord.Thread) and found.guild.id == int(other.id)
    standin.assert_clean()


async def test_a_dm_interaction_has_a_user_and_no_member(standin: DiscordStandIn, bot: TinyBot) -> None:
    interaction = await standin.slash("where", guild=DM)
    final = await interaction.wait_final()

    assert final["content"] == "guild None shards None"
    assert "member" not in interaction.payload and "guild_id" not in interaction.payload
    assert interaction.payload["user"]["id"] == standin.user("member").id and interaction.guild_id is None
    assert interaction.payload["channel"]["type"] == 1 and interaction.payload["context"] == 1
    [seen] = bot.seen
    assert seen.guild is None and seen.guild_id is None and not isinstance(seen.user, discord.Member)
    # A guild-only command is not offered in DMs, and guild commands never are.
    with pytest.raises(LookupError, match="does not offer 'here' in DMs"):
        await standin.slash("here", guild=DM)
    with pytest.raises(LookupError, match="no synced command 'echo'"):
        await standin.slash("echo", {"text": "x"}, guild=DM)
    in_guild = await (await standin.slash("here")).wait_final()
    assert in_guild["content"] == f"guild {standin.guild_id} shards None"


@pytest.mark.parametrize("team", [False, True], ids=["owner", "team"])
async def test_is_owner_is_the_application_owner_or_its_team(standin: DiscordStandIn, team: bool) -> None:
    main = standin.guild
    other = standin.add_guild("b")
    other.add_member(standin.app_owner)  # the owner is a member of b only
    developer = main.add_user("developer")
    reader = main.add_user("reader")
    if team:
        standin.team_member_ids = [developer.id]
        standin.team_read_only_ids = [reader.id]
    tiny = TinyBot(int(main.id), int(other.id), intents=tiny_intents(members=True))
    async with running(standin, tiny):
        owners = {
            key: await tiny.is_owner(cached_member(tiny, guild, user))
            for key, guild, user in [
                ("app_owner", other, standin.app_owner),
                ("developer", main, developer),
                ("reader", main, reader),
                ("main owner", main, main.user("owner")),
                ("b owner", other, other.user("owner")),
                ("moderator", main, main.user("moderator")),
            ]
        }
        info = await tiny.application_info()
    assert owners == {
        "app_owner": True,
        "developer": team,
        "reader": False,
        "main owner": False,
        "b owner": False,
        "moderator": False,
    }
    if team:
        assert info.team is not None and info.team.owner_id == int(standin.app_owner.id)
        assert info.owner.id == int(standin.team_id)  # a team's application is "owned" by its pseudo-user
    else:
        assert info.team is None and info.owner.id == int(standin.app_owner.id)
    standin.assert_clean()


class ShardBot(commands.AutoShardedBot):
    """One process of a sharded bot: the global `where_commands`, and what it was sent."""

    def __init__(self, shard_ids: list[int] | None, shard_count: int | None) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=tiny_intents(),
            guild_ready_timeout=0.05,
            shard_ids=shard_ids,
            shard_count=shard_count,
            help_command=None,
        )
        self.seen: list[discord.Interaction] = []
        self.guilds_created: list[int] = []
        for command in where_commands():
            self.tree.add_command(command)

    async def setup_hook(self) -> None:
        await self.tree.sync()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        self.seen.append(interaction)

    async def on_guild_available(self, guild: discord.Guild) -> None:
        self.guilds_created.append(guild.id)


async def test_two_processes_split_the_shards(log_errors: RecordingHandler) -> None:
    async with DiscordStandIn(shard_count=2) as standin:
        main = standin.guild
        other = standin.add_guild("b", shard=1)
        third = standin.add_guild("c", shard=0)
        assert (main.shard, other.shard, third.shard) == (0, 1, 0)
        first, second = ShardBot([0], 2), ShardBot([1], 2)
        async with running(standin, first):
            async with running(standin, second):
                assert sorted(first.guilds_created) == sorted([int(main.id), int(third.id)])
                assert second.guilds_created == [int(other.id)]
                assert [i["shard"] for i in standin.identifies] == [[0, 2], [1, 2]]
                assert standin.connected_shards() == [(0, 2), (1, 2)]
                in_b = await (await standin.slash("where", guild="b", user="owner")).wait_final()
                in_c = await (await standin.slash("where", guild="c")).wait_final()
                in_main = await (await standin.slash("here")).wait_final()
                assert in_b["content"] == f"guild {other.id} shards [1]"
                assert in_c["content"] == f"guild {third.id} shards [0]"
                assert in_main["content"] == f"guild {main.id} shards [0]"
                assert [i.guild_id for i in second.seen] == [int(other.id)]
                assert [i.guild_id for i in first.seen] == [int(third.id), int(main.id)]
                assert second.get_guild(int(main.id)) is None and first.get_guild(int(other.id)) is None
            # The process holding shard 1 is gone: b's interactions reach nobody ("did not respond").
            await eventually(lambda: standin.connected_shards() == [(0, 2)])
            lost = await standin.slash("where", guild="b")
            assert not lost.delivered
            with pytest.raises(TimeoutError, match="NOT DELIVERED"):
                await lost.wait_response(timeout=0.3)
            assert (await (await standin.slash("where", guild="c")).wait_final())["content"].endswith("[0]")
        standin.assert_clean()


async def test_an_auto_sharded_bot_takes_the_recommended_shards(log_errors: RecordingHandler) -> None:
    async with DiscordStandIn() as standin:
        standin.shard_count = 2
        other = standin.add_guild("b", shard=1)
        assert (standin.guild.shard, other.shard) == (0, 1)
        sharded = ShardBot(None, None)
        async with running(standin, sharded):
            assert sharded.shard_count == 2 and sorted(sharded.shards) == [0, 1]
            assert {g.id for g in sharded.guilds} == {int(standin.guild_id), int(other.id)}
            assert sharded.get_guild(int(other.id)).shard_id == 1  # type: ignore[union-attr]
            answer = await (await standin.slash("where", guild="b")).wait_final()
            assert answer["content"] == f"guild {other.id} shards None"
        assert "GET /gateway/bot" in [r.route for r in standin.requests]


@pytest.mark.parametrize(("shard_ids", "shard_count", "code"), [([0], 1, 4011), ([2], 2, 4010)])
async def test_a_wrong_shard_is_closed_as_discord_does(shard_ids: list[int], shard_count: int, code: int) -> None:
    async with DiscordStandIn(shard_count=2) as standin:
        bot = ShardBot(shard_ids, shard_count)
        with pytest.raises(discord.ConnectionClosed) as closed:
            async with running(standin, bot):
                pass
        assert closed.value.code == code
        assert standin.identifies == []


async def test_a_dropped_shard_resumes_its_session(standin: DiscordStandIn, bot: TinyBot) -> None:
    await standin.drop_connection(0)
    await standin.wait_ready()
    answer = await (await standin.slash("echo", {"text": "still here"})).wait_final()
    assert answer["content"] == "still here"
    assert len(standin.identifies) == 1 and standin.connected_shards() == [(0, 1)]
