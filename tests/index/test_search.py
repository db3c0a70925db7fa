"""Retrieval features: word coverage for abstention, BM25 of candidate rows, and the IVF path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index import Library
from index import store as store_module
from index.search import _bm25_rows, _coverage, _query_tokens, _unknown_words, gather
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
    tokenizer, bm25 = generation.chunk_tokenizer, generation.chunk_bm25
    rows = np.arange(generation.n_chunks)
    owls = generation.by_id["owls.txt"].chunk_first

    full = _coverage(bm25, _query_tokens(tokenizer, "barn owls nest"), rows)
    partial = _coverage(bm25, _query_tokens(tokenizer, "barn owls and bees nest"), rows)
    unknown = _unknown_words(tokenizer, "barn owls nest in Zanzibar")
    with_unknown = _coverage(bm25, _query_tokens(tokenizer, "barn owls nest in Zanzibar"), rows, unknown)

    assert full[owls] == pytest.approx(1.0)
    assert 0.0 < partial[owls] < 1.0
    assert unknown == 1
    assert 0.0 < with_unknown[owls] < full[owls]


def test_bm25_of_chosen_rows_equals_bm25_of_all_rows(library: Library) -> None:
    generation = library.generation()
    tokens = _query_tokens(generation.tokenizer, "owls hunt voles at night in fields")
    everything = np.asarray(generation.sentence_bm25.get_scores(tokens))
    rows = np.array([1, 0, 3], dtype=np.int64)
    assert np.allclose(_bm25_rows(generation.sentence_bm25, tokens, np.sort(rows)), everything[np.sort(rows)])


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
