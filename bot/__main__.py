"""``python -m bot`` / ``onrecord run``: build settings and logging once, construct the bot, run it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from typing import TYPE_CHECKING

from pydantic import ValidationError

from index import Collections, IndexSettings, LibraryError

if TYPE_CHECKING:
    import discord

log = logging.getLogger("bot")


def run(index_settings: IndexSettings | None = None) -> int:
    """Run the bot until it is stopped. Returns the process exit code."""
    import discord
    import yarl

    from .app import OnRecordBot
    from .service import LibraryService
    from .settings import BotSettings

    try:
        settings = BotSettings()  # type: ignore[call-arg]
        index_settings = index_settings or IndexSettings()
    except ValidationError as error:
        problems = "; ".join(f"{_variable(e['loc'])}: {e['msg']}" for e in error.errors())
        print(f"onrecord: invalid setting {problems} (see .env.example)", file=sys.stderr)
        return 2
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
    if settings.discord_gateway:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway)

    async def main() -> None:
        service = LibraryService(
            Collections(index_settings), max_rebuilds=settings.max_rebuilds, allowed_guilds=settings.allowed_guilds
        )
        bot = OnRecordBot(settings, service)
        async with bot:
            _close_on_sigterm(bot)
            await bot.start(settings.discord_token.get_secret_value())

    try:
        asyncio.run(main())
    except discord.LoginFailure:
        print("onrecord: Discord rejected the token: check DISCORD_TOKEN.", file=sys.stderr)
        return 1
    except discord.PrivilegedIntentsRequired:
        print("onrecord: Discord refused the gateway intents.", file=sys.stderr)
        return 1
    except LibraryError as error:
        print(f"onrecord: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


def _variable(loc: tuple[int | str, ...]) -> str:
    """The environment variable behind a settings error's location (the value is never shown)."""
    name = str(loc[0]) if loc else "?"
    return name if name.isupper() else f"ONRECORD_{name.upper()}"


def _close_on_sigterm(bot: discord.Client) -> None:
    """SIGTERM (how services and containers are stopped) closes the bot as Ctrl-C does, so it
    logs out of the gateway and the process exits 0 instead of dying mid-answer."""
    closing: set[asyncio.Task[None]] = set()

    def close() -> None:
        log.info("SIGTERM: closing")
        task = asyncio.create_task(bot.close())
        closing.add(task)
        task.add_done_callback(closing.discard)

    with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows' event loop
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, close)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run()


if __name__ == "__main__":
    sys.exit(main())
