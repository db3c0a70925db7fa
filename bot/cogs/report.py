"""The moderators' ``/report`` (paged embeds plus a CSV of every row) and its optional weekly digest,
posted to a channel a moderator chose with ``/report-digest``."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from index import guild_collection
from index.report import FeedbackReport

from .. import render
from ..app import NO_MENTIONS
from ..checks import moderator_only
from ..paging import PagedView

if TYPE_CHECKING:
    from ..app import OnRecordBot

log = logging.getLogger(__name__)

DIGEST_CHANNEL = "digest_channel"  # a server's settings, in its state database
DIGEST_LAST = "digest_last"
WEEK_S = 7 * 86400.0
CSV_COLUMNS = ("section", "item", "count", "answered", "detail", "source", "speaker")
# A cell a spreadsheet would run as a formula (members wrote these texts) is quoted with an apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def report_csv(report: FeedbackReport) -> bytes:
    """Every row of the report, one section per kind of row (UTF-8 with a BOM, for spreadsheets)."""
    rows: list[Sequence[object]] = [
        ("summary", "asked", report.asked, report.answered, f"{report.since:%Y-%m-%d} to {report.until:%Y-%m-%d}"),
        ("summary", "pinned first", report.pinned),
        ("summary", "helpful", report.helpful),
        ("summary", "not helpful", report.not_helpful),
    ]
    rows += [("answered over time", s.start.isoformat(), s.asked, s.answered) for s in report.shares]
    for gap in report.gaps:
        rows.append(("not covered", gap.question, gap.count, 0, "; ".join(gap.wordings), gap.closest or ""))
    for item in report.disliked:
        rows.append(
            ("not helpful", item.question, item.not_helpful, "", f"{item.helpful} helpful", "; ".join(item.sources))
        )
    for flag in report.flagged:
        detail = f"{flag.quote} [{flag.doc_id} {flag.start}-{flag.end}; asked: {flag.question}]"
        rows.append((f"flag: {flag.label}", flag.quote[:80], flag.count, "", detail, flag.title, flag.speaker or ""))
    rows += [("most quoted source", title, count) for title, count in report.sources]
    rows += [("most quoted speaker", name, count) for name, count in report.speakers]
    rows += [("pin", p.question, "", "", p.quote, p.doc_id) for p in report.pins]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def report_file(report: FeedbackReport) -> discord.File:
    return discord.File(io.BytesIO(report_csv(report)), filename=f"onrecord-report-{report.until:%Y-%m-%d}.csv")


class ReportView(PagedView):
    """Previous / next through the report's pages."""

    def __init__(self, embeds: Sequence[discord.Embed]) -> None:
        self.embeds = list(embeds)
        super().__init__(pages=len(self.embeds), timeout=900)

    def embed(self) -> discord.Embed:
        return self.embeds[self.page]


class ReportCog(commands.Cog):
    """What members asked that the sources did not cover, what they found wrong, what was quoted."""

    def __init__(self, bot: OnRecordBot) -> None:
        self.bot = bot
        self.service = bot.service
        self._digests: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        self._digests = asyncio.create_task(self._post_digests_forever(), name="onrecord-digests")

    async def cog_unload(self) -> None:
        if self._digests is not None:
            self._digests.cancel()

    @app_commands.command(name="report")
    @app_commands.describe(days="The period: the last this many days (default 7).")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @moderator_only()
    async def report(self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 365] = 7) -> None:
        """What members asked that the sources did not cover, the answers they found wrong, what was quoted."""
        assert interaction.guild_id is not None  # guild_only
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await self.service.report(guild_collection(interaction.guild_id), days)
        await ReportView(render.report_embeds(report)).send(interaction, self.bot.settings)
        await interaction.followup.send(
            "Every row of the report, as CSV:", file=report_file(report), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="report-digest")
    @app_commands.describe(channel="Post the week's report here every week (leave empty to stop).")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @moderator_only()
    async def report_digest(self, interaction: discord.Interaction, channel: discord.TextChannel | None = None) -> None:
        """Post the report of the week to a channel every week, or stop."""
        assert interaction.guild_id is not None  # guild_only
        await self.service.set_setting(interaction.guild_id, DIGEST_CHANNEL, channel.id if channel else None)
        text = f"The weekly report will be posted in <#{channel.id}>." if channel else "No weekly report is posted."
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def _post_digests_forever(self, every_s: float = 3600.0) -> None:
        await self.bot.wait_until_ready()
        while True:
            try:
                await self.post_digests()
            except Exception:
                log.exception("posting the weekly reports failed")
            await asyncio.sleep(every_s)

    async def post_digests(self, now: float | None = None) -> int:
        """Post the weekly report in every server whose digest is due; returns how many were posted."""
        posted = 0
        now = time.time() if now is None else now
        for guild in list(self.bot.guilds):
            channel_id = await self.service.setting(guild.id, DIGEST_CHANNEL)
            last = await self.service.setting(guild.id, DIGEST_LAST, 0.0)
            if not channel_id or now - float(last or 0.0) < WEEK_S:  # type: ignore[arg-type]
                continue
            channel = guild.get_channel(int(channel_id))  # type: ignore[call-overload]
            if not isinstance(channel, discord.TextChannel):
                continue
            report = await self.service.report(guild_collection(guild.id), 7)
            embed = render.report_embeds(report, title="OnRecord: the week's report")[0]
            try:
                await channel.send(embed=embed, file=report_file(report), allowed_mentions=NO_MENTIONS)
            except discord.HTTPException:
                log.warning("could not post the weekly report in server %s", guild.id, exc_info=True)
                continue
            await self.service.set_setting(guild.id, DIGEST_LAST, now)
            posted += 1
        return posted


async def setup(bot: OnRecordBot) -> None:
    await bot.add_cog(ReportCog(bot))
