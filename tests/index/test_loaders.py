"""Loaders: real .txt, .md, .html and .pdf files made here become Documents with text and metadata.

A file that cannot be read is skipped by name with a reason and never stops `scan`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fpdf import FPDF

from index import Library, SourceError
from index.loaders import load_document, scan
from index.models import Document
from index.segment import paragraphs, sentences
from tests.conftest import DOCS, make_settings
from tests.fakes import HashEmbedder

MAX_BYTES = 10_000_000
SEED_NAME = "2022-09-01-mexican-cartels-fentanyl.txt"
SHARED_SEED = Path("/work/shared/seed") / SEED_NAME

ARTICLE_HTML = """<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Harbour council approves new sea wall | Coastal Gazette</title>
<meta name="author" content="Maria Ferreira">
<meta property="og:title" content="Harbour council approves new sea wall">
<meta property="article:published_time" content="2023-04-05T10:00:00Z">
<link rel="canonical" href="https://gazette.example.com/news/sea-wall">
<script>var trackingPayload = "zqxjkwv analytics beacon";</script>
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/sport">Sport section navigation</a></li></ul></nav>
<article>
<h1>Harbour council approves new sea wall</h1>
<p>The harbour council voted on Tuesday to build a new sea wall along the northern quay, after two
winters of flooding damaged dozens of homes and shops.</p>
<p>“We cannot keep pumping water out of people’s kitchens every January,” said councillor Ana Lindqvist,
who chairs the works committee.</p>
<p>The wall will cost about four million euros and is expected to be finished by the autumn of next
year, according to the council's engineering department.</p>
<p>Residents who attended the meeting said they welcomed the decision but worried about the noise of
construction during the summer tourist season.</p>
</article>
<footer><p>Copyright 2023 Coastal Gazette. All rights reserved. Subscribe to our newsletter.</p></footer>
</body></html>
"""

PDF_PAGES = [
    "The first page describes the northern river basin and its many small tributaries.",
    "The second page reports that nitrate levels fell by twelve percent after the new filters were installed.",
    "The third page lists the monitoring stations and their coordinates.",
]


def write_pdf(path: Path, pages: list[str]) -> None:
    pdf = FPDF()
    pdf.set_title("Annual report on river water")
    pdf.set_author("Rivers Agency")
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    pdf.output(str(path))


def load(path: Path) -> Document:
    return load_document(path, path.parent, MAX_BYTES)


def skipped_reasons(root: Path) -> dict[str, str]:
    _, skipped = scan(root, MAX_BYTES)
    return {s.path: s.reason for s in skipped}


# -- plain text ----------------------------------------------------------------------------------


def test_utf8_text_is_kept_exactly_with_a_title_from_the_file_name(tmp_path: Path) -> None:
    body = "Zoë’s café opened in 2019.\r\n\r\nIt serves “strong” coffee — and crêpes.\n"
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "cafe_notes-2019.txt"
    path.write_bytes(body.encode("utf-8"))

    doc = load_document(path, tmp_path, MAX_BYTES)

    assert doc.text == body.replace("\r\n", "\n")  # line ends are newlines; every other character is kept
    assert doc.doc_id == "sub/cafe_notes-2019.txt"
    assert doc.path == "sub/cafe_notes-2019.txt"
    assert doc.title == "Cafe notes 2019"
    assert (doc.author, doc.published, doc.url, doc.page_starts) == (None, None, None, ())


def test_a_latin1_cp1252_file_is_decoded(tmp_path: Path) -> None:
    body = "Café crème à la française, déjà vu. Naïve façade über alles, señor Muñoz – 20 €.\n"
    path = tmp_path / "legacy.txt"
    path.write_bytes(body.encode("cp1252"))

    assert load(path).text == body


def test_a_binary_file_named_txt_is_skipped_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (tmp_path / "good.txt").write_text("A perfectly ordinary sentence about rivers.", "utf-8")

    documents, _ = scan(tmp_path, MAX_BYTES)

    assert [d.doc_id for d in documents] == ["good.txt"]
    assert "binary" in skipped_reasons(tmp_path)["image.txt"]


# -- Markdown ------------------------------------------------------------------------------------


def test_markdown_front_matter_is_metadata_and_offsets_are_into_the_body(tmp_path: Path) -> None:
    path = tmp_path / "river.md"
    path.write_text(
        "---\n"
        "title: River notes\n"
        "author: Jo Bloggs\n"
        "published: 2021-03-04\n"
        "url: https://example.org/river\n"
        "---\n\n"
        "# Heading\n\n"
        "The river rose by two metres. Dr. Jane Smith of the U.S. Geological Survey measured it.\n",
        "utf-8",
    )

    doc = load(path)

    assert (doc.title, doc.author, doc.published, doc.url) == (
        "River notes",
        "Jo Bloggs",
        dt.date(2021, 3, 4),
        "https://example.org/river",
    )
    assert "title:" not in doc.text and "---" not in doc.text
    found = [doc.text[s.start : s.end] for s in sentences(doc)]
    assert "The river rose by two metres." in found
    assert "Dr. Jane Smith of the U.S. Geological Survey measured it." in found


# -- HTML ----------------------------------------------------------------------------------------


def test_html_main_text_is_extracted_without_scripts_or_boilerplate(tmp_path: Path) -> None:
    path = tmp_path / "sea-wall.html"
    path.write_text(ARTICLE_HTML, "utf-8")

    doc = load(path)

    assert "voted on Tuesday to build a new sea wall" in doc.text
    assert "“We cannot keep pumping water out of people’s kitchens every January,”" in doc.text
    assert "summer tourist season" in doc.text
    for boilerplate in ("zqxjkwv", "trackingPayload", "Sport section navigation", "All rights reserved"):
        assert boilerplate not in doc.text
    assert doc.title == "Harbour council approves new sea wall"
    assert doc.author == "Maria Ferreira"
    assert doc.published == dt.date(2023, 4, 5)
    assert doc.url == "https://gazette.example.com/news/sea-wall"


# -- PDF -----------------------------------------------------------------------------------------


def test_pdf_text_keeps_page_numbers(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    write_pdf(path, PDF_PAGES)

    doc = load(path)

    assert len(doc.page_starts) == 3
    assert (doc.title, doc.author) == ("Annual report on river water", "Rivers Agency")
    for number, page_text in enumerate(PDF_PAGES, start=1):
        offset = doc.text.index(page_text)
        assert doc.page_starts[number - 1] == offset
        assert doc.page_of(offset) == number
        assert doc.page_of(offset + len(page_text) - 1) == number


def test_a_pdf_excerpt_is_located_by_page(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    write_pdf(docs / "report.pdf", PDF_PAGES)
    library = Library(make_settings(docs, tmp_path / "index"), embedder=HashEmbedder())
    library.rebuild()

    answer = library.ask("How much did nitrate levels fall after the new filters were installed?")

    assert answer.answered
    first = answer.excerpts[0]
    assert "nitrate levels fell by twelve percent" in first.quote
    assert first.location == "p. 2"


# -- files that cannot be read -------------------------------------------------------------------


def test_broken_and_empty_files_are_skipped_by_name_and_scan_goes_on(tmp_path: Path) -> None:
    (tmp_path / "a-broken.pdf").write_bytes(b"%PDF-1.4\n\x00\x01\x02 this is not really a PDF \xff\xfe")
    (tmp_path / "b-empty.txt").write_bytes(b"")
    (tmp_path / "c-blank.md").write_text("\n   \n\t\n", "utf-8")
    (tmp_path / "d-good.txt").write_text("The bridge reopened on Friday after repairs.", "utf-8")
    (tmp_path / "e-slides.pptx").write_bytes(b"PK\x03\x04")

    documents, skipped = scan(tmp_path, MAX_BYTES)

    assert [d.doc_id for d in documents] == ["d-good.txt"]
    reasons = {s.path: s.reason for s in skipped}
    assert set(reasons) == {"a-broken.pdf", "b-empty.txt", "c-blank.md", "e-slides.pptx"}
    assert "not a readable PDF" in reasons["a-broken.pdf"]
    assert "no text" in reasons["b-empty.txt"]
    assert "no text" in reasons["c-blank.md"]
    assert "unsupported" in reasons["e-slides.pptx"]


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000, "utf-8")

    with pytest.raises(SourceError, match="over the"):
        load_document(path, tmp_path, max_bytes=1000)


def test_a_symlink_pointing_outside_the_sources_folder_is_skipped(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    secret = tmp_path / "private.txt"
    secret.write_text("Private notes that must never be indexed.", "utf-8")
    (docs / "inside.txt").write_text("Public notes about the harbour.", "utf-8")
    (docs / "link.txt").symlink_to(secret)
    (docs / "alias.txt").symlink_to(docs / "inside.txt")

    documents, skipped = scan(docs, MAX_BYTES)

    assert sorted(d.doc_id for d in documents) == ["alias.txt", "inside.txt"]
    assert all("Private notes" not in d.text for d in documents)
    assert "outside" in {s.path: s.reason for s in skipped}["link.txt"]


# -- sidecar metadata ----------------------------------------------------------------------------


def test_a_sidecar_overrides_metadata_and_marks_furniture(tmp_path: Path) -> None:
    path = tmp_path / "story.md"
    path.write_text(
        "---\ntitle: Front matter title\nauthor: Front Author\n---\n"
        "Subscribe now for more stories!\n\n"
        "The ferry service resumed on Monday. Passengers were relieved.\n\n"
        "Subscribe now for more stories!\n\n"
        "Tickets cost four euros.\n",
        "utf-8",
    )
    (tmp_path / "story.md.meta.yaml").write_text(
        "title: The ferry is back\n"
        "author: Island Courier\n"
        "published: 2020-06-01\n"
        "url: https://courier.example/ferry\n"
        "furniture:\n  - 'Subscribe now for more stories!'\n",
        "utf-8",
    )

    doc = load(path)

    assert (doc.title, doc.author, doc.published, doc.url) == (
        "The ferry is back",
        "Island Courier",
        dt.date(2020, 6, 1),
        "https://courier.example/ferry",
    )
    assert len(doc.furniture) == 2
    assert all(doc.text[a:b] == "Subscribe now for more stories!" for a, b in doc.furniture)
    found = [doc.text[s.start : s.end] for s in sentences(doc)]
    assert found == ["The ferry service resumed on Monday.", "Passengers were relieved.", "Tickets cost four euros."]
    assert all("Subscribe" not in doc.text[p.start : p.end] for p in paragraphs(doc))


def test_the_sidecar_is_not_a_source_and_changes_the_content_hash(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text("The museum opens at nine.", "utf-8")
    before = load(path).content_hash
    (tmp_path / "note.txt.meta.yaml").write_text("title: Museum hours\n", "utf-8")

    documents, skipped = scan(tmp_path, MAX_BYTES)

    assert [d.doc_id for d in documents] == ["note.txt"]
    assert skipped == []
    assert documents[0].title == "Museum hours"
    assert documents[0].content_hash != before


def test_a_file_of_nothing_but_furniture_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "ad.txt").write_text("Listen to this article now!\n", "utf-8")
    (tmp_path / "ad.txt.meta.yaml").write_text("furniture: Listen to this article now!\n", "utf-8")

    assert "no text" in skipped_reasons(tmp_path)["ad.txt"]


# -- the shipped seed document -------------------------------------------------------------------


def test_the_seed_document_loads_with_its_metadata_and_exact_text() -> None:
    doc = load_document(DOCS / SEED_NAME, DOCS, MAX_BYTES)

    assert doc.doc_id == SEED_NAME
    assert doc.title == "Mexican cartels ramp up fentanyl production"
    assert doc.author == "Fox News"
    assert doc.published == dt.date(2022, 9, 1)
    reference = SHARED_SEED if SHARED_SEED.is_file() else DOCS / SEED_NAME
    assert doc.text.encode("utf-8") == reference.read_bytes()
