"""Retrieval features: word coverage for abstention, BM25 of candidate rows, and the IVF path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import bm25s
import numpy as np
import pytest

from index import Library
from index import store as store_module
from index.analysis import DATE, NUMBER, answer_kinds, word_ids
from index.search import _bm25_rows, _coverage, _owning_chunks, _unknown_words, asked_kind, gather
from tests.conftest import make_settings
from tests.fakes import HashEmbedder

TEXTS = {
    "owls.txt": "Barn owls nest in old church towers. Owls hunt voles at night over open fields.",
    "bees.txt": "Honey bees dance to show where flowers are. A hive can hold fifty thousand bees.",
}


@pytest.fixture
def library(tmp_path: Path) -> Library:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in TEXTS.items():
        (docs / name).write_text(text, "utf-8")
    library = Library(make_settings(docs, tmp_path / "index"), embedder=HashEmbedder())
    library.rebuild()
    return library


def test_coverage_is_the_rare_weighted_share_of_question_words_in_the_passage(library: Library) -> None:
    generation = library.generation()
    tokenizer, bm25 = generation.chunk_tokenizer, generation.chunk_postings
    rows = np.arange(generation.n_chunks)
    owls = generation.by_id["owls.txt"].chunk_first

    full = _coverage(bm25.query(word_ids(tokenizer, "barn owls nest")), rows)
    partial = _coverage(bm25.query(word_ids(tokenizer, "barn owls and bees nest")), rows)
    unknown = _unknown_words(tokenizer, "barn owls nest in Zanzibar")
    with_unknown = _coverage(bm25.query(word_ids(tokenizer, "barn owls nest in Zanzibar")), rows, unknown)

    assert full[owls] == pytest.approx(1.0)
    assert 0.0 < partial[owls] < 1.0
    assert unknown == 1
    assert 0.0 < with_unknown[owls] < full[owls]


def test_bm25_from_posting_lists_equals_bm25s_own_scores(library: Library) -> None:
    generation = library.generation()
    tokens = word_ids(generation.tokenizer, "owls hunt voles at night in fields")
    reference = bm25s.BM25.load(str(generation.folder / "bm25-sentences"), mmap=True)  # the library itself
    everything = np.asarray(reference.get_scores(tokens))
    rows = np.array([0, 1, 3], dtype=np.int64)
    assert everything[rows].max() > 0
    postings = generation.sentence_postings.query(tokens)
    assert np.allclose(postings.scores(), everything)
    assert np.allclose(_bm25_rows(postings, rows), everything[rows])


def test_a_question_about_missing_words_gets_less_confidence(library: Library) -> None:
    generation = library.generation()
    embedder = library.embedder
    covered = "Where do barn owls nest?"
    missing = "Where do barn owls nest in Zanzibar cathedrals?"
    best_covered = gather(generation, embedder.embed([covered])[0], covered).rank()[0]
    best_missing = gather(generation, embedder.embed([missing])[0], missing).rank()[0]
    assert best_covered.coverage == pytest.approx(1.0)
    assert best_missing.coverage < 0.7
    assert best_missing.confidence < best_covered.confidence


def test_big_collections_use_an_ivf_index_that_still_finds_the_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "FLAT_LIMIT", 4)
    docs = tmp_path / "docs"
    docs.mkdir()
    for k in range(40):
        (docs / f"note-{k}.txt").write_text(
            f"Note {k} says the lighthouse number {k} is painted red and white.", "utf-8"
        )
    (docs / "target.txt").write_text("The quorvex engine runs on seawater and moonlight.", "utf-8")
    library = Library(make_settings(docs, tmp_path / "index", min_score=0.0), embedder=HashEmbedder())
    library.rebuild()
    generation = library.generation()
    assert generation.manifest.vector_index["chunks"].startswith("ivf")
    answer = library.ask("What does the quorvex engine run on?")
    assert answer.excerpts[0].doc_id == "target.txt"


def test_a_repeated_question_does_not_embed_again(library: Library) -> None:
    embedder = library.embedder
    assert isinstance(embedder, HashEmbedder)
    first = library.ask("Where do barn owls nest?")
    calls = len(embedder.calls)
    again = library.ask("Where do barn owls nest?")
    assert len(embedder.calls) == calls
    assert again.excerpts == first.excerpts


def test_past_the_scan_limit_lexical_candidates_still_come_from_passages(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    from index import search

    monkeypatch.setattr(search, "LEXICAL_SCAN_LIMIT", 0)
    answer = library.ask("Where do barn owls nest?")
    assert answer.excerpts and "Barn owls nest" in answer.excerpts[0].quote


def test_word_features_tell_apart_sentences_of_one_topic(tmp_path: Path) -> None:
    """Collection-wide the topic word "owls" is rare; among the candidates it is common, so a
    sentence holding only it covers less of the question locally than collection-wide."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "owls.txt").write_text(
        "Owls are birds of prey. Owls nest in church towers. Owls hunt voles at night.\n\nOwls have silent feathers.",
        "utf-8",
    )
    # Other sources, so that the candidates are a small part of the collection.
    (docs / "port.txt").write_text(" ".join(f"Harbour log entry {i} lists cargo." for i in range(150)), "utf-8")
    library = Library(make_settings(docs, tmp_path / "index", chunk_tokens=32), embedder=HashEmbedder())
    library.rebuild()
    generation = library.generation()
    question = "Where do owls nest?"
    evidence = gather(generation, library.embedder.embed([question])[0], question)
    owls = generation.by_id["owls.txt"].row

    def text_of(sid: int) -> str:
        return generation.text(owls, int(generation.sentence_start[sid]), int(generation.sentence_end[sid]))

    def row(text: str) -> int:
        rows = [
            i
            for i, sid in enumerate(evidence.ids.tolist())
            if generation.sentence_doc[sid] == owls and text_of(sid) == text
        ]
        assert rows, f"{text!r} is not a candidate"
        return rows[0]

    assert len(evidence.ids) < generation.n_sentences
    nest, prey, feathers = (
        row("Owls nest in church towers."),
        row("Owls are birds of prey."),
        row("Owls have silent feathers."),
    )
    assert evidence["sentence_coverage"][nest] == pytest.approx(1.0)
    assert 0.0 < evidence["sentence_coverage"][prey] < 1.0
    assert evidence["local_coverage"][prey] < evidence["sentence_coverage"][prey]
    assert evidence["neighbour_coverage"][prey] == pytest.approx(1.0)  # its neighbour holds both words
    assert evidence["window_local_coverage"][prey] == pytest.approx(1.0)
    assert evidence["neighbour_coverage"][feathers] == 0.0  # alone in its paragraph
    ranked = evidence.rank()
    assert text_of(ranked[0].sentence) == "Owls nest in church towers."
    assert all(0.0 < c.score < 1.0 for c in ranked)  # a probability


def test_owning_chunks_match_a_scan_of_every_chunk(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    words = " ".join(f"Sentence number {i} talks about topic {i % 7}." for i in range(60))
    (docs / "long.txt").write_text(words, "utf-8")
    (docs / "short.txt").write_text("One short note.", "utf-8")
    library = Library(make_settings(docs, tmp_path / "index", chunk_tokens=32), embedder=HashEmbedder())
    library.rebuild()
    generation = library.generation()
    ids = np.arange(generation.n_sentences, dtype=np.int64)
    owners = _owning_chunks(generation, ids)
    for sid in ids.tolist():
        expected = [
            c for c in range(generation.n_chunks) if generation.chunk_first[c] <= sid <= generation.chunk_last[c]
        ]
        assert sorted(c for c in owners[sid].tolist() if c >= 0) == expected
    assert (owners >= 0).sum(axis=1).max() == 2  # chunks overlap by a sentence


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did the ferry first sail?", DATE),
        ("In what year was the museum opened?", DATE),
        ("How many cars does the ferry carry?", NUMBER),
        ("What percentage of voters agreed?", NUMBER),
        ("Who captains the ferry?", 0),
        ("What do the cartels need to make fentanyl?", 0),
    ],
)
def test_the_kind_of_answer_a_question_asks_for(question: str, kind: int) -> None:
    assert asked_kind(question) == kind


@pytest.mark.parametrize(
    ("sentence", "kinds"),
    [
        ("The bridge opened in 1932.", DATE | NUMBER),
        ("It reopened in the spring of the 19th century.", DATE | NUMBER),
        ("Work began in March.", DATE),
        ("Forty cars cross every day.", NUMBER),
        ("The captain has never missed a crossing.", 0),
    ],
)
def test_the_kinds_of_answer_a_sentence_holds(sentence: str, kinds: int) -> None:
    assert answer_kinds(sentence) == kinds


def test_a_when_question_favours_the_sentence_with_a_date(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "bridge.txt").write_text("The old bridge was rebuilt by the city. The bridge was rebuilt in 1932.", "utf-8")
    library = Library(make_settings(docs, tmp_path / "index"), embedder=HashEmbedder())
    library.rebuild()
    generation = library.generation()
    question = "When was the bridge rebuilt?"
    evidence = gather(generation, library.embedder.embed([question])[0], question)
    assert evidence["answer_kind"].tolist() == [0.0, 1.0]
    assert evidence["neighbour_answer_kind"].tolist() == [1.0, 0.0]
    other = "Who rebuilt the bridge?"
    assert not gather(generation, library.embedder.embed([other])[0], other)["answer_kind"].any()


def test_how_recent_a_document_is_on_the_day_of_asking(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    stories = {"week.txt": "2023-03-02", "season.txt": "2022-12-09", "later.txt": "2023-03-20", "undated.txt": None}
    for name, published in stories.items():
        (docs / name).write_text("The Harlow council elected a new mayor.", "utf-8")
        if published:
            (docs / f"{name}.meta.yaml").write_text(f"published: {published}\n", "utf-8")
    library = Library(make_settings(docs, tmp_path / "index"), embedder=HashEmbedder())
    library.rebuild()
    generation = library.generation()
    question = "Who did the Harlow council elect as mayor?"
    evidence = gather(generation, library.embedder.embed([question])[0], question, today=dt.date(2023, 3, 9))
    by_doc = {
        generation.documents[int(generation.sentence_doc[s])].doc_id: i for i, s in enumerate(evidence.ids.tolist())
    }
    week, season = evidence["recent_week"], evidence["recent_season"]
    # Seven days before the day of asking, and ninety: halfway down each scale.
    assert week[by_doc["week.txt"]] == pytest.approx(0.5)
    assert season[by_doc["season.txt"]] == pytest.approx(0.5)
    assert week[by_doc["week.txt"]] > week[by_doc["season.txt"]] > 0
    # A story from after the day of asking, or with no date, is not recent: it is not dated then at all.
    for name in ("later.txt", "undated.txt"):
        assert week[by_doc[name]] == season[by_doc[name]] == 0.0
