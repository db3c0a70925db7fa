"""The one place an answer, a build report or a source list is rendered for a terminal."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from evaluation.answers import Calibration, EvalReport
from evaluation.speakers import GROUPS, SpeakerReport
from index import Answer, BuildReport, Excerpt, SourceInfo, SpeakerInfo, WhoSaid
from index.models import NOT_COVERED
from index.report import FeedbackReport

__all__ = ["NOT_COVERED", "render_answer", "render_quotes", "render_speakers", "render_who_said"]


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
    if answer.speaker is not None and answer.answered:
        lines += [f"Quoting {answer.speaker} only.", ""]
    if answer.answered:
        for number, excerpt in enumerate(answer.excerpts, start=1):
            lines.extend(_quote_block(number, excerpt, width))
    else:
        lines.append(answer.abstention())
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
    if excerpt.also:
        lines.append(f"     Also reported by: {also_reported(excerpt)}")
    lines.append("")
    return lines


def also_reported(excerpt: Excerpt) -> str:
    """The other sources telling the same sentence: "title (outlet or author, date)", separated by "; "."""
    names = []
    for other in excerpt.also:
        details = ", ".join(p for p in (other.author, other.published.isoformat() if other.published else None) if p)
        names.append(f"{other.title} ({details})" if details else other.title)
    return "; ".join(names)


def render_speakers(people: Sequence[SpeakerInfo]) -> str:
    """The people the sources quote, the most quoted first."""
    if not people:
        return "The sources quote nobody by name.\n"
    lines = [f"{'quotes':>6} {'sources':>7}  speaker"]
    lines += [f"{p.quotes:>6} {p.documents:>7}  {p.name}" for p in people]
    return "\n".join(lines) + "\n"


def render_quotes(asked: str, names: Sequence[str], excerpts: Sequence[Excerpt], width: int = 100) -> str:
    """A person's quotes, the newest source first."""
    if not names:
        return f"The sources quote nobody called {asked}.\n"
    lines = [f"Quotes of {', '.join(names)} ({len(excerpts)}), the newest source first:", ""]
    for number, excerpt in enumerate(excerpts, start=1):
        lines.extend(_quote_block(number, excerpt, width))
    return "\n".join(lines).rstrip() + "\n"


def render_who_said(result: WhoSaid, width: int = 100) -> str:
    """Who the sources say said a text, and whether that is whom the text names."""
    lines = [f"Who said: “{result.text}”", ""]
    if not result.found:
        lines.append("The sources hold no such quote.")
        return "\n".join(lines) + "\n"
    for number, match in enumerate(result.matches, start=1):
        lines.append(f"  {result.verdict(match)}")
        lines.extend(_quote_block(number, match.excerpt, width))
    return "\n".join(lines).rstrip() + "\n"


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


def render_eval(report: EvalReport) -> str:
    """The scores of ``onrecord eval`` as a small table, then probes and calibration if measured."""
    lines = [
        f"{report.data}: {report.documents} documents indexed in {report.index_s:.1f} s "
        f"({report.embedded} texts embedded; model {report.model}, min_score {report.min_score:g}).",
        "",
        f"{'method':<10} {'questions':>9} {'hit@1':>6} {'hit@3':>6} {'doc@1':>6} {'abstained':>9} "
        f"{'p50 ms':>7} {'p95 ms':>7}",
    ]
    rows = [("OnRecord", report.scores), *(report.baselines or {}).items()]
    for name, s in rows:
        abstained = f"{s.abstained:.3f}" if name == "OnRecord" else "-"
        lines.append(
            f"{name:<10} {s.questions:>9} {s.hit1:>6.3f} {s.hit3:>6.3f} {s.doc1:>6.3f} {abstained:>9} "
            f"{s.p50_ms:>7.1f} {s.p95_ms:>7.1f}"
        )
    if report.baselines is not None:
        lines.append(
            f"(recipe and dense search precomputed question vectors; embedding one question takes "
            f"{report.query_embed_ms or 0.0:.1f} ms more, p50)"
        )
    if report.probes is not None:
        p = report.probes
        lines += [
            "",
            f"Not in the sources: abstained on {p.probes_abstained:.1%} of {p.probes} probes; "
            f"answered {p.answerable_answered:.1%} of {p.answerable} answerable questions.",
        ]
    if report.calibration is not None:
        lines += ["", *_render_calibration(report.calibration)]
    lines += ["", f"Wall time {report.wall_s:.1f} s; cache {report.cache_dir}"]
    return "\n".join(lines) + "\n"


def _render_calibration(calibration: Calibration) -> list[str]:
    lines = [
        "Calibration of min_score (confidence of the best excerpt below it: abstain)",
        f"{'min_score':>9} {'probes abstained':>16} {'answerable answered':>19} {'hit@1':>6}",
    ]
    for row in calibration.rows:
        lines.append(f"{row.threshold:>9.3f} {row.probes_abstained:>16.3f} {row.answered:>19.3f} {row.hit1:>6.3f}")
    c = calibration.current
    lines.append(
        f"current {c.threshold:g}: probes abstained {c.probes_abstained:.3f}, answered {c.answered:.3f}, "
        f"hit@1 {c.hit1:.3f}"
    )
    if calibration.best is None:
        lines.append(f"No threshold abstains on {calibration.target:.0%} of the probes.")
    else:
        b = calibration.best
        lines.append(
            f"best for probes abstained >= {calibration.target:.2f}: min_score {b.threshold:.3f} "
            f"(probes abstained {b.probes_abstained:.3f}, answered {b.answered:.3f}, hit@1 {b.hit1:.3f})"
        )
    return lines


def render_speaker_eval(report: SpeakerReport) -> str:
    """The scores of ``onrecord eval-speakers``: OnRecord and the nearest-name baseline, by gold source."""
    figures = report.to_json_dict()
    lines = [
        f"{report.data} ({report.split}): {report.documents} documents, {report.sentences} sentences, "
        f"{figures['quotations']} direct quotations; attribution {report.attribution_ms_per_doc:.1f} ms a document.",
        "",
        f"{'method':<10} {'quotations':<10} {'n':>5} {'coverage':>8} {'accuracy':>8} {'exact':>6} {'right':>6}",
    ]
    for method, scores in (("OnRecord", figures), ("baseline", figures["baseline"])):
        rows = [("all", {**scores, "quotations": figures["quotations"]}), *scores["by_source"].items()]
        for group, r in rows:
            if group not in ("all", *GROUPS):
                continue
            rates = [
                _share(r[key], width) for key, width in (("coverage", 8), ("accuracy", 8), ("exact", 6), ("right", 6))
            ]
            lines.append(f"{method:<10} {group:<10} {r['quotations']:>5} {' '.join(rates)}")
    lines += [
        "",
        f"False attributions: {report.false_attributions} sentences outside every annotated quotation "
        f"({report.false_per_1000:.1f} per 1,000 sentences).",
    ]
    return "\n".join(lines) + "\n"


def _share(value: float | None, width: int) -> str:
    return f"{value:>{width}.3f}" if value is not None else f"{'-':>{width}}"


def render_feedback_report(report: FeedbackReport, width: int = 100) -> str:
    """The moderators' report (what `/report` shows in Discord) as plain text."""

    def short(text: str, limit: int) -> str:
        flat = " ".join(text.split())
        return flat if len(flat) <= limit else textwrap.shorten(flat, limit, placeholder="…")

    days = (report.until - report.since).days
    lines = [f"Report of {report.collection}: the last {days} days, to {report.until:%Y-%m-%d %H:%M} UTC", ""]
    if report.logging:
        share = f" ({100 * report.answered_share:.0f}%)" if report.answered_share is not None else ""
        lines.append(
            f"Questions: {report.asked} asked, {report.answered} answered{share}, {report.pinned} pinned first"
        )
    else:
        lines.append("Questions: the question log is off (ONRECORD_LOG_DAYS=0); only feedback is reported.")
    flags = sum(f.count for f in report.flagged)
    lines.append(f"Feedback: {report.helpful} helpful, {report.not_helpful} not helpful, {flags} flags on excerpts")
    busy = [s for s in report.shares if s.asked]
    if busy:
        lines += ["", "Answered over time" + (" (weeks)" if report.weekly else "") + ":"]
        lines += [f"  {s.start.isoformat()}  {s.answered:>4} of {s.asked:<4}" for s in busy]
    if report.logging:
        lines += ["", f"Not covered by the sources ({report.unanswered} questions):"]
        lines += ["  none"] if not report.gaps else []
        for number, gap in enumerate(report.gaps, start=1):
            lines.append(f"  {number}. {short(gap.question, width - 20)}  (asked {gap.count}x)")
            lines += [f"       also: {short(w, width - 14)}" for w in gap.wordings[:3]]
            if gap.closest:
                lines.append(f"       closest source: {short(gap.closest, width - 24)}")
    lines += ["", "Voted not helpful:"]
    lines += ["  none"] if not report.disliked else []
    for item in report.disliked:
        lines.append(f"  {short(item.question, width - 30)}  ({item.not_helpful} not helpful, {item.helpful} helpful)")
        if item.sources:
            lines.append(f"       quoting: {short('; '.join(item.sources), width - 16)}")
    lines += ["", "Flagged excerpts:"]
    lines += ["  none"] if not report.flagged else []
    for flag in report.flagged:
        lines.append(f"  {flag.label} x{flag.count}: \u201c{short(flag.quote, width - 30)}\u201d")
        who = f"{flag.speaker} · " if flag.speaker else ""
        lines.append(
            f"       {who}{flag.title} · {flag.doc_id} {flag.start}-{flag.end} · asked: {short(flag.question, 60)}"
        )
    if report.sources:
        lines += ["", "Most quoted sources:"] + [f"  {count:>4}  {title}" for title, count in report.sources]
    if report.speakers:
        lines += ["", "Most quoted speakers:"] + [f"  {count:>4}  {name}" for name, count in report.speakers]
    if report.pins:
        lines += ["", "Pinned answers:"] + [f"  {short(p.question, width - 40)} -> {p.doc_id}" for p in report.pins]
    return "\n".join(lines).rstrip() + "\n"
