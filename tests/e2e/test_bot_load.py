"""End-to-end load: 50 members ask at once while a moderator's /reindex embeds new sources.

Every interaction must be acknowledged within Discord's 3 seconds (the stand-in refuses a later first
response, which fails the test through the bot's error log) and every one must get its answer.
"""

from __future__ import annotations

import asyncio

import pytest

from index import SHARED
from tests.e2e.conftest import BotFactory, Seed, answer_quotes
from tests.e2e.discord_standin import DEFERRED_MESSAGE, DiscordStandIn

pytestmark = pytest.mark.asyncio

QUESTIONS = [
    "What do the cartels need to make fentanyl?",
    "Who heads the Sinaloa cartel?",
    "How many Americans died of drug overdoses in 2021?",
    "Why are profits from fentanyl so high?",
    "What policy does López Obrador follow toward the cartels?",
]
MEMBERS = 50


def _new_sources(seed: Seed) -> None:
    """Enough new text that the rebuild embeds for several seconds."""
    for number in range(4):
        sentences = " ".join(
            f"Report {number} paragraph {k} notes that harbour number {k * 7 + number} handled "
            f"{k * 13 + 5} container ships during the busy autumn season."
            for k in range(60)
        )
        (seed.docs / f"harbour-{number}.txt").write_text(sentences, "utf-8")


async def test_fifty_questions_during_a_reindex_are_all_acknowledged_in_time_and_answered(
    standin: DiscordStandIn, start_bot: BotFactory, workdir: Seed
) -> None:
    _new_sources(workdir)
    for number in range(MEMBERS):
        standin.add_user(f"asker{number}")

    owner = {"owner_ids": (int(standin.user("moderator").id),)}  # the shared library is theirs
    async with start_bot(ask_rate=100, **owner) as bot:
        rebuild = await standin.slash("reindex", {"library": "shared"}, user="moderator")
        await rebuild.wait_final(lambda m: "Rebuilding" in m["content"])
        asks = await asyncio.gather(
            *(
                standin.slash("ask", {"question": QUESTIONS[n % len(QUESTIONS)]}, user=f"asker{n}")
                for n in range(MEMBERS)
            )
        )
        assert bot.service.rebuilding(SHARED), (
            "the rebuild finished before the questions arrived; the test proves nothing"
        )
        finals = await asyncio.gather(*(ask.wait_final(timeout=120) for ask in asks))
        done = await rebuild.wait_final(lambda m: "Index rebuilt" in m["content"], timeout=120)

    latencies = [ask.latency for ask in asks]
    assert all(latency is not None and latency < 3.0 for latency in latencies), max(
        latency or 99.0 for latency in latencies
    )
    assert all(ask.callbacks()[0].json["type"] == DEFERRED_MESSAGE for ask in asks)
    for final in finals:
        embed = final["embeds"][0]
        assert answer_quotes(embed["description"]), embed
    assert "Added 4" in done["content"]
