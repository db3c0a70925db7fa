"""Sources from the web: a page added by its address (fetched safely, extracted, saved with its sidecar,
indexed), refreshed rather than duplicated, and the fetcher's refusals: private addresses (also after a
redirect), robots.txt, slow and oversized responses, compression bombs."""

from __future__ import annotations

import datetime as dt
import gzip
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from index import IndexSettings
from index.collections import Collections, guild_collection
from index.web import Fetcher, FetchError, UnsafeAddressError, canonical_url, check_address, check_url
from tests.fakes import HashEmbedder
from tests.web_server import Response, Site, article_html, needs_pages, site, truth_body

__all__ = ["site"]  # the fixture, imported for pytest

GUILD = guild_collection(42)


def settings_for(root: Path, **extra: Any) -> IndexSettings:
    """Settings that fetch from the test's own server on 127.0.0.1 and from nowhere else private."""
    return IndexSettings(
        _env_file=None, docs_dir=root / "docs", data_dir=root / "data",  # type: ignore[call-arg]
        fetch_allow_networks=("127.0.0.1/32",), **extra,
    )  # fmt: skip


def collections_for(root: Path, **extra: Any) -> Collections:
    return Collections(settings_for(root, **extra), HashEmbedder())


def first_sentence(body: str) -> str:
    return next(p for p in body.split("\n") if len(p.split()) > 12).split(". ")[0]


@needs_pages
def test_a_page_added_by_its_address_is_saved_with_its_sidecar_and_indexed(tmp_path: Path, site: Site) -> None:
    collections = collections_for(tmp_path)
    url = site.page("/news/vw-space-vizzion", article_html("vw"))

    added = collections.web(GUILD).add(url + "?utm_source=discord#top")
    report = collections.library(GUILD).rebuild()

    assert added.outcome == "added" and added.url == url  # tracking parameters and fragment dropped
    docs = collections.folder(GUILD) / "docs"
    assert (docs / added.doc).is_file() and added.doc.startswith("web-127-0-0-1-news-vw-space-vizzion-")
    sidecar = yaml.safe_load((docs / (added.doc + ".meta.yaml")).read_text("utf-8"))
    assert sidecar["url"] == url  # the page's own canonical address is on another site: the one fetched stays
    assert str(sidecar["published"]) == "2019-11-20"
    assert abs(dt.datetime.fromisoformat(sidecar["fetched_at"]).timestamp() - time.time()) < 120
    assert report.added == [added.doc]
    [source] = collections.library(GUILD).sources()
    assert source.url == url and source.title.startswith("The VW ID. SPACE VIZZION")
    document = collections.library(GUILD).generation()
    assert first_sentence(truth_body("vw")) in document.text(0, 0, 10**7)
    [request] = site.hits("/news/vw-space-vizzion")
    assert request.headers["user-agent"].startswith("OnRecordBot/")
    assert "gzip" in request.headers["accept-encoding"]  # and the page was served compressed
    assert site.hits("/robots.txt")


@needs_pages
def test_a_page_added_again_is_refreshed_not_duplicated(tmp_path: Path, site: Site) -> None:
    collections = collections_for(tmp_path)
    web = collections.web(GUILD)
    html = article_html("oxygen")
    url = site.page("/fact-check/oxygen-bar", html)

    first = web.add(url)
    again = web.add(url + "?utm_medium=feed")
    assert (first.outcome, again.outcome, again.doc) == ("added", "unchanged", first.doc)

    site.page("/fact-check/oxygen-bar", html.replace("Delhi", "New Delhi, India's capital,"))
    updated = web.add(url)
    assert (updated.outcome, updated.doc) == ("refreshed", first.doc)

    site.page("/amp/oxygen-bar", html.replace("Delhi", "New Delhi, India's capital,"))  # the same text elsewhere
    elsewhere = web.add(site.url("/amp/oxygen-bar"))
    assert (elsewhere.outcome, elsewhere.doc) == ("unchanged", first.doc)

    collections.library(GUILD).rebuild()
    assert [s.doc_id for s in collections.library(GUILD).sources()] == [first.doc]
    files = sorted(p.name for p in (collections.folder(GUILD) / "docs").iterdir())
    assert files == [first.doc, first.doc + ".meta.yaml"]


def test_private_addresses_are_refused_before_connecting() -> None:
    for address in ("127.0.0.1", "10.1.2.3", "192.168.0.10", "172.20.0.1", "169.254.169.254", "100.64.0.1",
                    "0.0.0.0", "224.0.0.1", "240.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1",
                    "2002:a00:1::1", "64:ff9b::a00:1"):  # fmt: skip
        with pytest.raises(UnsafeAddressError):
            check_address(address)
    assert str(check_address("93.184.215.14")) == "93.184.215.14"
    assert str(check_address("127.0.0.1", [__import__("ipaddress").ip_network("127.0.0.1/32")])) == "127.0.0.1"


def test_only_plain_web_addresses_are_fetched(tmp_path: Path) -> None:
    fetcher = Fetcher(settings_for(tmp_path))
    for url in ("file:///etc/passwd", "ftp://example.com/a", "gopher://x", "http://user:pw@example.com/",
                "http://", "javascript:alert(1)", "http://exa mple.com/"):  # fmt: skip
        with pytest.raises(FetchError):
            fetcher.get(url)
    assert check_url(" https://example.com/a ") == "https://example.com/a"
    assert canonical_url("HTTPS://Example.COM:443/a?b=2&utm_campaign=x&a=1#frag") == "https://example.com/a?a=1&b=2"


def test_a_loopback_server_is_refused_unless_the_setting_allows_it(tmp_path: Path, site: Site) -> None:
    url = site.page("/a", "<html><body><p>" + "Words of a page. " * 40 + "</p></body></html>")
    with pytest.raises(UnsafeAddressError, match="loopback"):
        Fetcher(IndexSettings(_env_file=None)).get(url)  # type: ignore[call-arg]
    with pytest.raises(UnsafeAddressError, match="loopback"):
        Fetcher(IndexSettings(_env_file=None)).get(f"http://localhost:{site.port}/a")  # type: ignore[call-arg]
    assert site.requests == []  # refused before any connection
    assert Fetcher(settings_for(tmp_path)).get(url).status == 200


def test_a_redirect_to_a_private_address_is_refused(tmp_path: Path, site: Site) -> None:
    hop = site.route("/moved", Response(status=302, headers={"Location": "http://10.0.0.7/admin"}))
    metadata = site.route("/meta", Response(status=301, headers={"Location": "http://169.254.169.254/latest/"}))
    fetcher = Fetcher(settings_for(tmp_path))

    with pytest.raises(UnsafeAddressError, match=r"10\.0\.0\.7, a private address"):
        fetcher.get(hop)
    with pytest.raises(UnsafeAddressError, match="link-local"):
        fetcher.get(metadata)


def test_redirects_are_followed_within_the_cap(tmp_path: Path, site: Site) -> None:
    site.page("/final", "<p>here</p>")
    for n in range(4):
        site.route(f"/r{n}", Response(status=302, headers={"Location": f"/r{n + 1}" if n < 3 else "/final"}))
    assert Fetcher(settings_for(tmp_path)).get(site.url("/r0")).url == site.url("/final")
    with pytest.raises(FetchError, match="redirected more than 2 times"):
        Fetcher(settings_for(tmp_path, fetch_max_redirects=2)).get(site.url("/r0"))


def test_robots_txt_is_respected(tmp_path: Path, site: Site) -> None:
    url = site.page("/private/memo", "<p>not for robots</p>")
    with pytest.raises(FetchError, match=r"robots\.txt asks robots not to"):
        Fetcher(settings_for(tmp_path)).get(url)
    assert site.hits("/private/memo") == []


def test_a_site_without_robots_txt_may_be_fetched_and_an_unreachable_one_not(tmp_path: Path, site: Site) -> None:
    site.routes.pop("/robots.txt")
    url = site.page("/a", "<p>fine</p>")
    assert Fetcher(settings_for(tmp_path)).get(url).status == 200
    site.route("/robots.txt", Response(b"down", status=503, content_type="text/plain"))
    with pytest.raises(FetchError, match=r"robots\.txt could not be read"):
        Fetcher(settings_for(tmp_path)).get(url)


def test_a_slow_response_is_cut_off(tmp_path: Path, site: Site) -> None:
    url = site.page("/slow", "<p>" + "slow words " * 2000 + "</p>", chunks=20, chunk_delay_s=0.3)
    fetcher = Fetcher(settings_for(tmp_path, fetch_timeout_s=1.5))
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"took longer than 1.5 s"):
        fetcher.get(url)
    assert time.monotonic() - started < 3.5


def test_an_oversized_response_is_cut_off(tmp_path: Path, site: Site) -> None:
    endless = site.route("/huge", Response(endless=True))
    declared = site.route("/declared", Response(b"x" * 100, headers={"Content-Length": "999999999"}))
    fetcher = Fetcher(settings_for(tmp_path, fetch_max_mb=0.5))
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"larger than 0.5 MB"):
        fetcher.get(endless)
    assert time.monotonic() - started < 5
    with pytest.raises(FetchError):
        fetcher.get(declared)


def test_a_compression_bomb_is_cut_off_at_the_cap(tmp_path: Path, site: Site) -> None:
    bomb = gzip.compress(b"\0" * 200_000_000, compresslevel=9)  # 200 MB of zeros in ~200 KB
    url = site.route("/bomb", Response(bomb, headers={"Content-Encoding": "gzip"}))
    with pytest.raises(FetchError, match=r"larger than 1 MB"):
        Fetcher(settings_for(tmp_path, fetch_max_mb=1)).get(url)


def test_a_page_that_is_no_document_is_refused(tmp_path: Path, site: Site) -> None:
    collections = collections_for(tmp_path)
    image = site.route("/logo.png", Response(b"\x89PNG\r\n\x1a\n" + b"\0" * 100, content_type="image/png"))
    missing = site.url("/gone")
    with pytest.raises(FetchError, match="image/png, not a web page"):
        collections.web(GUILD).add(image)
    with pytest.raises(FetchError, match="answered 404"):
        collections.web(GUILD).add(missing)
    assert not (collections.folder(GUILD) / "docs").exists() or not any((collections.folder(GUILD) / "docs").iterdir())
