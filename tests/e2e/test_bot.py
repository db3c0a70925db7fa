"""End-to-end: members ask the real bot (real model, real FAISS) through the Discord stand-in.

Covers login and command sync, /ask with its deferral, quotes and attribution, abstention, mentions
that ping nobody, answers in a thread with follow-ups, paging and posting buttons, the "Find sources"
context menu, /sources and /source with autocomplete, the cooldown and Discord's size limits.
"""

from __future__ import annotations

import re
import shutil

import discord
import pytest

from bot import render
from bot.app import OnRecordBot
from index import Library
from tests.e2e.conftest import (
    SEED_DOC,
    BotFactory,
    CollectionsFactory,
    Seed,
    answer_quotes,
    assert_verbatim,
    bot_message_bodies,
)
from tests.e2e.discord_standin import (
    CHANNEL_MESSAGES,
    DEFERRED_MESSAGE,
    EPHEMERAL,
    START_THREAD,
    UPDATE_MESSAGE,
    DiscordStandIn,
    Payload,
)

pytestmark = pytest.mark.asyncio

FENTANYL = "What do the cartels need to make fentanyl?"
BREAD = "How do I bake sourdough bread?"
SEED_TITLE = "Mexican cartels ramp up fentanyl production"
MANAGE_GUILD = discord.Permissions(manage_guild=True).value


def only_embed(message: Payload) -> Payload:
    [embed] = message["embeds"]
    return embed


def custom_id_of(message: Payload, label: str) -> str:
    """The custom_id of the button labelled ``label`` on a message."""
    for row in message["components"]:
        for component in row["components"]:
            if component.get("label") == label:
                return str(component["custom_id"])
    raise LookupError(f"no button {label!r} in {message['components']}")


# -- login and commands --------------------------------------------------------------------------


async def test_logs_in_and_syncs_every_command(standin: DiscordStandIn, bot: OnRecordBot) -> None:
    commands = {(c["name"], c["type"]): c for c in standin.command_sets[None]}

    assert set(commands) == {
        ("ask", 1),
        ("sources", 1),
        ("source", 1),
        ("reindex", 1),
        ("source-add", 1),
        ("source-remove", 1),
        ("status", 1),
        ("quotes", 1),
        ("who-said", 1),
        ("settings", 1),
        ("allow-server", 1),
        ("privacy", 1),
        ("log-delete", 1),
        ("pin-remove", 1),
        ("report", 1),
        ("report-digest", 1),
        ("Find sources", 3),
        ("Who said this?", 3),
    }
    ask = commands["ask", 1]
    assert ask["description"]
    assert {o["name"]: bool(o["description"]) for o in ask["options"]} == {
        "question": True,
        "source": True,
        "speaker": True,
        "private": True,
    }
    assert [o["name"] for o in ask["options"] if o.get("required")] == ["question"]
    moderators = ("log-delete", "pin-remove", "report", "report-digest")
    for name in ("reindex", "source-add", "source-remove", "status", "settings", "allow-server", *moderators):
        assert int(commands[name, 1]["default_member_permissions"]) == MANAGE_GUILD, name
    for name in ("ask", "sources", "source", "quotes", "who-said", "privacy"):
        assert commands[name, 1]["default_member_permissions"] is None, name
    assert standin.identify is not None and not standin.identify["intents"] & (1 << 15)  # no message content
    assert bot.get_guild(int(standin.guild_id)) is not None


async def test_dev_guild_gets_the_commands_directly(start_bot: BotFactory, standin: DiscordStandIn) -> None:
    async with start_bot(dev_guild_id=int(standin.guild_id)):
        names = {c["name"] for c in standin.command_sets[standin.guild_id]}
        assert {"ask", "reindex", "Find sources"} <= names


async def test_index_is_built_before_the_first_answer(
    start_bot: BotFactory, standin: DiscordStandIn, workdir: Seed, library: Library
) -> None:
    shutil.rmtree(workdir.index)

    async with start_bot():
        final = await (await standin.slash("ask", {"question": FENTANYL})).wait_final()

    assert library.has_index()
    assert any("precursor chemicals" in q for q in answer_quotes(only_embed(final)["description"]))


# -- /ask ----------------------------------------------------------------------------------------


async def test_ask_defers_then_quotes_the_source_verbatim(
    standin: DiscordStandIn, bot: OnRecordBot, workdir: Seed
) -> None:
    interaction = await standin.slash("ask", {"question": FENTANYL})

    first = await interaction.wait_response()
    final = await interaction.wait_final()

    assert first.json["type"] == DEFERRED_MESSAGE
    assert interaction.latency is not None and interaction.latency < 3
    assert not final["flags"] & EPHEMERAL
    embed = only_embed(final)
    assert embed["title"] == FENTANYL
    quotes = answer_quotes(embed["description"])
    assert any("precursor chemicals" in q for q in quotes)
    for quote in quotes:
        assert_verbatim(quote, workdir.docs)
    block = embed["description"].split("\n\n")[0]
    assert "precursor chemicals" in block
    for part in ("Dhillon", SEED_TITLE, "Fox News", "2022-09-01"):
        assert part in block.splitlines()[1], part
    assert "verbatim" in embed["footer"]["text"]


async def test_ask_outside_the_sources_abstains(standin: DiscordStandIn, bot: OnRecordBot) -> None:
    interaction = await standin.slash("ask", {"question": BREAD})

    embed = only_embed(await interaction.wait_final())

    assert render.NOT_COVERED in embed["description"]
    assert not answer_quotes(embed["description"])
    assert "> " not in embed["description"]


async def test_ask_with_a_mention_pings_nobody(standin: DiscordStandIn, bot: OnRecordBot) -> None:
    interaction = await standin.slash("ask", {"question": "@everyone what do cartels need?"})

    embed = only_embed(await interaction.wait_final())

    assert answer_quotes(embed["description"])
    assert "@everyone" not in embed["title"]
    bodies = bot_message_bodies(standin)
    assert bodies and all(b["allowed_mentions"]["parse"] == [] for b in bodies)


async def test_ask_limited_to_one_source(standin: DiscordStandIn, bot: OnRecordBot) -> None:
    interaction = await standin.slash("ask", {"question": FENTANYL, "source": SEED_DOC})
    assert answer_quotes(only_embed(await interaction.wait_final())["description"])

    unknown = await standin.slash("ask", {"question": FENTANYL, "source": "nope.txt"})
    final = await unknown.wait_final()
    assert "no source called" in final["content"] and final["flags"] & EPHEMERAL


async def test_ask_without_words_is_refused_at_once(standin: DiscordStandIn, bot: OnRecordBot) -> None:
    interaction = await standin.slash("ask", {"question": "?!"})

    final = await interaction.wait_final()

    assert [c.json["type"] for c in interaction.callbacks()] == [4]
    assert "in words" in final["content"] and final["flags"] & EPHEMERAL


async def test_second_question_within_the_cooldown_is_told_to_wait(
    start_bot: BotFactory, standin: DiscordStandIn
) -> None:
    async with start_bot(ask_rate=1, ask_per_seconds=60):
        await (await standin.slash("ask", {"question": FENTANYL})).wait_final()
        again = await standin.slash("ask", {"question": FENTANYL})
        final = await again.wait_final()
        other_member = await standin.slash("ask", {"question": FENTANYL}, user="moderator")
        assert answer_quotes(only_embed(await other_member.wait_final())["description"])

    assert re.search(r"try again in \d+ s", final["content"]), final["content"]
    assert final["flags"] & EPHEMERAL and not final["embeds"]


# -- buttons and the context menu ----------------------------------------------------------------


async def test_more_excerpts_pages_through_the_answer(standin: DiscordStandIn, bot: OnRecordBot) -> None:
    answer = await (await standin.slash("ask", {"question": FENTANYL})).wait_final()
    first_page = only_embed(answer)

    click = await standin.click(answer, custom_id_of(answer, "More excerpts"))
    await click.wait_response()

    assert [c.json["type"] for c in click.callbacks()] == [UPDATE_MESSAGE]
    second_page = only_embed(standin.messages[answer["id"]])
    assert second_page["footer"]["text"].startswith("Excerpt")
    assert second_page["footer"]["text"] != first_page["footer"]["text"]
    assert set(answer_quotes(second_page["description"])).isdisjoint(answer_quotes(first_page["description"]))


async def test_private_answer_can_be_posted_to_the_channel(standin: DiscordStandIn, bot: OnRecordBot) -> None:
    private = await (await standin.slash("ask", {"question": FENTANYL, "private": True})).wait_final()
    assert private["flags"] & EPHEMERAL

    stranger = await standin.click(private, custom_id_of(private, "Post to channel"), user="moderator")
    refused = await stranger.wait_final()
    click = await standin.click(private, custom_id_of(private, "Post to channel"))
    posted = await click.wait_final(lambda m: not m["flags"] & EPHEMERAL)

    assert "Only the member who asked" in refused["content"] and refused["flags"] & EPHEMERAL
    assert not posted["flags"] & EPHEMERAL
    embed = only_embed(posted)
    assert embed["author"]["name"].startswith("Asked by")
    assert answer_quotes(embed["description"]) == answer_quotes(only_embed(private)["description"])


async def test_find_sources_on_a_message(standin: DiscordStandIn, bot: OnRecordBot, workdir: Seed) -> None:
    target = await standin.post_message("Cartels only need precursor chemicals to make it", mention_bot=False)

    interaction = await standin.context_menu("Find sources", target)
    final = await interaction.wait_final()

    assert final["flags"] & EPHEMERAL
    embed = only_embed(final)
    assert embed["title"] == "Sources for this message"
    quotes = answer_quotes(embed["description"])
    assert any("precursor chemicals" in q for q in quotes)
    for quote in quotes:
        assert_verbatim(quote, workdir.docs)


async def test_find_sources_on_a_message_without_text(standin: DiscordStandIn, bot: OnRecordBot) -> None:
    target = await standin.post_message("👍", mention_bot=False)

    final = await (await standin.context_menu("Find sources", target)).wait_final()

    assert "no text" in final["content"] and final["flags"] & EPHEMERAL


# -- mentions and threads ------------------------------------------------------------------------


async def test_mention_is_answered_in_a_thread_with_follow_ups(standin: DiscordStandIn, bot: OnRecordBot) -> None:
    await standin.post_message(f"<@{standin.bot_user_id}> who heads the Sinaloa cartel?")
    started = await standin.wait_for(lambda r: r.route == START_THREAD)
    thread_id = started.response["id"]
    await standin.wait_for(lambda r: r.route == CHANNEL_MESSAGES and r.params["channel_id"] == thread_id)

    await standin.post_message("who is their rival?", channel_id=thread_id)
    await _wait_messages(standin, thread_id, 2)

    first, follow_up = (only_embed(m) for m in standin.messages_in(thread_id))
    assert "Sinaloa" in started.json["name"]
    assert any("heads the Sinaloa cartel" in q for q in answer_quotes(first["description"]))
    follow_quotes = " ".join(answer_quotes(follow_up["description"]))
    assert "Jalisco" in follow_quotes or "Sinaloa" in follow_quotes
    assert all(b["allowed_mentions"]["parse"] == [] for b in bot_message_bodies(standin))


async def test_mention_with_everyone_pings_nobody(standin: DiscordStandIn, bot: OnRecordBot) -> None:
    await standin.post_message("@everyone what do cartels need?")
    await standin.wait_for(lambda r: r.route == CHANNEL_MESSAGES)
    [thread_id] = standin.threads
    await _wait_messages(standin, thread_id, 1)

    [answer] = standin.messages_in(thread_id)
    assert answer_quotes(only_embed(answer)["description"])
    bodies = bot_message_bodies(standin)
    assert bodies and all(b["allowed_mentions"]["parse"] == [] for b in bodies)


async def test_bare_mention_gets_a_hint(standin: DiscordStandIn, bot: OnRecordBot) -> None:
    await standin.post_message(f"<@{standin.bot_user_id}>")
    reply = await standin.wait_for(lambda r: r.route == CHANNEL_MESSAGES)

    assert "/ask" in reply.json["content"]
    assert reply.json["allowed_mentions"]["parse"] == []
    assert not standin.threads


async def test_mentions_share_the_question_rate(start_bot: BotFactory, standin: DiscordStandIn) -> None:
    async with start_bot(ask_rate=1, ask_per_seconds=60):
        await standin.post_message("who heads the Sinaloa cartel?")
        await standin.wait_for(lambda r: r.route == CHANNEL_MESSAGES)
        await standin.post_message("and who heads the Jalisco cartel?")
        reply = await standin.wait_for(
            lambda r: r.route == CHANNEL_MESSAGES and "try again" in (r.json.get("content") or "")
        )

    assert re.search(r"try again in \d+ s", reply.json["content"])
    assert len(standin.threads) == 1


async def _wait_messages(standin: DiscordStandIn, channel_id: str, count: int) -> None:
    await standin._wait_until(
        lambda: True if len(standin.messages_in(channel_id)) >= count else None, 15, f"{count} messages"
    )


# -- what the bot knows --------------------------------------------------------------------------


async def test_sources_lists_the_seed_document(standin: DiscordStandIn, bot: OnRecordBot) -> None:
    final = await (await standin.slash("sources")).wait_final()

    embed = only_embed(final)
    assert final["flags"] & EPHEMERAL
    assert embed["title"] == "Sources (1)"
    [field] = embed["fields"]
    assert field["name"] == SEED_TITLE and SEED_DOC in field["value"] and "Fox News" in field["value"]


async def test_source_autocomplete_and_details(standin: DiscordStandIn, bot: OnRecordBot) -> None:
    typing = await standin.autocomplete("source", {"name": "cartel"}, "name")
    choices = await typing.wait_choices()
    nothing = await (await standin.autocomplete("source", {"name": "zzz"}, "name")).wait_choices()
    for_ask = await (await standin.autocomplete("ask", {"question": "x", "source": "fox"}, "source")).wait_choices()

    assert [c["value"] for c in choices] == [SEED_DOC]
    assert all(len(c["name"]) <= 100 for c in choices)
    assert nothing == []
    assert [c["value"] for c in for_ask] == [SEED_DOC] or for_ask == []

    embed = only_embed(await (await standin.slash("source", {"name": choices[0]["value"]})).wait_final())
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert embed["title"] == SEED_TITLE
    assert fields["Outlet or author"] == "Fox News" and fields["Published"] == "2022-09-01"

    missing = await (await standin.slash("source", {"name": "nope.txt"})).wait_final()
    assert "no source called" in missing["content"]


async def test_many_sources_are_paged(
    start_bot: BotFactory, standin: DiscordStandIn, workdir: Seed, library: Library
) -> None:
    for number in range(12):
        (workdir.docs / f"note-{number:02}.txt").write_text(f"Note {number}. The river rose by {number} metres.\n")
    library.rebuild()
    async with start_bot():
        listing = await (await standin.slash("sources")).wait_final()
        click = await standin.click(listing, custom_id_of(listing, "Next"))
        await click.wait_response()

    assert only_embed(listing)["footer"]["text"] == "Page 1 of 2"
    second = only_embed(standin.messages[listing["id"]])
    assert second["footer"]["text"] == "Page 2 of 2" and len(second["fields"]) == 3


# -- Discord's limits ----------------------------------------------------------------------------


async def test_long_quotes_fit_discord_limits(
    start_bot: BotFactory, standin: DiscordStandIn, workdir: Seed, make_collections: CollectionsFactory
) -> None:
    clause = "the levee held against the water while engineers measured the flow at the northern gate"
    # Enough paragraphs for several pages of excerpts even when one excerpt spans two of them.
    paragraphs = [f"In survey {n}, engineers reported that " + ", and ".join([clause] * 20) + "." for n in range(16)]
    (workdir.docs / "levee-report.md").write_text(
        "---\ntitle: " + "A very long report title about the levee " * 8 + "\nauthor: River Authority\n"
        "published: 2023-04-05\n---\n\n" + "\n\n".join(paragraphs),
        encoding="utf-8",
    )
    big = make_collections(excerpt_chars=5000, max_excerpts=10)
    big.shared.rebuild()
    question = "What did the engineers report about the levee and the water flow at the northern gate? " * 8

    async with start_bot(collections=big):
        answer = await standin.slash("ask", {"question": question[:990], "private": True})
        final = await answer.wait_final()
        click = await standin.click(final, custom_id_of(final, "More excerpts"))
        await click.wait_response()
        posting = await standin.click(final, custom_id_of(standin.messages[final["id"]], "Post to channel"))
        posted = await posting.wait_final(lambda m: not m["flags"] & EPHEMERAL)

    assert not standin.errors(), [(r.path, r.response) for r in standin.errors()]
    for message in (final, standin.messages[final["id"]], posted):
        embed = only_embed(message)
        assert len(embed["description"]) <= render.DESCRIPTION_LIMIT
        assert len(embed["title"]) <= render.TITLE_LIMIT
        blocks = embed["description"].split("\n\n")
        assert blocks and all(re.match(r"> .+\n— .*River Authority · 2023-04-05", b) for b in blocks), blocks
        assert any(q.endswith("…") for q in answer_quotes(embed["description"]))
        for quote in answer_quotes(embed["description"]):
            assert_verbatim(quote, workdir.docs)
