"""Getting a reply to the member through Discord's bad moments.

An interaction's token stays valid for 15 minutes, so an answer that Discord refused with a 5xx, a
rate limit or a dropped connection is tried again, with backoff, for most of that time
(`BotSettings.delivery_deadline_s`); the last part of it is kept for telling the member that the
answer could not be delivered. Edits of the deferred reply are idempotent (the same PATCH twice
shows the same message), so a retry never posts an answer twice.

A long rebuild can outlive the token. Its summary is then edited into the reply through the
channel (the message is the bot's own) or, failing that, posted to the channel.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import aiohttp
import discord
from tenacity import AsyncRetrying, retry_if_exception, wait_exponential

from . import render
from .settings import BotSettings

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
TOKEN_LIFETIME_S = 15 * 60
UNDELIVERED = "Sorry: Discord did not take the answer in time. Please ask again."


def transient(error: BaseException) -> bool:
    """Worth another try: Discord's 5xx and rate limits, dropped connections, time-outs."""
    if isinstance(error, discord.HTTPException):
        return error.status >= 500 or error.status == 429
    return isinstance(error, aiohttp.ClientError | asyncio.TimeoutError | OSError)


def token_dead(error: BaseException) -> bool:
    """The interaction's token no longer works (expired, or Discord forgot the interaction)."""
    return isinstance(error, discord.HTTPException) and error.status in (401, 404)


def seconds_left(interaction: discord.Interaction, settings: BotSettings, share: float = 1.0) -> float:
    """Seconds until ``share`` of the delivery deadline has passed since the interaction was made."""
    age = (discord.utils.utcnow() - interaction.created_at).total_seconds()
    return settings.delivery_deadline_s * share - age


def _stop_at(deadline: float) -> Any:
    loop = asyncio.get_running_loop()

    def done(state: Any) -> bool:
        return loop.time() >= deadline

    return done


def retrying(settings: BotSettings, seconds: float) -> AsyncRetrying:
    """Retries of transient failures for at most ``seconds`` (waits from `retry_wait_s`, doubling)."""
    deadline = asyncio.get_running_loop().time() + max(seconds, 0.0)
    return AsyncRetrying(
        retry=retry_if_exception(transient),
        stop=_stop_at(deadline),
        wait=wait_exponential(multiplier=settings.retry_wait_s, max=settings.retry_wait_max_s),
        reraise=True,
    )


async def deliver(interaction: discord.Interaction, settings: BotSettings, **message: Any) -> bool:
    """Edit the deferred reply into ``message`` (embed, view, content...), retrying within the token's
    lifetime; if it still fails, tell the member so. Returns whether the message was delivered."""
    message.setdefault("allowed_mentions", NO_MENTIONS)
    try:
        async for attempt in retrying(settings, seconds_left(interaction, settings, 0.9)):
            with attempt:
                await interaction.edit_original_response(**message)
        return True
    except discord.HTTPException as error:
        if token_dead(error):
            log.warning("the answer could not be delivered: the interaction token no longer works")
            return False
        log.warning("the answer could not be delivered (%s %s); telling the member", error.status, error.text[:200])
    except (TimeoutError, aiohttp.ClientError, OSError) as error:
        log.warning("the answer could not be delivered (%s); telling the member", error.__class__.__name__)
    await apologise(interaction, settings)
    return False


async def apologise(interaction: discord.Interaction, settings: BotSettings, text: str = UNDELIVERED) -> None:
    """Replace the reply with a short message, retrying within what is left of the token's lifetime."""
    try:
        async for attempt in retrying(settings, seconds_left(interaction, settings)):
            with attempt:
                await interaction.edit_original_response(
                    content=text, embeds=[], view=None, allowed_mentions=NO_MENTIONS
                )
    except (TimeoutError, discord.HTTPException, aiohttp.ClientError, OSError):
        log.warning("could not tell the member that the answer was not delivered", exc_info=True)


class PublicReply:
    """The public reply of a long command (a rebuild): edited through the interaction while its token
    works, then through the channel, or posted to the channel when it cannot be edited."""

    def __init__(self, interaction: discord.Interaction, settings: BotSettings) -> None:
        self.interaction = interaction
        self.settings = settings
        self.message_id: int | None = None
        self.token_works = True

    def expiring(self) -> bool:
        age = (dt.datetime.now(dt.UTC) - self.interaction.created_at).total_seconds()
        return age > min(self.settings.delivery_deadline_s, TOKEN_LIFETIME_S - 30)

    async def show(self, content: str, *, retry: bool = False) -> None:
        """Show ``content`` in the reply; with ``retry``, through transient failures and by every route."""
        if self.token_works and not self.expiring():
            try:
                seconds = seconds_left(self.interaction, self.settings, 0.9) if retry else 0
                async for attempt in retrying(self.settings, seconds):
                    with attempt:
                        message = await self.interaction.edit_original_response(
                            content=content, allowed_mentions=NO_MENTIONS
                        )
                self.message_id = message.id
                return
            except discord.HTTPException as error:
                if not token_dead(error):
                    if not retry:
                        raise
                    log.warning("could not edit the reply (%s); trying through the channel", error.status)
                self.token_works = self.token_works and not token_dead(error)
        if not retry:
            await self._edit_through_channel(content)
            return
        try:
            await self._edit_through_channel(content)
        except (discord.HTTPException, LookupError):
            await self._post(content)

    async def _edit_through_channel(self, content: str) -> None:
        channel = self.interaction.channel
        if self.message_id is None or not isinstance(channel, discord.TextChannel | discord.Thread):
            raise LookupError("the reply's message is not known")
        async for attempt in retrying(self.settings, 30):
            with attempt:
                await channel.get_partial_message(self.message_id).edit(content=content, allowed_mentions=NO_MENTIONS)

    async def _post(self, content: str) -> None:
        channel = self.interaction.channel
        if not isinstance(channel, discord.abc.Messageable):
            log.warning("a rebuild summary could not be shown: the channel is unknown")
            return
        who = discord.utils.escape_markdown(render.plain(self.interaction.user.display_name))
        try:
            async for attempt in retrying(self.settings, 60):
                with attempt:
                    await channel.send(f"{content}\n-# Requested by {who}"[:2000], allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.warning("a rebuild summary could not be posted to the channel", exc_info=True)
