"""Text safe to quote: control characters, form feeds, soft hyphens and stray surrogates in real files.

Every kind of source is indexed end to end with the real model; every excerpt an answer shows must be
non-empty and exactly the stored document text at its offsets (a NUL once made later quotes empty).
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from hypothesis import given
from hypothesis import strategies as st

from index import Library
from index.clean import is_quotable, quotable
from index.embedding import SentenceTransformerEmbedder
from index.loaders import load_document
from tests.conftest import make_settings

# Each fact sits after control characters, so a lookup that stops at the first one loses it.
NASTY = (
    "The river\x00 gauge at Lintmoor\x01 read four metres\x1b on Monday.\r\n"
    "Volunteers\x7f filled sandbags\x85 near the old\x9f mill all night.\r\n\r\n"
    "\f"
    "The infor\u00admation centre on Quay Street opened\x0b at six in the morning.\r"
    "A second pump\x00\x00 arrived from Harwick before noon, said the fire chief.\n\n"
    "\x0cThe council promised a report on the flood defences by the end of March.\n"
)
QUESTIONS = [
    "What did the river gauge at Lintmoor read?",
    "Where did volunteers fill sandbags?",
    "When did the information centre open?",
    "Where did the second pump come from?",
    "When will the council report on the flood defences?",
]


def _write_pdf(path: Path) -> None:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for page in NASTY.replace("\r", "").split("\f"):  # fpdf2 keeps NUL and the C0/C1 characters
        pdf.add_page()
        pdf.multi_cell(0, 8, page.replace("\u00ad", "").replace("\x0b", " "))
    pdf.output(str(path))


def _nasty_folder(docs: Path) -> None:
    docs.mkdir()
    (docs / "flood.txt").write_bytes(NASTY.encode("utf-8"))
    (docs / "flood.md").write_bytes(("---\ntitle: Flood\x00 log\n---\n" + NASTY).encode("utf-8"))
    paragraphs = "".join(f"<p>{p}</p>" for p in NASTY.split("\n") if p.strip())
    (docs / "flood.html").write_bytes(
        (
            "<html><head><title>Flood\x01 night</title></head><body><article>"
            f"<h1>Flood night</h1>{paragraphs}</article></body></html>"
        ).encode()
    )
    _write_pdf(docs / "flood.pdf")


def test_every_quote_of_documents_full_of_control_characters_is_their_text(
    tmp_path: Path, real_embedder: SentenceTransformerEmbedder
) -> None:
    docs = tmp_path / "docs"
    _nasty_folder(docs)
    library = Library(make_settings(docs, tmp_path / "index"), embedder=real_embedder)
    report = library.rebuild()
    assert not report.skipped
    assert sorted(s.doc_id for s in library.sources()) == ["flood.html", "flood.md", "flood.pdf", "flood.txt"]

    texts = {}
    for name in ("flood.txt", "flood.md", "flood.html", "flood.pdf"):
        doc = load_document(docs / name, docs, 10_000_000)
        assert is_quotable(doc.text), name
        assert "information centre" in doc.text and "Flood log" not in doc.text
        texts[name] = doc.text
    shown = 0
    for question in QUESTIONS:
        for source in texts:  # each document on its own, so every one of them is quoted
            answer = library.ask(question, source=source)
            for excerpt in [*answer.excerpts, *answer.closest]:
                shown += 1
                assert excerpt.quote, (question, excerpt)
                assert excerpt.quote == texts[excerpt.doc_id][excerpt.start : excerpt.end]
                assert is_quotable(excerpt.quote) and "\f" not in excerpt.quote
    assert shown >= len(QUESTIONS) * len(texts)
    # The facts after the NULs are found, and quoted whole.
    answer = library.ask("Where did the second pump come from?")
    assert any("Harwick" in e.quote for e in answer.excerpts)


def test_the_metadata_is_cleaned_too(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    _nasty_folder(docs)
    assert load_document(docs / "flood.md", docs, 10_000_000).title == "Flood log"


def test_control_characters_become_what_a_reader_expects() -> None:
    assert quotable("a\x00b\x1fc\x7fd\x9fe") == "abcde"
    assert quotable("one\r\ntwo\rthree\vfour") == "one\ntwo\nthree\nfour"
    assert quotable("page one\fpage two") == "page one\n\npage two"
    assert quotable("infor\u00admation") == "information"
    assert quotable("half \ud83d pair") == "half \ufffd pair"
    assert quotable("tab\tand\nnewline stay") == "tab\tand\nnewline stay"


@given(st.text())
def test_cleaning_is_idempotent_and_leaves_nothing_unsafe(text: str) -> None:
    once = quotable(text)
    assert is_quotable(once)
    assert quotable(once) == once
    once.encode("utf-8")  # no stray surrogate is left to break storage
