"""A small web site on 127.0.0.1 for the tests of sources from the web: real article pages (read in place
from ../shared/eval/html-extraction), feeds and sitemaps made from them, and misbehaving responses.

Routes are set by the test (`Site.page`, `Site.rss`, `Site.route`); every request is recorded with its
headers, so a test can see a conditional request or a robots.txt lookup. Gzip is served to a client that
asks for it, as real sites do.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval" / "html-extraction"
# English news pages of the evaluation set whose extraction has a title and a published date.
ARTICLES = {
    "vw": "06ee193de4bd611f7fafbab0c59b0f6fe3495093516720632cd093b24c7a0e98",
    "oxygen": "076f4f33bf75059db581bedf36e76fb65e89a8f7752db3339aa3ea11c5122f32",
    "royal": "1f765c48780665e89cc3af1f7c9af47876e9fae9b5be4a936b0649e10f5e3198",
    "deals": "287e4d9f",
}


def article_html(name: str) -> str:
    """An evaluation page's HTML, read in place."""
    prefix = ARTICLES[name]
    path = next((EVAL / "pages").glob(f"{prefix}*.html.gz"))
    return gzip.decompress(path.read_bytes()).decode("utf-8")


def truth_body(name: str) -> str:
    """The page's marked article body, from the evaluation set's truth file."""
    for line in (EVAL / "truth.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        if row["id"].startswith(ARTICLES[name]):
            return str(row["body"])
    raise KeyError(name)


needs_pages = pytest.mark.skipif(not (EVAL / "pages").is_dir(), reason="../shared/eval/html-extraction is missing")


@dataclass
class Response:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None  # answered 304 when the request names it
    chunk_delay_s: float = 0.0  # seconds between pieces of the body (a slow site)
    chunks: int = 1
    endless: bool = False  # keep sending until the client hangs up (a huge response)


@dataclass
class Request:
    path: str
    headers: dict[str, str]


class Site:
    """The routes and the log of requests of one local server."""

    def __init__(self) -> None:
        self.routes: dict[str, Response | Callable[[Request], Response]] = {}
        self.requests: list[Request] = []
        self.port = 0
        self.routes["/robots.txt"] = Response(b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, response: Response | Callable[[Request], Response]) -> str:
        self.routes[path] = response
        return self.url(path)

    def page(self, path: str, html: str, **options: Any) -> str:
        return self.route(path, Response(html.encode("utf-8"), **options))

    def rss(self, path: str, items: list[tuple[str, str, str]], *, title: str = "Local news") -> str:
        """An RSS 2.0 feed of (title, link path, RFC 822 date) items, with an ETag of its content."""
        body = rss_document(title, [(t, self.url(p), d) for t, p, d in items]).encode("utf-8")
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        return self.route(path, Response(body, content_type="application/rss+xml", etag=etag))

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path.split("?")[0] == path]


def rss_document(title: str, items: list[tuple[str, str, str]]) -> str:
    entries = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link><guid>{escape(link)}</guid>"
        f"<pubDate>{d}</pubDate></item>"
        for t, link, d in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>http://127.0.0.1/</link><description>test</description>"
        f"{entries}</channel></rss>"
    )


def http_date(days_ago: float = 0.0) -> str:
    return email.utils.formatdate(time.time() - days_ago * 86400, usegmt=True)


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            request = Request(self.path, {k.lower(): v for k, v in self.headers.items()})
            site.requests.append(request)
            found = site.routes.get(self.path.split("?")[0])
            if found is None:
                self._send(Response(b"not here", status=404, content_type="text/plain"))
                return
            self._send(found(request) if callable(found) else found)

        def _send(self, response: Response) -> None:
            if response.etag and self.headers.get("If-None-Match") == response.etag:
                self.send_response(304)
                self.send_header("ETag", response.etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = response.body
            gzipped = (
                "gzip" in self.headers.get("Accept-Encoding", "")
                and len(body) > 200
                and not response.endless
                and "Content-Encoding" not in response.headers
            )
            if gzipped:
                body = gzip.compress(body)
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            if response.etag:
                self.send_header("ETag", response.etag)
            if gzipped:
                self.send_header("Content-Encoding", "gzip")
            for key, value in response.headers.items():
                self.send_header(key, value)
            if response.endless:
                self.send_header("Connection", "close")
                self.end_headers()
                self._endless()
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            step = max(1, -(-len(body) // response.chunks))
            try:
                for start in range(0, len(body), step):
                    self.wfile.write(body[start : start + step])
                    self.wfile.flush()
                    if response.chunk_delay_s:
                        time.sleep(response.chunk_delay_s)
            except OSError:  # the client hung up: what a cut-off looks like
                pass

        def _endless(self, limit: int = 200_000_000) -> None:
            piece = b"<p>" + b"x" * 65_000 + b"</p>"
            sent = 0
            try:
                while sent < limit:  # bounded: the test's client hangs up long before
                    self.wfile.write(piece)
                    sent += len(piece)
            except OSError:  # the client hung up: what a cut-off looks like
                pass

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-response is what several tests do on purpose


@pytest.fixture
def site() -> Iterator[Site]:
    """A local web site on 127.0.0.1, on a free port, for one test."""
    served = Site()
    server = _QuietServer(("127.0.0.1", 0), _handler(served))
    served.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="test-site", daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
