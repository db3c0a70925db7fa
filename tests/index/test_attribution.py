"""Speaker attribution: who says each sentence of a direct quotation, and None for narration.

Sentences go through the same path as a build (`build.analyse`), so segmentation and attribution are
tested together as the index sees them.
"""

from __future__ import annotations

import pytest

from index.build import analyse
from index.loaders import load_document
from index.models import Document
from tests.conftest import DOCS
from tests.fakes import HashEmbedder

SEED_NAME = "2022-09-01-mexican-cartels-fentanyl.txt"


def speakers_of(doc: Document) -> dict[str, str | None]:
    """Each sentence's text -> its speaker."""
    sents, _ = analyse(doc, HashEmbedder(), 256, 1)
    return {doc.text[s.start : s.end]: s.speaker for s in sents}


def speaker_of(found: dict[str, str | None], opening: str) -> str | None:
    matches = [text for text in found if text.startswith(opening)]
    assert len(matches) == 1, f"{opening!r} matches {matches}"
    return found[matches[0]]


@pytest.fixture(scope="module")
def seed() -> dict[str, str | None]:
    return speakers_of(load_document(DOCS / SEED_NAME, DOCS, 10_000_000))


# -- the seed article ----------------------------------------------------------------------------


def test_a_surname_after_the_quote_is_expanded_to_the_full_name(seed: dict[str, str | None]) -> None:
    assert seed["“They just need precursor chemicals,” Dhillon said."] == "Uttam Dhillon"
    assert speaker_of(seed, "“Once they have those chemicals") == "Uttam Dhillon"


def test_a_quotation_continued_in_the_next_paragraph_keeps_its_speaker(seed: dict[str, str | None]) -> None:
    assert speaker_of(seed, "“It was a unique thing") == "Uttam Dhillon"
    assert speaker_of(seed, "“Now we’re seeing literally a million pills") == "Uttam Dhillon"
    assert seed["That’s a huge increase.”"] == "Uttam Dhillon"


def test_a_name_with_an_appositive_before_said(seed: dict[str, str | None]) -> None:
    assert speaker_of(seed, "“Mexican cartels run a global enterprise.") == "Derek Maltz"
    assert speaker_of(seed, "“They implemented a strategic, deceptive marketing plan") == "Derek Maltz"


def test_felbab_brown_and_her_continued_quotation(seed: dict[str, str | None]) -> None:
    assert speaker_of(seed, "“If the product costs a few hundred dollars") == "Wanda Felbab-Brown"
    assert speaker_of(seed, "“Profits are also high") == "Wanda Felbab-Brown"
    assert speaker_of(seed, "“The current administration of Mexican President") == "Wanda Felbab-Brown"


def test_dhillon_is_not_confused_with_a_later_speaker(seed: dict[str, str | None]) -> None:
    assert speaker_of(seed, "“Mexico’s decision to no longer effectively cooperate") == "Uttam Dhillon"
    assert speaker_of(seed, "“The individual leaders of these cartels") == "Uttam Dhillon"


@pytest.mark.parametrize(
    "opening",
    [
        "The DEA declined to comment for this story.",
        "Mexican drug cartels are rapidly ramping up fentanyl production",
        "According to former officials and analysts",
        "In 2019, the United States successfully lobbied",
        "Ismael “El Mayo” Zambada allegedly heads the Sinaloa cartel.",
        "President López Obrador has adopted a “hugs, not bullets” policy",
        "According to the Centers for Disease Control and Prevention",
        "At the Brookings Institution.",
    ],
)
def test_narration_has_no_speaker(seed: dict[str, str | None], opening: str) -> None:
    assert speaker_of(seed, opening) is None


# -- small synthetic paragraphs ------------------------------------------------------------------


def synthetic(text: str) -> dict[str, str | None]:
    return speakers_of(Document("note.txt", text, "Note"))


def test_straight_quotes_with_said_before_the_name() -> None:
    found = synthetic('"We will rebuild the bridge before the spring floods," said Ana Ruiz, the mayor.')
    assert list(found.values()) == ["Ana Ruiz"]


def test_according_to_attributes_a_direct_quotation() -> None:
    found = synthetic("“The harbour will reopen to ferries in May,” according to Tom Baker.")
    assert list(found.values()) == ["Tom Baker"]


def test_according_to_without_quotation_marks_is_a_paraphrase_not_speech() -> None:
    found = synthetic("The harbour will reopen to ferries in May, according to Tom Baker.")
    assert list(found.values()) == [None]


def test_a_two_word_scare_quote_is_not_speech() -> None:
    found = synthetic("Ana Ruiz said the plan was “a disaster” for the town.")
    assert list(found.values()) == [None]


def test_a_continuation_without_a_previous_speaker_names_nobody() -> None:
    found = synthetic(
        "The council met on Tuesday to discuss the plan.\n\n“It will cost far more than anyone expected.”"
    )
    assert list(found.values()) == [None, None]


def test_a_pronoun_is_never_taken_for_a_name() -> None:
    found = synthetic("“We will appeal against this decision at once.” He said the council had erred.")
    assert list(found.values()) == [None, None]
