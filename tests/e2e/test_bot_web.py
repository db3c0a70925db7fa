"""End-to-end: sources from the web through the real discord.py client and the Discord stand-in. A
moderator adds a real article by its address and the bot quotes it; adding it again changes nothing; a
feed is followed, listed with its last poll, polled by the scheduler and removed; a member may not add
feeds; an address that redirects to a private network is refused with a message."""

from __future__ import annotations

import asyncio

import pytest

from bot.cogs.feeds import FeedsCog
from tests.e2e.conftest import BotFactory, CollectionsFactory, Seed, answer_quotes, unescape
from tests.e2e.discord_standin import EPHEMERAL, DiscordStandIn, Payload
from tests.web_server import Response, Site, article_html, http_date, needs_pages, site

__all__ = ["site"]

pytestmark = [pytest.mark.asyncio, needs_pages]

VW_QUESTION = "Which EV is the seventh to use the modular electric drive matrix?"
OXYGEN_QUESTION = "Which news went viral on social media about Delhi pollution?"


def summary(message: Payload) -> bool:
    return "Index rebuilt" in message["content"]


def done(message: Payload) -> bool:
    return summary(message) or "not" in message["content"] or "already" in message["content"]


async def test_a_moderator_adds_a_page_by_its_address_and_the_bot_quotes_it(
    standin: DiscordStandIn, start_bot: BotFactory, make_collections: CollectionsFactory, workdir: Seed, site: Site
) -> None:
    url = site.page("/news/vw-space-vizzion", article_html("vw"))
    collections = make_collections(fetch_allow_networks=("127.0.0.1/32",))
    async with start_bot(collections, ask_rate=100):
        added = await (await standin.slash("source-add", {"url": url}, user="moderator")).wait_final(summary)
        asked = await (await standin.slash("ask", {"question": VW_QUESTION})).wait_final()
        again = await (await standin.slash("source-add", {"url": url + "?utm_source=x"}, user="moderator")).wait_final(
            done
        )
        status = await (await standin.slash("status", user="moderator")).wait_final()

    assert "Added **The VW ID. SPACE VIZZION" in added["content"] and "Added 1" in added["content"]
    quotes = answer_quotes(asked["embeds"][0]["description"])
    assert any("seventh EV" in q for q in quotes)
    generation = collections.library(f"guild-{standin.guild_id}").generation()
    extracted = " ".join(" ".join(generation.text(d.row, 0, 10**7).split()) for d in generation.documents)
    for quote in quotes:  # word for word the page's extracted text (the file is HTML)
        assert unescape(quote).rstrip("…").rstrip() in extracted
    assert url in asked["embeds"][0]["description"]  # the attribution links the page
    assert "has not changed" in again["content"]
    fields = " ".join(f["value"] for f in status["embeds"][0]["fields"])
    assert "1 web pages, fetched <t:" in fields


async def test_a_feed_is_followed_listed_polled_and_removed(
    standin: DiscordStandIn, start_bot: BotFactory, make_collections: CollectionsFactory, site: Site
) -> None:
    site.page("/articles/vw", article_html("vw"))
    site.page("/articles/oxygen", article_html("oxygen"))
    feed_url = site.rss(
        "/feed.xml",
        [("VW", "/articles/vw", http_date(1)), ("Oxygen", "/articles/oxygen", http_date(0))],
        title="Local news",
    )
    collections = make_collections(fetch_allow_networks=("127.0.0.1/32",))
    async with start_bot(collections, ask_rate=100) as bot:
        followed = await (await standin.slash("feed-add", {"url": feed_url}, user="moderator")).wait_final(summary)
        listed = await (await standin.slash("feeds", user="moderator")).wait_final()

        cog: FeedsCog = bot.get_cog("FeedsCog")  # type: ignore[assignment]  # the extension's own module copy
        assert cog is not None
        nothing_due = await cog.poll_due()

        choices = await (
            await standin.autocomplete("feed-remove", {"feed": "local"}, "feed", user="moderator")
        ).wait_choices()
        removed = await (
            await standin.slash("feed-remove", {"feed": choices[0]["value"]}, user="moderator")
        ).wait_final(summary)
        after = await (await standin.slash("ask", {"question": VW_QUESTION})).wait_final()

    assert "Following **Local news**" in followed["content"] and "2 new" in followed["content"]
    field = listed["embeds"][0]["fields"][0]
    assert listed["flags"] & EPHEMERAL and field["name"] == "1. Local news"
    assert (
        "Last poll <t:" in field["value"] and "2 new, 0 updated" in field["value"] and "Next poll <t:" in field["value"]
    )
    assert nothing_due == {}  # polled a moment ago: the scheduler waits for its time
    assert "removed 2 of its articles" in removed["content"] and "removed 2, unchanged" in removed["content"]
    assert not any("seventh EV" in q for q in answer_quotes(after["embeds"][0].get("description", "")))


async def test_the_scheduler_polls_a_due_feed_and_rebuilds_once(
    standin: DiscordStandIn, start_bot: BotFactory, make_collections: CollectionsFactory, site: Site
) -> None:
    site.page("/articles/vw", article_html("vw"))
    site.page("/articles/oxygen", article_html("oxygen"))
    feed_url = site.rss("/feed.xml", [("VW", "/articles/vw", http_date(1))])
    collections = make_collections(fetch_allow_networks=("127.0.0.1/32",), feed_minutes=0.01)
    async with start_bot(collections, ask_rate=100, feed_check_s=0.5):
        await (await standin.slash("feed-add", {"url": feed_url}, user="moderator")).wait_final(summary)
        site.rss("/feed.xml", [("VW", "/articles/vw", http_date(1)), ("Oxygen", "/articles/oxygen", http_date(0))])
        for _ in range(60):
            asked = await (await standin.slash("ask", {"question": OXYGEN_QUESTION})).wait_final()
            if any("oxygen bar" in q.casefold() for q in answer_quotes(asked["embeds"][0].get("description", ""))):
                break
            await asyncio.sleep(0.5)
        else:
            pytest.fail("the scheduler never indexed the feed's new entry")
    assert site.hits("/feed.xml")[-1].headers.get("if-none-match")


async def test_members_may_not_add_feeds_and_private_addresses_are_refused(
    standin: DiscordStandIn, start_bot: BotFactory, make_collections: CollectionsFactory, site: Site
) -> None:
    hop = site.route("/moved", Response(status=302, headers={"Location": "http://192.168.1.1/router"}))
    collections = make_collections(fetch_allow_networks=("127.0.0.1/32",))
    async with start_bot(collections):
        member = await (await standin.slash("feed-add", {"url": site.url("/feed.xml")})).wait_final()
        refused = await (await standin.slash("source-add", {"url": hop}, user="moderator")).wait_final()
        both = await (await standin.slash("source-add", {}, user="moderator")).wait_final()

    assert "not allowed" in member["content"] and site.hits("/feed.xml") == []
    assert "192.168.1.1, a private address" in refused["content"] and refused["flags"] & EPHEMERAL
    assert "either a file or a url" in both["content"]
