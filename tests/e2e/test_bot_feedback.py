"""End-to-end: members' feedback on answers, the question log, the moderators' report and pinned
answers, through the real discord.py client and the Discord stand-in (two servers where it matters).

A member's vote counts once and can change, and is kept under a keyed hash, never their id; a flag
names the excerpt's source and span; the log keeps questions for ONRECORD_LOG_DAYS, keeps none at 0,
and a moderator deletes it; /report groups the questions the sources did not cover and lists the
answers voted down and the excerpts flagged, with a CSV of every row; a pinned excerpt is given first
to the same or a very similar question, and dropped once its source no longer holds its text.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import sqlite3

import pytest

from index import Collections, guild_collection
from tests.e2e.conftest import BotFactory, CollectionsFactory, Seed, answer_quotes, assert_verbatim, unescape
from tests.e2e.discord_standin import CHANNEL_MESSAGES, EPHEMERAL, DiscordStandIn, Interaction, Payload, StandInGuild
from tests.e2e.test_bot import custom_id_of

pytestmark = pytest.mark.asyncio

FENTANYL = "What do the cartels need to make fentanyl?"
SOURDOUGH = ("How do I bake sourdough bread?", "how to bake sourdough bread", "How do I bake sourdough bread?")
WORLD_CUP = "Who won the 2022 World Cup?"


def state_db(workdir: Seed, guild_id: str) -> sqlite3.Connection:
    return sqlite3.connect(workdir.data / "collections" / guild_collection(int(guild_id)) / "state.sqlite")


def flag_menu(message: Payload) -> str:
    for row in message["components"]:
        for component in row["components"]:
            if str(component.get("custom_id", "")).startswith("onrecord:flag:"):
                return str(component["custom_id"])
    raise LookupError(f"no flag menu in {message['components']}")


def select_id(message: Payload) -> str:
    return next(c["custom_id"] for row in message["components"] for c in row["components"] if c["type"] == 3)


async def reply_to(standin: DiscordStandIn, answer: Payload, custom_id: str, user: str, **options: object) -> str:
    click = await standin.click(answer, custom_id, user=user, **options)  # type: ignore[arg-type]
    message = await click.wait_final()
    assert message["flags"] & EPHEMERAL, message
    return str(message["content"])


async def ask(standin: DiscordStandIn, question: str, guild: str | None = None) -> Payload:
    return await (await standin.slash("ask", {"question": question}, guild=guild)).wait_final()


def csv_of(interaction: Interaction) -> list[dict[str, str]]:
    files = [f for request in interaction.followups() for f in request.files]
    assert len(files) == 1 and files[0].filename.endswith(".csv"), files
    return list(csv.DictReader(io.StringIO(files[0].data.decode("utf-8-sig"))))


async def test_votes_count_once_per_member_and_can_change_and_flags_name_the_excerpt(
    standin: DiscordStandIn, start_bot: BotFactory, workdir: Seed
) -> None:
    async with start_bot(ask_rate=100):
        answer = await ask(standin, FENTANYL)
        helpful, not_helpful = custom_id_of(answer, "Helpful"), custom_id_of(answer, "Not helpful")
        first = await reply_to(standin, answer, helpful, "member")
        again = await reply_to(standin, answer, helpful, "member")
        changed = await reply_to(standin, answer, not_helpful, "member")
        other = await reply_to(standin, answer, not_helpful, "moderator")
        flagged = await reply_to(standin, answer, flag_menu(answer), "member", values=["0:wrong_speaker"])
        reflagged = await reply_to(standin, answer, flag_menu(answer), "member", values=["0:no_answer"])

    assert "recorded" in first and "already" in again and "changed" in changed and "recorded" in other
    assert "recorded" in flagged and "changed" in reflagged
    member_id = standin.user("member").id
    with state_db(workdir, standin.guild_id) as db:
        votes = db.execute("SELECT member, helpful, question, excerpts FROM votes").fetchall()
        flags = db.execute("SELECT kind, doc_id, span_start, span_end, quote FROM flags").fetchall()
        everything = "".join(str(row) for table in ("votes", "flags") for row in db.execute(f"SELECT * FROM {table}"))
    assert sorted(v[1] for v in votes) == [0, 0], "two members, one vote each, the first one changed"
    assert all(v[2] == FENTANYL and "2022-09-01-mexican-cartels-fentanyl.txt" in v[3] for v in votes)
    assert member_id not in everything and len({v[0] for v in votes}) == 2
    [(kind, doc_id, start, end, quote)] = flags
    assert kind == "no_answer" and doc_id.endswith("fentanyl.txt") and end > start
    assert unescape(answer_quotes(answer["embeds"][0]["description"])[0]).startswith(quote[:40].strip())


async def test_the_question_log_keeps_questions_for_its_days_and_a_moderator_deletes_it(
    standin: DiscordStandIn, start_bot: BotFactory, workdir: Seed
) -> None:
    async with start_bot(ask_rate=100):
        await ask(standin, FENTANYL)
        await ask(standin, SOURDOUGH[0])
        with state_db(workdir, standin.guild_id) as db:
            logged = db.execute("SELECT question, answered, confidence, excerpts FROM questions").fetchall()
            db.execute("UPDATE questions SET asked = asked - 31 * 86400 WHERE answered = 1")  # a month old
        privacy = await (await standin.slash("privacy")).wait_final()
        report = await (await standin.slash("report", {"days": 365}, user="moderator")).wait_final()
        refused = await (await standin.slash("log-delete", user="member")).wait_final()
        deleted = await (await standin.slash("log-delete", user="moderator")).wait_final()
        after = await (await standin.slash("report", user="moderator")).wait_final()

    assert [(q, a) for q, a, _, _ in logged] == [(FENTANYL, 1), (SOURDOUGH[0], 0)]
    assert all(c is not None for _, _, c, _ in logged) and "fentanyl.txt" in logged[0][3]
    assert "30 days" in privacy["content"] and privacy["flags"] & EPHEMERAL
    assert "1 asked, 0 answered" in report["embeds"][0]["description"], "the month-old question is past keeping"
    assert "not allowed" in refused["content"]
    assert "1 questions" in deleted["content"]
    assert "0 asked" in after["embeds"][0]["description"]
    with state_db(workdir, standin.guild_id) as db:
        assert db.execute("SELECT count(*) FROM questions").fetchone() == (0,)


async def test_with_log_days_zero_no_question_is_kept(
    standin: DiscordStandIn, start_bot: BotFactory, make_collections: CollectionsFactory, workdir: Seed
) -> None:
    async with start_bot(collections=make_collections(log_days=0), ask_rate=100):
        await ask(standin, FENTANYL)
        privacy = await (await standin.slash("privacy")).wait_final()

    assert "not kept" in privacy["content"]
    with state_db(workdir, standin.guild_id) as db:
        assert db.execute("SELECT count(*) FROM questions").fetchone() == (0,)


async def test_report_groups_what_the_sources_did_not_cover_and_lists_what_members_found_wrong(
    standin: DiscordStandIn, guild_b: StandInGuild, start_bot: BotFactory
) -> None:
    async with start_bot(ask_rate=100):
        for question in (*SOURDOUGH, WORLD_CUP):
            await ask(standin, question)
        answer = await ask(standin, FENTANYL)
        await reply_to(standin, answer, custom_id_of(answer, "Not helpful"), "member")
        await reply_to(standin, answer, flag_menu(answer), "member", values=["1:wrong_speaker"])
        await ask(standin, "How do I bake sourdough bread?", guild="b")  # another server's question
        asked = await standin.slash("report", {"days": 7}, user="moderator")
        await asked.wait_final(lambda m: bool(m.get("attachments")))  # the CSV follows the report
        report, rows = asked.messages()[0], csv_of(asked)
        in_b = await (await standin.slash("report", user="moderator", guild="b")).wait_final()
        by_member = await (await standin.slash("report", user="member")).wait_final()

    text = unescape(report["embeds"][0]["description"])
    assert report["flags"] & EPHEMERAL
    assert "5 asked, 1 answered (20%)" in text
    gaps = re.findall(r"^\d+\. “(.+?)” — asked (\d)×", text, flags=re.M)
    assert gaps == [("How do I bake sourdough bread?", "3"), (WORLD_CUP, "1")], text
    assert "also: “how to bake sourdough bread”" in text
    assert f"“{FENTANYL}” — 1 not helpful, 0 helpful" in text
    assert "wrong speaker ×1" in text
    assert "Mexican cartels" in text.split("**Most quoted sources**")[1]
    gap_rows = [r for r in rows if r["section"] == "not covered"]
    assert [(r["item"], r["count"]) for r in gap_rows] == [("How do I bake sourdough bread?", "3"), (WORLD_CUP, "1")]
    assert any(r["section"] == "not helpful" and r["item"] == FENTANYL for r in rows)
    assert any(r["section"] == "flag: wrong speaker" for r in rows)
    assert "1 asked, 0 answered" in in_b["embeds"][0]["description"]
    assert "not allowed" in by_member["content"]


@pytest.fixture
def guild_b(standin: DiscordStandIn) -> StandInGuild:
    return standin.add_guild("b")


async def test_a_pinned_excerpt_is_given_first_until_its_source_changes(
    standin: DiscordStandIn, start_bot: BotFactory, workdir: Seed, collections: Collections
) -> None:
    async with start_bot(ask_rate=100):
        answer = await ask(standin, FENTANYL)
        quotes = answer_quotes(answer["embeds"][0]["description"])
        refused = await reply_to(standin, answer, custom_id_of(answer, "Pin as answer"), "member")
        prompt_click = await standin.click(answer, custom_id_of(answer, "Pin as answer"), user="moderator")
        prompt = await prompt_click.wait_final()
        picked = await standin.click(prompt, select_id(prompt), user="moderator", values=["2"])
        pinned_reply = await picked.wait_final(lambda m: "Pinned" in m["content"])
        similar = await ask(standin, "What do cartels need to make fentanyl?")
        assert_verbatim(answer_quotes(similar["embeds"][0]["description"])[0], workdir.docs)  # before it changes
        # The source changes where the pinned excerpt was: the pin no longer stands.
        seed_doc = next(p for p in workdir.docs.iterdir() if p.name.endswith("fentanyl.txt"))
        pinned_quote = unescape(answer_quotes(similar["embeds"][0]["description"])[0])
        word = max(re.findall(r"[A-Za-z]{5,}", pinned_quote), key=len)
        seed_doc.write_text(re.sub(word, "Altered", seed_doc.read_text("utf-8")), "utf-8")
        await asyncio.to_thread(collections.shared.rebuild)
        after = await ask(standin, FENTANYL)

    assert "Only this server's moderators" in refused
    assert prompt["flags"] & EPHEMERAL and "Which excerpt" in prompt["content"]
    assert "Pinned excerpt 3" in pinned_reply["content"]
    description = similar["embeds"][0]["description"]
    first = answer_quotes(description)[0]
    assert len(quotes) >= 3 and first == quotes[2], "the pinned excerpt comes first"
    assert "pinned by the moderators" in description.split("\n\n")[0]
    assert answer_quotes(description).count(first) == 1, "and is not repeated"
    assert not any("pinned by the moderators" in block for block in after["embeds"][0]["description"].split("\n\n"))
    for quote in answer_quotes(after["embeds"][0]["description"]):
        assert_verbatim(quote, workdir.docs)
    with state_db(workdir, standin.guild_id) as db:
        assert db.execute("SELECT count(*) FROM pins").fetchone() == (0,)
        logged = db.execute("SELECT pinned FROM questions ORDER BY id").fetchall()
    assert [p for (p,) in logged] == [0, 1, 0]


async def test_the_weekly_digest_posts_the_report_to_the_chosen_channel_once_a_week(
    standin: DiscordStandIn, start_bot: BotFactory
) -> None:
    channel_id = standin.guild.channel_id
    channel = {**standin.channels[channel_id], "permissions": "0"}
    async with start_bot(ask_rate=100) as bot:
        await ask(standin, SOURDOUGH[0])
        chosen = await (
            await standin.slash(
                "report-digest", {"channel": channel_id}, user="moderator", resolved={"channels": {channel_id: channel}}
            )
        ).wait_final()
        cog = bot.get_cog("ReportCog")
        first = await cog.post_digests()  # type: ignore[union-attr]
        again = await cog.post_digests()  # type: ignore[union-attr]
        await standin.wait_for(lambda r: r.route == CHANNEL_MESSAGES and bool(r.files))

    assert f"<#{channel_id}>" in chosen["content"]
    assert (first, again) == (1, 0), "posted once, then not again within the week"
    [posted] = [m for m in standin.messages_in(channel_id) if m.get("attachments")]
    assert "the week's report" in posted["embeds"][0]["title"] and "1 asked" in posted["embeds"][0]["description"]
    assert posted["attachments"][0]["filename"].endswith(".csv")
