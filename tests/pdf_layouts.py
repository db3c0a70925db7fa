"""Hard PDF layouts made with fpdf2, with the text a reader should get from them.

`columns_report` lays out pages of three (or two) justified columns under a running header and over a
running footer with the page number, a footnote in small type with its superscript marker in the body,
and words hyphenated at line ends. Lines are drawn row by row across the columns (the header and
footer last), so the order of the file's content stream is not the reading order: an extractor that
follows the stream interleaves the columns, as some real generators make it do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fpdf import FPDF

HEADER = "Rivers Agency - Annual report on river water 2023"
TITLE = "Nitrate and flooding on the northern rivers"

# Each paragraph names its page and column, so a test can tell which column a sentence came from.
_SENTENCES = [
    "Monitoring stations along the {where} recorded measurements every fifteen minutes throughout the year.",
    "The information they collected shows that nitrate concentrations fell after the filters were installed.",
    "Engineers replaced several pumping stations whose foundations had been damaged by repeated flooding.",
    "Farmers near the {where} reported fewer complaints about contaminated irrigation water than before.",
    "The agency published its preliminary conclusions in a consultation document for local residents.",
]
_PLACES = [
    "Lintmoor estuary",
    "Harwick weir",
    "Calder meadows",
    "Oakridge reservoir",
    "Fenmouth canal",
    "Tallow bridge",
]


@dataclass
class Layout:
    """What was drawn: the paragraphs of each page in reading order, and the words split at line ends."""

    pages: list[list[str]] = field(default_factory=list)
    hyphenated: list[str] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)


def columns_report(path: Path, *, pages: int = 3, columns: int = 3, title_meta: str | None = None) -> Layout:
    """Write the report to ``path``; returns what a reader should find in it."""
    pdf = FPDF(format="A4", unit="pt")
    pdf.set_auto_page_break(False)
    if title_meta is not None:
        pdf.set_title(title_meta)
    pdf.set_author("Rivers Agency")
    layout = Layout()
    margin, gap, width, height = 50.0, 18.0, 595.28, 841.89
    col_width = (width - 2 * margin - gap * (columns - 1)) / columns
    for number in range(1, pages + 1):
        pdf.add_page()
        paragraphs: list[str] = []
        top = 100.0
        if number == 1:
            pdf.set_font("helvetica", "B", 20)
            pdf.text(margin, 95, TITLE)
            paragraphs.append(TITLE)
            top = 130.0
        body_size, leading = 9.5, 12.0
        pdf.set_font("helvetica", "", body_size)
        column_lines: list[list[str]] = []
        for column in range(columns):
            place = _PLACES[((number - 1) * columns + column) % len(_PLACES)]
            text = " ".join(s.format(where=place) for s in _SENTENCES)
            text = f"Page {number} column {column + 1}. " + text
            paragraphs.append(text)
            column_lines.append(_break_lines(pdf, text, col_width, layout))
        marker_line = 3  # the footnote marker follows the first word of this line of the first column
        rows = max(len(lines) for lines in column_lines)
        for row in range(rows):  # row by row across the columns: the stream interleaves them
            y = top + row * leading
            for column, lines in enumerate(column_lines):
                if row < len(lines):
                    x = margin + column * (col_width + gap)
                    pdf.set_font("helvetica", "", body_size)
                    pdf.text(x, y, lines[row])
                    if column == 0 and row == marker_line:
                        first = lines[row].split(" ")[0]
                        pdf.set_font("helvetica", "", 5.5)
                        pdf.text(x + pdf.get_string_width(first) * body_size / 5.5 + 0.5, y - 3.5, "1")
        note = (
            f"1 Readings at the {_PLACES[number % len(_PLACES)]} were checked by hand on page {number}, "
            "against the calibrated gauge kept by the lock keeper."
        )  # as wide as the columns together: it belongs under all of them
        pdf.set_font("helvetica", "", 7)
        pdf.text(margin, height - 80, note)
        paragraphs.append(note)
        layout.footnotes.append(note)
        pdf.set_font("helvetica", "I", 8)
        pdf.text(margin, 50, HEADER)
        pdf.text(width / 2 - 20, height - 45, f"Page {number} of {pages}")
        layout.pages.append(paragraphs)
    pdf.output(str(path))
    return layout


def _break_lines(pdf: FPDF, text: str, width: float, layout: Layout) -> list[str]:
    """Greedy line breaking; a long word that does not fit is hyphenated, as a typesetter would."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}".strip()
        if pdf.get_string_width(candidate) <= width:
            line = candidate
            continue
        bare = word.rstrip(".,")
        if len(bare) >= 9 and bare.isalpha():
            for cut in range(len(bare) - 4, 3, -1):  # the longest head that fits, four letters at least
                head = f"{line} {word[:cut]}-".strip()
                if pdf.get_string_width(head) <= width:
                    lines.append(head)
                    layout.hyphenated.append(bare)
                    line = word[cut:]
                    break
            else:
                lines.append(line)
                line = word
            continue
        lines.append(line)
        line = word
    if line:
        lines.append(line)
    return lines
