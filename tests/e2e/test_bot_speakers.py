"""End-to-end: questions about speakers and "who said this?", through the Discord stand-in.

The real bot (real model, real FAISS) answers `/ask` with a speaker (typed with autocomplete, or
named in the question), pages a person's quotes with `/quotes`, and finds a quote's speaker with
`/who-said` and the "Who said this?" message menu, saying so plainly when the member named another.
"""

from __future__ import annotations

import pytest

from bot import render
from bot.app import OnRecordBot
from index import Library
from tests.e2e.conftest import BotFactory, Seed, answer_quotes, assert_verbatim
from tests.e2e.discord_standin import EPHEMERAL, DiscordStandIn
from tests.e2e.test_bot import SEED_TITLE, custom_id_of, only_embed

pytestmark = pytest.mark.asyncio

NEWER_DOC = "2023-05-02-dhillon-interview.md"
NEWER = """---
title: Former DEA chief on the border
author: Border Weekly
published: 2023-05-02
---

Uttam Dhillon spoke to reporters on Tuesday.

“The border is where this fight is won or lost,” Dhillon said.

“We need more inspectors at every crossing,” Dhillon said.

“Technology alone will not stop the pills,” Dhillon said.
"""


def attributions(description: str) -> list[str]:
    return [line for line in description.splitlines() if line.startswith("— ")]


async def test_ask_speaker_autocomplete_offers_the_people_quoted(standin: DiscordStandIn, bot: OnRecordBot) -> None:
    everyone = await (await standin.autocomplete("ask", {"question": "x"}, "speaker")).wait_choices()
    typed = await (await standin.autocomplete("ask", {"question": "x", "speaker": "dhil"}, "speaker")).wait_choices()
    nobody = await (await standin.autocomplete("ask", {"question": "x", "speaker": "zzz"}, "speaker")).wait_choices()

    assert everyone[0]["value"] == "Uttam Dhillon"  # the most quoted first
    assert {"Uttam Dhillon", "Derek Maltz", "Wanda Felbab-Brown"} <= {c["value"] for c in everyone}
    assert [c["value"] for c in typed] == ["Uttam Dhillon"] and "quotes" in typed[0]["name"]
    assert nobody == []


async def test_ask_with_a_speaker_quotes_only_them(standin: DiscordStandIn, bot: OnRecordBot, workdir: Seed) -> None:
    final = await (
        await standin.slash("ask", {"question": "What do the cartels need?", "speaker": "Uttam Dhillon"})
    ).wait_final()

    embed = only_embed(final)
    lines = attributions(embed["description"])
    assert lines and all(line.startswith("— **Uttam Dhillon** · ") for line in lines)
    assert any("precursor chemicals" in q for q in answer_quotes(embed["description"]))
    for quote in answer_quotes(embed["description"]):
        assert_verbatim(quote, workdir.docs)
    assert "Uttam Dhillon only" in embed["footer"]["text"]


async def test_a_question_naming_a_person_quotes_only_them(
    standin: DiscordStandIn, bot: OnRecordBot, workdir: Seed
) -> None:
    about_mexico = only_embed(
        await (await standin.slash("ask", {"question": "What did Dhillon say about Mexico?"})).wait_final()
    )
    everything = only_embed(
        await (await standin.slash("ask", {"question": "What has Felbab-Brown said?"})).wait_final()
    )

    assert all(line.startswith("— **Uttam Dhillon** · ") for line in attributions(about_mexico["description"]))
    assert all("Mexico" in q for q in answer_quotes(about_mexico["description"]))
    felbab = attributions(everything["description"])
    assert len(felbab) == 3 and all(line.startswith("— **Wanda Felbab-Brown** · ") for line in felbab)
    for quote in answer_quotes(about_mexico["description"]) + answer_quotes(everything["description"]):
        assert_verbatim(quote, workdir.docs)


async def test_a_person_with_no_quote_on_the_topic_is_said_so(standin: DiscordStandIn, bot: OnRecordBot) -> None:
    off_topic = only_embed(
        await (await standin.slash("ask", {"question": "What did Dhillon say about sourdough bread?"})).wait_final()
    )
    unknown = only_embed(
        await (await standin.slash("ask", {"question": "What do cartels need?", "speaker": "Biden"})).wait_final()
    )

    assert off_topic["description"].startswith("The sources hold no quote of Uttam Dhillon on that.")
    assert not answer_quotes(off_topic["description"])
    assert unknown["description"].startswith("The sources quote nobody called Biden.")
    assert not answer_quotes(unknown["description"])


async def test_quotes_pages_a_persons_quotes_newest_source_first(
    start_bot: BotFactory, standin: DiscordStandIn, workdir: Seed, library: Library
) -> None:
    (workdir.docs / NEWER_DOC).write_text(NEWER, encoding="utf-8")
    library.rebuild()
    async with start_bot():
        typed = await (await standin.autocomplete("quotes", {"speaker": "uttam"}, "speaker")).wait_choices()
        listing = await (await standin.slash("quotes", {"speaker": typed[0]["value"]})).wait_final()
        click = await standin.click(listing, custom_id_of(listing, "Next"))
        await click.wait_response()
        nobody = await (await standin.slash("quotes", {"speaker": "Nobody Atall"})).wait_final()

    first = only_embed(listing)
    assert first["title"] == "Quotes of Uttam Dhillon"
    lines = attributions(first["description"])
    assert len(lines) == render.QUOTES_PAGE_SIZE and all(line.startswith("— **Uttam Dhillon** · ") for line in lines)
    assert all("2023-05-02" in line for line in lines[:3])  # the newer source first
    assert "2022-09-01" in lines[3]
    assert answer_quotes(first["description"])[0].startswith("“The border is where this fight")
    assert first["footer"]["text"].startswith("Quotes 1–5 of 8")
    second = only_embed(standin.messages[listing["id"]])
    assert second["footer"]["text"].startswith("Quotes 6–8 of 8")
    assert all("2022-09-01" in line for line in attributions(second["description"]))
    assert "quote nobody called Nobody Atall" in only_embed(nobody)["description"]


async def test_who_said_this_on_a_message_corrects_the_speaker(
    standin: DiscordStandIn, bot: OnRecordBot, workdir: Seed
) -> None:
    target = await standin.post_message("“They just need precursor chemicals,” Maltz said.", mention_bot=False)

    final = await (await standin.context_menu("Who said this?", target)).wait_final()

    assert final["flags"] & EPHEMERAL
    embed = only_embed(final)
    assert embed["title"] == "Who said this?"
    assert "**The sources attribute this to Uttam Dhillon, not Maltz.**" in embed["description"]
    [quote] = answer_quotes(embed["description"])
    assert quote == "“They just need precursor chemicals,” Dhillon said."
    assert_verbatim(quote, workdir.docs)
    [line] = attributions(embed["description"])
    for part in ("Uttam Dhillon", SEED_TITLE, "Fox News", "2022-09-01"):
        assert part in line, part


async def test_who_said_finds_a_near_exact_quote_or_says_there_is_none(
    standin: DiscordStandIn, bot: OnRecordBot
) -> None:
    near = await (
        await standin.slash(
            "who-said", {"text": '"profits are ALSO high because the means of smuggling and transportation are high"'}
        )
    ).wait_final()
    narration = await (
        await standin.slash("who-said", {"text": "Mexican drug cartels are rapidly ramping up fentanyl production"})
    ).wait_final()
    missing = await (
        await standin.slash("who-said", {"text": "They only sell bread on Sundays in the market"})
    ).wait_final()
    empty_message = await standin.post_message("👍", mention_bot=False)
    refused = await (await standin.context_menu("Who said this?", empty_message)).wait_final()

    assert "attribute this to Wanda Felbab-Brown." in only_embed(near)["description"]
    assert "2022-09-01" in attributions(only_embed(near)["description"])[0]
    assert "quote nobody for this" in only_embed(narration)["description"]
    assert only_embed(missing)["description"].startswith(render.NO_SUCH_QUOTE)
    assert not answer_quotes(only_embed(missing)["description"])
    assert "no text" in refused["content"] and refused["flags"] & EPHEMERAL
