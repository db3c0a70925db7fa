"""`onrecord add URL` and `onrecord feeds add|list|poll|remove`, run in-process against a local site
serving the evaluation's real pages: a server's collection gets the page, the feed's articles, and
loses them again; a refused address exits 1 with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from index import IndexSettings, Library
from tests.web_server import Site, article_html, http_date, needs_pages, site

__all__ = ["site"]

COLLECTION = "guild-99"


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name, value in {
        "ONRECORD_DATA_DIR": str(tmp_path / "data"),
        "ONRECORD_DOCS_DIR": str(tmp_path / "docs"),
        "ONRECORD_FETCH_ALLOW_NETWORKS": "127.0.0.1/32",
        "ONRECORD_BACKEND": "torch",
    }.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def sources(root: Path) -> list[str]:
    folder = root / "data" / "collections" / COLLECTION
    settings = IndexSettings(_env_file=None, docs_dir=folder / "docs", index_dir=folder / "index")  # type: ignore[call-arg]
    return sorted(s.doc_id for s in Library(settings).sources())


@needs_pages
def test_add_a_page_and_follow_a_feed_from_the_terminal(
    environment: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    page = site.page("/news/vw", article_html("vw"))
    site.page("/articles/oxygen", article_html("oxygen"))
    feed = site.rss("/feed.xml", [("Oxygen", "/articles/oxygen", http_date(1))], title="Local news")

    assert main(["add", page, "--collection", COLLECTION]) == 0
    assert main(["feeds", "add", feed, "--minutes", "30", "--collection", COLLECTION]) == 0
    assert main(["feeds", "poll", "--collection", COLLECTION]) == 0
    assert main(["feeds", "list", "--json", "--collection", COLLECTION]) == 0
    out = capsys.readouterr().out
    [listed] = json.loads(out[out.index("[") :])
    assert out.startswith(f"added: {page} as web-127-0-0-1-news-vw-")
    assert f"following {feed}: 1 new, 0 updated" in out and f"{feed}: not modified" in out
    assert (listed["title"], listed["minutes"], listed["last_result"]) == ("Local news", 30.0, "not modified")
    assert len(sources(environment)) == 2

    assert main(["feeds", "remove", "1", "--collection", COLLECTION]) == 0
    assert [s for s in sources(environment) if "oxygen" in s] == []
    assert len(sources(environment)) == 1


def test_a_refused_address_is_one_line_and_exit_1(
    environment: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["add", "http://10.0.0.1/", "--collection", COLLECTION]) == 1
    assert main(["feeds", "add", "--collection", COLLECTION]) == 1
    err = capsys.readouterr().err
    assert "onrecord: That address leads to 10.0.0.1, a private address" in err
    assert "needs the feed's address" in err and "Traceback" not in err
