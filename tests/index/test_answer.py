"""Answers with the real bundled model: verbatim excerpts, attribution, abstention, question checks.

Also hybrid retrieval, with a fake embedder whose vocabulary is known: a sentence only BM25 can find
and one only the dense index can find must both become candidates.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from index import Answer, Excerpt, Library, QuestionError
from index.answer import _cut
from index.embedding import SentenceTransformerEmbedder
from index.search import retrieve
from tests.conftest import DOCS, make_settings
from tests.fakes import HashEmbedder

SEED_ID = "2022-09-01-mexican-cartels-fentanyl.txt"
CARTELS = "What do the cartels need to make fentanyl?"
ON_TOPIC = [
    CARTELS,
    "Who heads the Sinaloa cartel?",
    "How many Americans died of drug overdoses in 2021?",
    "Why did cooperation between Mexico and the DEA end?",
    "How much money do the cartels make from fentanyl?",
]
NALOXONE = (
    "Naloxone reverses a fentanyl overdose within minutes if it is given in time.\n\n"
    "Pharmacies in Ohio now sell naloxone nasal spray without a prescription.\n\n"
    "“Every pharmacy should stock naloxone next to the counter,” said Priya Raman, a pharmacist in Columbus.\n"
)


def source_text(library: Library, doc_id: str) -> str:
    return (library.settings.docs_dir / doc_id).read_bytes().decode("utf-8")


def assert_well_formed(library: Library, excerpts: Sequence[Excerpt]) -> None:
    """Verbatim, short, non-overlapping, best first."""
    for excerpt in excerpts:
        assert excerpt.quote == source_text(library, excerpt.doc_id)[excerpt.start : excerpt.end]
        assert 0 < len(excerpt.quote) <= 400
        assert excerpt.quote == excerpt.quote.strip()
    for i, a in enumerate(excerpts):
        for b in excerpts[i + 1 :]:
            assert a.doc_id != b.doc_id or a.end <= b.start or b.end <= a.start, (a, b)
    scores = [e.score for e in excerpts]
    assert scores == sorted(scores, reverse=True)


# -- answering -----------------------------------------------------------------------------------


def test_the_cartels_question_is_answered_with_dhillons_quote(seed_library: Library) -> None:
    answer = seed_library.ask(CARTELS)

    assert answer.answered
    first = answer.excerpts[0]
    assert "precursor chemicals" in first.quote
    assert first.speaker is not None and "Dhillon" in first.speaker
    assert (first.doc_id, first.title, first.author) == (
        SEED_ID,
        "Mexican cartels ramp up fentanyl production",
        "Fox News",
    )
    assert first.published is not None and first.published.isoformat() == "2022-09-01"
    assert first.location is not None and first.location.startswith("paragraph ")


def test_an_off_topic_question_is_not_answered(seed_library: Library) -> None:
    answer = seed_library.ask("How do I bake sourdough bread?")

    assert not answer.answered
    assert answer.excerpts == []
    assert "excerpts" in answer.to_json_dict() and "closest" not in answer.to_json_dict()


@pytest.mark.parametrize("question", ON_TOPIC)
def test_every_excerpt_is_an_exact_short_span_and_they_are_ranked(seed_library: Library, question: str) -> None:
    answer = seed_library.ask(question)

    assert answer.answered, question
    assert 1 <= len(answer.excerpts) <= 3
    assert_well_formed(seed_library, answer.excerpts)


# -- questions that are refused ------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    ["", "   \n\t ", "🔥💊🤔", "\u200b\u200c\u200d\u2060\ufeff", "?!…"],
    ids=["empty", "whitespace", "emoji", "zero-width", "punctuation"],
)
def test_a_question_without_words_is_refused(seed_library: Library, question: str) -> None:
    with pytest.raises(QuestionError) as caught:
        seed_library.ask(question)
    assert "\n" not in str(caught.value)


def test_a_ten_thousand_character_question_is_refused(seed_library: Library) -> None:
    question = (CARTELS + " ") * 400
    with pytest.raises(QuestionError, match="characters"):
        seed_library.ask(question[:10_000])


# -- one source only -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_sources(real_embedder: SentenceTransformerEmbedder, tmp_path_factory: pytest.TempPathFactory) -> Library:
    root = tmp_path_factory.mktemp("two-sources")
    shutil.copytree(DOCS, root / "docs")
    (root / "docs" / "naloxone.txt").write_text(NALOXONE, "utf-8")
    library = Library(make_settings(root / "docs", root / "index"), embedder=real_embedder)
    library.rebuild()
    return library


def all_doc_ids(answer: Answer) -> set[str]:
    return {e.doc_id for e in [*answer.excerpts, *answer.closest]}


def test_source_restricts_the_answer_to_one_document(two_sources: Library) -> None:
    question = "How can a fentanyl overdose be reversed?"
    unrestricted = two_sources.ask(question)
    assert unrestricted.answered and unrestricted.excerpts[0].doc_id == "naloxone.txt"

    seed_only = two_sources.ask(question, source=SEED_ID)
    naloxone_only = two_sources.ask(CARTELS, source="naloxone.txt")

    assert all_doc_ids(seed_only) == {SEED_ID}
    assert all_doc_ids(naloxone_only) == {"naloxone.txt"}
    assert_well_formed(two_sources, seed_only.excerpts)


def test_an_unknown_source_is_a_question_error(two_sources: Library) -> None:
    with pytest.raises(QuestionError, match="no source"):
        two_sources.ask(CARTELS, source="missing.txt")


# -- hybrid retrieval ----------------------------------------------------------------------------


class ConceptEmbedder(HashEmbedder):
    """Knows a few words by meaning (synonyms share a dimension); any other word is out of vocabulary.

    A text with no known word gets a vector of its own that no question shares.
    """

    CONCEPTS: ClassVar[dict[str, int]] = {
        "car": 1,
        "cars": 1,
        "automobile": 1,
        "bridge": 2,
        "river": 3,
        "school": 4,
        "market": 5,
    }

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                if word in self.CONCEPTS:
                    out[row, self.CONCEPTS[word]] += 1.0
            norm = float(np.linalg.norm(out[row]))
            if norm:
                out[row] /= norm
            else:
                out[row, self.dim - 1] = 1.0
        return out


def test_a_lexical_only_and_a_dense_only_sentence_are_both_candidates(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    places = ["bridge", "river", "school", "market"]
    fillers = [f"Car {n} went past the {places[n % 4]} at {n} o'clock." for n in range(60)]
    (docs / "traffic-log.txt").write_text(" ".join(fillers), "utf-8")
    (docs / "note-lexical.txt").write_text("Zorblax shipped on Monday.", "utf-8")
    (docs / "note-dense.txt").write_text("The automobile stalled.", "utf-8")
    embedder = ConceptEmbedder()
    library = Library(make_settings(docs, tmp_path / "index", chunk_tokens=32), embedder=embedder)
    library.rebuild()
    generation = library.generation()

    candidates = retrieve(generation, embedder, "zorblax car")

    def text_of(sentence: int) -> str:
        row = int(generation.sentence_doc[sentence])
        return generation.text(row, int(generation.sentence_start[sentence]), int(generation.sentence_end[sentence]))

    by_text = {text_of(c.sentence): c for c in candidates}
    assert len(by_text) < generation.n_sentences  # retrieval was selective
    assert "Zorblax shipped on Monday." in by_text, "the sentence only BM25 can find is missing"
    assert "The automobile stalled." in by_text, "the sentence only the dense index can find is missing"
    lexical = by_text["Zorblax shipped on Monday."]
    dense = by_text["The automobile stalled."]
    assert lexical.sentence_lexical == pytest.approx(1.0) and lexical.sentence_dense == pytest.approx(0.0)
    assert dense.sentence_dense == pytest.approx(1.0) and dense.sentence_lexical == 0.0


def test_a_sentence_longer_than_the_budget_is_cut_where_the_question_points() -> None:
    filler = "the committee reviewed many routine matters of procedure and scheduling, "
    text = "In its long annual session, " + filler * 8 + "and finally it chose Oslo as host city for the games."
    focus = frozenset({"host", "citi"})  # "host city", as the Snowball stemmer makes them

    def stem(word: str) -> str:
        return {"city": "citi"}.get(word.lower(), word.lower())

    start, end = _cut(text, 100, 120, focus, stem)
    piece = text[start - 100 : end - 100]
    assert "Oslo as host city" in piece and len(piece) <= 120
    assert piece == piece.strip() and text[start - 101] == " "  # whole words
    prefix_start, prefix_end = _cut(text, 100, 120)  # nothing to look for: the sentence's start
    assert text[prefix_start - 100 : prefix_end - 100].startswith("In its long annual session")


# -- the same report from several outlets ------------------------------------------------------------

WIRE = (
    "The city council voted on Tuesday to close the Harlow Street bridge for repairs until March.\n\n"
    "“The bridge has reached the end of its life,” said Dana Okafor, the council's engineer.\n"
)


def test_one_report_carried_by_several_outlets_is_quoted_once_and_the_others_named(
    real_embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    outlets = {"gazette.txt": "City Gazette", "herald.txt": "Morning Herald", "post.txt": "Evening Post"}
    for number, (name, outlet) in enumerate(outlets.items()):
        # The same agency copy, lightly edited by one outlet.
        text = WIRE.replace("on Tuesday", "on Tuesday night") if number == 2 else WIRE
        (docs / name).write_text(text, "utf-8")
        (docs / f"{name}.meta.yaml").write_text(f"outlet: {outlet}\ntitle: Bridge to close\n", "utf-8")
    (docs / "ferry.txt").write_text("The ferry to the island runs twice a day while the bridge is shut.\n", "utf-8")
    library = Library(make_settings(docs, tmp_path / "index"), embedder=real_embedder)
    library.rebuild()

    answer = library.ask("Why is the Harlow Street bridge closing until March?")

    assert answer.answered
    assert_well_formed(library, answer.excerpts)
    bridge = [e for e in answer.excerpts if "Harlow Street" in e.quote]
    assert len(bridge) == 1, [e.quote for e in answer.excerpts]
    named = {other.author for other in bridge[0].also}
    assert named == set(outlets.values()) - {bridge[0].author}
    assert all(other.doc_id != bridge[0].doc_id for other in bridge[0].also)


# -- the day of asking -------------------------------------------------------------------------------


def test_this_week_means_the_week_before_the_day_of_asking(
    real_embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    stories = {
        "march.txt": ("2023-03-07", "The Harlow city council elected Mara Quist as its new mayor on Monday."),
        "june.txt": ("2023-06-13", "The Harlow city council elected Tomas Berg as its new mayor on Monday."),
    }
    for name, (published, text) in stories.items():
        (docs / name).write_text(text + "\n", "utf-8")
        (docs / f"{name}.meta.yaml").write_text(f"published: {published}\ntitle: Harlow mayor\n", "utf-8")
    library = Library(make_settings(docs, tmp_path / "index"), embedder=real_embedder)
    library.rebuild()
    question = "Who did the Harlow city council elect as mayor this week?"

    in_march = library.ask(question, now=dt.date(2023, 3, 9))
    in_june = library.ask(question, now=dt.datetime(2023, 6, 15, 9, 30))

    assert in_march.excerpts[0].doc_id == "march.txt"  # June's story did not exist yet
    assert in_june.excerpts[0].doc_id == "june.txt"


def test_without_a_time_word_the_newer_story_goes_first(
    real_embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    stories = {  # the older story is the closer match to the question
        "march.txt": ("2023-03-07", "The Harlow council elected Mara Quist as mayor on Monday."),
        "june.txt": (
            "2023-06-13",
            "On Monday, the Harlow council elected Tomas Berg, a former teacher, as its new mayor.",
        ),
    }
    for name, (published, text) in stories.items():
        (docs / name).write_text(text + "\n", "utf-8")
        (docs / f"{name}.meta.yaml").write_text(f"published: {published}\ntitle: Harlow mayor\n", "utf-8")
    library = Library(make_settings(docs, tmp_path / "index"), embedder=real_embedder)
    library.rebuild()
    question = "Who did the Harlow council elect as mayor?"

    assert library.ask(question, now=dt.date(2023, 3, 9)).excerpts[0].doc_id == "march.txt"
    assert library.ask(question, now=dt.date(2023, 6, 15)).excerpts[0].doc_id == "june.txt"
    # A year on, neither is news: the better match goes first again.
    assert library.ask(question, now=dt.date(2026, 6, 15)).excerpts[0].doc_id == "march.txt"


NEWS_STORY = (
    "The Harlow council met on Tuesday night to settle the future of the old ferry pier.\n\n"
    "It voted to demolish the pier and build a new one by 2026.\n\n"
    "Residents had asked for the repairs for years.\n"
)


@pytest.mark.parametrize("walled", [False, True])
def test_an_excerpt_grows_into_the_next_short_paragraph_but_never_over_furniture(
    real_embedder: SentenceTransformerEmbedder, tmp_path: Path, walled: bool
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    text = NEWS_STORY.replace("\n\nIt voted", "\n\nADVERTISEMENT\n\nIt voted") if walled else NEWS_STORY
    (docs / "pier.txt").write_text(text, "utf-8")
    if walled:
        (docs / "pier.txt.meta.yaml").write_text("furniture:\n  - ADVERTISEMENT\n", "utf-8")
    library = Library(make_settings(docs, tmp_path / "index"), embedder=real_embedder)
    library.rebuild()

    answer = library.ask("What did the Harlow council decide about the old ferry pier on Tuesday night?")

    assert_well_formed(library, answer.excerpts)
    first = answer.excerpts[0].quote
    assert all("ADVERTISEMENT" not in e.quote for e in answer.excerpts)
    # Two one-sentence paragraphs make one quote, unless furniture stands between them.
    assert ("Tuesday night" in first and "It voted to demolish" in first) is not walled
