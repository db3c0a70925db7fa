"""Feeds a collection follows: RSS, Atom and sitemaps from a local site serving the evaluation's real
pages; polls with ETag, an updated article, the entry count and date window, a removed feed gone from
the next generation, malformed and entity-laden XML refused, a failing feed backing off."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from index.collections import Collections, guild_collection
from index.feeds import Entry, FeedError, newest
from index.web import FetchError
from tests.index.test_web import collections_for, first_sentence
from tests.web_server import Response, Site, article_html, http_date, needs_pages, site, truth_body

__all__ = ["site"]

GUILD = guild_collection(7)
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<rss version="2.0"><channel><title>&d;</title></channel></rss>"""
EXTERNAL = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>&x;</title></channel></rss>"""


def serve_articles(site: Site, names: list[str]) -> list[tuple[str, str, str]]:
    items = []
    for age, name in enumerate(names):
        site.page(f"/articles/{name}", article_html(name))
        items.append((name, f"/articles/{name}", http_date(days_ago=age + 0.5)))
    return items


def texts(collections: Collections, collection: str) -> str:
    generation = collections.library(collection).generation()
    return " ".join(generation.text(d.row, 0, 10**7) for d in generation.documents)


@needs_pages
def test_a_feed_is_followed_polled_with_its_etag_and_an_updated_article_refetched(tmp_path: Path, site: Site) -> None:
    collections = collections_for(tmp_path)
    feeds = collections.feeds(GUILD)
    items = serve_articles(site, ["vw", "oxygen", "royal"])
    feed_url = site.rss("/feed.xml", items, title="Local news")

    first = feeds.add(feed_url)
    report = collections.library(GUILD).rebuild()  # one rebuild for the whole poll

    assert first.changed and len(first.added) == 3 and first.failed == []
    assert sorted(report.added) == sorted(a.doc for a in first.added)
    [feed] = feeds.followed()
    assert (feed.title, feed.last_result, feed.failures) == ("Local news", "3 new, 0 updated, 0 unchanged", 0)
    assert feed.etag and feed.next_poll is not None and feed.next_poll > dt.datetime.now(dt.UTC)
    for name in ("vw", "oxygen", "royal"):
        assert first_sentence(truth_body(name)) in texts(collections, GUILD)

    again = feeds.poll(feed)
    assert again.not_modified and not again.changed
    assert site.hits("/feed.xml")[-1].headers["if-none-match"] == feed.etag
    assert len(site.hits("/articles/vw")) == 1  # nothing re-fetched

    html = article_html("royal").replace("Prince Andrew", "Prince Andrew, the Duke of York,")
    site.page("/articles/royal", html)
    items[2] = ("royal", "/articles/royal", http_date(days_ago=0))  # the feed dates the update
    site.rss("/feed.xml", items)
    updated = feeds.poll(feed)
    assert [a.outcome for a in updated.refreshed] == ["refreshed"] and updated.added == []
    assert len(site.hits("/articles/vw")) == 1 and len(site.hits("/articles/royal")) == 2
    collections.library(GUILD).rebuild()
    assert "Prince Andrew, the Duke of York," in texts(collections, GUILD)
    assert len(collections.library(GUILD).sources()) == 3


@needs_pages
def test_a_removed_feed_is_gone_from_the_next_generation(tmp_path: Path, site: Site) -> None:
    collections = collections_for(tmp_path)
    feeds = collections.feeds(GUILD)
    feeds.add(site.rss("/feed.xml", serve_articles(site, ["vw", "oxygen"])))
    by_hand = collections.web(GUILD).add(site.page("/articles/deals", article_html("deals")))
    collections.library(GUILD).rebuild()
    assert len(collections.library(GUILD).sources()) == 3

    feed, removed = feeds.remove(site.url("/feed.xml"))
    report = collections.library(GUILD).rebuild()

    assert len(removed) == 2 and sorted(report.removed) == sorted(removed)
    assert [s.doc_id for s in collections.library(GUILD).sources()] == [by_hand.doc]  # added by hand: stays
    assert feeds.followed() == []
    assert first_sentence(truth_body("vw")) not in texts(collections, GUILD)
    with pytest.raises(FeedError, match="follows no feed"):
        feeds.remove(feed.id)


@needs_pages
def test_a_page_a_moderator_removed_does_not_come_back_with_its_feed(tmp_path: Path, site: Site) -> None:
    collections = collections_for(tmp_path)
    feeds = collections.feeds(GUILD)
    result = feeds.add(site.rss("/feed.xml", serve_articles(site, ["vw", "oxygen"])))
    gone = result.added[0].doc
    collections.library(GUILD).remove_source(gone)
    assert collections.web(GUILD).forget(gone)

    site.rss("/feed.xml", [*serve_articles(site, ["vw", "oxygen"]), ("x", "/articles/vw?utm_source=rss", http_date())])
    later = feeds.poll(feeds.followed()[0])
    collections.library(GUILD).rebuild()
    assert not later.changed
    assert gone not in {s.doc_id for s in collections.library(GUILD).sources()}


@needs_pages
def test_the_entry_count_and_date_window_bound_what_is_fetched(tmp_path: Path, site: Site) -> None:
    collections = collections_for(tmp_path)
    items = serve_articles(site, ["vw", "oxygen", "royal"])
    items[0] = ("vw", "/articles/vw", http_date(days_ago=90))  # outside a 30-day window
    result = collections.feeds(GUILD).add(site.rss("/feed.xml", items), max_items=1, max_age_days=30)
    assert [a.url.rsplit("/", 1)[1] for a in result.added] == ["oxygen"]  # the newest in the window only
    assert site.hits("/articles/vw") == [] and site.hits("/articles/royal") == []


def test_newest_keeps_the_window_newest_first_and_one_entry_per_page() -> None:
    now = dt.datetime(2026, 1, 31, tzinfo=dt.UTC)
    entries = [
        Entry("http://a.example/1", now - dt.timedelta(days=2)),
        Entry("http://a.example/2?utm_source=x", now - dt.timedelta(days=1)),
        Entry("http://a.example/2", now - dt.timedelta(days=1)),
        Entry("http://a.example/old", now - dt.timedelta(days=40)),
        Entry("http://a.example/undated", None),
    ]
    kept = newest(entries, max_items=10, max_age_days=30, now=now)
    assert [e.url for e in kept] == [
        "http://a.example/2?utm_source=x",
        "http://a.example/1",
        "http://a.example/undated",
    ]


@needs_pages
def test_atom_feeds_sitemaps_and_sitemap_indexes_are_followed(tmp_path: Path, site: Site) -> None:
    collections = collections_for(tmp_path)
    serve_articles(site, ["vw", "oxygen", "royal"])
    atom = site.route("/atom.xml", Response(
        b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Atom news</title>'
        b'<id>urn:x</id><updated>2026-01-01T00:00:00Z</updated><entry><title>VW</title><id>urn:vw</id>'
        b'<link href="/articles/vw"/><updated>' + dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
        + b"</updated></entry></feed>", content_type="application/atom+xml"))  # fmt: skip
    today = dt.date.today().isoformat()
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    site.route("/sitemap-news.xml", Response(
        f'<?xml version="1.0"?><urlset {ns}><url><loc>{site.url("/articles/oxygen")}</loc><lastmod>{today}</lastmod>'
        f"</url><url><loc>{site.url('/articles/royal')}</loc></url></urlset>".encode(),
        content_type="application/xml"))  # fmt: skip
    index = site.route("/sitemap.xml", Response(
        f'<?xml version="1.0"?><sitemapindex {ns}><sitemap><loc>{site.url("/sitemap-news.xml")}</loc></sitemap>'
        "</sitemapindex>".encode(), content_type="application/xml"))  # fmt: skip
    feeds = collections.feeds(GUILD)

    from_atom = feeds.add(atom)
    from_sitemap = feeds.add(index)

    assert [a.url for a in from_atom.added] == [site.url("/articles/vw")]
    assert sorted(a.url for a in from_sitemap.added) == [site.url("/articles/oxygen"), site.url("/articles/royal")]
    assert [f.title for f in feeds.followed()] == ["Atom news", None]
    with pytest.raises(FeedError, match="already"):
        feeds.add(atom)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<?xml version='1.0'?><rss><channel><title>Broken</title><item></channel></rss>", "malformed"),
        (BILLION_LAUGHS, "declares XML entities"),
        (EXTERNAL, "declares XML entities|external"),
        (b"<html><body><p>Not a feed at all.</p></body></html>", "not an RSS, Atom or sitemap|malformed"),
        (b"", "malformed"),
    ],
)
def test_malformed_or_unsafe_xml_is_refused_and_not_followed(tmp_path: Path, site: Site, body: bytes, why: str) -> None:
    collections = collections_for(tmp_path)
    url = site.route("/feed.xml", Response(body, content_type="application/rss+xml"))
    with pytest.raises(FeedError, match=why):
        collections.feeds(GUILD).add(url)
    assert collections.feeds(GUILD).followed() == []


def test_an_enormous_feed_is_cut_off(tmp_path: Path, site: Site) -> None:
    collections = collections_for(tmp_path, fetch_max_mb=0.2)
    url = site.route("/feed.xml", Response(endless=True, content_type="application/rss+xml"))
    with pytest.raises(FetchError, match=r"larger than 0\.2 MB"):
        collections.feeds(GUILD).add(url)


@needs_pages
def test_a_failing_feed_backs_off_and_says_why(tmp_path: Path, site: Site) -> None:
    collections = collections_for(tmp_path, feed_minutes=10)
    feeds = collections.feeds(GUILD)
    feeds.add(site.rss("/feed.xml", serve_articles(site, ["vw"])))
    site.route("/feed.xml", Response(b"oops", status=500, content_type="text/plain"))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    first = feeds.poll(feeds.followed()[0], now=now)
    second = feeds.poll(feeds.followed()[0], now=now)

    assert first.error is not None and "answered 500" in first.error
    feed = feeds.followed()[0]
    assert feed.failures == 2 and feed.last_result is not None and feed.last_result.startswith("failed: ")
    assert feed.next_poll == now + dt.timedelta(minutes=40)  # 10 min doubled per failure
    assert feeds.due(now) == [] and feeds.due(now + dt.timedelta(minutes=41)) == [feed]
    assert second.error == first.error
    site.rss("/feed.xml", serve_articles(site, ["vw"]))
    assert feeds.poll(feed, now=now).error is None and feeds.followed()[0].failures == 0
