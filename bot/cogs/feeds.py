"""Feeds: ``/feed-add``, ``/feed-remove``, ``/feeds``, and the scheduler that polls them.

A server's moderators follow feeds (RSS, Atom, sitemaps) into their own library, the bot's owners into
the shared one (``library: shared``). Adding one polls it at once and indexes what it brought. The
scheduler wakes every ``feed_check_s``, finds the collections with a feed due, polls them in a worker
thread (index/feeds.py: blocking, conditional requests) and queues one rebuild per collection whose
poll brought something; the event loop never waits on the web. With several bot processes (scale-out
by shard) each polls the servers of its own shards, and the one serving shard 0 the shared library.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from index import SHARED, BuildInProgressError, LibraryError, guild_collection
from index.feeds import Feed, PollResult

from .. import render
from ..app import NO_MENTIONS
from ..checks import moderator_only
from .admin import LIBRARY_HELP, LibraryChoice, rebuild_with_progress, target_collection

if TYPE_CHECKING:
    from ..app import OnRecordBot

log = logging.getLogger(__name__)


async def feed_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """The feeds of the library the command changes, by number, matched on their address or title."""
    service = interaction.client.service  # type: ignore[attr-defined]
    shared = getattr(interaction.namespace, "library", "server") == "shared" or interaction.guild_id is None
    collection = SHARED if shared else guild_collection(interaction.guild_id)  # type: ignore[arg-type]
    try:
        feeds: list[Feed] = await asyncio.to_thread(service.feeds(collection).followed)
    except LibraryError:
        return []
    typed = current.casefold()
    return [
        app_commands.Choice(name=render.shorten(f"{f.id}. {f.title or f.url}", 100), value=str(f.id))
        for f in feeds
        if typed in f.url.casefold() or typed in (f.title or "").casefold() or typed == str(f.id)
    ][:25]


class FeedsCog(commands.Cog):
    """Follows feeds into the collections and keeps them polled."""

    def __init__(self, bot: OnRecordBot) -> None:
        self.bot = bot
        self.service = bot.service
        self._task: asyncio.Task[None] | None = None
        self._unbuilt: set[str] = set()  # collections whose poll brought pages a rebuild has not indexed yet

    async def cog_load(self) -> None:
        self._task = asyncio.create_task(self._schedule(), name="onrecord-feeds")

    async def cog_unload(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # -- the scheduler ---------------------------------------------------------------------------

    async def _schedule(self) -> None:
        while True:
            await asyncio.sleep(self.bot.settings.feed_check_s)
            try:
                await self.poll_due()
            except Exception:  # the scheduler must outlive any one failure
                log.exception("polling the feeds failed")

    async def poll_due(self) -> dict[str, list[PollResult]]:
        """Poll every feed that is due in the collections this process serves; one rebuild per
        collection that changed. Returns the results by collection."""
        polled: dict[str, list[PollResult]] = {}
        for collection in await asyncio.to_thread(self.service.collections.with_feeds):
            if not self._mine(collection):
                continue
            results = await asyncio.to_thread(self.service.feeds(collection).poll_due)
            if results:
                polled[collection] = results
            if any(r.changed for r in results):
                self._unbuilt.add(collection)
        for collection in sorted(self._unbuilt):
            try:
                report = await self.service.rebuild(collection)
            except BuildInProgressError:
                continue  # a moderator's rebuild is running; this one is tried again on the next round
            except LibraryError as error:
                log.warning("rebuild of %s after its feeds failed: %s", collection, error)
            else:
                log.info("feeds of %s: %d added, %d changed", collection, len(report.added), len(report.changed))
            self._unbuilt.discard(collection)
        return polled

    def _mine(self, collection: str) -> bool:
        """Whether this process polls ``collection``: the shard of its server is one it serves."""
        shards = self.bot.shard_ids
        if shards is None:
            return True
        if collection == SHARED:
            return 0 in shards
        guild_id = int(collection.removeprefix("guild-"))
        return (guild_id >> 22) % (self.bot.shard_count or 1) in shards

    # -- commands --------------------------------------------------------------------------------

    @app_commands.command(name="feed-add")
    @app_commands.describe(
        url="The address of an RSS or Atom feed, or of a sitemap.",
        minutes="Poll it every this many minutes (default: the bot's setting).",
        max_items="Index its newest this many entries.",
        max_age_days="Leave out entries older than this many days.",
        library=LIBRARY_HELP,
    )
    @app_commands.default_permissions(manage_guild=True)
    async def feed_add(
        self,
        interaction: discord.Interaction,
        url: str,
        minutes: app_commands.Range[float, 5.0, 10080.0] | None = None,
        max_items: app_commands.Range[int, 1, 500] | None = None,
        max_age_days: app_commands.Range[float, 0.1, 3650.0] | None = None,
        library: LibraryChoice = "server",
    ) -> None:
        """Follow a feed or sitemap: its articles are added now and whenever it has new ones."""
        collection = await target_collection(self.bot, interaction, library)
        await interaction.response.defer(thinking=True)
        feeds = self.service.feeds(collection)
        result = await asyncio.to_thread(
            lambda: feeds.add(url, minutes=minutes, max_items=max_items, max_age_days=max_age_days)
        )
        feed = result.feed
        intro = (
            f"Following **{render.safe(feed.title or feed.url)}** (every {feed.minutes:g} min): "
            f"{render.safe(result.summary())}.\n"
        )
        if result.failed:
            intro += "".join(f"Not added: {render.safe(render.without_paths(f))}\n" for f in result.failed[:5])
        if result.changed:
            await rebuild_with_progress(self.bot, interaction, collection, intro=intro)
        else:
            await interaction.followup.send(render.shorten(intro, render.CONTENT_LIMIT), allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="feed-remove")
    @app_commands.describe(feed="The feed to stop following (start typing its address).", library=LIBRARY_HELP)
    @app_commands.autocomplete(feed=feed_autocomplete)
    @app_commands.default_permissions(manage_guild=True)
    async def feed_remove(self, interaction: discord.Interaction, feed: str, library: LibraryChoice = "server") -> None:
        """Stop following a feed and remove the articles it brought from the sources."""
        collection = await target_collection(self.bot, interaction, library)
        await interaction.response.defer(thinking=True)
        feeds = self.service.feeds(collection)
        removed_feed, removed = await asyncio.to_thread(feeds.remove, feed)
        intro = f"Stopped following **{render.safe(removed_feed.title or removed_feed.url)}**; "
        intro += f"removed {len(removed)} of its articles.\n"
        await rebuild_with_progress(self.bot, interaction, collection, intro=intro)

    @app_commands.command(name="feeds")
    @app_commands.describe(library=LIBRARY_HELP)
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @moderator_only()
    async def feeds(self, interaction: discord.Interaction, library: LibraryChoice = "server") -> None:
        """The feeds this server's library (or the shared one) follows: last poll, result, next poll."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        collection = SHARED if library == "shared" else guild_collection(interaction.guild_id)  # type: ignore[arg-type]
        followed = await asyncio.to_thread(self.service.feeds(collection).followed)
        embed = render.feeds_embed(followed, collection)
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)


async def setup(bot: OnRecordBot) -> None:
    await bot.add_cog(FeedsCog(bot))
