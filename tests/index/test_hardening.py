"""Issue 14, the library's half: small hostile files cost little, one bad file stops nothing, metadata is
what it claims to be (items 1, 2, 3 and 6; the Discord half is tests/e2e/test_bot_hardening.py)."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest

from index import Library, SourceError, extraction
from index import loaders as loaders_module
from index.loaders import load_document, scan
from index.models import Document
from tests.conftest import make_settings
from tests.fakes import HashEmbedder
from tests.hostile_pdfs import form_bomb, many_pages, repeated_page
from tests.pdf_layouts import columns_report

OWLS = "Barn owls nest in old buildings and hunt mice over the meadows at night."


def _alias_bomb(levels: int, width: int = 9) -> str:
    """Front matter whose title expands to width**levels strings (the 'billion laughs' shape)."""
    names = "abcdefghijklmnop"
    lines = [f"a: &a [{','.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"{names[i]}: &{names[i]} [{','.join([f'*{names[i - 1]}'] * width)}]")
    return "---\n" + "\n".join(lines) + f"\ntitle: *{names[levels - 1]}\n---\n\n{OWLS}\n"


# -- 1. YAML alias bombs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("levels", "width", "reason"),
    [(9, 9, "more than 50 YAML aliases"), (4, 9, "too large once its YAML aliases are expanded")],
    ids=["many-aliases", "few-aliases-big-expansion"],
)
def test_an_alias_bomb_is_refused_at_once_without_memory(tmp_path: Path, levels: int, width: int, reason: str) -> None:
    bomb = _alias_bomb(levels, width)
    assert len(bomb.encode()) < 500
    (tmp_path / "bomb.md").write_text(bomb, "utf-8")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()

    with pytest.raises(SourceError, match=reason):
        load_document(tmp_path / "bomb.md", tmp_path, 10_000_000)

    assert time.perf_counter() - started < 0.5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB: under 50 MB more


def test_an_alias_bomb_in_a_sidecar_or_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    (tmp_path / "owls.txt").write_text(OWLS, "utf-8")
    (tmp_path / "owls.txt.meta.yaml").write_text(_alias_bomb(9).split("---")[1], "utf-8")
    (tmp_path / "loop.md").write_text(f"---\ntitle: &t [*t]\n---\n\n{OWLS}\n", "utf-8")

    documents, skipped = scan(tmp_path, 10_000_000)

    reasons = {s.path: s.reason for s in skipped}
    assert not documents
    assert "YAML aliases" in reasons["owls.txt"] and "owls.txt.meta.yaml" in reasons["owls.txt"]
    assert "loop.md" in reasons  # PyYAML refuses a recursive alias, or the size check does


def test_plain_front_matter_with_an_alias_still_reads(tmp_path: Path) -> None:
    text = f"---\ndesk: &desk Nature Desk\nauthor: *desk\ntitle: Owls\npublished: 2024-03-02\n---\n\n{OWLS}\n"
    (tmp_path / "owls.md").write_text(text, "utf-8")

    doc = load_document(tmp_path / "owls.md", tmp_path, 10_000_000)

    assert (doc.title, doc.author, str(doc.published)) == ("Owls", "Nature Desk", "2024-03-02")


# -- 3. one bad file stops nothing -----------------------------------------------------------------


def test_an_impossible_date_skips_that_file_by_name_and_the_rest_is_indexed(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "zero.md").write_text(f"---\ntitle: Zero\npublished: 0000-01-01\n---\n\n{OWLS}\n", "utf-8")
    (docs / "good.txt").write_text("The lighthouse keeper logs every ship that passes the reef.", "utf-8")
    library = Library(make_settings(docs, tmp_path / "index"), embedder=HashEmbedder())

    report = library.rebuild()

    assert [(s.path, s.reason) for s in report.skipped] == [
        ("zero.md", "its 'published' metadata is not a real date ('0000-01-01'; write it as YYYY-MM-DD)")
    ]
    assert [s.doc_id for s in library.sources()] == ["good.txt"]


def test_an_unexpected_reader_failure_skips_only_that_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "page.html").write_text(f"<html><body><p>{OWLS}</p></body></html>", "utf-8")
    (docs / "good.txt").write_text(OWLS, "utf-8")

    def broken(raw: str) -> object:
        raise ZeroDivisionError("a bug in a reader")

    monkeypatch.setattr(loaders_module, "_extract_html", broken)
    report = Library(make_settings(docs, tmp_path / "index"), embedder=HashEmbedder()).rebuild()

    assert [(s.path, s.reason) for s in report.skipped] == [
        ("page.html", "it could not be read (ZeroDivisionError; the details are in the log)")
    ]
    assert report.documents == 1


def test_a_library_with_only_bad_files_still_builds_an_empty_index(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "zero.md").write_text(f"---\npublished: 0000-01-01\n---\n\n{OWLS}\n", "utf-8")
    library = Library(make_settings(docs, tmp_path / "index"), embedder=HashEmbedder())

    report = library.ensure_index()

    assert report is not None and report.documents == 0 and len(report.skipped) == 1
    assert library.sources() == [] and not library.ask("Where do owls nest?").answered


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("zero.md", f"---\npublished: 0000-01-01\n---\n\n{OWLS}\n".encode(), "not a real date"),
        ("bomb.md", _alias_bomb(9).encode(), "YAML aliases"),
        ("bad.pdf", b"%PDF-1.7\n" + b"\x00" * 64, "PDF"),
        ("crash.html", f"<p>{OWLS}</p>".encode(), "ZeroDivisionError"),
    ],
)
def test_a_refused_upload_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, data: bytes, reason: str
) -> None:
    monkeypatch.setattr(loaders_module, "_extract_html", lambda raw: 1 / 0)
    docs = tmp_path / "docs"
    library = Library(make_settings(docs, tmp_path / "index"), embedder=HashEmbedder())

    with pytest.raises(SourceError, match=reason) as refused:
        library.save_source(name, data)

    assert name in str(refused.value)
    assert list(docs.iterdir()) == []


# -- 6. metadata is what it claims to be -----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("url", '"[Read the full report](https://evil.example/phish)"', "http:// or https://"),
        ("url", '"https://evil.example/a](https://x.example)"', "plain web address"),
        ("url", "javascript:alert(1)", "http:// or https://"),
        ("url", "https://user:pw@evil.example/", "user name or password"),
        ("url", "[1, 2]", "not a list"),
        ("title", "{a: 1}", "must be text, not a mapping"),
        ("title", "x" * 600, "over the 500 limit"),
        ("published", "2024-02-30", "not a real date"),
        ("published", "yesterday", "not a real date"),
        ("date", "[2024]", "must be a date"),
        ("furniture", "{a: b}", "list of strings"),
    ],
)
def test_wrong_metadata_refuses_the_file_naming_the_field(tmp_path: Path, field: str, value: str, reason: str) -> None:
    (tmp_path / "doc.md").write_text(f"---\ntitle: Owls\n{field}: {value}\n---\n\n{OWLS}\n", "utf-8")

    with pytest.raises(SourceError, match=reason) as refused:
        load_document(tmp_path / "doc.md", tmp_path, 10_000_000)

    assert f"'{field}' metadata" in str(refused.value)


def test_good_metadata_is_kept_and_wrong_metadata_inside_a_page_is_left_out(tmp_path: Path) -> None:
    (tmp_path / "doc.md").write_text(
        f"---\ntitle: Owls\nurl: https://example.org/owls_(birds)?q=1\nauthor: [Ann Lee, Bo Park]\n---\n\n{OWLS}\n",
        "utf-8",
    )
    page = (
        '<html><head><title>Owls at night</title><link rel="canonical" href="javascript:alert(1)">'
        f"</head><body><article><h1>Owls at night</h1><p>{OWLS} {OWLS}</p></article></body></html>"
    )
    (tmp_path / "page.html").write_text(page, "utf-8")

    doc = load_document(tmp_path / "doc.md", tmp_path, 10_000_000)
    html = load_document(tmp_path / "page.html", tmp_path, 10_000_000)

    assert doc.url == "https://example.org/owls_(birds)?q=1" and doc.author == "Ann Lee, Bo Park"
    assert html.url is None or html.url.startswith(("http://", "https://"))


# -- 2. PDFs within a page and time budget; an unchanged file is never read again ------------------


def _pdf_library(tmp_path: Path, **settings: object) -> tuple[Path, Library]:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text(OWLS, "utf-8")
    return docs, Library(make_settings(docs, tmp_path / "index", **settings), embedder=HashEmbedder())


def test_a_small_pdf_that_takes_long_to_lay_out_is_skipped_within_the_time_limit(tmp_path: Path) -> None:
    docs, library = _pdf_library(tmp_path, max_extract_seconds=0.5)
    (docs / "forms.pdf").write_bytes(form_bomb(4))  # 2.3 KB; pdfminer takes about 4 s on it
    assert len(form_bomb(4)) < 2500

    started = time.perf_counter()
    report = library.rebuild()
    first = time.perf_counter() - started
    reads: list[str] = []
    real_read = extraction.read_within_limits

    def counting_read(path: Path, root: Path, limits: extraction.Limits) -> Document:
        reads.append(path.name)
        return real_read(path, root, limits)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(extraction, "read_within_limits", counting_read)
        again = library.rebuild()

    assert [(s.path, s.reason) for s in report.skipped] == [
        ("forms.pdf", "reading it took over 0.5 s, the limit per file")
    ]
    # Well under the 4 s the file takes to read whole, with room for a busy machine.
    assert report.documents == 1 and first < 3.0
    assert [s.path for s in again.skipped] == ["forms.pdf"] and reads == []  # the refusal is remembered


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (repeated_page(4), "its page tree lists the same page more than once"),
        (repeated_page(12), "its page tree lists the same page more than once"),
        (many_pages(60), "it has over 50 pages, the limit"),
    ],
    ids=["one-page-10k-times", "one-page-10^12-times", "too-many-pages"],
)
def test_a_pdf_over_the_page_budget_is_skipped_at_once(tmp_path: Path, data: bytes, reason: str) -> None:
    docs, library = _pdf_library(tmp_path, max_pdf_pages=50)
    (docs / "pages.pdf").write_bytes(data)

    started = time.perf_counter()
    report = library.rebuild()

    assert [(s.path, s.reason) for s in report.skipped] == [("pages.pdf", reason)]
    assert time.perf_counter() - started < 2


def test_an_unchanged_corpus_is_not_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs, library = _pdf_library(tmp_path)
    columns_report(docs / "report.pdf", pages=2, columns=2)
    (docs / "notes.md").write_text(f"---\ntitle: Notes\n---\n\n{OWLS}\n", "utf-8")
    first = library.rebuild()
    reads: list[str] = []
    real = loaders_module.load_document
    monkeypatch.setattr(
        loaders_module, "load_document", lambda path, *args: reads.append(path.name) or real(path, *args)
    )

    unchanged = library.rebuild()
    (docs / "notes.md").write_text(f"---\ntitle: Notes, revised\n---\n\n{OWLS}\n", "utf-8")
    (docs / "renamed.txt").write_bytes((docs / "good.txt").read_bytes())
    (docs / "good.txt").unlink()
    changed = library.rebuild()

    assert first.documents == 3 and not first.skipped
    assert unchanged.unchanged == 3 and not unchanged.skipped
    assert reads == ["notes.md"]  # only the changed file was read; the renamed one came from the cache
    assert changed.changed == ["notes.md"] and changed.added == ["renamed.txt"]
    titles = {s.doc_id: s.title for s in library.sources()}
    assert titles["notes.md"] == "Notes, revised" and titles["renamed.txt"] == "Renamed"
    assert len(list((tmp_path / "index" / "extracted").glob("*.json"))) == 3  # the old entries are gone


def test_a_damaged_cache_entry_is_read_again_from_the_file(tmp_path: Path) -> None:
    docs, library = _pdf_library(tmp_path)
    library.rebuild()
    for entry in (tmp_path / "index" / "extracted").glob("*.json"):
        entry.write_text('{"text": 5}', "utf-8")
    (docs / "more.txt").write_text("The ferry leaves the harbour at dawn.", "utf-8")

    report = library.rebuild()

    assert not report.skipped and report.documents == 2
    assert library.ask("Where do barn owls nest?").excerpts[0].quote.startswith("Barn owls")
