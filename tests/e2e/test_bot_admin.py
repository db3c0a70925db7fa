"""End-to-end: moderators manage the sources through the real bot and the Discord stand-in.

Who may run the moderator commands is checked by the bot itself (the stand-in, like a server whose
admins changed the defaults, lets anyone invoke them). /reindex edits its reply into a summary while
questions keep being answered; /source-add reads an upload from the CDN (retrying a failure) and
/source-remove takes a document out again.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bot.app import OnRecordBot
from index import BuildError, BuildReport, Library
from tests.e2e.conftest import (
    SEED_DOC,
    BotFactory,
    CollectionsFactory,
    Seed,
    answer_quotes,
    assert_verbatim,
    guild_docs,
)
from tests.e2e.discord_standin import DEFERRED_MESSAGE, EPHEMERAL, DiscordStandIn, Payload

pytestmark = pytest.mark.asyncio

MODERATOR_COMMANDS: dict[str, dict[str, Any]] = {
    "reindex": {},
    "source-remove": {"name": SEED_DOC},
    "status": {},
}
RIVER_NOTES = (
    b"---\ntitle: Field notes on the Vasse river\nauthor: Hydrology Desk\npublished: 2024-03-02\n---\n\n"
    b"The Vasse river flooded the lower orchards after three days of rain.\n\n"
    b"Volunteers stacked four thousand sandbags along the eastern bank to protect the mill.\n"
)
RIVER_QUESTION = "How many sandbags did volunteers stack along the river bank?"


def summary(message: Payload) -> bool:
    return "Index rebuilt" in message["content"]


class GatedLibrary(Library):
    """A library whose rebuilds wait for the test to open the gate, so a test can act meanwhile.
    The gate belongs to the class: make a fresh one per test with `gated_library`."""

    gate: threading.Event
    waiting: threading.Event

    def rebuild(self, progress: Any = None) -> BuildReport:
        self.waiting.set()
        self.gate.wait(timeout=20)
        return super().rebuild(progress=progress)


def gated_library() -> type[GatedLibrary]:
    return type("Gated", (GatedLibrary,), {"gate": threading.Event(), "waiting": threading.Event()})


# -- who may ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", sorted(MODERATOR_COMMANDS))
async def test_members_are_refused_moderator_commands(
    standin: DiscordStandIn, bot: OnRecordBot, workdir: Seed, command: str
) -> None:
    interaction = await standin.slash(command, MODERATOR_COMMANDS[command], user="member")

    final = await interaction.wait_final()

    assert "not allowed" in final["content"] and "Manage Server" in final["content"]
    assert final["flags"] & EPHEMERAL
    assert (workdir.docs / SEED_DOC).exists()


async def test_member_cannot_add_a_source(standin: DiscordStandIn, bot: OnRecordBot, workdir: Seed) -> None:
    attachment = standin.add_attachment("river.md", RIVER_NOTES, "text/markdown")

    final = await (await standin.slash("source-add", {"file": attachment}, user="member")).wait_final()

    assert "not allowed" in final["content"] and final["flags"] & EPHEMERAL
    assert not (workdir.docs / "river.md").exists()
    assert not [r for r in standin.requests if r.kind == "cdn"]


async def test_role_id_in_the_settings_may_reindex(start_bot: BotFactory, standin: DiscordStandIn) -> None:
    async with start_bot():
        without_setting = await (await standin.slash("reindex", user="rolemod")).wait_final()
    async with start_bot(moderator_role=int(standin.moderator_role_id)):
        with_setting = await standin.slash("reindex", user="rolemod")
        done = await with_setting.wait_final(summary)

    assert "not allowed" in without_setting["content"]
    assert "Index rebuilt" in done["content"]


async def test_moderator_reindex_edits_the_reply_into_a_summary(standin: DiscordStandIn, bot: OnRecordBot) -> None:
    interaction = await standin.slash("reindex", user="moderator")

    first = await interaction.wait_response()
    done = await interaction.wait_final(summary)

    assert first.json["type"] == DEFERRED_MESSAGE
    assert not done["flags"] & EPHEMERAL
    for word in ("Added 0", "changed 0", "removed 0", "skipped 0", "unchanged 0"):  # the server's own: empty
        assert word in done["content"], word
    assert interaction.edits() and all(e.status == 200 for e in interaction.edits())


async def test_questions_are_answered_while_reindex_runs(
    start_bot: BotFactory, standin: DiscordStandIn, make_collections: CollectionsFactory
) -> None:
    gated = gated_library()
    async with start_bot(collections=make_collections(library_class=gated)):
        rebuild = await standin.slash("reindex", user="moderator")
        await rebuild.wait_final(lambda m: "Rebuilding" in m["content"])
        question = await standin.slash("ask", {"question": "What do the cartels need to make fentanyl?"})
        answered = await question.wait_final()
        second = await (await standin.slash("reindex", user="moderator")).wait_final()
        adding = standin.add_attachment("river.md", RIVER_NOTES, "text/markdown")
        refused_add = await (await standin.slash("source-add", {"file": adding}, user="moderator")).wait_final()
        assert gated.waiting.is_set() and not summary(rebuild.final_message())
        progress = await rebuild.wait_final(lambda m: "starting" in m["content"], timeout=5)
        gated.gate.set()
        done = await rebuild.wait_final(summary)

    assert any("precursor chemicals" in q for q in answer_quotes(answered["embeds"][0]["description"]))
    assert "already running" in second["content"] and second["flags"] & EPHEMERAL
    assert "already running" in refused_add["content"] and refused_add["flags"] & EPHEMERAL
    assert progress["content"] == "Rebuilding the index… starting…"
    assert "Index rebuilt" in done["content"]


class BrokenLibrary(Library):
    """A library whose rebuilds fail the way a full disk would."""

    def rebuild(self, progress: Any = None) -> BuildReport:
        raise BuildError("The index could not be written: no space left on the device.")


async def test_failed_rebuild_is_reported_to_the_moderator_alone(
    start_bot: BotFactory, standin: DiscordStandIn, make_collections: CollectionsFactory
) -> None:
    async with start_bot(collections=make_collections(library_class=BrokenLibrary)):
        interaction = await standin.slash("reindex", user="moderator")
        final = await interaction.wait_final(lambda m: "no space left" in m["content"])

    assert final["flags"] & EPHEMERAL
    assert interaction.original_id not in standin.messages  # no public "Rebuilding…" left behind


# -- adding and removing sources -------------------------------------------------------------------


async def test_added_source_is_quoted_then_removed(standin: DiscordStandIn, bot: OnRecordBot, workdir: Seed) -> None:
    attachment = standin.add_attachment("River notes.md", RIVER_NOTES, "text/markdown")
    standin.fail_next_cdn = 1

    added = await standin.slash("source-add", {"file": attachment}, user="moderator")
    report = await added.wait_final(summary)
    answer = await (await standin.slash("ask", {"question": RIVER_QUESTION})).wait_final()

    assert [r.status for r in standin.requests if r.kind == "cdn"] == [503, 200]
    assert "Added 1" in report["content"] and "River-notes.md" in report["content"]
    embed = answer["embeds"][0]
    quotes = answer_quotes(embed["description"])
    assert any("four thousand sandbags" in q for q in quotes)
    for quote in quotes:
        assert_verbatim(quote, workdir.docs, guild_docs(standin, workdir))
    assert "Field notes on the Vasse river" in embed["description"] and "Hydrology Desk" in embed["description"]
    assert "this server's library" in embed["description"]  # both libraries serve: each excerpt says which

    choices = await (
        await standin.autocomplete("source-remove", {"name": "river"}, "name", user="moderator")
    ).wait_choices()
    [doc_id] = [c["value"] for c in choices]
    removed = await (await standin.slash("source-remove", {"name": doc_id}, user="moderator")).wait_final(summary)
    after = await (await standin.slash("ask", {"question": RIVER_QUESTION})).wait_final()

    assert "removed 1" in removed["content"] and f"Removed: `{doc_id}`" in removed["content"]
    assert (guild_docs(standin, workdir) / doc_id).exists() is False
    assert (workdir.docs / SEED_DOC).exists()  # the shared library is not the server's to change
    assert "sandbags" not in after["embeds"][0]["description"]


async def test_unsupported_upload_is_refused(standin: DiscordStandIn, bot: OnRecordBot, workdir: Seed) -> None:
    attachment = standin.add_attachment("setup.exe", b"MZ\x90\x00binary", "application/octet-stream")

    interaction = await standin.slash("source-add", {"file": attachment}, user="moderator")
    final = await interaction.wait_final()

    assert "not a supported type" in final["content"] and final["flags"] & EPHEMERAL
    assert [c.json["type"] for c in interaction.callbacks()] == [4]
    assert not [r for r in standin.requests if r.kind == "cdn"]
    assert not list(guild_docs(standin, workdir).glob("*"))


async def test_upload_over_the_size_limit_is_refused(start_bot: BotFactory, standin: DiscordStandIn) -> None:
    attachment = standin.add_attachment("river.md", RIVER_NOTES, "text/markdown")

    async with start_bot(max_upload_mb=0.0001):
        final = await (await standin.slash("source-add", {"file": attachment}, user="moderator")).wait_final()

    assert "over the 0.0001 MB limit" in final["content"] and final["flags"] & EPHEMERAL
    assert not [r for r in standin.requests if r.kind == "cdn"]


async def test_unreadable_upload_is_refused_privately(standin: DiscordStandIn, bot: OnRecordBot, workdir: Seed) -> None:
    attachment = standin.add_attachment("notes.txt", b"\x00\x01\x02\xff" * 64, "text/plain")

    interaction = await standin.slash("source-add", {"file": attachment}, user="moderator")
    final = await interaction.wait_final(lambda m: "not added" in m["content"])

    assert final["flags"] & EPHEMERAL
    assert interaction.original_id not in standin.messages  # the public "thinking…" is gone
    assert not (guild_docs(standin, workdir) / "notes.txt").exists()


@pytest.mark.parametrize("name", ["nope.txt", "../index/CURRENT", "/etc/hostname"])
async def test_removing_an_unknown_source_says_so(
    standin: DiscordStandIn, bot: OnRecordBot, workdir: Seed, name: str
) -> None:
    final = await (await standin.slash("source-remove", {"name": name}, user="moderator")).wait_final()

    assert "no source file called" in final["content"] and final["flags"] & EPHEMERAL
    assert (workdir.index / "CURRENT").exists()


async def test_status_shows_counts(standin: DiscordStandIn, bot: OnRecordBot) -> None:
    await (await standin.slash("ask", {"question": "What do the cartels need to make fentanyl?"})).wait_final()
    await (await standin.slash("ask", {"question": "How do I bake sourdough bread?"})).wait_final()

    final = await (await standin.slash("status", user="moderator")).wait_final()

    fields = {f["name"]: f["value"] for f in final["embeds"][0]["fields"]}
    assert final["flags"] & EPHEMERAL
    assert fields["This server's library"] == "Nothing indexed yet."
    assert fields["Shared library"].startswith("1 documents")
    assert fields["Answered / abstained"] == "1 / 1"
    assert "MiniLM" in fields["Model"]
