"""How a build makes its vectors: sentences through the model, passages pooled from them, and what the
vector pool lends to a rebuild."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from index import Library
from index.build import PASSAGE_VECTORS, build, passage_vector
from index.embedding import SentenceTransformerEmbedder
from index.store import CURRENT, MANIFEST, open_current, passage_text
from tests.conftest import make_settings
from tests.fakes import HashEmbedder

CORPUS = {
    "ferry.txt": "The night ferry to Korsholm leaves at 22:15. It carries 140 cars and 600 passengers.\n\n"
    "Captain Ilse Varga has run the crossing since 2019. She said the winter timetable starts in November.",
    "harbour.txt": "The harbour council approved a new sea wall. Work begins in spring and costs 12 million.\n",
}


def stored_texts(library: Library) -> tuple[list[str], list[str]]:
    """Each stored sentence's text and each passage's embedded text (title, newline, text)."""
    generation = library.generation()
    sentences, passages = [], []
    for doc in generation.documents:
        for sid in range(doc.sentence_first, doc.sentence_end):
            start, end = int(generation.sentence_start[sid]), int(generation.sentence_end[sid])
            sentences.append(generation.text(doc.row, start, end))
        for c in range(doc.chunk_first, doc.chunk_end):
            first, last = int(generation.chunk_first[c]), int(generation.chunk_last[c])
            start, end = int(generation.sentence_start[first]), int(generation.sentence_end[last])
            passages.append(passage_text(doc.title, generation.text(doc.row, start, end)))
    return sentences, passages


def test_sentence_vectors_are_the_models_own_and_passages_agree_with_the_model_over_the_passage(
    seed_library: Library, real_embedder: SentenceTransformerEmbedder
) -> None:
    generation = seed_library.generation()
    sentences, passages = stored_texts(seed_library)
    assert len(passages) >= 4

    # Sentences go through the model alone, as before: the same vectors up to float16 storage.
    stored = generation.vectors("sentences", 0, generation.n_sentences)
    assert (stored * real_embedder.embed(sentences)).sum(axis=1).min() > 0.999

    # Passages are pooled from their sentences and title, not run through the model: on this real
    # article they agree with the model's own vector of the whole passage to a cosine of 0.85 on average
    # (news-dev: 0.85, BENCHMARKS.md), never below 0.75.
    agreement = (generation.vectors("chunks", 0, generation.n_chunks) * real_embedder.embed(passages)).sum(axis=1)
    assert agreement.mean() > 0.85 and agreement.min() > 0.75


def test_a_passage_vector_is_the_token_weighted_mean_of_its_sentences_and_title() -> None:
    sentences = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float32)
    tokens = np.array([3.0, 1.0], dtype=np.float32)

    alone = passage_vector(sentences, tokens, None)
    titled = passage_vector(sentences, tokens, (np.array([0.0, 0.0, 1.0], dtype=np.float32), 4))

    assert np.allclose(alone, np.array([3.0, 1.0, 0.0]) / np.sqrt(10.0))
    assert np.allclose(titled, np.array([3.0, 1.0, 4.0]) / np.sqrt(26.0))


def make_corpus(root: Path) -> Path:
    docs = root / "docs"
    docs.mkdir()
    for name, text in CORPUS.items():
        (docs / name).write_text(text, "utf-8")
    return docs


def test_an_added_document_costs_its_own_sentences_and_title(tmp_path: Path) -> None:
    docs = make_corpus(tmp_path)
    settings = make_settings(docs, tmp_path / "index")
    build(settings, HashEmbedder())
    (docs / "museum.txt").write_text("The maritime museum reopens in May. Entry is free for children.", "utf-8")

    embedder = HashEmbedder()
    report = build(settings, embedder)

    assert report.added == ["museum.txt"] and report.unchanged == 2
    assert report.embedded == sum(embedder.calls) == 2 + 1  # two sentences and the title


def test_passages_of_an_index_made_the_old_way_are_pooled_anew_from_its_sentence_vectors(tmp_path: Path) -> None:
    docs = make_corpus(tmp_path)
    settings = make_settings(docs, tmp_path / "index")
    build(settings, HashEmbedder())
    folder = settings.index_dir / (settings.index_dir / CURRENT).read_text("utf-8").strip()
    manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    del manifest["chunking"]["passages"]  # as an index whose passages went through the model
    (folder / MANIFEST).write_text(json.dumps(manifest), "utf-8")
    fresh = build(make_settings(docs, tmp_path / "fresh"), HashEmbedder())

    embedder = HashEmbedder()
    report = build(settings, embedder)

    assert report.full_rebuild_reason is not None and "passages" in report.full_rebuild_reason
    assert report.embedded == sum(embedder.calls) == len(CORPUS) < fresh.embedded  # the titles only
    served, rebuilt = open_current(settings.index_dir), open_current(tmp_path / "fresh")
    assert served.manifest.chunking["passages"] == PASSAGE_VECTORS
    for kind, n in (("sentences", served.n_sentences), ("chunks", served.n_chunks)):
        assert np.array_equal(served.vectors(kind, 0, n), rebuilt.vectors(kind, 0, n))
