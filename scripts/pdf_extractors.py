"""Measure PDF text extractors on hard layouts: reading order, artefacts left, time per page.

    .venv/bin/python scripts/pdf_extractors.py [--samples ../shared/eval/pdf-samples]

Layouts: fpdf2 reports of two and three columns drawn row by row (tests/pdf_layouts.py, so the content
stream interleaves the columns), with running headers, footers, footnotes and hyphenation, plus the
shared real samples. For each extractor: the share of the layout's true sentences found whole in its
output (line-end hyphens joined and whitespace collapsed first, so this measures reading order only),
the running header lines, ligatures, line-end hyphens and hard line breaks left in the text, and
milliseconds per page (best of three). pdfplumber and pypdfium2 are measured when installed
(`pip install pdfplumber pypdfium2`); the project depends on neither.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from index.pdf import read_pdf  # noqa: E402
from tests.pdf_layouts import HEADER, columns_report  # noqa: E402

Extractor = Callable[[bytes], list[str]]


def _pypdf(mode: str) -> Extractor:
    def extract(data: bytes) -> list[str]:
        from pypdf import PdfReader

        return [p.extract_text(extraction_mode=mode) or "" for p in PdfReader(io.BytesIO(data)).pages]

    return extract


def _pdfminer(data: bytes) -> list[str]:
    from pdfminer.high_level import extract_text

    return extract_text(io.BytesIO(data)).split("\f")


def _pdfplumber(data: bytes) -> list[str]:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


def _pypdfium2(data: bytes) -> list[str]:
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    return [document[i].get_textpage().get_text_range() for i in range(len(document))]


def _ours(data: bytes) -> list[str]:
    result = read_pdf(data)
    ends = [*result.page_starts[1:], len(result.text) + 2]
    return [result.text[a : b - 2] for a, b in zip(result.page_starts, ends, strict=True)]


EXTRACTORS: dict[str, Extractor] = {
    "pypdf (plain)": _pypdf("plain"),
    "pypdf (layout mode)": _pypdf("layout"),
    "pdfminer.six extract_text (LAParams defaults)": _pdfminer,
    "pdfplumber extract_text": _pdfplumber,
    "pypdfium2 get_text_range": _pypdfium2,
    "OnRecord (pdfminer.six layout + index/pdf.py)": _ours,
}


def _flat(text: str) -> str:
    return " ".join(re.sub(r"(\w)-\s*\n\s*(\w)", r"\1\2", text).split())


def measure(data: bytes, truth: list[str] | None, extract: Extractor) -> dict[str, float]:
    best = float("inf")
    pages: list[str] = []
    for _ in range(3):
        started = time.perf_counter()
        pages = extract(data)
        best = min(best, time.perf_counter() - started)
    text = "\n\n".join(pages)
    flat = _flat(text)
    inside = re.sub(r"\n\s*\n", "", text)
    row = {
        "ms_per_page": 1000 * best / max(len(pages), 1),
        "ligatures": len(re.findall("[\ufb00-\ufb06]", text)),
        "line_end_hyphens": len(re.findall(r"\w-\n", text)),
        "hard_breaks": inside.count("\n"),
        "headers": text.count(HEADER),
    }
    if truth is not None:
        sentences = [s for p in truth for s in re.split(r"(?<=\.) ", p) if len(s) > 20]
        row["sentences_whole"] = sum(s in flat for s in sentences) / len(sentences)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=REPO.parent / "shared" / "eval" / "pdf-samples")
    args = parser.parse_args()
    cases: list[tuple[str, bytes, list[str] | None]] = []
    with tempfile.TemporaryDirectory() as folder:
        for columns in (3, 2):
            path = Path(folder) / f"c{columns}.pdf"
            layout = columns_report(path, pages=6, columns=columns)
            cases.append(
                (f"fpdf2 {columns} columns, 6 pages", path.read_bytes(), [p for pg in layout.pages for p in pg])
            )
    for sample in sorted(args.samples.glob("*.pdf")) if args.samples.is_dir() else []:
        cases.append((sample.name, sample.read_bytes(), None))
    print(
        "| layout | extractor | sentences whole | ms/page | header lines | ligatures | line-end hyphens | hard breaks |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, data, truth in cases:
        for label, extract in EXTRACTORS.items():
            try:
                row = measure(data, truth, extract)
            except ImportError:
                print(f"| {name} | {label} | not installed | | | | | |")
                continue
            whole = f"{row['sentences_whole']:.2f}" if "sentences_whole" in row else "-"
            print(
                f"| {name} | {label} | {whole} | {row['ms_per_page']:.1f} | {row['headers']:.0f} | "
                f"{row['ligatures']:.0f} | {row['line_end_hyphens']:.0f} | {row['hard_breaks']:.0f} |"
            )


if __name__ == "__main__":
    main()
