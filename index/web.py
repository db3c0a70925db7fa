"""Web pages as sources: fetching them safely, and keeping one source file per page.

`Fetcher` is the one way OnRecord reads the web (pages, feeds, robots.txt), blocking, for a worker thread:

- only ``http`` and ``https``, no user name or password in the address;
- every host is resolved, and each of its addresses checked, when a connection is opened (so after every
  redirect too, and on the addresses the socket really connects to): loopback, private, link-local,
  multicast, reserved and other non-public addresses are refused unless ``fetch_allow_networks`` names them;
- redirects are followed by hand, at most ``fetch_max_redirects``; the whole fetch, redirects included, has
  ``fetch_timeout_s``; the body is read in pieces, decompressed here (gzip or deflate, in bounded steps, so a
  compression bomb stops at the cap like any other large body) and cut off past ``fetch_max_mb``;
- robots.txt is asked first (RFC 9309: a missing one allows everything, an unreachable one nothing), with the
  first word of ``user_agent`` as the robot's name; answers are kept an hour per site.

`WebSources` keeps a collection's pages: `WebSources.add` fetches a page, extracts it with the project's HTML
path (`html.read_html`, the same as for an uploaded page) and saves it through `Library.save_source` (the one
upload check: type, size, quota) with a sidecar holding the canonical ``url``, ``fetched_at`` and the page's
own dates. The page's row in the collection's state database (``web_sources``) ties its canonical URL and the
hash of its extracted text to its file, so a page added again, or reached by another address with the same
text, refreshes the file it has instead of adding a second one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import logging
import re
import socket
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

from .errors import SourceError
from .settings import IndexSettings

if TYPE_CHECKING:
    from .library import Library
    from .state import State

log = logging.getLogger(__name__)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

HTML_ACCEPT = "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.5,application/pdf;q=0.5,*/*;q=0.1"
# What a page's Content-Type says about the file it is saved as (the loader reads it by its suffix).
SUFFIXES = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/pdf": ".pdf",
}
MAX_URL = 2_000
ROBOTS_MAX_BYTES = 512_000  # RFC 9309 asks crawlers to read at least 500 KiB of it
ROBOTS_KEEP_S = 3600.0
_REDIRECTS = {301, 302, 303, 307, 308}
# Query parameters that only say where a reader came from: the same page with or without them.
_TRACKING = re.compile(r"^(?:utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|ref_src|cmpid)$", re.IGNORECASE)
_SLUG = re.compile(r"[^a-z0-9]+")
_UPSERT = """
    INSERT INTO web_sources
        (url, source_url, doc, content_hash, fetched_at, published, feed_id, entry_updated, removed)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)
    ON CONFLICT (url) DO UPDATE SET source_url = excluded.source_url, doc = excluded.doc,
        content_hash = excluded.content_hash,
        fetched_at = excluded.fetched_at, published = excluded.published, feed_id = excluded.feed_id,
        entry_updated = excluded.entry_updated, removed = 0
"""


class FetchError(SourceError):
    """A web address could not be fetched, or was refused (unsafe, robots.txt, too large, too slow)."""


class UnsafeAddressError(FetchError):
    """The address leads to a host OnRecord must not connect to (not on the public web), or to none."""


class StatusError(FetchError):
    """The site answered with an HTTP status other than 200, 304 or a redirect."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


# -- addresses -------------------------------------------------------------------------------------


def check_url(url: str) -> str:
    """``url`` if it is a web address OnRecord may ask for (http or https, a host, no credentials, not
    too long); else `FetchError` saying why."""
    url = (url or "").strip()
    if len(url) > MAX_URL:
        raise FetchError(f"That address is {len(url):,} characters long, over the {MAX_URL:,} limit.")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError for a port that is no number)
    except ValueError as error:
        raise FetchError(f"{url[:200]!r} is not a web address.") from error
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise FetchError(f"{url[:200]!r} is not an http:// or https:// web address.")
    if "@" in parts.netloc:
        raise FetchError("A web address with a user name or password in it is not fetched.")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise FetchError(f"{url[:200]!r} is not a web address (it has spaces or control characters).")
    return url


def canonical_url(url: str) -> str:
    """The form of ``url`` that identifies a page: scheme and host in lower case, no default port, no
    fragment, no tracking parameters (``utm_*``, ``fbclid``...), the other parameters sorted."""
    parts = urlsplit(check_url(url))
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or (scheme, port) in {("http", 80), ("https", 443)} else f"{host}:{port}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode(sorted((k, v) for k, v in pairs if not _TRACKING.match(k)))
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def allowed_networks(settings: IndexSettings) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in settings.fetch_allow_networks)


def check_address(address: str, allowed: Sequence[IPNetwork] = ()) -> IPAddress:
    """The address, if it is a public one (or in ``allowed``); else `FetchError`. An IPv4 address written
    as IPv6 (``::ffff:10.0.0.1``, 6to4, NAT64...) is judged as the IPv4 address it is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if any(ip in network for network in allowed):
        return ip
    judged: IPAddress = ip
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in ipaddress.ip_network("64:ff9b::/96"):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        judged = embedded or ip
    if not judged.is_global or judged.is_multicast or judged.is_reserved:
        raise UnsafeAddressError(
            f"That address leads to {ip}, a {_kind_of(judged)} address: OnRecord only fetches from the public web."
        )
    return ip


def _kind_of(ip: IPAddress) -> str:
    for kind in ("loopback", "link_local", "multicast", "private", "reserved", "unspecified"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    return "non-public"


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (DNS, or the literal address)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeAddressError(f"The host {host!r} could not be found.") from error
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# -- fetching --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """What a fetch returned: the final address (after redirects), the body and its validators."""

    url: str
    status: int
    body: bytes
    content_type: str
    charset: str | None
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def text(self) -> str:
        """The body as text: in the charset the server declared when it decodes with it, else UTF-8."""
        for encoding in (self.charset, "utf-8"):
            if encoding:
                try:
                    return self.body.decode(encoding)
                except (LookupError, UnicodeDecodeError):
                    continue
        return self.body.decode("utf-8", "replace")


class Fetcher:
    """Safe, bounded GET requests (see the module's docstring). Thread-safe; one per process is enough."""

    def __init__(self, settings: IndexSettings) -> None:
        self.settings = settings
        self.allowed = allowed_networks(settings)
        self.robot = (settings.user_agent.split() or ["OnRecordBot"])[0].split("/")[0]
        self._robots: dict[str, tuple[float, RobotFileParser | bool]] = {}
        self._robots_lock = threading.Lock()

    @property
    def max_bytes(self) -> int:
        return int(self.settings.fetch_max_mb * 1e6)

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = HTML_ACCEPT,
        max_bytes: int | None = None,
    ) -> Page:
        """The resource at ``url``; with ``etag`` / ``last_modified`` a conditional request, which may
        come back `Page.not_modified`. Raises `FetchError` saying what went wrong."""
        deadline = time.monotonic() + self.settings.fetch_timeout_s
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        with self._client() as client:
            return self._follow(client, check_url(url), headers, max_bytes or self.max_bytes, deadline, robots=True)

    def _client(self) -> Any:
        import httpcore2
        import httpx2

        transport = httpx2.HTTPTransport(trust_env=False, retries=0)
        # The pool is rebuilt with the guarded network backend: the check happens where the socket is
        # opened, on the addresses it opens it to (no second DNS answer can slip past it).
        ssl_context = transport._pool._ssl_context
        transport._pool = httpcore2.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=4,
            network_backend=_GuardedBackend(self.allowed),  # type: ignore[arg-type]  # duck-typed, imported lazily
        )
        return httpx2.Client(
            transport=transport,
            headers={"User-Agent": self.settings.user_agent, "Accept-Encoding": "gzip, deflate"},
            follow_redirects=False,
            trust_env=False,
            timeout=self.settings.fetch_timeout_s,
        )

    def _follow(
        self, client: Any, url: str, headers: dict[str, str], max_bytes: int, deadline: float, *, robots: bool
    ) -> Page:
        for _ in range(self.settings.fetch_max_redirects + 1):
            url = check_url(url)
            if robots:
                self._check_robots(client, url, deadline)
            location, page = self._request(client, url, headers, max_bytes, deadline)
            if page is not None:
                return page
            url = urljoin(url, location)
        raise FetchError(f"{url[:200]} redirected more than {self.settings.fetch_max_redirects} times.")

    def _request(
        self, client: Any, url: str, headers: dict[str, str], max_bytes: int, deadline: float
    ) -> tuple[str, Page | None]:
        """(where a redirect points, None) or ("", the page)."""
        import httpx2

        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _too_slow(url, self.settings.fetch_timeout_s)
        try:
            with client.stream("GET", url, headers=headers, timeout=remaining) as response:
                status = response.status_code
                if status in _REDIRECTS:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchError(f"{url[:200]} answered a redirect without saying where to.")
                    return location, None
                if status == 304:
                    return "", self._page(url, response, b"")
                if status != 200:
                    raise StatusError(f"{url[:200]} could not be fetched: the site answered {status}.", status)
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes * 20:  # compressed, it may still fit
                    raise _too_large(url, max_bytes)
                body = _read(response, max_bytes, deadline, url, self.settings.fetch_timeout_s)
                return "", self._page(url, response, body)
        except httpx2.TimeoutException as error:
            raise _too_slow(url, self.settings.fetch_timeout_s) from error
        except httpx2.HTTPError as error:
            raise FetchError(f"{url[:200]} could not be fetched ({_reason(error)}).") from error

    @staticmethod
    def _page(url: str, response: Any, body: bytes) -> Page:
        content_type, _, params = response.headers.get("content-type", "").partition(";")
        fields = (p.partition("=") for p in params.split(";"))
        charset = next((v.strip().strip("\"'") for k, _, v in fields if k.strip().lower() == "charset"), None)
        return Page(
            url=url, status=response.status_code, body=body, content_type=content_type.strip().lower(),
            charset=charset or None, etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )  # fmt: skip

    # -- robots.txt ----------------------------------------------------------------------------

    def _check_robots(self, client: Any, url: str, deadline: float) -> None:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        rules = self._robots_for(client, origin, deadline)
        if rules is False or (isinstance(rules, RobotFileParser) and not rules.can_fetch(self.robot, url)):
            why = "its robots.txt could not be read" if rules is False else "its robots.txt asks robots not to"
            raise FetchError(f"{url[:200]} was not fetched: {why}.")

    def _robots_for(self, client: Any, origin: str, deadline: float) -> RobotFileParser | bool:
        """The site's rules; True when it has none (everything allowed), False when unreachable."""
        with self._robots_lock:
            kept = self._robots.get(origin)
        if kept is not None and time.monotonic() - kept[0] < ROBOTS_KEEP_S:
            return kept[1]
        rules: RobotFileParser | bool
        try:
            page = self._follow(client, origin + "/robots.txt", {"Accept": "text/plain"}, ROBOTS_MAX_BYTES, deadline,
                                robots=False)  # fmt: skip
            rules = RobotFileParser()
            rules.parse(page.text().splitlines())
        except UnsafeAddressError:
            raise
        except StatusError as error:
            # RFC 9309: a 4xx robots.txt ("unavailable") allows every path; a 5xx one ("unreachable") none.
            rules = 400 <= error.status < 500
        except FetchError as error:
            log.info("robots.txt of %s unreachable: %s", origin, error)
            rules = False
        with self._robots_lock:
            self._robots[origin] = (time.monotonic(), rules)
        return rules


class _GuardedBackend:
    """httpcore's blocking network backend, resolving and checking every address before it connects."""

    def __init__(self, allowed: Sequence[IPNetwork]) -> None:
        import httpcore2

        self._inner = httpcore2.SyncBackend()
        self._allowed = tuple(allowed)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> Any:
        addresses = resolve(host, port)
        for address in addresses:  # every one: a host that also resolves to a private address is refused
            check_address(address, self._allowed)
        error: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except Exception as failed:  # httpcore's ConnectError / ConnectTimeout: try the next address
                error = failed
        assert error is not None
        raise error

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        raise FetchError("OnRecord does not fetch from local sockets.")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _read(response: Any, max_bytes: int, deadline: float, url: str, timeout_s: float) -> bytes:
    """The body, decompressed in bounded steps, cut off past ``max_bytes`` or the deadline."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        decoder = None
    elif encoding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        decoder = zlib.decompressobj(zlib.MAX_WBITS | 32)  # zlib-wrapped, as most servers send it
    else:
        raise FetchError(f"{url[:200]} was sent in an encoding OnRecord does not read ({encoding[:40]}).")
    body = bytearray()
    try:
        for raw in response.iter_raw():  # as it arrives: a chunk size would wait for a full buffer
            if time.monotonic() > deadline:
                raise _too_slow(url, timeout_s)
            for piece in _inflate(decoder, raw, max_bytes - len(body) + 1):
                body += piece
                if len(body) > max_bytes:
                    log.warning("stopped reading %s past %d bytes", url[:200], max_bytes)
                    raise _too_large(url, max_bytes)
        if decoder is not None:
            body += decoder.flush()
    except zlib.error as error:
        raise FetchError(f"{url[:200]} sent a damaged compressed body.") from error
    if len(body) > max_bytes:
        raise _too_large(url, max_bytes)
    return bytes(body)


def _inflate(decoder: Any, raw: bytes, room: int) -> Iterator[bytes]:
    """``raw`` decompressed at most ``room`` bytes at a time (a compression bomb never inflates at once)."""
    if decoder is None:
        yield raw
        return
    data = raw
    while data:
        piece = decoder.decompress(data, max(room, 1))
        yield piece
        data = decoder.unconsumed_tail
        if not piece and not data:
            break


def _too_large(url: str, max_bytes: int) -> FetchError:
    return FetchError(f"{url[:200]} is larger than {max_bytes / 1e6:g} MB, the limit; it was cut off.")


def _too_slow(url: str, seconds: float) -> FetchError:
    return FetchError(f"{url[:200]} took longer than {seconds:g} s to fetch; it was cut off.")


def _reason(error: Exception) -> str:
    return error.__class__.__name__


# -- a collection's web pages ----------------------------------------------------------------------


@dataclass(frozen=True)
class Added:
    """What adding (or refreshing) a page did."""

    url: str  # canonical
    doc: str  # the source file's name (its document id)
    title: str | None
    outcome: str  # "added", "refreshed" (its text changed) or "unchanged"

    @property
    def changed(self) -> bool:
        return self.outcome != "unchanged"


@dataclass(frozen=True)
class Freshness:
    """How fresh a collection's web pages and feeds are, for ``/status``."""

    pages: int
    oldest_fetch: dt.datetime | None
    newest_fetch: dt.datetime | None
    feeds: int
    failing: int
    next_poll: dt.datetime | None


class WebSources:
    """The web pages of one collection: its library (files, quota) and its state database (rows)."""

    def __init__(self, library: Library, state: State, fetcher: Fetcher) -> None:
        self.library = library
        self.state = state
        self.fetcher = fetcher

    def add(
        self,
        url: str,
        *,
        feed_id: int | None = None,
        entry_updated: str | None = None,
        now: dt.datetime | None = None,
    ) -> Added:
        """Fetch the page at ``url`` and save it as a source (not indexed yet: the caller rebuilds once).

        A page the collection has (same canonical URL, or the same extracted text at another address) is
        refreshed in place; one a moderator removed is added back only when asked by URL (``feed_id`` None).
        """
        now = now or utcnow()
        page = self.fetcher.get(url)
        return self.save(page, requested=url, feed_id=feed_id, entry_updated=entry_updated, now=now)

    def save(
        self,
        page: Page,
        *,
        requested: str,
        feed_id: int | None = None,
        entry_updated: str | None = None,
        now: dt.datetime,
    ) -> Added:
        suffix = SUFFIXES.get(page.content_type)
        if suffix is None:
            raise FetchError(f"{page.url[:200]} is {page.content_type or 'of no stated type'}, not a web page.")
        data = page.body
        if suffix != ".pdf":  # saved as UTF-8, whatever the site's charset: the loader reads UTF-8 first
            data = page.text().encode("utf-8")
        text, meta = _extract(data, suffix)
        canonical = self._canonical(page.url, meta.get("url"))
        content_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
        source = canonical_url(requested)
        row = self._row(canonical, source, content_hash)
        if row is not None and row["removed"] and feed_id is not None:
            return Added(canonical, row["doc"], meta.get("title"), "unchanged")
        doc = row["doc"] if row is not None else _file_name(canonical, suffix)
        exists = (self.library.settings.docs_dir / doc).is_file()
        unchanged = row is not None and exists and not row["removed"] and row["content_hash"] == content_hash
        outcome = "unchanged" if unchanged else ("refreshed" if row is not None and exists else "added")
        if not unchanged:
            sidecar = {"url": canonical, "fetched_at": now.isoformat(timespec="seconds")}
            for key in ("published", "modified"):
                if meta.get(key):
                    sidecar[key] = str(meta[key])[:10]
            if page.last_modified:
                sidecar["last_modified"] = page.last_modified
            self.library.save_source(doc, data, replace=True, meta=sidecar)
        self._record(canonical, source, doc, content_hash, now, meta.get("published"), feed_id, entry_updated, row)
        log.info("%s %s as %s", outcome, canonical[:200], doc)
        return Added(canonical, doc, meta.get("title"), outcome)

    def _canonical(self, fetched: str, declared: object) -> str:
        """The page's own canonical address when it names one on the same site, else the address fetched."""
        final = canonical_url(fetched)
        if isinstance(declared, str):
            try:
                claimed = canonical_url(urljoin(fetched, declared))
            except FetchError:
                return final
            if urlsplit(claimed).netloc == urlsplit(final).netloc:
                return claimed
        return final

    def _row(self, canonical: str, requested: str, content_hash: str) -> Mapping[str, Any] | None:
        with self.state.transaction() as db:
            db.row_factory = _dict_row
            for query, values in (
                ("SELECT * FROM web_sources WHERE url = ?", (canonical,)),
                ("SELECT * FROM web_sources WHERE url = ? OR source_url = ?", (requested, requested)),
                ("SELECT * FROM web_sources WHERE content_hash = ? AND removed = 0", (content_hash,)),
            ):
                row = db.execute(query, values).fetchone()
                if row is not None:
                    return row  # type: ignore[no-any-return]
        return None

    def _record(
        self,
        canonical: str,
        source: str,
        doc: str,
        content_hash: str,
        now: dt.datetime,
        published: object,
        feed_id: int | None,
        entry_updated: str | None,
        row: Mapping[str, Any] | None,
    ) -> None:
        # A page added by hand stays when its feed goes (and a feed's page added by hand becomes the moderator's).
        kept_by_hand = row is not None and row["feed_id"] is None and not row["removed"]
        owner = None if feed_id is None or kept_by_hand else feed_id
        with self.state.transaction() as db:
            if row is not None and row["url"] != canonical:
                db.execute("DELETE FROM web_sources WHERE url = ?", (row["url"],))
            db.execute(
                _UPSERT,
                (canonical, source, doc, content_hash, now.isoformat(timespec="seconds"),
                 str(published)[:10] if published else None, owner, entry_updated),
            )  # fmt: skip

    def known(self, url: str) -> dict[str, Any] | None:
        """The row of the page asked for at ``url`` (its canonical address or the one it was asked by)."""
        wanted = canonical_url(url)
        with self.state.transaction() as db:
            db.row_factory = _dict_row
            row = db.execute("SELECT * FROM web_sources WHERE url = ? OR source_url = ?", (wanted, wanted)).fetchone()
        return row  # type: ignore[no-any-return]

    def forget(self, doc: str) -> bool:
        """Mark the page saved as ``doc`` removed (its file is removed by `Library.remove_source`), so
        that its feed does not bring it back. Returns whether ``doc`` was a web page."""
        with self.state.transaction() as db:
            return db.execute("UPDATE web_sources SET removed = 1 WHERE doc = ?", (doc,)).rowcount > 0

    def pages(self) -> list[dict[str, Any]]:
        """Every page the collection holds (not the removed ones), the most recently fetched first."""
        with self.state.transaction() as db:
            db.row_factory = _dict_row
            return list(db.execute("SELECT * FROM web_sources WHERE removed = 0 ORDER BY fetched_at DESC"))

    def freshness(self) -> Freshness:
        with self.state.transaction() as db:
            pages, oldest, newest = db.execute(
                "SELECT count(*), min(fetched_at), max(fetched_at) FROM web_sources WHERE removed = 0"
            ).fetchone()
            feeds, failing, next_poll = db.execute(
                "SELECT count(*), coalesce(sum(failures > 0), 0), min(next_poll) FROM feeds"
            ).fetchone()
        return Freshness(int(pages), parse_time(oldest), parse_time(newest), int(feeds), int(failing),
                         parse_time(next_poll))  # fmt: skip


def _extract(data: bytes, suffix: str) -> tuple[str, dict[str, Any]]:
    """The text whose hash says whether a page changed, and the page's own metadata (HTML only)."""
    from .loaders import decode_text

    if suffix == ".pdf":
        return hashlib.sha256(data).hexdigest(), {}
    text = decode_text(data)
    if suffix != ".html":
        return text, {}
    from .html import read_html

    extracted = read_html(text)
    return extracted.text, dict(extracted.meta)


def _file_name(canonical: str, suffix: str) -> str:
    """A source file name for a page: its site and path as words, and a hash of its address (unique)."""
    parts = urlsplit(canonical)
    host = (parts.hostname or "web").removeprefix("www.")
    words = _SLUG.sub("-", f"{host} {parts.path}".lower()).strip("-")[:80].strip("-") or "page"
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:10]
    return f"web-{words}-{digest}{suffix}"


def _dict_row(cursor: Any, row: tuple[Any, ...]) -> dict[str, Any]:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def parse_time(value: object) -> dt.datetime | None:
    """A time stored as ISO text (UTC), or an HTTP date; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
