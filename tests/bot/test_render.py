"""Pure tests of `bot.render`: answers, lists and reports within Discord's limits, source text inert."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import discord
import pytest

from bot import render
from bot.service import CollectionStatus
from index import SHARED, Answer, BuildReport, Excerpt, LibraryStatus, QuoteMatch, Skipped, SourceInfo, WhoSaid


def excerpt(quote: str = "They just need precursor chemicals.", **fields: Any) -> Excerpt:
    values: dict[str, Any] = {
        "doc_id": "cartels.txt",
        "title": "Mexican cartels ramp up fentanyl production",
        "path": "cartels.txt",
        "url": None,
        "author": "Fox News",
        "published": dt.date(2022, 9, 1),
        "speaker": "Uttam Dhillon",
        "location": "paragraph 7",
        "start": 0,
        "end": len(quote),
        "score": 0.8,
    }
    values.update(fields)
    return Excerpt(quote=quote, **values)


def answer(*excerpts: Excerpt, question: str = "What do the cartels need?") -> Answer:
    return Answer(question=question, answered=bool(excerpts), excerpts=list(excerpts))


def embed_size(embed: discord.Embed) -> int:
    """What Discord counts towards its 6000 characters per message."""
    return len(embed)


def assert_within_limits(embed: discord.Embed) -> None:
    assert len(embed.title or "") <= render.TITLE_LIMIT
    assert len(embed.description or "") <= render.DESCRIPTION_LIMIT
    assert len(embed.fields) <= render.FIELDS_LIMIT
    assert all(0 < len(f.value or "") <= render.FIELD_LIMIT and len(f.name or "") <= 256 for f in embed.fields)
    assert len(embed.footer.text or "") <= render.FOOTER_LIMIT
    assert embed_size(embed) <= render.MESSAGE_EMBEDS_LIMIT


def blocks(embed: discord.Embed) -> list[tuple[str, str]]:
    """(quote, attribution) of each excerpt block of an answer embed."""
    pairs = []
    for block in (embed.description or "").split("\n\n"):
        quote, attribution = block.split("\n")
        assert quote.startswith("> ") and attribution.startswith("— ")
        pairs.append((quote[2:], attribution))
    return pairs


# -- safe and shorten ----------------------------------------------------------------------------


def test_safe_flattens_and_defuses_markdown_and_mentions() -> None:
    text = "Say *this*\n\nto @everyone and <@123456789012345678> or __them__ [x](https://e.vil)"

    out = render.safe(text)

    assert "\n" not in out
    assert r"\*this\*" in out and r"\_\_them\_\_" in out
    assert "@everyone" not in out and "<@123456789012345678>" not in out
    assert r"\[x\](https://e.vil)" in out  # shown as typed, not as a masked link


@pytest.mark.parametrize("limit", [5, 20, 37, 80])
def test_shorten_cuts_after_a_whole_word(limit: int) -> None:
    text = "The Sinaloa Cartel and its rival Jalisco Cartel are responsible for most production."

    out = render.shorten(text, limit)

    assert len(out) <= limit
    assert out.endswith("…")
    kept = out[:-1]
    assert text.startswith(kept)
    if " " in text[:limit]:
        assert text[len(kept)] == " ", "cut mid-word"


def test_shorten_leaves_short_text_and_never_a_dangling_escape() -> None:
    assert render.shorten("short", 10) == "short"
    escaped = render.safe("word " * 5 + "*a* " * 40)
    out = render.shorten(escaped, 40)
    assert not out[:-1].endswith("\\") and len(out) <= 40


# -- attribution and answers ---------------------------------------------------------------------


def test_attribution_names_speaker_title_outlet_date_and_place() -> None:
    line = render.attribution_line(excerpt())

    assert line == (
        "— **Uttam Dhillon** · *Mexican cartels ramp up fentanyl production* · Fox News · 2022-09-01 "
        "· paragraph 7 · `cartels.txt`"
    )


def test_attribution_links_only_web_addresses() -> None:
    web = render.attribution_line(excerpt(url="https://example.org/a"))
    odd = render.attribution_line(excerpt(url="javascript:alert(1)"))
    broken = render.attribution_line(excerpt(url="https://example.org/a>b"))

    assert web.endswith("[link](<https://example.org/a>)")
    assert "javascript" not in odd and odd.endswith("`cartels.txt`")
    assert "a>b" not in broken


def test_attribution_escapes_metadata() -> None:
    line = render.attribution_line(excerpt(title="*Bold* claims @everyone", speaker=None, author="_x_"))

    assert r"*\*Bold\* claims @" in line and "@everyone" not in line and r"\_x\_" in line


def test_answer_shows_quotes_with_their_attribution() -> None:
    first = excerpt("“They just need precursor chemicals,” Dhillon said.")
    second = excerpt("Ismael “El Mayo” Zambada allegedly heads the Sinaloa cartel.", speaker=None)

    embed = render.answer_embed(answer(first, second))

    assert embed.title == "What do the cartels need?"
    assert blocks(embed) == [
        (render.safe(first.quote), render.attribution_line(first)),
        (render.safe(second.quote), render.attribution_line(second)),
    ]
    assert embed.footer.text == "Excerpts 1–2 of 2 · verbatim quotes from the sources"
    assert embed.colour == render.ANSWER_COLOUR


def test_abstention_says_so_and_quotes_nothing() -> None:
    embed = render.answer_embed(answer(question="How do I bake sourdough bread?"))

    assert render.NOT_COVERED in (embed.description or "")
    assert ">" not in (embed.description or "")
    assert embed.colour == render.ABSTAIN_COLOUR


def test_pages_of_excerpts() -> None:
    many = answer(*(excerpt(f"Sentence number {n} of the source.") for n in range(7)))

    assert render.pages(many) == 3
    assert render.pages(answer()) == 1
    last = render.answer_embed(many, page=2)
    assert blocks(last)[0][0] == "Sentence number 6 of the source."
    assert last.footer.text == "Excerpt 7 of 7 · verbatim quotes from the sources"


def test_long_quotes_are_shortened_and_attributions_kept_whole() -> None:
    word_salad = " ".join(f"word{n}" for n in range(2000))
    excerpts = [excerpt(word_salad + f" end{n}.", url=f"https://example.org/{n}") for n in range(3)]

    embed = render.answer_embed(answer(*excerpts, question="Why? " * 400))

    assert_within_limits(embed)
    for (quote, attribution), source in zip(blocks(embed), excerpts, strict=True):
        assert attribution == render.attribution_line(source)
        assert quote.endswith("…") and source.quote.startswith(quote[:-1])
        assert len(quote) > 500  # the room is shared, not lost


def test_huge_metadata_never_pushes_an_answer_over_the_limits() -> None:
    huge = "Title " * 700
    excerpts = [
        excerpt(
            "A short quote.",
            title=huge,
            speaker="Speaker " * 100,
            author="Outlet " * 200,
            url="https://e.org/" + "a" * 3000,
        )
        for _ in range(3)
    ]

    embed = render.answer_embed(answer(*excerpts))

    assert_within_limits(embed)
    pairs = blocks(embed)
    assert [q for q, _ in pairs] == ["A short quote."] * 3
    assert all(a == render.attribution_line(excerpts[0]) for _, a in pairs)
    assert all(a.endswith("`cartels.txt`") for _, a in pairs)


# -- lists, details, reports and status ----------------------------------------------------------


def source(n: int, **fields: Any) -> SourceInfo:
    values: dict[str, Any] = {
        "doc_id": f"doc-{n}.txt",
        "title": f"Document {n}",
        "path": f"doc-{n}.txt",
        "url": None,
        "author": "Fox News",
        "published": dt.date(2022, 9, 1),
        "chunks": 4,
        "sentences": 38,
        "chars": 4081,
    }
    values.update(fields)
    return SourceInfo(**values)


def test_sources_are_listed_ten_a_page() -> None:
    sources = [source(n) for n in range(12)]

    first, second = render.sources_embed(sources, 0), render.sources_embed(sources, 1)

    assert first.title == "Sources (12)" and len(first.fields) == 10 and first.footer.text == "Page 1 of 2"
    assert [f.name for f in second.fields] == ["Document 10", "Document 11"]
    assert "`doc-10.txt`" in (second.fields[0].value or "") and "2022-09-01" in (second.fields[0].value or "")
    assert render.sources_embed([], 0).description == "No sources are indexed."


def test_a_page_of_sources_with_long_names_fits() -> None:
    sources = [
        source(n, doc_id=f"folder/{'deep/' * 60}doc-{n}.txt", title="T" * 400, author="A" * 900) for n in range(10)
    ]

    assert_within_limits(render.sources_embed(sources, 0))


def test_one_source_in_detail() -> None:
    embed = render.source_embed(source(1, url="https://example.org/x", title="A *title*"))

    fields = {f.name: f.value for f in embed.fields}
    assert embed.title == r"A \*title\*"
    assert fields["File"] == "`doc-1.txt`" and fields["Outlet or author"] == "Fox News"
    assert fields["Published"] == "2022-09-01" and fields["Link"] == "https://example.org/x"
    assert fields["Indexed"] == "4 chunks, 38 sentences, 4,081 characters"
    assert_within_limits(embed)


@pytest.mark.parametrize(
    "url", ["[Read the full report](https://evil.example/phish)", "javascript:alert(1)", "https://a.example/<b>"]
)
def test_a_link_that_is_not_a_plain_address_is_not_shown(url: str) -> None:
    embed = render.source_embed(source(1, url=url))

    assert "Link" not in {f.name for f in embed.fields}
    assert "evil" not in str(embed.to_dict()) and "javascript" not in str(embed.to_dict())


def test_bidi_controls_and_server_paths_stay_out_of_messages() -> None:
    report = BuildReport(
        full_rebuild_reason="The index in /srv/onrecord/.onrecord/index/gen-1 is damaged: x does not match.",
        skipped=[Skipped("a\u2066b\u202e.txt", "it cannot be read (Permission denied: '/srv/onrecord/docs/a.txt')")],
    )

    text = render.report_text(report)
    title = render.answer_embed(Answer(question="why\u2067 \u061cnot", answered=False, excerpts=[])).title

    assert "/srv" not in text and "gen-1 is damaged" in text and "a.txt" in text
    assert not render.BIDI_CONTROLS.search(text) and title == "why not"


def test_report_summarises_a_rebuild_within_the_content_limit() -> None:
    report = BuildReport(
        documents=40,
        chunks=120,
        added=[f"new-{n}.txt" for n in range(30)],
        removed=["old.txt"],
        unchanged=9,
        skipped=[Skipped(f"bad-{n}.pdf", "not a readable PDF " * 20) for n in range(30)],
        seconds=3.25,
    )

    text = render.report_text(report)

    assert len(text) <= render.CONTENT_LIMIT
    assert text.startswith("**Index rebuilt** in 3.2 s: 40 documents, 120 chunks.")
    assert "Added 30, changed 0, removed 1, unchanged 9, skipped 30." in text
    assert "`new-9.txt` …" in text and "Removed: `old.txt`" in text


def test_status_lists_what_each_collection_serves_and_the_servers_counts() -> None:
    status = LibraryStatus("gen-1", 1, 4, 38, "bundled:all-MiniLM-L6-v2", "2026-01-01T00:00:00Z")
    collections = [
        CollectionStatus("guild-1", None, {"answered": 5, "abstained": 2}),
        CollectionStatus(SHARED, status, {}),
    ]

    embed = render.status_embed(collections, uptime_s=3725, rebuilding=[SHARED])

    fields = {f.name: f.value for f in embed.fields}
    assert fields["This server's library"] == "Nothing indexed yet."
    assert fields["Shared library"] == (
        "1 documents, 4 chunks, 38 sentences\nIndex built 2026-01-01T00:00:00Z\nRebuild running now"
    )
    assert fields["Uptime"] == "1:02:05" and fields["Answered / abstained"] == "5 / 2"
    assert re.search("MiniLM", fields["Model"] or "")


def test_an_excerpt_names_its_collection_when_the_answer_draws_on_several() -> None:
    labelled = render.answer_embed(answer(excerpt(collection=SHARED))).description or ""
    assert "· shared library" in labelled
    assert "library" not in (render.answer_embed(answer(excerpt())).description or "")


def test_other_outlets_telling_the_same_sentence_are_named_under_the_quote_escaped() -> None:
    from index.models import AlsoReported

    others = [
        AlsoReported(doc_id=f"o{i}.txt", title=f"Copy {i}", author=f"Outlet_{i}*", url=None, published=None)
        for i in range(5)
    ]
    embed = render.answer_embed(answer(excerpt(also=others)))
    description = embed.description or ""
    assert "Also reported by Outlet\\_0\\*, Outlet\\_1\\*, Outlet\\_2\\* and 2 more" in description
    assert_within_limits(embed)
    assert "Also reported by" not in (render.answer_embed(answer(excerpt())).description or "")


# -- speakers ------------------------------------------------------------------------------------


def test_a_speaker_answer_says_whom_it_quotes_and_abstains_in_their_name() -> None:
    quoted = Answer(
        question="What did Dhillon say?", answered=True, excerpts=[excerpt()], speaker="Uttam Dhillon",
        speakers=["Uttam Dhillon"],
    )  # fmt: skip
    none_on_that = quoted.model_copy(update={"answered": False, "excerpts": []})
    nobody = none_on_that.model_copy(update={"speaker": "**Biden** @everyone", "speakers": []})

    assert "Uttam Dhillon only" in (render.answer_embed(quoted).footer.text or "")
    assert (render.answer_embed(none_on_that).description or "").startswith(
        "The sources hold no quote of Uttam Dhillon on that."
    )
    description = render.answer_embed(nobody).description or ""
    assert description.startswith("The sources quote nobody called \\*\\*Biden\\*\\* @\u200beveryone.")
    assert "> " not in description


def test_quotes_are_paged_within_limits() -> None:
    long = "“" + "The cartels adapt faster than the law, every single year, " * 20 + "”"
    quotes = [excerpt(long, published=dt.date(2023, 1, n + 1)) for n in range(12)]

    pages = [render.quotes_embed("dhillon", ["Uttam Dhillon"], quotes, page) for page in range(3)]
    nobody = render.quotes_embed("zz*z", [], [], 0)

    for embed in pages:
        assert_within_limits(embed)
        assert all(attribution.startswith("— **Uttam Dhillon**") for _, attribution in blocks(embed))
    assert [len(blocks(e)) for e in pages] == [5, 5, 2]
    assert (pages[2].footer.text or "").startswith("Quotes 11–12 of 12 · page 3 of 3")
    assert (nobody.description or "").startswith("The sources quote nobody called zz\\*z.")


def test_who_said_within_limits_with_the_verdict_first() -> None:
    quote = "They just need precursor chemicals, " * 40
    result = WhoSaid(
        text=quote, claimed="Maltz",
        matches=[QuoteMatch(excerpt=excerpt(quote), similarity=100.0, claim_agrees=False) for _ in range(3)],
    )  # fmt: skip
    missing = WhoSaid(text="[click](https://evil.example) *now*")

    embed = render.who_said_embed(result)
    assert_within_limits(embed)
    sections = (embed.description or "").split("\n\n")
    assert sections[0].startswith("Looked up: “They just need")
    for section in sections[1:]:
        verdict, quoted, attribution = section.split("\n")
        assert verdict == "**The sources attribute this to Uttam Dhillon, not Maltz.**"
        assert quoted.startswith("> ") and attribution.startswith("— **Uttam Dhillon**")
    none = render.who_said_embed(missing).description or ""
    assert none.startswith(render.NO_SUCH_QUOTE) and "\\[click\\]" in none and "> " not in none
