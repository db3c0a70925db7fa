"""The index on disk: manifest, incremental rebuilds, damage detection and atomic generations.

Builds use the fast fake embedder, which records every call, so "nothing was embedded" is observable.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index import CorruptIndexError, Library, store
from index.build import PASSAGE_VECTORS, build
from index.clean import EXTRACTOR_VERSION
from index.readers import NpyRows
from index.settings import IndexSettings
from index.store import CURRENT, MANIFEST, open_current
from tests.conftest import make_settings
from tests.fakes import HashEmbedder

CORPUS = {
    "ferry.txt": (
        "The zorblax ferry sails at noon from the north pier. It carries forty cars across the bay every day.\n\n"
        "“We have never missed a single crossing in ten years,” said Mara Quist, the ferry's captain.\n"
    ),
    "museum.md": (
        "---\ntitle: Museum hours\nauthor: City Desk\n---\n"
        "The maritime museum opens at nine and closes at five. Entry is free on Sundays.\n"
    ),
    "harbour.txt": "The harbour council approved a new sea wall. It will cost four million euros to build.\n",
}
FERRY_QUESTION = "When does the zorblax ferry sail from the pier?"


def make_corpus(root: Path) -> IndexSettings:
    docs = root / "docs"
    docs.mkdir()
    for name, text in CORPUS.items():
        (docs / name).write_text(text, "utf-8")
    return make_settings(docs, root / "index")


def current_folder(settings: IndexSettings) -> Path:
    return settings.index_dir / (settings.index_dir / CURRENT).read_text("utf-8").strip()


def manifest_of(settings: IndexSettings) -> dict[str, object]:
    data: dict[str, object] = json.loads((current_folder(settings) / MANIFEST).read_text("utf-8"))
    return data


def doc_ids_in_answer(library: Library, question: str) -> set[str]:
    answer = library.ask(question)
    return {e.doc_id for e in [*answer.excerpts, *answer.closest]}


# -- manifest ------------------------------------------------------------------------------------


def test_the_manifest_records_model_chunking_hashes_and_build_time(tmp_path: Path) -> None:
    settings = make_corpus(tmp_path)
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)

    build(settings, HashEmbedder())

    manifest = manifest_of(settings)
    assert manifest["model"] == "fake-hash"
    assert manifest["dim"] == 64
    assert manifest["chunking"] == {
        "chunk_tokens": 256, "chunk_overlap": 1, "segmenter": 2, "attribution": 5, "extractor": EXTRACTOR_VERSION,
        "passages": PASSAGE_VECTORS,
    }  # fmt: skip
    hashes = manifest["documents"]
    assert isinstance(hashes, dict) and set(hashes) == set(CORPUS)
    assert len(set(hashes.values())) == len(CORPUS)
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in hashes.values())
    built_at = dt.datetime.fromisoformat(str(manifest["built_at"]))
    assert before <= built_at <= dt.datetime.now(dt.UTC)


# -- incremental rebuilds ------------------------------------------------------------------------


def test_an_unchanged_corpus_embeds_nothing_and_answers_the_same(tmp_path: Path) -> None:
    settings = make_corpus(tmp_path)
    first = Library(settings, embedder=HashEmbedder())
    first.rebuild()
    before = first.ask(FERRY_QUESTION)
    assert before.answered and before.excerpts[0].doc_id == "ferry.txt"

    embedder = HashEmbedder()
    report = build(settings, embedder)

    assert report.embedded == 0
    assert sum(embedder.calls) == 0
    assert (report.unchanged, report.added, report.changed, report.removed) == (3, [], [], [])
    after = Library(settings, embedder=HashEmbedder()).ask(FERRY_QUESTION)
    assert after.excerpts == before.excerpts  # carried-over spans and vectors are the same


def test_a_changed_document_alone_is_re_embedded(tmp_path: Path) -> None:
    settings = make_corpus(tmp_path)
    library = Library(settings, embedder=HashEmbedder())
    library.rebuild()
    (settings.docs_dir / "harbour.txt").write_text(
        "The harbour council rejected the sea wall. Councillors asked for a cheaper quorvex barrier instead.\n",
        "utf-8",
    )

    embedder = HashEmbedder()
    report = build(settings, embedder)

    assert report.changed == ["harbour.txt"]
    assert report.unchanged == 2
    library.reload()
    harbour = next(s for s in library.sources() if s.doc_id == "harbour.txt")
    assert report.embedded == harbour.sentences + 1 == sum(embedder.calls)  # its sentences and its title
    answer = library.ask("What barrier did the councillors ask for?")
    assert answer.answered
    assert "Councillors asked for a cheaper quorvex barrier instead." in answer.excerpts[0].quote


def test_a_removed_document_no_longer_answers(tmp_path: Path) -> None:
    settings = make_corpus(tmp_path)
    library = Library(settings, embedder=HashEmbedder())
    library.rebuild()
    questions = [FERRY_QUESTION, "How many cars does the ferry carry?", "Who is the captain of the ferry?"]
    assert "ferry.txt" in doc_ids_in_answer(library, FERRY_QUESTION)

    (settings.docs_dir / "ferry.txt").unlink()
    report = library.rebuild()

    assert report.removed == ["ferry.txt"]
    assert "ferry.txt" not in manifest_of(settings)["documents"]  # type: ignore[operator]
    assert [s.doc_id for s in library.sources()] == ["harbour.txt", "museum.md"]
    for question in questions:
        assert "ferry.txt" not in doc_ids_in_answer(library, question)


def test_a_new_model_forces_a_full_rebuild_with_a_reason(tmp_path: Path) -> None:
    settings = make_corpus(tmp_path)
    first = build(settings, HashEmbedder())

    embedder = HashEmbedder(name="fake-hash-v2")
    report = build(settings, embedder)

    assert report.full_rebuild_reason is not None
    assert "\n" not in report.full_rebuild_reason
    assert "'fake-hash'" in report.full_rebuild_reason and "'fake-hash-v2'" in report.full_rebuild_reason
    assert report.embedded == first.embedded == sum(embedder.calls) > 0
    assert manifest_of(settings)["model"] == "fake-hash-v2"


def test_new_chunking_settings_cut_every_document_anew_and_embed_only_new_texts(tmp_path: Path) -> None:
    settings = make_corpus(tmp_path)
    build(settings, HashEmbedder())
    fresh_embedder = HashEmbedder()
    reference = build(settings.model_copy(update={"index_dir": tmp_path / "fresh", "chunk_tokens": 8}), fresh_embedder)

    embedder = HashEmbedder()
    rechunked = settings.model_copy(update={"chunk_tokens": 8})
    report = build(rechunked, embedder)

    assert report.full_rebuild_reason is not None and "chunking" in report.full_rebuild_reason
    assert sorted(report.added) == sorted(CORPUS)
    # The sentences are the same strings: only the titles of the passages pooled anew go through the model.
    assert 0 < report.embedded == sum(embedder.calls) < reference.embedded
    served, rebuilt = open_current(rechunked.index_dir), open_current(tmp_path / "fresh")
    assert served.n_chunks == rebuilt.n_chunks > 3
    for kind, n in (("sentences", served.n_sentences), ("chunks", served.n_chunks)):
        assert np.array_equal(served.vectors(kind, 0, n), rebuilt.vectors(kind, 0, n))


def test_a_metadata_change_keeps_the_vectors_of_unchanged_text(tmp_path: Path) -> None:
    settings = make_corpus(tmp_path)
    build(settings, HashEmbedder())
    (settings.docs_dir / "harbour.txt.meta.yaml").write_text("author: Harbour Desk\npublished: 2024-05-01\n", "utf-8")

    embedder = HashEmbedder()
    report = build(settings, embedder)

    assert report.changed == ["harbour.txt"]
    assert report.embedded == sum(embedder.calls) == 0
    assert open_current(settings.index_dir).by_id["harbour.txt"].author == "Harbour Desk"


def test_an_index_from_an_older_extractor_is_rebuilt_with_the_reason(tmp_path: Path) -> None:
    settings = make_corpus(tmp_path)
    build(settings, HashEmbedder())
    folder = current_folder(settings)
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    manifest["chunking"]["extractor"] = EXTRACTOR_VERSION - 1  # as an index built before this version
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")

    report = build(settings, HashEmbedder())

    assert report.full_rebuild_reason is not None and "extraction changed" in report.full_rebuild_reason
    assert "chunking" not in report.full_rebuild_reason
    assert sorted(report.added) == sorted(CORPUS)  # every document extracted and cut anew
    assert report.embedded == 0  # these files yield the same strings as before: their vectors are kept


# -- damage --------------------------------------------------------------------------------------


def flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for k in range(middle, middle + 8):
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_damaged_vector_file_is_detected_at_load_with_one_clear_line(tmp_path: Path) -> None:
    settings = make_corpus(tmp_path)
    build(settings, HashEmbedder())
    flip_bytes(current_folder(settings) / "chunks.faiss")

    with pytest.raises(CorruptIndexError) as caught:
        open_current(settings.index_dir)
    message = str(caught.value)
    assert "\n" not in message
    assert "chunks.faiss" in message and "damaged" in message

    with pytest.raises(CorruptIndexError):
        Library(settings, embedder=HashEmbedder()).ask(FERRY_QUESTION)


def test_a_damaged_index_is_rebuilt_by_ensure_index(tmp_path: Path) -> None:
    settings = make_corpus(tmp_path)
    build(settings, HashEmbedder())
    flip_bytes(current_folder(settings) / "library.sqlite")

    library = Library(settings, embedder=HashEmbedder())
    report = library.ensure_index()

    assert report is not None and report.full_rebuild_reason is not None
    assert "library.sqlite" in report.full_rebuild_reason
    assert library.ask(FERRY_QUESTION).excerpts[0].doc_id == "ferry.txt"


def test_an_index_built_with_another_model_is_refused_at_load(tmp_path: Path) -> None:
    settings = make_corpus(tmp_path)
    build(settings, HashEmbedder())

    with pytest.raises(CorruptIndexError, match="fake-hash"):
        Library(settings, embedder=HashEmbedder(name="other-model")).generation()


# -- generations ---------------------------------------------------------------------------------


def test_current_points_at_a_complete_generation(tmp_path: Path) -> None:
    settings = make_corpus(tmp_path)
    build(settings, HashEmbedder())
    (settings.docs_dir / "extra.txt").write_text("A fourth document about lighthouses.", "utf-8")

    report = build(settings, HashEmbedder())

    folder = current_folder(settings)
    assert folder.name == report.generation
    assert folder.is_dir()
    manifest = manifest_of(settings)
    checksums = manifest["checksums"]
    assert isinstance(checksums, dict)
    assert {"library.sqlite", "sentences.f16.npy", "chunks.faiss"} <= set(checksums)
    stored = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert stored == {*checksums, MANIFEST}
    assert not list(settings.index_dir.glob(".tmp-*"))
    assert open_current(settings.index_dir).manifest.documents.keys() == {*CORPUS, "extra.txt"}


def test_the_index_folder_holds_no_pickles(tmp_path: Path) -> None:
    settings = make_corpus(tmp_path)
    build(settings, HashEmbedder())
    build(settings, HashEmbedder(name="fake-hash-v2"))

    files = [p for p in settings.index_dir.rglob("*") if p.is_file()]
    assert files
    assert not [p for p in files if p.suffix in {".pkl", ".pickle", ".joblib", ".pt", ".bin"}]
    for path in files:
        if path.suffix == ".npy":
            np.load(path, allow_pickle=False)  # raises if the array holds pickled objects
        elif path.suffix == ".json":
            json.loads(path.read_text("utf-8"))
        assert path.read_bytes()[:2] not in {b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"}


def test_an_unchanged_corpus_keeps_its_generation_and_writes_nothing(tmp_path: Path) -> None:
    settings = make_corpus(tmp_path)
    library = Library(settings, embedder=HashEmbedder())
    first = library.rebuild()
    folders = sorted(p.name for p in settings.index_dir.iterdir())

    again = library.rebuild()

    assert again.generation == first.generation == current_folder(settings).name
    assert (again.embedded, again.added, again.changed, again.removed) == (0, [], [], [])
    assert again.unchanged == again.documents == len(CORPUS)
    assert sorted(p.name for p in settings.index_dir.iterdir()) == folders


def test_an_unchanged_rebuild_keeps_serving_without_opening_the_generation_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_corpus(tmp_path)
    library = Library(settings, embedder=HashEmbedder())
    first = library.rebuild()
    served = library.generation()
    opened: list[str] = []
    monkeypatch.setattr(store.Generation, "__init__", _counting(store.Generation.__init__, opened))

    again = library.rebuild()

    assert opened == []  # neither the build nor the library opened it a second time
    assert again.generation == first.generation and library.generation() is served
    assert again.unchanged == again.documents == len(CORPUS) and again.chunks == first.chunks
    # A changed source takes the long way: the new generation is written and served.
    (settings.docs_dir / "extra.txt").write_text("Kestrels hover over the verges of motorways.", "utf-8")
    changed = library.rebuild()
    assert changed.added == ["extra.txt"] and changed.generation != first.generation
    assert library.generation().name == changed.generation and opened


def test_an_unchanged_rebuild_of_a_damaged_generation_reports_it_and_rebuilds(tmp_path: Path) -> None:
    settings = make_corpus(tmp_path)
    library = Library(settings, embedder=HashEmbedder())
    first = library.rebuild()
    database = settings.index_dir / first.generation / store.DATABASE
    data = bytearray(database.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 16] = bytes(b ^ 0xFF for b in data[len(data) // 2 : len(data) // 2 + 16])
    database.write_bytes(bytes(data))

    again = library.rebuild()

    assert again.full_rebuild_reason and "damaged" in again.full_rebuild_reason
    assert again.generation != first.generation and library.generation().name == again.generation
    assert again.documents == len(CORPUS)


def _counting(init: Any, opened: list[str]) -> Any:
    def counted(self: store.Generation, folder: Path, **kwargs: Any) -> None:
        opened.append(folder.name)
        init(self, folder, **kwargs)

    return counted


# -- reading rows without memory maps --------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1000, 7), (1000,)])
def test_rows_are_read_in_the_order_asked_exactly_as_numpy_stores_them(tmp_path: Path, shape: tuple[int, ...]) -> None:
    stored = np.random.default_rng(0).normal(size=shape).astype(np.float16)
    np.save(tmp_path / "a.npy", stored)
    rows = NpyRows(tmp_path / "a.npy")
    wanted = np.array([999, 3, 4, 4, 500, 0, 11, 2], dtype=np.int64)  # unsorted, repeated, near and far

    assert rows.shape == shape and len(rows) == 1000
    assert np.array_equal(rows.take(wanted), stored[wanted])
    assert np.array_equal(rows.take(np.array([], dtype=np.int64)), stored[:0])
    assert np.array_equal(rows[10:20], stored[10:20])
    assert np.array_equal(rows.read(995, 1005), stored[995:])


def test_a_truncated_vector_file_is_refused_at_load(tmp_path: Path) -> None:
    settings = make_corpus(tmp_path)
    build(settings, HashEmbedder())
    folder = current_folder(settings)
    vectors = folder / "chunks.f16.npy"
    vectors.write_bytes(vectors.read_bytes()[:-10])
    manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    manifest["checksums"].pop("chunks.f16.npy")  # past the checksum: the reader itself must notice
    (folder / MANIFEST).write_text(json.dumps(manifest), "utf-8")

    with pytest.raises(CorruptIndexError, match=r"chunks\.f16\.npy"):
        open_current(settings.index_dir)


def test_serving_does_not_map_the_vector_or_bm25_files(tmp_path: Path) -> None:
    """Memory maps of these files grow the process by the files' size (see `NpyRows`)."""
    settings = make_corpus(tmp_path)
    library = Library(settings, embedder=HashEmbedder())
    library.rebuild()
    assert library.ask(FERRY_QUESTION).answered
    folder = str(current_folder(settings))
    mapped = {line.split()[-1] for line in Path("/proc/self/maps").read_text().splitlines() if folder in line}
    assert not {m for m in mapped if m.endswith(".f16.npy") or "/bm25-" in m}, mapped


def test_an_index_of_an_older_format_lends_its_vectors_to_the_rebuild(tmp_path: Path) -> None:
    settings = make_corpus(tmp_path)
    build(settings, HashEmbedder())
    folder = current_folder(settings)
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    manifest["format"] -= 1  # as an index written by the previous release
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")

    embedder = HashEmbedder()
    report = build(settings, embedder)

    assert report.full_rebuild_reason is not None and "format" in report.full_rebuild_reason
    assert report.embedded == sum(embedder.calls) == 0
    assert open_current(settings.index_dir).n_sentences > 0


def test_a_damaged_vector_file_lends_no_vectors(tmp_path: Path) -> None:
    settings = make_corpus(tmp_path)
    build(settings, HashEmbedder())
    folder = current_folder(settings)
    flip_bytes(folder / "sentences.f16.npy")
    (settings.docs_dir / "harbour.txt.meta.yaml").write_text("author: Harbour Desk\n", "utf-8")

    report = build(settings, HashEmbedder())

    assert report.embedded > 0  # nothing was copied out of the damaged file
