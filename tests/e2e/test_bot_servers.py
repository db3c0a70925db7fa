"""End-to-end: the bot in two servers (guild A: the stand-in's default, and guild B), each with its own
library beside the shared one, through the real discord.py client and the Discord stand-in.

A's uploads and removals never reach B; B's members are never quoted A's sources; A's moderators
cannot change B's or the shared library, which only the bot's owner changes; a role of the same name
in another server grants nothing; counters are per server and survive a restart; a server not on the
allow-list is told so until an owner allows it; quotas refuse with a message; an upload of a name that
is there already asks before it replaces.
"""

from __future__ import annotations

import pytest

from index import Collections
from tests.e2e.conftest import (
    SEED_DOC,
    BotFactory,
    CollectionsFactory,
    Seed,
    answer_quotes,
    assert_verbatim,
    guild_docs,
)
from tests.e2e.discord_standin import EPHEMERAL, DiscordStandIn, Payload, StandInGuild
from tests.e2e.test_bot import custom_id_of

pytestmark = pytest.mark.asyncio

FENTANYL = "What do the cartels need to make fentanyl?"
# A's upload, claiming the seed's outlet, date and link: it must never reach B.
INVENTED = (
    b"---\ntitle: Mexican cartels ramp up fentanyl production\nauthor: Fox News\npublished: 2022-09-02\n"
    b"url: https://www.foxnews.com/invented\n---\n\n"
    b"\xe2\x80\x9cThe cartels need only cheap powders to replace the precursor chemicals,\xe2\x80\x9d Dhillon said.\n"
)
RIVER = (
    b"---\ntitle: Field notes on the Vasse river\nauthor: Hydrology Desk\n---\n\n"
    b"Volunteers stacked four thousand sandbags along the eastern bank of the Vasse river.\n"
)
RIVER_QUESTION = "How many sandbags did volunteers stack along the river?"


def summary(message: Payload) -> bool:
    return "Index rebuilt" in message["content"]


def quotes_of(message: Payload) -> list[str]:
    return answer_quotes(message["embeds"][0]["description"]) if message.get("embeds") else []


@pytest.fixture
def guild_b(standin: DiscordStandIn) -> StandInGuild:
    return standin.add_guild("b")


async def _upload(
    standin: DiscordStandIn, name: str, data: bytes, *, guild: str | None = None, **options: str
) -> Payload:
    attachment = standin.add_attachment(name, data, "text/markdown", guild=guild)
    asked = await standin.slash("source-add", {"file": attachment, **options}, user="moderator", guild=guild)
    return await asked.wait_final(lambda m: summary(m) or "not" in m["content"] or "Only" in m["content"])


async def test_a_servers_uploads_and_removals_never_reach_another_server(
    standin: DiscordStandIn, guild_b: StandInGuild, start_bot: BotFactory, workdir: Seed
) -> None:
    async with start_bot(ask_rate=100):
        added = await _upload(standin, "fentanyl.md", INVENTED)
        in_a = await (await standin.slash("ask", {"question": FENTANYL})).wait_final()
        in_b = await (await standin.slash("ask", {"question": FENTANYL}, guild="b")).wait_final()
        listed_b = await (await standin.slash("sources", guild="b")).wait_final()
        removable_b = await (
            await standin.autocomplete("source-remove", {"name": ""}, "name", user="moderator", guild="b")
        ).wait_choices()
        b_removes_a = await (
            await standin.slash("source-remove", {"name": "fentanyl.md"}, user="moderator", guild="b")
        ).wait_final()
        a_removes_seed = await (await standin.slash("source-remove", {"name": SEED_DOC}, user="moderator")).wait_final()
        a_removes_shared = await (
            await standin.slash("source-remove", {"name": SEED_DOC, "library": "shared"}, user="moderator")
        ).wait_final()

    assert "Added 1" in added["content"]
    assert any("cheap powders" in q for q in quotes_of(in_a))
    assert "this server's library" in in_a["embeds"][0]["description"]
    for quote in quotes_of(in_a):
        assert_verbatim(quote, workdir.docs, guild_docs(standin, workdir))
    assert quotes_of(in_b) and not any("powders" in q for q in quotes_of(in_b))
    assert any("precursor chemicals" in q for q in quotes_of(in_b))
    assert "fentanyl.md" not in str(listed_b["embeds"]) and removable_b == []
    assert "no source file called" in b_removes_a["content"] and b_removes_a["flags"] & EPHEMERAL
    assert "no source file called" in a_removes_seed["content"]
    assert "Only the bot's owners" in a_removes_shared["content"]
    assert (guild_docs(standin, workdir) / "fentanyl.md").exists()
    assert (workdir.docs / SEED_DOC).exists() and (workdir.docs / f"{SEED_DOC}.meta.yaml").exists()


async def test_the_bots_owner_manages_the_shared_library_from_any_server(
    standin: DiscordStandIn, guild_b: StandInGuild, start_bot: BotFactory, workdir: Seed
) -> None:
    standin.guild.add_member(standin.app_owner)  # no role: not a moderator of A
    async with start_bot(ask_rate=100):
        refused = await _upload(standin, "river.md", RIVER, library="shared")
        added = await (
            await standin.slash(
                "source-add",
                {"file": standin.add_attachment("river.md", RIVER, "text/markdown"), "library": "shared"},
                user=standin.app_owner,
            )
        ).wait_final(summary)
        in_b = await (await standin.slash("ask", {"question": RIVER_QUESTION}, guild="b")).wait_final()
        own_library = await (await standin.slash("reindex", user=standin.app_owner)).wait_final()

    assert "Only the bot's owners" in refused["content"]
    assert "Added 1" in added["content"] and (workdir.docs / "river.md").exists()
    assert any("four thousand sandbags" in q for q in quotes_of(in_b))
    assert "not allowed" in own_library["content"]  # an owner is not a moderator of A's own library


async def test_a_role_named_like_the_moderator_role_in_another_server_grants_nothing(
    standin: DiscordStandIn, guild_b: StandInGuild, start_bot: BotFactory
) -> None:
    async with start_bot():
        set_role = await (
            await standin.slash("settings", {"moderator-role": standin.moderator_role_id}, user="moderator")
        ).wait_final()
        in_a = await (await standin.slash("reindex", user="rolemod")).wait_final(summary)
        in_b = await (await standin.slash("reindex", user="rolemod", guild="b")).wait_final()

    assert str(standin.moderator_role_id) in set_role["content"] and set_role["flags"] & EPHEMERAL
    assert "Index rebuilt" in in_a["content"]
    assert guild_b.roles_of(guild_b.user("rolemod")) and "not allowed" in in_b["content"]


async def test_status_counts_each_servers_questions_and_the_counts_survive_a_restart(
    standin: DiscordStandIn, guild_b: StandInGuild, start_bot: BotFactory, make_collections: CollectionsFactory
) -> None:
    def fields(message: Payload) -> dict[str, str]:
        return {f["name"]: f["value"] for f in message["embeds"][0]["fields"]}

    async with start_bot(ask_rate=100):
        for _ in range(2):
            await (await standin.slash("ask", {"question": FENTANYL})).wait_final()
        await (await standin.slash("ask", {"question": "How do I bake sourdough bread?"}, guild="b")).wait_final()
        status_b = await (await standin.slash("status", user="moderator", guild="b")).wait_final()
    async with start_bot(collections=make_collections(), ask_rate=100):  # a new process, as after a restart
        status_a = await (await standin.slash("status", user="moderator")).wait_final()

    assert fields(status_b)["Answered / abstained"] == "0 / 1"
    assert fields(status_a)["Answered / abstained"] == "2 / 0"
    assert fields(status_a)["Shared library"].startswith("1 documents")


async def test_a_server_not_on_the_allow_list_is_told_so_until_an_owner_allows_it(
    standin: DiscordStandIn, guild_b: StandInGuild, start_bot: BotFactory
) -> None:
    guild_b.add_member(standin.app_owner)
    async with start_bot(allowed_guilds=(int(standin.guild_id),)):
        allowed = await (await standin.slash("ask", {"question": FENTANYL})).wait_final()
        refused = await (await standin.slash("ask", {"question": FENTANYL}, guild="b")).wait_final()
        by_moderator = await (await standin.slash("allow-server", user="moderator", guild="b")).wait_final()
        await standin.post_message(f"<@{standin.bot_user_id}> {FENTANYL}", guild="b")
        enabled = await (await standin.slash("allow-server", user=standin.app_owner, guild="b")).wait_final()
        after = await (await standin.slash("ask", {"question": FENTANYL}, guild="b")).wait_final()

    assert quotes_of(allowed)
    assert "not enabled in this server" in refused["content"] and refused["flags"] & EPHEMERAL
    assert "not enabled in this server" in by_moderator["content"]
    replies = [m for m in standin.messages_in(guild_b.channel_id) if "not enabled" in m["content"]]
    assert replies, "a mention in a server that is not enabled gets the same answer"
    assert "now enabled" in enabled["content"]
    assert any("precursor chemicals" in q for q in quotes_of(after))


async def test_a_quota_refuses_an_upload_with_a_message(
    standin: DiscordStandIn, start_bot: BotFactory, make_collections: CollectionsFactory, workdir: Seed
) -> None:
    async with start_bot(collections=make_collections(max_sources_per_guild=1)):
        first = await _upload(standin, "river.md", RIVER)
        second = await _upload(standin, "second.md", RIVER.replace(b"Vasse", b"Avon"))

    assert "Added 1" in first["content"]
    assert "library is full (1 sources)" in second["content"] and second["flags"] & EPHEMERAL
    assert not (guild_docs(standin, workdir) / "second.md").exists()


async def test_an_upload_of_an_existing_name_asks_before_it_replaces(
    standin: DiscordStandIn, start_bot: BotFactory, workdir: Seed
) -> None:
    docs = guild_docs(standin, workdir)
    async with start_bot(ask_rate=100):
        await _upload(standin, "river.md", RIVER)
        (docs / "river.md.meta.yaml").write_text("title: A title the new file must not keep\n", "utf-8")
        asked = await standin.slash(
            "source-add", {"file": standin.add_attachment("river.md", RIVER, "text/markdown")}, user="moderator"
        )
        question = await asked.wait_final(lambda m: "Replace" in m["content"])
        cancel = await standin.click(question, custom_id_of(question, "Cancel"), user="moderator")
        await cancel.wait_response()
        kept = (docs / "river.md").read_bytes()

        newer = RIVER.replace(b"four thousand", b"five thousand")
        again = await standin.slash(
            "source-add", {"file": standin.add_attachment("river.md", newer, "text/markdown")}, user="moderator"
        )
        question = await again.wait_final(lambda m: "Replace" in m["content"])
        stranger = await standin.click(question, custom_id_of(question, "Replace"), user="member")
        await stranger.wait_final()
        replace = await standin.click(question, custom_id_of(question, "Replace"), user="moderator")
        done = await replace.wait_final(summary)
        answer = await (await standin.slash("ask", {"question": RIVER_QUESTION})).wait_final()

    assert question["flags"] & EPHEMERAL and "already a source called `river.md`" in question["content"]
    assert kept == RIVER
    assert "Only the member who uploaded" in stranger.final_message()["content"]
    assert "changed 1" in done["content"] and (docs / "river.md").read_bytes() == newer
    assert not (docs / "river.md.meta.yaml").exists()
    assert any("five thousand sandbags" in q for q in quotes_of(answer))
    assert "A title the new file must not keep" not in str(answer["embeds"])


async def test_a_server_can_turn_the_shared_library_off(
    standin: DiscordStandIn, start_bot: BotFactory, collections: Collections
) -> None:
    async with start_bot(ask_rate=100):
        before = await (await standin.slash("ask", {"question": FENTANYL})).wait_final()
        off = await (await standin.slash("settings", {"shared": False}, user="moderator")).wait_final()
        after = await (await standin.slash("ask", {"question": FENTANYL})).wait_final()

    assert any("precursor chemicals" in q for q in quotes_of(before))
    assert "this server's sources only" in off["content"]
    assert "no sources here yet" in after["content"] and after["flags"] & EPHEMERAL
