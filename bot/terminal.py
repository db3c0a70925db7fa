"""The one place an answer, a build report or a source list is rendered for a terminal."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from index import Answer, BuildReport, Excerpt, SourceInfo

NOT_COVERED = "The sources do not cover this question."


def attribution(excerpt: Excerpt) -> str:
    """Speaker · title · outlet or author · date · location · link or file."""
    parts = [
        excerpt.speaker,
        excerpt.title,
        excerpt.author,
        excerpt.published.isoformat() if excerpt.published else None,
        excerpt.location,
        excerpt.url or excerpt.path,
    ]
    return " · ".join(p for p in parts if p)


def render_answer(answer: Answer, width: int = 100) -> str:
    lines = [f"Q: {answer.question}", ""]
    if answer.answered:
        for number, excerpt in enumerate(answer.excerpts, start=1):
            lines.extend(_quote_block(number, excerpt, width))
    else:
        lines.append(NOT_COVERED)
        if answer.closest:
            lines += ["", "Closest passages (not an answer):", ""]
            for number, excerpt in enumerate(answer.closest, start=1):
                lines.extend(_quote_block(number, excerpt, width))
    return "\n".join(lines).rstrip() + "\n"


def _quote_block(number: int, excerpt: Excerpt, width: int) -> list[str]:
    body = textwrap.wrap(" ".join(excerpt.quote.split()), width=width - 6, initial_indent="", subsequent_indent="")
    lines = [f"  {number}. {body[0] if body else ''}"]
    lines += [f"     {line}" for line in body[1:]]
    lines.append(f"     — {attribution(excerpt)}")
    lines.append("")
    return lines


def render_report(report: BuildReport) -> str:
    lines = []
    if report.full_rebuild_reason:
        lines.append(report.full_rebuild_reason)
    lines.append(
        f"Indexed {report.documents} documents, {report.chunks} chunks in {report.seconds:.1f} s "
        f"({len(report.added)} added, {len(report.changed)} changed, {len(report.removed)} removed, "
        f"{report.unchanged} unchanged; {report.embedded} texts embedded)."
    )
    if report.skipped:
        lines.append(f"Skipped {len(report.skipped)}:")
        lines.extend(f"  {s.path}: {s.reason}" for s in report.skipped)
    return "\n".join(lines) + "\n"


def render_sources(sources: Sequence[SourceInfo]) -> str:
    if not sources:
        return "No sources are indexed.\n"
    lines = []
    for s in sources:
        meta = " · ".join(x for x in (s.author, s.published.isoformat() if s.published else None) if x)
        lines.append(f"{s.doc_id}\n    {s.title}" + (f" — {meta}" if meta else ""))
        lines.append(
            f"    {s.chunks} chunks, {s.sentences} sentences, {s.chars:,} characters" + (f", {s.url}" if s.url else "")
        )
    return "\n".join(lines) + "\n"
