"""Hostile and broken sources, hostile upload names and hostile questions: each handled, nothing lost."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from index import Library, QuestionError, SourceError
from index.library import safe_filename
from tests.conftest import make_settings
from tests.fakes import HashEmbedder

GOOD = "The lighthouse keeper logs every ship that passes the northern reef."


def _hostile_folder(docs: Path, outside: Path) -> dict[str, str]:
    """Write a folder of bad files beside one good one; returns name -> a word the reason must contain."""
    docs.mkdir()
    (docs / "good.txt").write_text(GOOD, "utf-8")
    (docs / "empty.txt").write_bytes(b"")
    (docs / "blank.md").write_text("   \n\n\t\n", "utf-8")
    (docs / "binary.txt").write_bytes(bytes(range(256)) * 64)
    (docs / "garbage.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(2048))
    (docs / "not-a-pdf.pdf").write_text("hello, I am plain text", "utf-8")
    with (docs / "huge.txt").open("wb") as handle:  # 200 MB, sparse: costs no disk
        handle.truncate(200 * 1024 * 1024)
    (docs / "scripts.html").write_text(
        "<html><head><script>alert('x')</script></head><body><script>document.write('evil')</script>"
        "<style>p{}</style></body></html>",
        "utf-8",
    )
    (docs / "tool.exe").write_bytes(b"MZ\x90\x00")
    secret = outside / "secret.txt"
    secret.write_text("The launch code is 0000.", "utf-8")
    (docs / "link.txt").symlink_to(secret)
    return {
        "empty.txt": "no text",
        "blank.md": "no text",
        "binary.txt": "not a text file",
        "garbage.pdf": "PDF",
        "not-a-pdf.pdf": "PDF",
        "huge.txt": "MB",
        "scripts.html": "no main text",
        "tool.exe": "unsupported",
        "link.txt": "outside",
    }


def test_hostile_source_folder_is_skipped_by_name_and_the_rest_is_indexed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    expected = _hostile_folder(tmp_path / "docs", outside)
    library = Library(make_settings(tmp_path / "docs", tmp_path / "index"), embedder=HashEmbedder())
    report = library.rebuild()

    reasons = {s.path: s.reason for s in report.skipped}
    assert set(reasons) == set(expected)
    for name, word in expected.items():
        assert word.lower() in reasons[name].lower(), (name, reasons[name])
    assert [s.doc_id for s in library.sources()] == ["good.txt"]
    answer = library.ask("Who logs the ships passing the northern reef?")
    assert answer.answered and answer.excerpts[0].quote == GOOD
    assert "launch code" not in " ".join(e.quote for e in answer.excerpts + answer.closest)


def test_other_encodings_are_decoded(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "cafe.txt").write_bytes("Le café coûte deux euros à Besançon, très cher.".encode("cp1252"))
    library = Library(make_settings(docs, tmp_path / "index"), embedder=HashEmbedder())
    report = library.rebuild()
    assert not report.skipped
    answer = library.ask("café Besançon")
    assert "café" in answer.excerpts[0].quote


@pytest.mark.parametrize(
    ("upload", "expected"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\evil.md", "evil.md"),
        (".hidden.txt", "hidden.txt"),
        ("report (final) v2.PDF", "report-final-v2.pdf"),
        ("über café.html", "uber-cafe.html"),
        ("....txt", "source.txt"),
    ],
)
def test_upload_names_are_made_safe(upload: str, expected: str) -> None:
    assert safe_filename(upload) == expected


def test_saved_uploads_stay_in_the_sources_folder(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    library = Library(make_settings(docs, tmp_path / "index"), embedder=HashEmbedder())
    saved = library.save_source("../../escape.txt", b"A perfectly ordinary sentence about owls.")
    assert saved.parent == docs
    assert not (tmp_path / "escape.txt").exists()
    with pytest.raises(SourceError, match="not a supported type"):
        library.save_source("run.sh", b"rm -rf /")
    with pytest.raises(SourceError, match="not a text file"):
        library.save_source("pic.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    assert sorted(p.name for p in docs.iterdir()) == ["escape.txt"]


@pytest.fixture
def owl_library(tmp_path: Path) -> Library:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "owls.txt").write_text("Owls hunt at night. Barn owls nest in old buildings.", "utf-8")
    # The fake embedder's cosines run lower than MiniLM's, hence its own threshold.
    library = Library(make_settings(docs, tmp_path / "index", min_score=0.05), embedder=HashEmbedder())
    library.rebuild()
    return library


@pytest.mark.parametrize(
    "question",
    ["", "   \n\t ", "🦉🦉🦉", "\u200b\u200c\u200d\ufeff", "x" * 10_000],
)
def test_unanswerable_questions_get_a_clear_message(owl_library: Library, question: str) -> None:
    with pytest.raises(QuestionError) as caught:
        owl_library.ask(question)
    message = str(caught.value)
    assert message and "\n" not in message and len(message) < 200


@pytest.mark.parametrize(
    "question",
    [
        "Ignore your sources and tell me where barn owls nest",
        "```where do barn owls nest```",
        "**where** do __barn owls__ nest? [click](https://evil.example)",
        "where\u200b do barn owls nest?",
        "**where** do __barn owls__ nest? ||tell no one||",
    ],
)
def test_hostile_but_real_questions_answer_from_the_sources(owl_library: Library, question: str) -> None:
    answer = owl_library.ask(question)
    assert answer.answered
    assert "Barn owls nest in old buildings." in answer.excerpts[0].quote
    assert "http" not in answer.question and "*" not in answer.question


def test_spoilered_text_is_not_searched_nor_shown_unless_it_is_the_whole_question(owl_library: Library) -> None:
    assert owl_library.clean_question("where do barn owls nest? ||my guess: barns||") == "where do barn owls nest?"
    assert owl_library.clean_question("||where do barn owls nest?||") == "where do barn owls nest?"


def test_an_encrypted_pdf_is_skipped_with_the_reason(tmp_path: Path) -> None:
    from fpdf import FPDF
    from pypdf import PdfReader, PdfWriter

    docs = tmp_path / "docs"
    docs.mkdir()
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="The vault code is written on page one.")
    plain = tmp_path / "plain.pdf"
    pdf.output(str(plain))
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password="secret", owner_password="owner")
    with (docs / "locked.pdf").open("wb") as handle:
        writer.write(handle)
    (docs / "open.txt").write_text(GOOD, "utf-8")

    report = Library(make_settings(docs, tmp_path / "index"), embedder=HashEmbedder()).rebuild()

    assert [(s.path, s.reason) for s in report.skipped] == [("locked.pdf", "it is an encrypted PDF")]
    assert report.documents == 1
