"""Web pages without clutter: the article body, headings marked as headings, metadata as names and dates,
and excerpts made of body sentences only. Also `onrecord eval-extraction` on pages made here."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

from bot.cli import main
from index import Library
from index.extraction_eval import evaluate
from index.loaders import load_document
from tests.conftest import make_settings
from tests.fakes import HashEmbedder

BODY = [
    "The harbour council voted on Tuesday to build a new sea wall along the northern quay, after two winters "
    "of flooding damaged dozens of homes and shops in the old town.",
    "The wall will cost about four million euros and is expected to be finished by the autumn of next year, "
    "according to the engineering department of the council.",
    "Residents who attended the meeting on March 3, 2021 said they welcomed the decision but worried about the "
    "noise of construction during the summer tourist season.",
    "Fishermen on the northern quay asked the council to keep one berth open for their boats while the "
    "foundations of the wall are laid.",
]
PAGE = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Harbour council approves new sea wall | Coastal Gazette</title>
<meta name="author" content="Phil Helsel is a reporter for Coastal Gazette">
<meta property="article:published_time" content="2023-04-05T10:00:00Z">
<link rel="canonical" href="https://gazette.example.com/news/sea-wall">
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<article>
<h1>Harbour council approves new sea wall</h1>
<p>{BODY[0]}</p>
<p>{BODY[1]}</p>
<h2>Construction noise</h2>
<p>{BODY[2]}</p>
<p>Sign up for our newsletter to get the harbour news every morning.</p>
<p><a href="/a">Related: Harbour council approves new sea wall budget</a></p>
<p>{BODY[3]}</p>
<p>CLICK HERE to read more stories about the harbour council.</p>
<p>- narrow-browser-and-phone</p>
</article>
<footer><p>Copyright 2023 Coastal Gazette. All rights reserved.</p></footer>
</body></html>"""


def test_a_page_keeps_its_body_and_drops_promos_link_lines_and_layout_labels(tmp_path: Path) -> None:
    (tmp_path / "wall.html").write_text(PAGE, "utf-8")
    doc = load_document(tmp_path / "wall.html", tmp_path, 10_000_000)

    for sentence in BODY:
        assert sentence in doc.text
    for clutter in ("newsletter", "CLICK HERE", "narrow-browser", "Related:", "All rights reserved"):
        assert clutter not in doc.text
    headings = {doc.text[a:b] for a, b in doc.labels}
    assert "Construction noise" in headings
    assert doc.author == "Phil Helsel"
    assert doc.published == dt.date(2023, 4, 5)  # the article's metadata, not the date in its text
    assert doc.url == "https://gazette.example.com/news/sea-wall"


def test_a_heading_or_a_fragment_is_never_an_excerpt_but_its_section_is_found(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "wall.html").write_text(PAGE, "utf-8")
    (docs / "notes.md").write_text(
        "# Construction noise on the northern quay at night\n\nKey findings\n\n"
        "Night work on the northern quay will stop at ten in the evening, the council said.\n",
        "utf-8",
    )
    library = Library(make_settings(docs, tmp_path / "index"), embedder=HashEmbedder())
    library.rebuild()

    for question in ("Construction noise", "construction noise on the northern quay at night", "Key findings"):
        answer = library.ask(question)
        for excerpt in [*answer.excerpts, *answer.closest]:
            assert excerpt.quote not in {"Construction noise", "Key findings", "Harbour council approves new sea wall"}
            assert not excerpt.quote.startswith("# ")
            assert len(excerpt.quote.split()) >= 4
    answer = library.ask("When will night work on the northern quay stop?")
    assert answer.excerpts and "ten in the evening" in answer.excerpts[0].quote


def _eval_folder(root: Path) -> Path:
    (root / "pages").mkdir(parents=True)
    (root / "pages" / "a2.html.gz").write_bytes(gzip.compress(PAGE.encode()))
    rows = [{"id": "a2", "file": "pages/a2.html.gz", "url": "https://gazette.example.com/news/sea-wall",
             "body": "\n\n".join(BODY)}]  # fmt: skip
    (root / "truth.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return root


def test_eval_extraction_measures_recall_non_body_share_and_the_url(tmp_path: Path) -> None:
    folder = _eval_folder(tmp_path / "eval")
    shipped = {s.half: s for s in evaluate(folder) if s.extractor == "shipped"}

    assert shipped["even"].pages == 1 and shipped["odd"].pages == 0  # "a2" is even in hexadecimal
    assert shipped["all"].sentence_recall == 1.0
    assert shipped["all"].excerpt_non_body_share == 0.0
    assert shipped["all"].url_agreement == 1.0


def test_the_eval_extraction_command_prints_a_table_and_json(tmp_path: Path, capsys: object) -> None:
    folder = _eval_folder(tmp_path / "eval")
    assert main(["eval-extraction", str(folder)]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "| shipped (all) | 1 | 1.000" in out and "trafilatura defaults" in out
    assert main(["eval-extraction", str(folder), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    assert {r["extractor"] for r in rows} >= {"shipped", "trafilatura defaults"}
    assert main(["eval-extraction", str(tmp_path)]) != 0  # no truth.jsonl: a clear message, no traceback
