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


# -- patterns seen in real news (issue 12) ---------------------------------------------------------

LEAD = "The council met on Tuesday to discuss the plan.\n\n"
QUOTE = "We will fix the roads before winter comes"


@pytest.mark.parametrize(
    ("text", "speaker"),
    [
        (f"“{QUOTE},” said spokesman Josh Schwerin.", "Josh Schwerin"),
        (f"“{QUOTE},” said the Rev. Al Sharpton.", "Al Sharpton"),
        (f"Rep. John Mica (R-Fla.) said: “{QUOTE}.”", "John Mica"),
        (f"“{QUOTE}” ― Pamela Padilla", "Pamela Padilla"),
        (f"“{QUOTE},” Mike Pence of Indiana told reporters.", "Mike Pence"),
        (f"“{QUOTE},” said Rep. G.K. Butterfield.", "G.K. Butterfield"),
        (f"When House Speaker Paul Ryan said “{QUOTE},” nobody believed him.", "Paul Ryan"),
        (f"“{QUOTE},” Clinton’s spokesman Brian Fallon said.", "Brian Fallon"),
        (f'"{QUOTE},” said David Gorski.', "David Gorski"),
        (f"“{QUOTE},” Tom Baker tweeted.", "Tom Baker"),
        (f"“{QUOTE},” Tom Baker responded.", "Tom Baker"),
        (f"Tom Baker shot back, “{QUOTE}.”", "Tom Baker"),
        (f"“{QUOTE},” said a senior campaign adviser.", "a senior campaign adviser"),
    ],
)
def test_a_named_speaker_in_the_forms_news_uses(text: str, speaker: str) -> None:
    found = synthetic(LEAD + text)
    quoted = [name for sentence, name in found.items() if QUOTE in sentence]
    assert quoted == [speaker]


def test_the_person_spoken_to_is_never_the_speaker() -> None:
    assert set(synthetic(LEAD + f"“{QUOTE},” she told AFP.").values()) == {None}


def test_a_weekday_is_never_the_speaker() -> None:
    assert set(synthetic(LEAD + f"“{QUOTE},” he said Sunday.").values()) == {None}


def test_a_transcript_label_names_a_person_the_text_knows() -> None:
    found = synthetic(LEAD + "Mike Pence spoke first.\n\nPENCE: Well, look, we will fix the roads before winter.")
    assert found["PENCE: Well, look, we will fix the roads before winter."] == "Mike Pence"


def test_a_transcript_label_of_nobody_named_is_not_a_speaker() -> None:
    found = synthetic(LEAD + "UPDATE: The roads will be fixed before winter comes.")
    assert set(found.values()) == {None}


def test_a_pronoun_takes_the_previous_speaker_of_the_stretch() -> None:
    found = synthetic(LEAD + f"“{QUOTE},” Ana Ruiz said.\n\n“It will cost a great deal of money,” she said.")
    assert found["“It will cost a great deal of money,” she said."] == "Ana Ruiz"


def test_a_pronoun_with_no_one_to_refer_to_stays_blank() -> None:
    found = synthetic(LEAD + "“It will cost a great deal of money,” she said.")
    assert set(found.values()) == {None}


def test_a_pronoun_of_the_other_gender_does_not_take_the_previous_speaker() -> None:
    found = synthetic(
        "Mr. Tom Baker chaired the meeting and he spoke first.\n\n"
        f"“{QUOTE},” Baker said.\n\n“It will cost a great deal of money,” she said."
    )
    assert found["“It will cost a great deal of money,” she said."] is None


def test_the_full_name_comes_from_a_real_mention_not_a_headline() -> None:
    found = synthetic(f"Woman Who Accused Harold Tapper Speaks Out\n\n“{QUOTE},” Tapper said.")
    assert found[f"“{QUOTE},” Tapper said."] == "Tapper"


def test_a_possessive_mention_gives_the_full_name() -> None:
    found = synthetic(f"The plan was Jake Tapper’s idea, officials said.\n\n“{QUOTE},” Tapper said.")
    assert found[f"“{QUOTE},” Tapper said."] == "Jake Tapper"


def test_mrs_is_not_expanded_to_a_man_sharing_the_surname() -> None:
    found = synthetic(f"Donald Trump spoke first. Mr. Trump left early.\n\n“{QUOTE},” Mrs. Trump said.")
    assert found[f"“{QUOTE},” Mrs. Trump said."] == "Mrs. Trump"


def test_two_people_sharing_a_surname_as_often_keep_the_surname() -> None:
    found = synthetic(f"Bill Clinton and Hillary Clinton arrived.\n\n“{QUOTE},” Clinton said.")
    assert found[f"“{QUOTE},” Clinton said."] == "Clinton"


def test_mrs_is_not_expanded_to_the_only_full_name_when_that_is_a_man() -> None:
    found = synthetic(f"Donald Trump spoke first and he left early.\n\n“{QUOTE},” Mrs. Trump said.")
    assert found[f"“{QUOTE},” Mrs. Trump said."] == "Mrs. Trump"


def test_an_organisation_after_a_preposition_is_not_the_subject() -> None:
    found = synthetic(LEAD + f"“{QUOTE},” Jeffrey Lewis of the Center for Nonproliferation Studies wrote.")
    assert set(found.values()) == {None}


# -- issue 12, second pass: gender, sentence subjects, colons, full names ---------------------------

LATER = "“It will cost a great deal of money,” {pronoun} said."


def test_she_is_the_woman_of_the_stretch_by_her_first_name() -> None:
    # the previous speaker is a man by his first name, so "she" is the woman who opened a sentence before
    found = synthetic(
        LEAD + f"Maria Lopez, the treasurer, spoke first. “{QUOTE},” Tom Baker said.\n\n" + LATER.format(pronoun="she")
    )
    assert found[LATER.format(pronoun="she")] == "Maria Lopez"


def test_he_is_never_a_woman_by_her_first_name() -> None:
    found = synthetic(LEAD + f"“{QUOTE},” Maria Lopez said.\n\n" + LATER.format(pronoun="he"))
    assert found[LATER.format(pronoun="he")] is None


@pytest.mark.parametrize(
    "opening",
    [
        "On Thursday, Paul Green answered the council’s letter.",
        "Former Ohio governor Paul Green was even more resolute.",
        "Just a few months ago, Ohio developer Paul Green had doubts.",
        "The roads were a disgrace, Paul Green said.",
    ],
)
def test_a_person_opening_a_sentence_after_an_introduction_takes_over_the_stretch(opening: str) -> None:
    found = synthetic(LEAD + f"“{QUOTE},” Tom Baker said.\n\n{opening}\n\n" + LATER.format(pronoun="he"))
    assert found[LATER.format(pronoun="he")] == "Paul Green"


def test_a_person_described_with_who_is_a_person_for_a_pronoun() -> None:
    found = synthetic(
        LEAD
        + f"“{QUOTE},” Maria Lopez said.\n\nMeanwhile Adele, who was honored that night, spoke about the town.\n\n"
        + LATER.format(pronoun="she")
    )
    assert found[LATER.format(pronoun="she")] == "Adele"


@pytest.mark.parametrize(
    ("text", "speaker"),
    [
        ("“Who will pay for the new roads?” asked Sen. Maria Lopez.", "Maria Lopez"),
        (f"“{QUOTE},” said Harbour Workers Secretary-Treasurer Paul Green.", "Paul Green"),
        (f"Sen. Paul Green, R-Wis., said in a statement on Monday, “{QUOTE}.”", "Paul Green"),
        (f"Billionaire Paul Green said: “{QUOTE}.”", "Paul Green"),
        (f"“{QUOTE},” Dean Baker said.", "Dean Baker"),
        (f"“{QUOTE},” the woman said.", "the woman"),
        (f"“{QUOTE},” Green’s office said.", "Green’s office"),
        (f"“{QUOTE},” wrote one commenter.", "one commenter"),
        (f"As Maria Lopez put it, “{QUOTE}.”", "Maria Lopez"),
        (f"Hours later, Maria Lopez returned the compliment, telling the Gazette, “{QUOTE}.”", "Maria Lopez"),
        (f"“{QUOTE},” agrees Maria Lopez, 30, of Dayton.", "Maria Lopez"),
        (f"“{QUOTE},” the investor said.", "the investor"),
        (f"“{QUOTE},” his colleague wrote on Facebook.", "his colleague"),
        (f"“{QUOTE},” one factory employee told the Gazette.", "one factory employee"),
        (f"“{QUOTE},” said the Democratic nominee.", "the Democratic nominee"),
        (f"Maria Lopez ended her speech by saying “{QUOTE}.”", "Maria Lopez"),
        (f"Maria Lopez echoed: “{QUOTE}.”", "Maria Lopez"),
        (f"The plan won support from Maria Lopez, who declared at the hearing, “{QUOTE}.”", "Maria Lopez"),
        (f"“{QUOTE},” said former Ohio governor Howard Dean (D), a supporter.", "Howard Dean"),
        (f"“{QUOTE},” said Green’s deputy campaign manager, Rich Beeson, who ran the count.", "Rich Beeson"),
        (f"“{QUOTE},” said a spokesman, Rich Beeson.", "Rich Beeson"),
        (f"“{QUOTE},” Maria Lopez fumed.", "Maria Lopez"),
        (f"“{QUOTE},” Maria Lopez repeated.", "Maria Lopez"),
    ],
)
def test_more_speech_cues(text: str, speaker: str) -> None:
    found = synthetic(LEAD + text)
    assert [s for s in found.values() if s] == [speaker]


@pytest.mark.parametrize(
    "text",
    [
        f"Sen. Maria Lopez, D-Ohio, delivered a blunt message to the council: “{QUOTE}.”",
        f"The polls shifted late - Maria Lopez: “{QUOTE}.”",
        f"Maria Lopez spoke at the hearing.\n\nLopez: “{QUOTE}.”",
        f"Sen. Maria Lopez responded first, saying the plan came too late.\n\n“{QUOTE}.”",
    ],
)
def test_a_colon_or_reported_speech_before_a_quotation_names_its_speaker(text: str) -> None:
    found = synthetic(LEAD + text)
    quoted = [speaker for sentence, speaker in found.items() if QUOTE in sentence]
    assert quoted == ["Maria Lopez"]


def test_a_colon_cue_never_names_the_quotation_before_it() -> None:
    found = synthetic(
        LEAD + f"Maria Lopez spoke first.\n\nTom Baker said: “{QUOTE}.” Lopez: “It will cost a great deal.”"
    )
    assert [s for s in found.values() if s] == ["Tom Baker", "Maria Lopez"]


def test_a_sentence_subject_before_a_colon_must_be_a_person() -> None:
    found = synthetic(LEAD + f"Estimates of the cost are problematic: “{QUOTE}.”")
    assert set(found.values()) == {None}


def test_a_word_glued_before_a_surname_is_no_first_name() -> None:
    found = synthetic(
        LEAD + f"Paul Green spoke first.\n\nDespite Green, the council voted for the plan.\n\n“{QUOTE},” Green said."
    )
    assert found[f"“{QUOTE},” Green said."] == "Paul Green"


def test_a_shared_surname_is_the_person_named_in_full_last_before_it() -> None:
    found = synthetic(
        LEAD
        + f"Maria Lopez spoke first.\n\n“{QUOTE},” Lopez said.\n\nCarlos Lopez, her brother, disagreed.\n\n"
        + "“It will cost a great deal of money,” Lopez said."
    )
    assert found[f"“{QUOTE},” Lopez said."] == "Maria Lopez"
    assert found["“It will cost a great deal of money,” Lopez said."] == "Carlos Lopez"


def test_mrs_takes_the_woman_of_that_surname() -> None:
    found = synthetic(LEAD + f"Paul Green and Maria Green came to the meeting.\n\n“{QUOTE},” Mrs. Green said.")
    assert found[f"“{QUOTE},” Mrs. Green said."] == "Maria Green"


def test_mrs_is_never_expanded_to_a_man() -> None:
    found = synthetic(LEAD + f"Paul Green came to the meeting.\n\n“{QUOTE},” Mrs. Green said.")
    assert found[f"“{QUOTE},” Mrs. Green said."] == "Mrs. Green"


def test_first_names_come_from_the_census_lists() -> None:
    from index.attribution import first_names

    known = first_names()
    assert known["Maria"] == "f" and known["Paul"] == "m"
    assert known["Jordan"] in ("m", "")  # borne by both sexes: never taken as a woman's
    assert "Despite" not in known


@pytest.mark.parametrize(
    "text",
    [
        "Asked whether the bridge would open in May, Paul Green said, “Probably.”",
        "Paul Green told the Harbour Gazette simply, “We lost.”",
        "Paul Green responded: “I guess so.”",
        "Asked about the cost, Paul Green replied, “Too much.”",
    ],
)
def test_a_short_quotation_introduced_by_a_speech_verb_is_speech(text: str) -> None:
    found = synthetic(LEAD + text)
    assert [s for s in found.values() if s] == ["Paul Green"]


def test_a_short_quotation_the_writer_uses_is_not_speech() -> None:
    found = synthetic(LEAD + "Paul Green said the old plan was “dead.” The council agreed.")
    assert [s for s in found.values() if s] == []


def test_a_town_and_its_state_belong_to_the_introductory_phrase() -> None:
    found = synthetic(
        LEAD
        + f"“{QUOTE},” Paul Green said.\n\n"
        + "Speaking at a town hall event in Salem, New Hampshire, Tom Baker unveiled a plan.\n\n"
        + LATER.format(pronoun="he")
    )
    assert found[LATER.format(pronoun="he")] == "Tom Baker"


def test_a_dash_byline_paragraph_signs_the_quotation_before_it() -> None:
    found = synthetic(LEAD + f"“{QUOTE}.”\n\n- Maria Lopez.\n\nThe claim is not accurate.")
    assert found[f"“{QUOTE}.”"] == "Maria Lopez"
    assert found["The claim is not accurate."] is None


def test_a_dash_byline_paragraph_never_signs_narration_with_its_own_speaker() -> None:
    found = synthetic(LEAD + f"Tom Baker spoke first: “{QUOTE}.”\n\n- Maria Lopez.")
    assert [s for s in found.values() if s] == ["Tom Baker"]


def test_a_title_alone_is_never_a_name() -> None:
    found = synthetic(LEAD + f"“{QUOTE},” said Dean.")
    assert [s for s in found.values() if s] == []


def test_a_who_clause_after_a_possessive_names_nobody() -> None:
    found = synthetic(LEAD + f"The plan won support from Lopez’s staff, who declared at the hearing, “{QUOTE}.”")
    assert [s for s in found.values() if s] == []


def test_a_shared_surname_is_the_one_whose_sex_the_pronouns_beside_it_show() -> None:
    found = synthetic(
        LEAD
        + "Maria Lopez ran the company for six years.\n\nLopez said her plan worked. Lopez kept her seat.\n\n"
        + "Lopez took her case to the board.\n\nCarlos Lopez, a union official, opposed the merger.\n\n"
        + f"“{QUOTE},” Lopez said."
    )
    assert found[f"“{QUOTE},” Lopez said."] == "Maria Lopez"


# -- fourth pass: pronouns ------------------------------------------------------------------------


def test_a_name_in_a_clause_after_said_opens_no_sentence() -> None:
    # "said Paul Green continued to …": Green is the subject of what Lopez said, not of the sentence
    found = synthetic(
        LEAD
        + "Tom Baker, a union official, said Paul Green continued to hurt the plan.\n\n"
        + "“It will cost a great deal of money,” he said."
    )
    assert found["“It will cost a great deal of money,” he said."] == "Tom Baker"


def test_a_quotation_earlier_in_the_paragraph_counts_for_the_pronoun() -> None:
    found = synthetic(
        LEAD
        + "Tom Baker spoke first.\n\n"
        + "Voters got a “plan that is late and costly,” said Paul Green, a union official. "
        + "“It will cost a great deal of money,” he said."
    )
    assert found["“It will cost a great deal of money,” he said."] == "Paul Green"


def test_a_short_quotation_ending_a_sentence_ends_it() -> None:
    # "… called it “arbitrary.” Maria Lopez …": the name after the closing mark opens the next sentence
    found = synthetic(
        LEAD
        + "Tom Baker called the vote “arbitrary.” Maria Lopez, a union official, warned that Baker could lose.\n\n"
        + "“It will cost a great deal of money,” she said."
    )
    assert found["“It will cost a great deal of money,” she said."] == "Maria Lopez"


def test_a_full_name_tells_its_own_sex_beside_a_relative_of_the_same_surname() -> None:
    found = synthetic(
        LEAD
        + "Paul Green spoke first, and Green thanked his staff.\n\n"
        + "Maria Green made it clear that her husband would not back down.\n\n"
        + LATER.format(pronoun="she")
    )
    assert found[LATER.format(pronoun="she")] == "Maria Green"


def test_a_saying_cue_before_a_quotation_never_names_the_one_before_it() -> None:
    found = synthetic(
        LEAD
        + "Tom Baker spoke at the hearing.\n\n"
        + f'Asked about the delay, Maria Lopez said, "{QUOTE}." He followed that by saying, "It will cost a lot."'
    )
    assert found[f'Asked about the delay, Maria Lopez said, "{QUOTE}."'] == "Maria Lopez"
    assert found['He followed that by saying, "It will cost a lot."'] == "Tom Baker"
