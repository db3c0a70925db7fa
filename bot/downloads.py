"""Downloading an uploaded file: from Discord's CDN only, no redirects, streamed under a byte cap.

An attachment's URL and declared size come in the interaction's payload. The URL must be an https
address on one of Discord's CDN hosts (or the configured stand-in's base, for tests), so the bot can
never be pointed at a service of its own network; a redirect is refused rather than followed; the
body is read in pieces and the download stops as soon as it passes the limit, whatever the declared
size or the Content-Length said. Transient failures (5xx, rate limits, dropped connections) are
retried with backoff.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import aiohttp
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from index import SourceError

log = logging.getLogger(__name__)

DISCORD_CDN_HOSTS = ("cdn.discordapp.com", "media.discordapp.net")
_CHUNK = 64 * 1024


class TransientDownloadError(Exception):
    """The CDN answered 5xx or 429: worth another try."""


def allowed_url(url: str, hosts: tuple[str, ...], base: str | None = None) -> bool:
    """Whether ``url`` is an https address on one of ``hosts`` (no credentials, default port), or
    lies under ``base`` (a stand-in's CDN)."""
    if base and url.startswith(base.rstrip("/") + "/"):
        return True
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and (parts.hostname or "").lower() in hosts
        and port in (None, 443)
        and "@" not in parts.netloc
    )


async def download(
    url: str,
    *,
    name: str,
    max_bytes: int,
    hosts: tuple[str, ...] = DISCORD_CDN_HOSTS,
    base: str | None = None,
    attempts: int = 4,
    wait_s: float = 0.2,
    timeout_s: float = 60.0,
) -> bytes:
    """The file at ``url``, at most ``max_bytes`` long. Raises `SourceError` saying what was wrong."""
    if not allowed_url(url, hosts, base):
        raise SourceError(f"{name!r} is not a file uploaded to Discord; it was not downloaded.")
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(lambda e: isinstance(e, TransientDownloadError | aiohttp.ClientConnectionError)),
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=wait_s, max=2),
            reraise=True,
        ):
            with attempt:
                return await _fetch(session, url, name, max_bytes)
    raise AssertionError("unreachable")  # AsyncRetrying either returns or re-raises


async def _fetch(session: aiohttp.ClientSession, url: str, name: str, max_bytes: int) -> bytes:
    limit_mb = f"{max_bytes / 1e6:g} MB"
    async with session.get(url, allow_redirects=False) as response:
        if 300 <= response.status < 400:
            raise SourceError(f"{name!r} could not be downloaded: Discord's CDN redirected elsewhere.")
        if response.status >= 500 or response.status == 429:
            raise TransientDownloadError(f"the CDN answered {response.status}")
        if response.status != 200:
            raise SourceError(f"{name!r} could not be downloaded (the CDN answered {response.status}).")
        if response.content_length is not None and response.content_length > max_bytes:
            raise SourceError(f"{name!r} is over the {limit_mb} limit.")
        body = bytearray()
        async for piece in response.content.iter_chunked(_CHUNK):
            body += piece
            if len(body) > max_bytes:
                log.warning("stopped downloading %r past %d bytes", name, max_bytes)
                raise SourceError(f"{name!r} is over the {limit_mb} limit.")
        return bytes(body)
