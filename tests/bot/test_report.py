"""Pure tests of the moderators' report as Discord shows it (`bot.render.report_embeds`) and as CSV
(`bot.cogs.report.report_csv`): within Discord's limits however much there is, members' text inert."""

from __future__ import annotations

import csv
import datetime as dt
import io

from bot import render
from bot.cogs.report import report_csv
from index.feedback import Pin
from index.report import Disliked, FeedbackReport, Flagged, Gap, Share

HOSTILE = '@everyone **bold** [link](https://evil.example) =HYPERLINK("x")'
UNTIL = dt.datetime(2026, 11, 9, tzinfo=dt.UTC)


def big_report() -> FeedbackReport:
    gaps = [
        Gap(f"{HOSTILE} question {n} " + "word " * 60, 200 - n, [f"wording {n}"] * 3, "Closest", "c.txt")
        for n in range(80)
    ]
    return FeedbackReport(
        collection="guild-1", since=UNTIL - dt.timedelta(days=30), until=UNTIL, logging=True, log_days=30,
        asked=500, answered=300, pinned=4, helpful=20, not_helpful=10, gaps=gaps, unanswered=200,
        disliked=[Disliked(HOSTILE, 1, 3, ["Title"])] * 30,
        flagged=[Flagged("wrong_speaker", 2, HOSTILE, "a.txt", "Title", "Maltz", "q" * 500, 0, 500)] * 30,
        sources=[("Title", 5)] * 10, speakers=[("Maltz", 3)] * 10,
        shares=[Share(dt.date(2026, 10, 10) + dt.timedelta(days=n), 5, 3) for n in range(31)],
        pins=[Pin(1, HOSTILE, "shared", "a.txt", 0, 5, "quote", 0.0)],
    )  # fmt: skip


def test_a_large_report_pages_within_discords_limits_and_keeps_every_section() -> None:
    embeds = render.report_embeds(big_report())
    assert len(embeds) > 1
    text = "\n".join(e.description or "" for e in embeds)
    for embed in embeds:
        assert len(embed.description or "") <= render.DESCRIPTION_LIMIT
        assert len(embed) <= render.MESSAGE_EMBEDS_LIMIT
    for section in ("Not covered by the sources", "Voted not helpful", "Flagged excerpts", "Most quoted", "Pinned"):
        assert section in text
    assert "@everyone" not in text and "[link](https" not in text and " **bold**" not in text
    assert embeds[-1].footer.text and f"of {len(embeds)}" in embeds[-1].footer.text


def test_the_csv_has_every_row_and_no_cell_a_spreadsheet_would_run() -> None:
    rows = list(csv.DictReader(io.StringIO(report_csv(big_report()).decode("utf-8-sig"))))
    assert sum(r["section"] == "not covered" for r in rows) == 80
    assert sum(r["section"] == "answered over time" for r in rows) == 31
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values() if cell)
    assert any(r["item"].startswith("'@everyone") for r in rows)


def test_privacy_says_what_is_kept_and_for_how_long() -> None:
    assert "for 30 days" in render.privacy_text(30, 180) and "180 days" in render.privacy_text(30, 180)
    assert "not kept" in render.privacy_text(0, 180)
