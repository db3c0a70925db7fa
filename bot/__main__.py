"""``python -m bot`` / ``onrecord run``: build settings and logging once, construct the bot, run it."""

from __future__ import annotations

import asyncio
import logging
import sys

from pydantic import ValidationError

from index import IndexSettings, Library, LibraryError

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
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "?" for e in error.errors())
        print(f"onrecord: missing or invalid setting ({fields}); DISCORD_TOKEN must be set, see .env.example",
              file=sys.stderr)  # fmt: skip
        return 2
    if settings.api_base:
        discord.http.Route.BASE = settings.api_base.rstrip("/")
    if settings.gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)

    async def main() -> None:
        bot = OnRecordBot(settings, LibraryService(Library(index_settings)))
        async with bot:
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


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run()


if __name__ == "__main__":
    sys.exit(main())
