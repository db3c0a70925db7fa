"""The one place an answer (and the other replies) is rendered for Discord. Pure functions.

Discord's limits: 2000 characters of content, 256 of title, 4096 of embed description, 1024 per
field value, 25 fields and 6000 characters across one message's embeds. A quote that does not fit is
shortened at a word boundary with an ellipsis outside the quotation, never mid-word, and its
attribution line is always kept whole. Source text is escaped so its own markdown, mentions or
masked links cannot change the layout.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import discord

from index import SHARED, Answer, BuildReport, Excerpt, SourceInfo, WhoSaid
from index.report import FeedbackReport

from .service import CollectionStatus

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_LIMIT = 1024
FIELDS_LIMIT = 25
MESSAGE_EMBEDS_LIMIT = 6000
FOOTER_LIMIT = 2048
# Room for each piece of metadata, so three attribution lines always fit one description whole, and
# ten sources one message.
META_LIMIT = 100
URL_LIMIT = 400
SOURCE_ID_LIMIT = 150

_INLINE_MARKDOWN = re.compile(r"([\\*_~|`\[\]])")
# Bidirectional controls (ALM, LRM/RLM, embeddings and overrides, isolates): they reorder what follows
# them, so a source or a member could make a quote or a name read otherwise than it is.
# A web address with nothing in it that Discord reads as markup (index/metadata.py checks the same).
_PLAIN_URL = re.compile(r"https?://[^\s<>\[\]`\"'\\|]+$")
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# An absolute path on the server (POSIX or Windows), not part of a URL: only its last part is shown.
_SERVER_PATH = re.compile(r"(?<![\w/:.~-])(?:/|[A-Za-z]:\\)(?:[^\s/\\'\"`<>]+[/\\])+[^\s/\\'\"`<>]*")
_BLOCK_MARKDOWN = re.compile(r"^([>#-])")
NOT_COVERED = "The sources do not cover this question."
NO_SUCH_QUOTE = "The sources hold no such quote."
QUOTES_PAGE_SIZE = 5
ANSWER_COLOUR = discord.Colour.blurple()
ABSTAIN_COLOUR = discord.Colour.light_grey()
PAGE_SIZE = 3


def plain(text: str) -> str:
    """``text`` without bidirectional controls."""
    return BIDI_CONTROLS.sub("", text)


def without_paths(text: str) -> str:
    """``text`` with each absolute server path cut to its last part ("/srv/x/index/gen-1" -> "gen-1"):
    where the bot's files live is nobody's business in a Discord message."""
    return _SERVER_PATH.sub(lambda m: re.split(r"[/\\]", m.group(0).rstrip("/\\"))[-1] or "…", text)


def code(text: str, limit: int = SOURCE_ID_LIMIT) -> str:
    """A file name or id as an inline code span (backticks dropped, bidi controls stripped, bounded)."""
    return f"`{shorten(plain(text).replace('`', ''), limit)}`"


def safe(text: str) -> str:
    """Source or user text made inert: one line; bidi controls stripped; every markdown character,
    masked links and mentions escaped. (discord.utils.escape_markdown lets a greedy ``[..](..)`` match
    swallow the markup between two links, so the escaping here is character by character.)"""
    flat = " ".join(plain(text).split())
    escaped = _INLINE_MARKDOWN.sub(r"\\\1", flat)
    escaped = _BLOCK_MARKDOWN.sub(r"\\\1", escaped)  # quote, heading and list marks count at the start only
    return discord.utils.escape_mentions(escaped)


def shorten(text: str, limit: int, ellipsis: str = "…") -> str:
    """``text`` within ``limit`` characters, cut after a whole word, ellipsis added when cut."""
    if len(text) <= limit:
        return text
    room = max(limit - len(ellipsis), 0)
    cut = text[: room + 1]
    space = cut.rfind(" ")
    piece = cut[:space] if space > 0 else text[:room]
    piece = piece.rstrip("\\ ")  # never leave a dangling escape backslash
    return piece + ellipsis


def collection_name(collection: str | None) -> str:
    """How a collection is named to members: the shared library, or the server's own."""
    return "shared library" if collection == SHARED else "this server's library"


def attribution_line(excerpt: Excerpt) -> str:
    """— **Speaker** · *Title* · outlet · date · location · [link] · collection (all escaped, each
    within bounds; the collection only when the answer draws on several)."""
    parts: list[str] = []
    if excerpt.speaker:
        parts.append(f"**{shorten(safe(excerpt.speaker), META_LIMIT)}**")
    parts.append(f"*{shorten(safe(excerpt.title), TITLE_LIMIT)}*")
    if excerpt.author:
        parts.append(shorten(safe(excerpt.author), META_LIMIT))
    if excerpt.published:
        parts.append(excerpt.published.isoformat())
    if excerpt.location:
        parts.append(shorten(safe(excerpt.location), META_LIMIT))
    if excerpt.url and len(excerpt.url) <= URL_LIMIT and _PLAIN_URL.match(excerpt.url):
        parts.append(f"[link](<{excerpt.url}>)")
    elif excerpt.path:
        parts.append(code(excerpt.path, META_LIMIT))
    if excerpt.collection:
        parts.append(collection_name(excerpt.collection))
    if excerpt.pinned:
        parts.append("pinned by the moderators")
    return "— " + " · ".join(parts)


def also_line(excerpt: Excerpt) -> str:
    """ "Also reported by" the other sources telling the same sentence (escaped, at most three named)."""
    if not excerpt.also:
        return ""
    names = [shorten(safe(other.author or other.title), META_LIMIT) for other in excerpt.also[:3]]
    more = len(excerpt.also) - len(names)
    return "\n-# Also reported by " + ", ".join(names) + (f" and {more} more" if more > 0 else "")


def excerpt_block(excerpt: Excerpt, quote_limit: int | None = None) -> str:
    """The quote as a block quote, then its attribution line (and who else reported it)."""
    quote = safe(excerpt.quote)
    if quote_limit is not None:
        quote = shorten(quote, quote_limit)
    return f"> {quote}\n{attribution_line(excerpt)}{also_line(excerpt)}"


def answer_embed(answer: Answer, page: int = 0, page_size: int = PAGE_SIZE) -> discord.Embed:
    """One page of an answer: up to ``page_size`` excerpts, best first, within every limit."""
    title = shorten(safe(answer.question), TITLE_LIMIT)
    if not answer.answered:
        if answer.speaker is None:
            hint = (
                "Nothing in them is close enough to quote as an answer. "
                "Try other words, or see what is indexed with `/sources`."
            )
        elif answer.speakers:
            hint = "Try other words, or see everything they are quoted saying with `/quotes`."
        else:
            hint = "See who they quote with `/quotes` (start typing a name)."
        description = f"{safe(shorten(answer.abstention(), DESCRIPTION_LIMIT - len(hint) - 1))} {hint}"
        return discord.Embed(title=title, description=description, colour=ABSTAIN_COLOUR)
    excerpts = answer.excerpts[page * page_size : (page + 1) * page_size]
    total = len(answer.excerpts)
    first = page * page_size + 1
    footer = f"Excerpts {first}–{first + len(excerpts) - 1} of {total} · verbatim quotes from the sources"
    if len(excerpts) == 1:
        footer = f"Excerpt {first} of {total} · verbatim quotes from the sources"
    if answer.speaker is not None:
        footer += f" · {shorten(' '.join(plain(answer.speaker).split()), META_LIMIT)} only"
    budget = min(DESCRIPTION_LIMIT, MESSAGE_EMBEDS_LIMIT - len(title) - len(footer) - 10)
    description = _fit_blocks(excerpts, budget)
    embed = discord.Embed(title=title, description=description, colour=ANSWER_COLOUR)
    embed.set_footer(text=footer)
    return embed


def _fit_blocks(excerpts: Sequence[Excerpt], budget: int) -> str:
    """Excerpt blocks joined by blank lines, quotes shortened evenly if the whole does not fit."""
    blocks = [excerpt_block(e) for e in excerpts]
    joined = "\n\n".join(blocks)
    if len(joined) <= budget:
        return joined
    fixed = sum(len(attribution_line(e)) + len(also_line(e)) + 3 for e in excerpts) + 2 * (len(excerpts) - 1)
    per_quote = max((budget - fixed) // max(len(excerpts), 1), 20)
    return "\n\n".join(excerpt_block(e, per_quote) for e in excerpts)[:budget]


def quotes_embed(
    asked: str, names: Sequence[str], excerpts: Sequence[Excerpt], page: int, page_size: int = QUOTES_PAGE_SIZE
) -> discord.Embed:
    """One page of a person's quotes, the newest source first."""
    who = ", ".join(names) if names else asked
    title = shorten(safe(f"Quotes of {who}"), TITLE_LIMIT)
    if not names:
        description = (
            f"The sources quote nobody called {safe(shorten(asked, META_LIMIT))}. "
            "Start typing a name to see who they quote."
        )
        return discord.Embed(title=title, description=description, colour=ABSTAIN_COLOUR)
    shown = excerpts[page * page_size : (page + 1) * page_size]
    first = page * page_size + 1
    footer = (
        f"Quotes {first}–{first + len(shown) - 1} of {len(excerpts)} · page {page + 1} of "
        f"{max(1, -(-len(excerpts) // page_size))} · the newest source first · verbatim"
    )
    budget = min(DESCRIPTION_LIMIT, MESSAGE_EMBEDS_LIMIT - len(title) - len(footer) - 10)
    embed = discord.Embed(title=title, description=_fit_blocks(shown, budget), colour=ANSWER_COLOUR)
    embed.set_footer(text=footer)
    return embed


def who_said_embed(result: WhoSaid) -> discord.Embed:
    """Who the sources say said a text: for each place that holds it, the verdict and the quote."""
    looked_up = f"Looked up: “{shorten(safe(result.text), 300)}”"
    if not result.found:
        description = f"{NO_SUCH_QUOTE} Nothing in them matches it word for word.\n{looked_up}"
        return discord.Embed(title="Who said this?", description=description, colour=ABSTAIN_COLOUR)
    verdicts = [f"**{shorten(safe(result.verdict(m)), META_LIMIT * 3)}**" for m in result.matches]
    excerpts = [m.excerpt for m in result.matches]
    footer = f"{len(excerpts)} place{'s' if len(excerpts) > 1 else ''} in the sources · verbatim quotes"
    fixed = len(looked_up) + sum(len(v) + 3 for v in verdicts) + len(footer) + 30
    blocks = _fit_blocks(excerpts, min(DESCRIPTION_LIMIT, MESSAGE_EMBEDS_LIMIT) - fixed).split("\n\n")
    description = "\n\n".join([looked_up, *(f"{v}\n{b}" for v, b in zip(verdicts, blocks, strict=False))])
    embed = discord.Embed(title="Who said this?", description=description[:DESCRIPTION_LIMIT], colour=ANSWER_COLOUR)
    embed.set_footer(text=footer)
    return embed


def pages(answer: Answer, page_size: int = PAGE_SIZE) -> int:
    return max(1, -(-len(answer.excerpts) // page_size))


def report_text(report: BuildReport) -> str:
    """A rebuild's summary, within the content limit."""
    lines = [
        f"**Index rebuilt** in {report.seconds:.1f} s: {report.documents} documents, {report.chunks} chunks.",
        f"Added {len(report.added)}, changed {len(report.changed)}, removed {len(report.removed)}, "
        f"unchanged {report.unchanged}, skipped {len(report.skipped)}.",
    ]
    if report.full_rebuild_reason:
        lines.insert(0, safe(without_paths(report.full_rebuild_reason)))
    for label, names in (("Added", report.added), ("Changed", report.changed), ("Removed", report.removed)):
        if names:
            lines.append(f"{label}: " + ", ".join(code(n) for n in names[:10]) + (" …" if len(names) > 10 else ""))
    for skipped in report.skipped[:10]:
        lines.append(f"Skipped {code(skipped.path)}: {safe(without_paths(skipped.reason))}")
    if len(report.skipped) > 10:
        lines.append(f"… and {len(report.skipped) - 10} more skipped.")
    return shorten("\n".join(lines), CONTENT_LIMIT)


def sources_embed(sources: Sequence[SourceInfo], page: int, page_size: int = 10) -> discord.Embed:
    """One page of the indexed documents."""
    chunk = sources[page * page_size : (page + 1) * page_size]
    total_pages = max(1, -(-len(sources) // page_size))
    embed = discord.Embed(title=f"Sources ({len(sources)})", colour=ANSWER_COLOUR)
    if not chunk:
        embed.description = "No sources are indexed."
    for info in chunk[:FIELDS_LIMIT]:
        author = shorten(safe(info.author or ""), META_LIMIT)
        meta = " · ".join(x for x in (author, info.published.isoformat() if info.published else "") if x)
        value = code(info.doc_id) + (f"\n{meta}" if meta else "") + f"\n{info.chunks} chunks"
        if info.collection:
            value += f" · {collection_name(info.collection)}"
        embed.add_field(name=shorten(safe(info.title), TITLE_LIMIT), value=shorten(value, FIELD_LIMIT), inline=False)
    embed.set_footer(text=f"Page {page + 1} of {total_pages}")
    return embed


def source_embed(info: SourceInfo) -> discord.Embed:
    """One document's metadata."""
    embed = discord.Embed(title=shorten(safe(info.title), TITLE_LIMIT), colour=ANSWER_COLOUR)
    embed.add_field(name="File", value=code(info.doc_id), inline=False)
    embed.add_field(name="Outlet or author", value=safe(info.author or "unknown"))
    embed.add_field(name="Published", value=info.published.isoformat() if info.published else "unknown")
    if info.url and len(info.url) <= URL_LIMIT and _PLAIN_URL.match(info.url):
        embed.add_field(name="Link", value=info.url, inline=False)  # a plain address: it cannot be a masked link
    embed.add_field(
        name="Indexed", value=f"{info.chunks} chunks, {info.sentences} sentences, {info.chars:,} characters"
    )
    return embed


def status_embed(
    collections: Sequence[CollectionStatus], *, uptime_s: float, rebuilding: Sequence[str] = ()
) -> discord.Embed:
    """What each collection a server reads serves, and the server's own answer counts."""
    embed = discord.Embed(title="OnRecord status", colour=ANSWER_COLOUR)
    model = next((c.status.model for c in collections if c.status is not None), None)
    for item in collections[: FIELDS_LIMIT - 4]:
        name = collection_name(item.collection).capitalize()
        if item.status is None:
            value = "Nothing indexed yet."
        else:
            status = item.status
            value = (
                f"{status.documents} documents, {status.chunks} chunks, {status.sentences} sentences\n"
                f"Index built {status.built_at or 'never'}"
            )
        if item.collection in rebuilding:
            value += "\nRebuild running now"
        embed.add_field(name=name, value=shorten(value, FIELD_LIMIT), inline=False)
    counted = next((c.counters for c in collections if c.counters), {})
    embed.add_field(name="Answered / abstained", value=f"{counted.get('answered', 0)} / {counted.get('abstained', 0)}")
    embed.add_field(name="Uptime", value=str(dt.timedelta(seconds=int(uptime_s))))
    if model:
        embed.add_field(name="Model", value=safe(model), inline=False)
    return embed


# -- feedback, pins and the moderators' report ---------------------------------------------------

OPTION_LIMIT = 100  # a select option's label and description
REPORT_PAGE_CHARS = 3500


def pin_option(number: int, excerpt: Excerpt) -> str:
    """A select option naming an excerpt: its number and the start of its quote."""
    return shorten(f"{number + 1}. “{' '.join(plain(excerpt.quote).split())}”", OPTION_LIMIT)


def pin_source(excerpt: Excerpt) -> str:
    return shorten(plain(" · ".join(p for p in (excerpt.speaker, excerpt.title) if p)), OPTION_LIMIT)


def pin_prompt(answer: Answer) -> str:
    return shorten(
        f"Which excerpt should answer “{safe(answer.question)}” first? The same or a very similar question "
        "will get it first, word for word from the current source, until the pin is removed (`/pin-remove`) "
        "or the source changes.",
        CONTENT_LIMIT,
    )


def pinned_text(answer: Answer, number: int) -> str:
    excerpt = answer.excerpts[number]
    return shorten(
        f"Pinned excerpt {number + 1} ({shorten(safe(excerpt.title), META_LIMIT)}) as the answer to "
        f"“{safe(answer.question)}”. Remove it with `/pin-remove`.",
        CONTENT_LIMIT,
    )


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def report_lines(report: FeedbackReport) -> list[str]:
    """The report as lines of Discord markdown (every member's or source's text escaped)."""
    days = (report.until - report.since).days
    lines = [f"**Period**: the last {days} days, to {report.until:%Y-%m-%d %H:%M} UTC"]
    if report.logging:
        lines.append(
            f"**Questions**: {report.asked} asked, {report.answered} answered "
            f"({_percent(report.answered, report.asked)}), {report.pinned} with a pinned excerpt first"
        )
    else:
        lines.append("**Questions**: the question log is off (`ONRECORD_LOG_DAYS=0`): only feedback is reported.")
    lines.append(
        f"**Feedback**: {report.helpful} helpful, {report.not_helpful} not helpful, "
        f"{sum(f.count for f in report.flagged)} flags on excerpts"
    )
    busy = [s for s in report.shares if s.asked]
    if busy:
        unit = "Week of " if report.weekly else ""
        lines.append("**Answered over time**")
        lines += [
            f"{unit}`{s.start.isoformat()}` {s.answered} of {s.asked} ({_percent(s.answered, s.asked)})" for s in busy
        ]
    if report.logging:
        lines.append(f"**Not covered by the sources** ({report.unanswered} questions)")
        if not report.gaps:
            lines.append("None in this period.")
        for number, gap in enumerate(report.gaps, start=1):
            line = f"{number}. “{shorten(safe(gap.question), 200)}” — asked {gap.count}×"
            if gap.wordings:
                line += " (also: " + "; ".join(f"“{shorten(safe(w), 80)}”" for w in gap.wordings[:3]) + ")"
            if gap.closest:
                line += f" · closest source: *{shorten(safe(gap.closest), META_LIMIT)}*"
            lines.append(line)
    lines.append("**Voted not helpful**")
    if not report.disliked:
        lines.append("No answer in this period.")
    for item in report.disliked:
        titles = ", ".join(f"*{shorten(safe(t), META_LIMIT)}*" for t in item.sources[:3]) or "no excerpts"
        lines.append(
            f"“{shorten(safe(item.question), 200)}” — {item.not_helpful} not helpful, {item.helpful} helpful · {titles}"
        )
    lines.append("**Flagged excerpts**")
    if not report.flagged:
        lines.append("None in this period.")
    for flag in report.flagged:
        who = f"**{shorten(safe(flag.speaker), META_LIMIT)}** · " if flag.speaker else ""
        lines.append(
            f"{flag.label} ×{flag.count}: “{shorten(safe(flag.quote), 200)}” — {who}"
            f"*{shorten(safe(flag.title), META_LIMIT)}* (asked: “{shorten(safe(flag.question), 120)}”)"
        )
    if report.sources:
        lines.append("**Most quoted sources**")
        lines += [f"*{shorten(safe(title), TITLE_LIMIT)}*: {count}" for title, count in report.sources]
    if report.speakers:
        lines.append("**Most quoted speakers**")
        lines += [f"{shorten(safe(name), META_LIMIT)}: {count}" for name, count in report.speakers]
    if report.pins:
        lines.append("**Pinned answers**")
        lines += [f"“{shorten(safe(p.question), 200)}” → {code(p.doc_id)}" for p in report.pins]
    return lines


def report_embeds(report: FeedbackReport, title: str = "OnRecord report") -> list[discord.Embed]:
    """The report as pages of embeds (a section's lines kept together where they fit)."""
    pages: list[list[str]] = [[]]
    size = 0
    for line in report_lines(report):
        line = shorten(line, 1000)
        if size + len(line) + 1 > REPORT_PAGE_CHARS and pages[-1]:
            pages.append([])
            size = 0
        pages[-1].append(line)
        size += len(line) + 1
    embeds = []
    for number, lines in enumerate(pages, start=1):
        embed = discord.Embed(title=title, description="\n".join(lines), colour=ANSWER_COLOUR)
        embed.set_footer(text=f"Page {number} of {len(pages)} · every row is in the CSV attached")
        embeds.append(embed)
    return embeds


def privacy_text(log_days: float, feedback_days: float) -> str:
    """What the bot keeps about this server's questions, and for how long (``/privacy``)."""
    if log_days > 0:
        logged = (
            f"**Questions**: each question asked here, when, whether the sources answered it, how confident "
            f"the answer was and which sources it quoted, for {log_days:g} days, so the moderators can see what "
            "the sources do not cover. Who asked is not kept."
        )
    else:
        logged = "**Questions**: not kept (the question log is off)."
    return "\n".join(
        [
            logged,
            f"**Feedback**: votes and flags on answers, with the question and the excerpts' sources, for "
            f"{feedback_days:g} days. Who voted is kept only as a keyed hash, to count one vote per member.",
            "**Pins**: the questions moderators pinned an excerpt to, until they remove the pin.",
            "Moderators see this in `/report` and can delete the log with `/log-delete`.",
        ]
    )
