"""PDFs read as a person reads them: columns in order, no running headers, footers or page numbers in
sentences, hyphenation joined, ligatures normalised, paragraphs kept, page numbers right on excerpts.

Hard layouts are made here with fpdf2 (tests/pdf_layouts.py); the shared real samples are read in place
when they are there.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from index import Library
from index.loaders import load_document
from index.models import Document
from index.pdf import Block, Line, Page, assemble
from tests.conftest import make_settings
from tests.fakes import HashEmbedder
from tests.pdf_layouts import HEADER, TITLE, columns_report

SAMPLES = Path("/work/shared/eval/pdf-samples")
LONE_BREAK = re.compile(r"(?<!\n)\n(?!\n)")
LIGATURES = re.compile("[\ufb00-\ufb06]")


def load(path: Path) -> Document:
    return load_document(path, path.parent, 10_000_000)


def paragraphs_of(doc: Document) -> list[str]:
    return doc.text.split("\n\n")


@pytest.mark.parametrize("columns", [2, 3])
def test_columns_are_read_one_after_the_other_without_headers_footers_or_markers(tmp_path: Path, columns: int) -> None:
    layout = columns_report(tmp_path / "report.pdf", pages=3, columns=columns)
    doc = load(tmp_path / "report.pdf")

    expected = [p for page in layout.pages for p in page]
    assert paragraphs_of(doc) == expected  # every paragraph whole, in reading order, nothing else
    assert HEADER not in doc.text and "Page 1 of 3" not in doc.text
    assert layout.hyphenated and not re.search(r"[a-z]-\s*[a-z]", doc.text)
    assert "\n" not in doc.text.replace("\n\n", "")
    for number, page in enumerate(layout.pages, start=1):
        for paragraph in page:
            offset = doc.text.index(paragraph)
            assert doc.page_of(offset) == number
            assert doc.page_of(offset + len(paragraph) - 1) == number


def test_title_from_the_first_page_when_the_metadata_is_junk_and_no_date_that_is_not_stated(tmp_path: Path) -> None:
    columns_report(tmp_path / "a.pdf", pages=2, title_meta="Microsoft Word - draft7.docx")
    columns_report(tmp_path / "b.pdf", pages=2)
    columns_report(tmp_path / "c.pdf", pages=2, title_meta="River water quality, annual report")

    assert load(tmp_path / "a.pdf").title == TITLE
    assert load(tmp_path / "b.pdf").title == TITLE
    assert load(tmp_path / "c.pdf").title == "River water quality, annual report"
    assert load(tmp_path / "b.pdf").published is None  # fpdf2 wrote a creation date: that is not one


def test_excerpts_of_a_column_report_hold_no_furniture_and_name_the_right_page(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    columns_report(docs / "report.pdf", pages=3, columns=3)
    library = Library(make_settings(docs, tmp_path / "index"), embedder=HashEmbedder())
    library.rebuild()

    answer = library.ask("What did farmers near the Tallow bridge report?")

    assert answer.answered
    first = answer.excerpts[0]
    assert "Farmers near the Tallow bridge reported fewer complaints" in first.quote
    assert first.location == "p. 2"
    for excerpt in [*answer.excerpts, *answer.closest]:
        assert "Rivers Agency" not in excerpt.quote and "of 3" not in excerpt.quote
        # An excerpt may span two paragraphs (a blank line), never a hard line break inside one.
        assert not LONE_BREAK.search(excerpt.quote) and not LIGATURES.search(excerpt.quote)


def _line(text: str, y: float, x1: float = 300.0, size: float = 10.0) -> Line:
    return Line(text, 72.0, x1, y, y + size, size)


def test_a_hyphen_is_joined_when_the_word_is_a_word_and_kept_in_a_compound() -> None:
    lines = [
        _line("The survey collected infor-", 700),
        _line("mation from a well-", 688),
        _line("known station and the sollic-", 676),
        _line("itudin of its keepers.", 664, x1=180),
        _line("A second paragraph follows the short line.", 652),
    ]
    page = Page(595, 842, [Block(lines, 72, 300, 664, 710)])

    text = assemble([page]).text

    assert text == (
        "The survey collected information from a well-known station and the sollicitudin of its keepers."
        "\n\nA second paragraph follows the short line."
    )


def test_a_line_that_repeats_at_the_top_of_every_page_is_left_out_and_page_starts_stay_right() -> None:
    def page(number: int) -> Page:
        header = Block([_line("Annual report 2023", 800)], 72, 300, 800, 810)
        body = Block([_line(f"Body text of page {number} goes on here.", 500, x1=200)], 72, 300, 500, 510)
        folio = Block([_line(str(number), 40, x1=80)], 72, 80, 40, 50)
        return Page(595, 842, [header, body, folio])

    result = assemble([page(1), page(2), page(3)])

    assert result.text == "\n\n".join(f"Body text of page {n} goes on here." for n in (1, 2, 3))
    assert result.page_starts == tuple(result.text.index(f"page {n}") - len("Body text of ") for n in (1, 2, 3))
    assert Counter(result.left_out) == Counter(["Annual report 2023"] * 3 + ["1", "2", "3"])


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="the shared PDF samples are not here")
def test_the_real_two_column_sample_reads_in_order_without_ligatures_hyphens_or_page_numbers() -> None:
    doc = load(SAMPLES / "latex-multicolumn.pdf")

    assert doc.title == "Two-Column Document with Lorem Ipsum"
    assert str(doc.published) == "2024-01-03"  # stated under the title
    assert len(doc.page_starts) == 3
    assert not LIGATURES.search(doc.text) and "filled with Lorem Ipsum text" in doc.text
    assert "consectetuer adipiscing elit" in doc.text and "adip-" not in doc.text
    assert "\n" not in doc.text.replace("\n\n", "")
    paragraphs = paragraphs_of(doc)
    assert not {"1", "2", "3"} & set(paragraphs)
    # The first column's last paragraph runs on into the second column and is joined there.
    assert "Donec nonummy pellentesque ante. Phasellus adipiscing semper elit." in doc.text
    assert doc.text.index("Nulla malesuada porttitor diam") < doc.text.index("Quisque ullamcorper placerat ipsum")
    assert doc.page_of(doc.text.index("Suspendisse vel felis")) == 2


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="the shared PDF samples are not here")
def test_the_real_four_page_sample_has_its_pages_and_no_page_numbers() -> None:
    doc = load(SAMPLES / "pdflatex-4-pages.pdf")

    assert len(doc.page_starts) == 4
    for number, start in enumerate(doc.page_starts, start=1):
        assert doc.text[start:].startswith(("Hello", "information", "Really")) or doc.text[start].isalpha()
        assert doc.page_of(start) == number
    assert not re.search(r"(?:^|\n)\d+(?:\n|$)", doc.text)
    assert "\n" not in doc.text.replace("\n\n", "")
