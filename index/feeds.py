"""Feeds a collection follows: RSS and Atom (read with feedparser) and sitemaps, polled on a schedule.

A feed is a row of the collection's state database (``feeds``): its address, how often it is polled
(``feed_minutes`` or its own ``minutes``), how many of its newest entries are indexed (``max_items``) and
how old they may be (``max_age_days``), its HTTP validators and what its last poll did. A poll asks with
``If-None-Match`` / ``If-Modified-Since``; a 304 costs nothing more. Otherwise the entries in the window are
read newest first: a new one is fetched and saved (`web.WebSources.add`), one whose date in the feed
changed is fetched again (refreshed only when its text changed), the others are left alone. The caller
rebuilds the index once per poll when `PollResult.changed`. A failing feed waits twice as long after each
failure (at most ``feed_max_backoff_minutes``) and says why in ``last_result``.

Every document is checked as XML before any parser sees it: it must be well-formed and declare no
entities (defusedxml: no "billion laughs", no external entities), within the fetcher's byte cap.
Malformed, oversized or entity-laden feeds are refused with the reason, never parsed leniently.
Entries beyond the window are not fetched; pages already indexed stay until the feed is removed
(`Feeds.remove` removes the feed's pages with it) or a moderator removes them (and then stay removed).
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from .errors import SourceError
from .settings import IndexSettings
from .web import Added, FetchError, Page, WebSources, canonical_url, check_url, parse_time, utcnow

log = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, application/rdf+xml;q=0.8,"
    " */*;q=0.1"
)
MAX_ENTRIES_READ = 5_000  # entries (or sitemap URLs) looked at in one document
MAX_CHILD_SITEMAPS = 10  # of a sitemap index, the newest ones
MAX_RESULT_CHARS = 300
_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


class FeedError(FetchError):
    """A feed cannot be followed: not a feed, malformed or unsafe XML, already followed, unknown."""


@dataclass(frozen=True)
class Entry:
    """One article a feed lists: its address and its date there (updated, else published), if any."""

    url: str
    date: dt.datetime | None

    @property
    def stamp(self) -> str | None:
        return self.date.isoformat(timespec="seconds") if self.date else None


@dataclass(frozen=True)
class Parsed:
    kind: str  # "rss", "atom", "sitemap" or "sitemap index"
    title: str | None
    entries: list[Entry]


@dataclass(frozen=True)
class Feed:
    """A followed feed as stored, with its schedule."""

    id: int
    url: str
    title: str | None
    minutes: float  # the interval in force (its own, else the default)
    own_minutes: float | None
    max_items: int
    max_age_days: float
    etag: str | None
    last_modified: str | None
    added_at: dt.datetime | None
    last_poll: dt.datetime | None
    last_result: str | None
    last_ok: dt.datetime | None
    failures: int
    next_poll: dt.datetime | None


@dataclass
class PollResult:
    """What one poll did."""

    feed: Feed
    added: list[Added] = field(default_factory=list)
    refreshed: list[Added] = field(default_factory=list)
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)
    not_modified: bool = False
    error: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.added or self.refreshed)

    def summary(self) -> str:
        if self.error is not None:
            return f"failed: {self.error}"
        if self.not_modified:
            return "not modified"
        text = f"{len(self.added)} new, {len(self.refreshed)} updated, {self.unchanged} unchanged"
        if self.failed:
            text += f", {len(self.failed)} could not be fetched"
        return text


# -- reading feed documents ------------------------------------------------------------------------


def checked_xml(data: bytes, url: str) -> Any:
    """``data`` parsed as XML with no entity declarations and no external references, or `FeedError`."""
    from xml.etree.ElementTree import ParseError

    import defusedxml
    import defusedxml.ElementTree as safe_tree

    try:
        return safe_tree.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.EntitiesForbidden as error:
        raise FeedError(f"{url[:200]} was refused: it declares XML entities, which a feed has no need of.") from error
    except defusedxml.DefusedXmlException as error:
        raise FeedError(f"{url[:200]} was refused: it refers to external XML documents.") from error
    except ParseError as error:
        raise FeedError(f"{url[:200]} is not a feed: its XML is malformed ({error}).") from error
    except RecursionError as error:
        raise FeedError(f"{url[:200]} was refused: its XML is nested too deeply.") from error


def parse(page: Page) -> Parsed:
    """The entries of an RSS, Atom or sitemap document. Raises `FeedError` for anything else."""
    root = checked_xml(page.body, page.url)
    tag = root.tag.rpartition("}")[2] if isinstance(root.tag, str) else ""
    if tag in ("urlset", "sitemapindex"):
        return _sitemap(root, page.url, tag)
    if tag not in ("rss", "feed", "RDF", "channel"):
        raise FeedError(f"{page.url[:200]} is not an RSS, Atom or sitemap document (it is <{tag[:40]}>).")
    import feedparser

    # A stream, never bytes or a string: given those, feedparser may open a file or a URL of that name.
    parsed = feedparser.parse(
        io.BytesIO(page.body),
        response_headers={"content-location": page.url, "content-type": page.content_type or "application/xml"},
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    entries: list[Entry] = []
    for item in parsed.entries[:MAX_ENTRIES_READ]:
        link = item.get("link") or (item.get("id") if str(item.get("id", "")).startswith("http") else None)
        if not link:
            continue
        # dict.get: feedparser's own get warns when it maps a missing "updated" to "published".
        stamp = dict.get(item, "updated_parsed") or dict.get(item, "published_parsed")
        date = dt.datetime.fromtimestamp(calendar.timegm(stamp), dt.UTC) if stamp else None
        entries.append(Entry(urljoin(page.url, str(link).strip()), date))
    kind = "atom" if tag == "feed" else "rss"
    return Parsed(kind, _short(parsed.feed.get("title")), entries)


def _sitemap(root: Any, url: str, tag: str) -> Parsed:
    child = "sitemap" if tag == "sitemapindex" else "url"
    entries: list[Entry] = []
    for element in root.iter():
        if len(entries) >= MAX_ENTRIES_READ:
            break
        if not isinstance(element.tag, str) or element.tag.rpartition("}")[2] != child:
            continue
        loc = _child_text(element, "loc")
        if loc:
            entries.append(Entry(urljoin(url, loc), parse_time(_child_text(element, "lastmod"))))
    return Parsed("sitemap index" if tag == "sitemapindex" else "sitemap", None, entries)


def _child_text(element: Any, name: str) -> str | None:
    for child in element:
        if isinstance(child.tag, str) and child.tag.rpartition("}")[2] == name:
            return (child.text or "").strip() or None
    return None


def _short(value: object) -> str | None:
    text = " ".join(str(value or "").split())
    return text[:200] or None


def newest(entries: Sequence[Entry], *, max_items: int, max_age_days: float, now: dt.datetime) -> list[Entry]:
    """The entries within the window, newest first (undated ones after, in the feed's order), one per page."""
    cutoff = now - dt.timedelta(days=max_age_days)
    seen: set[str] = set()
    kept: list[Entry] = []
    for entry in entries:
        try:
            key = canonical_url(entry.url)
        except FetchError:
            continue
        if key in seen or (entry.date is not None and entry.date < cutoff):
            continue
        seen.add(key)
        kept.append(entry)
    oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
    kept.sort(key=lambda e: e.date or oldest, reverse=True)  # stable: undated keep the feed's order
    return kept[:max_items]


# -- a collection's feeds --------------------------------------------------------------------------


class Feeds:
    """The feeds of one collection, and their polls."""

    def __init__(self, web: WebSources, settings: IndexSettings) -> None:
        self.web = web
        self.settings = settings
        self.state = web.state

    # -- the list --------------------------------------------------------------------------------

    def followed(self) -> list[Feed]:
        with self.state.transaction() as db:
            rows = db.execute("SELECT * FROM feeds ORDER BY id").fetchall()
            columns = [c[0] for c in db.execute("SELECT * FROM feeds LIMIT 0").description]
        return [self._feed(dict(zip(columns, row, strict=True))) for row in rows]

    def find(self, ref: str | int) -> Feed:
        """A feed by its number or its address. Raises `FeedError`."""
        text = str(ref).strip()
        for feed in self.followed():
            if text == str(feed.id) or text == feed.url or _same(text, feed.url):
                return feed
        raise FeedError(f"This library follows no feed {text[:200]!r}; see /feeds.")

    def _feed(self, row: dict[str, Any]) -> Feed:
        own = row["minutes"]
        return Feed(
            id=int(row["id"]), url=row["url"], title=row["title"], minutes=float(own or self.settings.feed_minutes),
            own_minutes=own, max_items=int(row["max_items"]), max_age_days=float(row["max_age_days"]),
            etag=row["etag"], last_modified=row["last_modified"], added_at=parse_time(row["added_at"]),
            last_poll=parse_time(row["last_poll"]), last_result=row["last_result"], last_ok=parse_time(row["last_ok"]),
            failures=int(row["failures"]), next_poll=parse_time(row["next_poll"]),
        )  # fmt: skip

    def add(
        self,
        url: str,
        *,
        minutes: float | None = None,
        max_items: int | None = None,
        max_age_days: float | None = None,
        now: dt.datetime | None = None,
    ) -> PollResult:
        """Follow the feed at ``url`` and poll it now (its pages saved, not yet indexed: the caller
        rebuilds when the result says it changed). A document that is no feed is refused, not followed."""
        now = now or utcnow()
        url = check_url(url)
        if (minutes is not None and minutes <= 0) or (max_items is not None and max_items < 1):
            raise FeedError("A feed's interval and number of entries must be positive.")
        if max_age_days is not None and max_age_days <= 0:
            raise FeedError("A feed's date window must be at least part of a day.")
        if any(_same(url, f.url) for f in self.followed()):
            raise FeedError(f"This library follows {url[:200]} already.")
        page = self.web.fetcher.get(url, accept=FEED_ACCEPT)
        parsed = parse(page)
        with self.state.transaction() as db:
            cursor = db.execute(
                "INSERT INTO feeds (url, title, minutes, max_items, max_age_days, added_at, next_poll)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (url, parsed.title, minutes, max_items or self.settings.feed_max_items,
                 max_age_days or self.settings.feed_max_age_days, _iso(now), _iso(now)),
            )  # fmt: skip
            feed_id = int(cursor.lastrowid or 0)
        log.info("following %s feed %s (%d entries)", parsed.kind, url[:200], len(parsed.entries))
        return self._process(self.find(feed_id), page, parsed, now)

    def remove(self, ref: str | int) -> tuple[Feed, list[str]]:
        """Stop following a feed and remove the pages it brought (not those also added by hand); returns
        the feed and the removed files' names. The caller rebuilds, so that nothing answers from them."""
        feed = self.find(ref)
        with self.state.transaction() as db:
            docs = [d for (d,) in db.execute("SELECT doc FROM web_sources WHERE feed_id = ?", (feed.id,))]
        removed: list[str] = []
        for doc in docs:
            try:
                self.web.library.remove_source(doc)
                removed.append(doc)
            except SourceError:
                pass  # removed by hand already
        with self.state.transaction() as db:
            db.execute("DELETE FROM web_sources WHERE feed_id = ?", (feed.id,))
            db.execute("DELETE FROM feeds WHERE id = ?", (feed.id,))
        log.info("stopped following %s; removed %d pages", feed.url[:200], len(removed))
        return feed, removed

    # -- polling ---------------------------------------------------------------------------------

    def due(self, now: dt.datetime | None = None) -> list[Feed]:
        now = now or utcnow()
        return [f for f in self.followed() if f.next_poll is None or f.next_poll <= now]

    def next_poll(self) -> dt.datetime | None:
        times = [f.next_poll for f in self.followed() if f.next_poll is not None]
        return min(times) if times else None

    def poll_due(self, now: dt.datetime | None = None) -> list[PollResult]:
        now = now or utcnow()
        return [self.poll(feed, now=now) for feed in self.due(now)]

    def poll_all(self, now: dt.datetime | None = None) -> list[PollResult]:
        now = now or utcnow()
        return [self.poll(feed, now=now) for feed in self.followed()]

    def poll(self, feed: Feed | str | int, *, now: dt.datetime | None = None) -> PollResult:
        """Poll one feed now, whatever its schedule. A failure is recorded (and backed off), not raised."""
        now = now or utcnow()
        feed = feed if isinstance(feed, Feed) else self.find(feed)
        try:
            page = self.web.fetcher.get(feed.url, etag=feed.etag, last_modified=feed.last_modified, accept=FEED_ACCEPT)
            if page.not_modified:
                result = PollResult(feed, not_modified=True)
                self._succeeded(feed, result, page, None, now)
                return result
            return self._process(feed, page, parse(page), now)
        except SourceError as error:
            return self._failed(feed, str(error), now)

    def _process(self, feed: Feed, page: Page, parsed: Parsed, now: dt.datetime) -> PollResult:
        entries = parsed.entries
        if parsed.kind == "sitemap index":
            entries = self._children(entries)
        result = PollResult(feed)
        for entry in newest(entries, max_items=feed.max_items, max_age_days=feed.max_age_days, now=now):
            row = self.web.known(entry.url)
            if row is not None and (row["removed"] or row["entry_updated"] == entry.stamp):
                result.unchanged += 1  # a page removed by a moderator stays removed; an undated one is not re-read
                continue
            try:
                added = self.web.add(entry.url, feed_id=feed.id, entry_updated=entry.stamp, now=now)
            except SourceError as error:
                log.info("feed %s: could not add %s: %s", feed.id, entry.url[:200], error)
                result.failed.append(f"{entry.url[:200]}: {error}")
                continue
            if added.outcome == "added":
                result.added.append(added)
            elif added.outcome == "refreshed":
                result.refreshed.append(added)
            else:
                result.unchanged += 1
        self._succeeded(feed, result, page, parsed.title, now)
        return result

    def _children(self, sitemaps: list[Entry]) -> list[Entry]:
        """The pages of a sitemap index's newest child sitemaps (nested indexes are not followed)."""
        oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
        entries: list[Entry] = []
        for child in sorted(sitemaps, key=lambda e: e.date or oldest, reverse=True)[:MAX_CHILD_SITEMAPS]:
            parsed = parse(self.web.fetcher.get(child.url, accept=FEED_ACCEPT))
            if parsed.kind == "sitemap":
                entries.extend(parsed.entries)
        return entries

    def _succeeded(self, feed: Feed, result: PollResult, page: Page, title: str | None, now: dt.datetime) -> None:
        later = now + dt.timedelta(minutes=feed.minutes)
        with self.state.transaction() as db:
            db.execute(
                "UPDATE feeds SET etag = coalesce(?, etag), last_modified = coalesce(?, last_modified),"
                " title = coalesce(?, title), last_poll = ?, last_ok = ?, last_result = ?, failures = 0,"
                " next_poll = ? WHERE id = ?",
                (page.etag, page.last_modified, title, _iso(now), _iso(now), result.summary()[:MAX_RESULT_CHARS],
                 _iso(later), feed.id),
            )  # fmt: skip

    def _failed(self, feed: Feed, reason: str, now: dt.datetime) -> PollResult:
        failures = feed.failures + 1
        wait = min(feed.minutes * 2 ** min(failures, 20), self.settings.feed_max_backoff_minutes)
        result = PollResult(feed, error=reason)
        log.info("feed %s failed (%d in a row, next try in %.0f min): %s", feed.id, failures, wait, reason)
        with self.state.transaction() as db:
            db.execute(
                "UPDATE feeds SET last_poll = ?, last_result = ?, failures = ?, next_poll = ? WHERE id = ?",
                (_iso(now), result.summary()[:MAX_RESULT_CHARS], failures, _iso(now + dt.timedelta(minutes=wait)),
                 feed.id),
            )  # fmt: skip
        return result


def _same(a: str, b: str) -> bool:
    try:
        return canonical_url(a) == canonical_url(b)
    except FetchError:
        return False


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")
