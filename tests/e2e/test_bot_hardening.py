"""Issue 14 end to end: a bad source, Discord's outages, hostile downloads and buttons must not hurt
members. Each test drives the real bot through the stand-in, with faults injected where Discord
would fail (the library's half is tests/index/test_hardening.py)."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from index import Library
from tests.e2e.conftest import (
    SEED_DOC,
    BotFactory,
    CollectionsFactory,
    RecordingHandler,
    Seed,
    answer_quotes,
    bot_message_bodies,
)
from tests.e2e.discord_standin import DROP, EPHEMERAL, WEBHOOK_MESSAGE, DiscordStandIn, Payload
from tests.e2e.test_bot_admin import gated_library

pytestmark = pytest.mark.asyncio

FENTANYL = "What do the cartels need to make fentanyl?"
ZERO_DATE = b"---\ntitle: Year zero\npublished: 0000-01-01\n---\n\nThe archive opened in the first year.\n"
RIVER = b"---\ntitle: River notes\n---\n\nVolunteers stacked four thousand sandbags along the bank.\n"
# Short waits so an outage of a second or two is ridden out in the test's time, not in 45 s.
FAST_RETRIES: dict[str, Any] = {"retry_wait_s": 0.05, "retry_wait_max_s": 0.25}
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def summary(message: Payload) -> bool:
    return "Index rebuilt" in message["content"]


def custom_id_of(message: Payload, label: str) -> str:
    """The custom id of the button labelled ``label`` ("More excerpts" also finds "First excerpts")."""
    labels = {label, "First excerpts"} if label == "More excerpts" else {label}
    for row in message["components"]:
        for component in row["components"]:
            if component.get("label") in labels:
                return str(component["custom_id"])
    raise LookupError(f"no button {label!r} in {message['components']}")


def button(message: Payload, label: str) -> Payload:
    return next(c for row in message["components"] for c in row["components"] if c.get("label") == label)


def public(message: Payload) -> bool:
    return not message["flags"] & EPHEMERAL


def as_owner(standin: DiscordStandIn) -> dict[str, Any]:
    """Bot settings that make the stand-in's moderator one of the bot's owners: the shared library
    (the seed) is theirs to rebuild and add to."""
    return {"owner_ids": (int(standin.user("moderator").id),)}


SHARED = {"library": "shared"}


# -- 3. one bad file stops nothing ---------------------------------------------------------------


async def test_a_bad_source_neither_stops_the_bot_nor_later_uploads(
    start_bot: BotFactory, standin: DiscordStandIn, workdir: Seed, library: Library
) -> None:
    (workdir.docs / "year-zero.md").write_bytes(ZERO_DATE)
    shutil.rmtree(workdir.index)  # no index yet: the bot builds one at start, with the bad file in docs/

    async with start_bot(**as_owner(standin)):
        answer = await (await standin.slash("ask", {"question": FENTANYL})).wait_final()
        rebuilt = await (await standin.slash("reindex", SHARED, user="moderator")).wait_final(summary)
        bad = standin.add_attachment("zero year.md", ZERO_DATE, "text/markdown")
        refused = await (await standin.slash("source-add", {"file": bad, **SHARED}, user="moderator")).wait_final()
        good = standin.add_attachment("river.md", RIVER, "text/markdown")
        added = await (await standin.slash("source-add", {"file": good, **SHARED}, user="moderator")).wait_final(
            summary
        )

    assert any("precursor chemicals" in q for q in answer_quotes(answer["embeds"][0]["description"]))
    assert "Skipped `year-zero.md`: its 'published' metadata is not a real date" in rebuilt["content"]
    assert "'zero year.md' was not added: its 'published' metadata is not a real date" in refused["content"]
    assert refused["flags"] & EPHEMERAL
    assert "Added 1" in added["content"] and "`river.md`" in added["content"]
    assert not [p.name for p in workdir.docs.iterdir() if p.name.startswith(".")]


# -- 4. answers through an outage ----------------------------------------------------------------


async def test_an_answer_is_retried_through_an_outage(start_bot: BotFactory, standin: DiscordStandIn) -> None:
    async with start_bot(**FAST_RETRIES):
        outage = standin.fail(f"PATCH {WEBHOOK_MESSAGE}", DROP, times=4)
        interaction = await standin.slash("ask", {"question": FENTANYL})
        final = await interaction.wait_final(lambda m: bool(m["embeds"]), timeout=20)

    assert outage.hits == 4
    assert any("precursor chemicals" in q for q in answer_quotes(final["embeds"][0]["description"]))
    assert not [r for r in standin.requests if r.method == "DELETE"]  # the "thinking…" reply was never deleted
    assert len(interaction.edits()) == outage.hits + 1


async def test_an_answer_that_still_fails_becomes_an_apology(start_bot: BotFactory, standin: DiscordStandIn) -> None:
    async with start_bot(delivery_deadline_s=2, **FAST_RETRIES):
        refused = standin.fail(f"PATCH {WEBHOOK_MESSAGE}", DROP, when=lambda body: bool(body and body.get("embeds")))
        interaction = await standin.slash("ask", {"question": FENTANYL, "private": True})
        final = await interaction.wait_final(timeout=20)

    assert refused.hits >= 3
    assert "did not take the answer" in final["content"] and final["flags"] & EPHEMERAL


# -- 5. a rebuild summary outlives the token -----------------------------------------------------


async def test_a_summary_is_shown_after_the_token_expired(
    start_bot: BotFactory, standin: DiscordStandIn, make_collections: CollectionsFactory
) -> None:
    gated = gated_library()
    standin.token_lifetime = 1.0
    async with start_bot(collections=make_collections(library_class=gated), **FAST_RETRIES, **as_owner(standin)):
        interaction = await standin.slash("reindex", SHARED, user="moderator")
        await interaction.wait_final(lambda m: "Rebuilding" in m["content"])
        await asyncio.sleep(1.2)
        gated.gate.set()
        await standin.wait_for(lambda r: r.route.startswith("PATCH /channels/") or r.route.startswith("POST /chan"))
        await standin._wait_until(
            lambda: True if any(summary(m) for m in standin.messages_in(standin.channel_id)) else None, 15, "summary"
        )

    [shown] = [m for m in standin.messages_in(standin.channel_id) if summary(m)]
    assert "unchanged 1" in shown["content"]
    assert not any("Rebuilding" in m["content"] for m in standin.messages_in(standin.channel_id))
    assert [r.status for r in interaction.edits()][-1] == 401  # the token had expired


# -- 6. metadata that is not what it claims ------------------------------------------------------


async def test_a_masked_link_in_metadata_is_refused(standin: DiscordStandIn, start_bot: BotFactory) -> None:
    upload = b'---\ntitle: Report\nurl: "[Read the full report](https://evil.example/phish)"\n---\n\nThe report.\n'
    async with start_bot():
        attachment = standin.add_attachment("report.md", upload, "text/markdown")
        final = await (await standin.slash("source-add", {"file": attachment}, user="moderator")).wait_final()
        listing = await (await standin.slash("source", {"name": SEED_DOC})).wait_final()

    assert "its 'url' metadata must be an http:// or https:// web address" in final["content"]
    assert not any("evil.example" in str(body) for body in bot_message_bodies(standin))
    assert "](" not in str(listing["embeds"])


# -- 7. downloads from Discord's CDN only, capped --------------------------------------------------


async def test_an_attachment_off_the_cdn_is_not_fetched(
    start_bot: BotFactory, standin: DiscordStandIn, workdir: Seed
) -> None:
    attachment = standin.add_attachment("river.md", RIVER, "text/markdown")
    attachment["url"] = attachment["proxy_url"] = f"http://127.0.0.1:{standin.port}/internal/secret/river.md"
    async with start_bot():
        final = await (await standin.slash("source-add", {"file": attachment}, user="moderator")).wait_final()

    assert "not a file uploaded to Discord" in final["content"] and final["flags"] & EPHEMERAL
    assert not [r for r in standin.requests if "internal" in r.path]
    assert not (workdir.docs / "river.md").exists()


async def test_a_redirect_from_the_cdn_is_not_followed(start_bot: BotFactory, standin: DiscordStandIn) -> None:
    async with start_bot():
        elsewhere = f"http://127.0.0.1:{standin.port}/internal/metadata"
        attachment = standin.add_attachment("river.md", RIVER, "text/markdown", redirect_to=elsewhere)
        final = await (await standin.slash("source-add", {"file": attachment}, user="moderator")).wait_final()

    assert "redirected" in final["content"] and final["flags"] & EPHEMERAL
    assert [r.status for r in standin.requests if r.kind == "cdn"] == [302]
    assert not [r for r in standin.requests if "internal" in r.path]


async def test_a_download_stops_at_the_cap_whatever_the_declared_size(
    start_bot: BotFactory, standin: DiscordStandIn, workdir: Seed
) -> None:
    async with start_bot(max_upload_mb=1):
        attachment = standin.add_attachment(
            "huge.txt", b"flood " * 1000, "text/plain", declared_size=900, streamed_size=200_000_000
        )
        final = await (await standin.slash("source-add", {"file": attachment}, user="moderator")).wait_final()

    assert "'huge.txt' is over the 1 MB limit" in final["content"] and final["flags"] & EPHEMERAL
    assert standin.cdn_bytes_sent < 20_000_000  # stopped early (what the sockets buffered aside), not 200 MB
    assert not (workdir.docs / "huge.txt").exists()


# -- 8. buttons ------------------------------------------------------------------------------------


async def test_another_members_more_excerpts_gets_them_a_private_copy(
    standin: DiscordStandIn, start_bot: BotFactory
) -> None:
    async with start_bot():
        answer = await (await standin.slash("ask", {"question": FENTANYL})).wait_final()
        other = await standin.click(answer, custom_id_of(answer, "More excerpts"), user="moderator")
        copy = await other.wait_final()
        paged = await standin.click(copy, custom_id_of(copy, "More excerpts"), user="moderator")
        await paged.wait_response()

    assert standin.messages[answer["id"]]["embeds"] == answer["embeds"]  # the public answer did not change
    assert copy["flags"] & EPHEMERAL and copy["id"] != answer["id"]
    assert copy["embeds"][0]["footer"]["text"] != answer["embeds"][0]["footer"]["text"]
    assert "Post to channel" not in str(copy["components"])
    assert standin.messages[copy["id"]]["embeds"] != copy["embeds"]  # its owner pages the copy


async def test_post_to_channel_posts_once_and_is_disabled(standin: DiscordStandIn, start_bot: BotFactory) -> None:
    async with start_bot():
        private = await (await standin.slash("ask", {"question": FENTANYL, "private": True})).wait_final()
        post = custom_id_of(private, "Post to channel")
        first, second = await asyncio.gather(standin.click(private, post), standin.click(private, post))
        await first.wait_response()
        await second.wait_response()
        await standin._wait_until(
            lambda: True if [m for m in standin.messages_in(standin.channel_id) if m["embeds"]] else None, 15, "post"
        )
        await asyncio.sleep(0.3)
        again = await (await standin.click(private, post)).wait_final(lambda m: "already" in m["content"])

    posts = [m for m in standin.messages_in(standin.channel_id) if m["embeds"]]
    assert len(posts) == 1 and posts[0]["embeds"][0]["author"]["name"].startswith("Asked by")
    assert button(standin.messages[private["id"]], "Posted to the channel")["disabled"] is True
    assert again["flags"] & EPHEMERAL


async def test_buttons_work_after_a_restart(standin: DiscordStandIn, start_bot: BotFactory) -> None:
    async with start_bot():
        answer = await (await standin.slash("ask", {"question": FENTANYL})).wait_final()
    async with start_bot():
        click = await standin.click(answer, custom_id_of(answer, "More excerpts"))
        await click.wait_response()
        stale = dict(answer, components=[{"type": 1, "components": [dict(button(answer, "More excerpts"))]}])
        stale["components"][0]["components"][0]["custom_id"] = "onrecord:more:0123456789abcdef:1"
        standin.messages[answer["id"] + "0"] = {**stale, "id": answer["id"] + "0"}
        gone = await (
            await standin.click(standin.messages[answer["id"] + "0"], "onrecord:more:0123456789abcdef:1")
        ).wait_final()

    assert [c.status < 400 for c in click.callbacks()] == [True]
    assert standin.messages[answer["id"]]["embeds"][0]["footer"]["text"] != answer["embeds"][0]["footer"]["text"]
    assert "no longer kept" in gone["content"] and gone["flags"] & EPHEMERAL


# -- 9. small ones ---------------------------------------------------------------------------------


async def test_find_sources_shares_the_question_rate(start_bot: BotFactory, standin: DiscordStandIn) -> None:
    target = await standin.post_message("Cartels only need precursor chemicals to make it", mention_bot=False)
    async with start_bot(ask_rate=1, ask_per_seconds=60):
        await (await standin.slash("ask", {"question": FENTANYL})).wait_final()
        refused = [await (await standin.context_menu("Find sources", target)).wait_final() for _ in range(3)]
        who = await (await standin.context_menu("Who said this?", target)).wait_final()

    for final in [*refused, who]:
        assert re.search(r"try again in \d+ s", final["content"]) and final["flags"] & EPHEMERAL


async def test_bidi_controls_never_reach_a_message(
    start_bot: BotFactory, standin: DiscordStandIn, workdir: Seed, library: Library
) -> None:
    (workdir.docs / f"ferry{BIDI[:3]}.md").write_text(
        f"---\ntitle: The ferry{BIDI} timetable\nauthor: Harbour{BIDI} Office\n---\n\n"
        f"The ferry{BIDI[4:8]} leaves the harbour at dawn every day.\n",
        "utf-8",
    )
    library.rebuild()
    async with start_bot():
        asked = await standin.slash("ask", {"question": f"When{BIDI} does the ferry leave the harbour?"})
        answer = await asked.wait_final()
        await (await standin.slash("sources")).wait_final()
        await (await standin.slash("reindex", user="moderator")).wait_final(summary)

    assert "dawn" in answer["embeds"][0]["description"]
    bodies = bot_message_bodies(standin)
    assert bodies and not [b for b in bodies if re.search(f"[{BIDI}]", str(b))]


async def test_no_server_path_in_the_summary_after_index_damage(
    standin: DiscordStandIn, start_bot: BotFactory, workdir: Seed, log_errors: RecordingHandler
) -> None:
    async with start_bot(**as_owner(standin)):
        database = workdir.index / (workdir.index / "CURRENT").read_text().strip() / "library.sqlite"
        data = bytearray(database.read_bytes())
        data[len(data) // 2 : len(data) // 2 + 16] = bytes(16)
        database.write_bytes(bytes(data))
        final = await (await standin.slash("reindex", SHARED, user="moderator")).wait_final(summary)
    # The damage is logged as an error, as it should be; it is this test's doing.
    log_errors.records[:] = [r for r in log_errors.records if "is damaged" not in r.getMessage()]

    assert "damaged" in final["content"] and public(final)
    root = str(Path(workdir.index).resolve().parent)
    assert not [b for b in bot_message_bodies(standin) if root in str(b) or "/tmp/" in str(b)]
