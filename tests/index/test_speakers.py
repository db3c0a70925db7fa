"""Questions about speakers, a person's quotes and "who said this?", on a small made-up harbour corpus
(fake embedder: what is tested here is who is quoted, not ranking)."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import Library
from index.answer import span_excerpt
from index.speakers import name_words, names_match, speaker_question
from tests.conftest import make_settings
from tests.fakes import HashEmbedder

OLDER = """---
title: Harbour board meets
author: Coast Gazette
published: 2021-03-01
---

The harbour authority met on Monday to discuss the new pier.

“The pier will open in the spring,” said Jane Roe, the harbour master. “Ferries will dock there first.”

“Fishing boats will lose their moorings to the ferries,” Tomás Ángel said.

The council did not comment on the pier.

“The pier is late again this year,” said Jane Roe. “It was not late at all,” Tomás Ángel said afterwards.
"""
NEWER = """---
title: Dredging the channel
author: Coast Gazette
published: 2022-06-01
---

“Dredging the channel costs more than the pier itself,” said Jane Roe.

Officials expect delays. “The channel silts up every winter,” said Tomás Ángel. “Nobody plans for that.”
"""


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    root = tmp_path_factory.mktemp("speakers")
    docs = root / "docs"
    docs.mkdir()
    (docs / "harbour-2021.md").write_text(OLDER, encoding="utf-8")
    (docs / "channel-2022.md").write_text(NEWER, encoding="utf-8")
    # Hashed bags of words give lower cosines than a model: a lower bar to answer.
    built = Library(make_settings(docs, root / "index", min_score=0.05), embedder=HashEmbedder())
    built.rebuild()
    return built


def text_of(library: Library, doc_id: str) -> str:
    """The document's extracted text (the Markdown without its front matter), which quotes are slices of."""
    generation = library.generation()
    return generation.full_document(generation.by_id[doc_id].row)[0].text


# -- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "speaker", "expected"),
    [
        ("Dhillon", "Uttam Dhillon", True),
        ("uttam DHILLON", "Uttam Dhillon", True),
        ("Mr. Dhillon", "Uttam Dhillon", True),
        ("Dhillon’s", "Uttam Dhillon", True),
        ("Uttam", "Uttam Dhillon", False),
        ("Dhillion", "Uttam Dhillon", False),
        ("Felbab Brown", "Wanda Felbab-Brown", True),
        ("felbab-brown", "Wanda Felbab-Brown", True),
        ("Brown", "Wanda Felbab-Brown", False),
        ("Lopez Obrador", "Andrés López Obrador", True),
        ("Andres Obrador", "Andrés López Obrador", True),
        ("Obrador Lopez", "Andrés López Obrador", False),
        ("", "Uttam Dhillon", False),
    ],
)
def test_a_person_is_matched_by_any_of_their_names(typed: str, speaker: str, expected: bool) -> None:
    assert names_match(name_words(typed), name_words(speaker)) is expected


def test_the_people_quoted_with_their_counts(library: Library) -> None:
    people = {p.name: p for p in library.speakers()}

    assert set(people) == {"Jane Roe", "Tomás Ángel"}
    assert (people["Jane Roe"].quotes, people["Jane Roe"].documents) == (3, 2)
    assert people["Jane Roe"].sentences == 4
    assert [p.name for p in library.speakers("ANG")] == ["Tomás Ángel"]
    assert [p.name for p in library.speakers("jane r")] == ["Jane Roe"]
    assert library.speakers("zz") == []


def test_a_persons_quotes_newest_source_first(library: Library) -> None:
    names, quotes = library.quotes("angel")

    assert names == ["Tomás Ángel"]
    assert [q.doc_id for q in quotes] == ["channel-2022.md", "harbour-2021.md", "harbour-2021.md"]
    assert quotes[0].quote == "“The channel silts up every winter,” said Tomás Ángel. “Nobody plans for that.”"
    for quote in quotes:
        assert quote.speaker == "Tomás Ángel"
        assert quote.quote == text_of(library, quote.doc_id)[quote.start : quote.end]
    assert library.quotes("Nobody Here") == ([], [])


# -- questions about a person --------------------------------------------------------------------


def test_the_speaker_option_quotes_only_that_person(library: Library) -> None:
    answer = library.ask("What about the ferries and the channel?", speaker="tomas ANGEL", limit=5)

    assert answer.answered and answer.speaker == "Tomás Ángel" and answer.speakers == ["Tomás Ángel"]
    assert answer.excerpts
    for excerpt in answer.excerpts:
        assert excerpt.speaker == "Tomás Ángel"
        assert "Jane Roe" not in excerpt.quote
        assert excerpt.quote == text_of(library, excerpt.doc_id)[excerpt.start : excerpt.end]
    assert answer.to_json_dict()["speaker"] == "Tomás Ángel"


def test_a_question_naming_a_person_is_about_them(library: Library) -> None:
    about = library.ask("What did Roe say about the channel?")
    everything = library.ask("What has Ángel said?", limit=10)

    assert about.answered and about.speaker == "Jane Roe"
    assert [e.quote for e in about.excerpts] == [
        "“Dredging the channel costs more than the pier itself,” said Jane Roe."
    ]
    assert everything.answered and len(everything.excerpts) == 3
    assert {e.speaker for e in everything.excerpts} == {"Tomás Ángel"}
    assert everything.excerpts[0].doc_id == "channel-2022.md"


def test_no_quote_of_them_on_that_or_nobody_of_that_name(library: Library) -> None:
    off_topic = library.ask("What did Roe say about volcanoes?")
    unknown = library.ask("What about the pier?", speaker="Biden")

    assert not off_topic.answered and not off_topic.excerpts and off_topic.speakers == ["Jane Roe"]
    assert off_topic.abstention() == "The sources hold no quote of Jane Roe on that."
    assert not unknown.answered and unknown.speakers == []
    assert unknown.abstention() == "The sources quote nobody called Biden."


@pytest.mark.parametrize(
    ("question", "who"),
    [
        ("What did Roe say about the pier?", ["Jane Roe"]),
        ("what did jane roe say", ["Jane Roe"]),
        ("What has Ángel said?", ["Tomás Ángel"]),
        ("Did Tomas Angel say anything about moorings?", ["Tomás Ángel"]),
        ("How did Roe describe the pier?", ["Jane Roe"]),
        ("What are Roe's views on dredging?", ["Jane Roe"]),
        ("Quotes from Ángel about the channel", ["Tomás Ángel"]),
        ("What did the council say about the pier?", None),
        ("What did they say about the pier?", None),
        ("What did Jane say about the pier?", None),
        ("Who is Jane Roe?", None),
        ("When will the pier open?", None),
        ("What did Biden say about the pier?", None),
    ],
)
def test_questions_about_a_person_are_detected_conservatively(
    library: Library, question: str, who: list[str] | None
) -> None:
    found = speaker_question(question, library.speaker_table())

    assert (found.names if found else None) == who


def test_a_question_not_about_anyone_is_answered_as_before(library: Library) -> None:
    answer = library.ask("What did the council say about the pier?")

    assert answer.speaker is None and "speaker" not in answer.to_json_dict()


def test_an_excerpt_quoting_two_people_names_neither(library: Library) -> None:
    generation = library.generation()
    doc = generation.by_id["harbour-2021.md"]
    last_paragraph = [
        s
        for s in range(doc.sentence_first, doc.sentence_end)
        if generation.sentence_paragraph[s] == generation.sentence_paragraph[doc.sentence_end - 1]
    ]
    speakers = generation.speakers(last_paragraph)
    assert sorted(v for v in speakers.values() if v) == ["Jane Roe", "Tomás Ángel"]

    both = span_excerpt(generation, last_paragraph, 400)
    one = span_excerpt(generation, last_paragraph[:1], 400)

    assert both.speaker is None
    assert one.speaker == "Jane Roe"


def test_the_speakers_follow_a_rebuild(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text(NEWER, encoding="utf-8")
    library = Library(make_settings(docs, tmp_path / "index"), embedder=HashEmbedder())
    library.rebuild()
    assert {p.name for p in library.speakers()} == {"Jane Roe", "Tomás Ángel"}

    (docs / "a.md").write_text("“The tide is out until noon today,” said Sam Poole.\n", encoding="utf-8")
    library.rebuild()

    assert [p.name for p in library.speakers()] == ["Sam Poole"]


# -- who said this? ------------------------------------------------------------------------------


def test_who_said_finds_the_quote_and_its_speaker(library: Library) -> None:
    result = library.who_said("the  CHANNEL silts up every winter")

    [match] = result.matches
    assert match.similarity == 100 and match.claim_agrees is None
    assert match.excerpt.speaker == "Tomás Ángel" and match.excerpt.published is not None
    assert match.excerpt.doc_id == "channel-2022.md"
    assert match.excerpt.quote == text_of(library, "channel-2022.md")[match.excerpt.start : match.excerpt.end]
    assert result.verdict(match) == "The sources attribute this to Tomás Ángel."


def test_who_said_corrects_the_speaker_a_member_names(library: Library) -> None:
    wrong = library.who_said("“The channel silts up every winter,” Jane Roe said.")
    right = library.who_said('"The channel silts up every winter" - Ángel')
    stranger = library.who_said("“Dredging the channel costs more than the pier itself” — Mickey Mouse")

    assert wrong.claimed == "Jane Roe" and wrong.matches[0].claim_agrees is False
    assert wrong.verdict(wrong.matches[0]) == "The sources attribute this to Tomás Ángel, not Jane Roe."
    assert right.claimed == "Ángel" and right.matches[0].claim_agrees is True
    assert stranger.claimed == "Mickey Mouse"
    assert stranger.verdict(stranger.matches[0]) == "The sources attribute this to Jane Roe, not Mickey Mouse."


def test_who_said_tolerates_a_slip_but_not_a_paraphrase(library: Library) -> None:
    slip = library.who_said("Fishing boats will lose there moorings to the ferries")
    paraphrase = library.who_said("The ferries will take the fishing boats' moorings")
    elsewhere = library.who_said("The volcano erupted twice last summer near the village")
    too_short = library.who_said("the pier")

    assert slip.found and slip.matches[0].excerpt.speaker == "Tomás Ángel" and slip.matches[0].similarity < 100
    assert not paraphrase.found
    assert not elsewhere.found
    assert not too_short.found


def test_who_said_on_the_sources_own_text(library: Library) -> None:
    plain = library.who_said("The harbour authority met on Monday to discuss the new pier")
    claimed = library.who_said("Jane Roe said: the harbour authority met on Monday to discuss the new pier")

    assert plain.matches[0].excerpt.speaker is None
    assert plain.verdict(plain.matches[0]) == "The sources quote nobody for this: it is the source's own text."
    assert claimed.claimed == "Jane Roe"
    assert claimed.verdict(claimed.matches[0]).startswith("The sources do not attribute this to Jane Roe")
