"""Collections: a server's sources stay its own, answers merge across collections as one index would
rank them, collections open and close on demand, and an index from before collections moves over."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index import IndexSettings, Library, NoIndexError, SourceError, SourceExistsError
from index.collections import SHARED, Collections, guild_collection, migrate_single_library
from index.embedding import SentenceTransformerEmbedder
from tests.conftest import DOCS
from tests.fakes import HashEmbedder

STORIES = {
    "harbour.md": (
        "# Harbour bridge closes for repairs\n\n"
        "The harbour bridge will close for six weeks from Monday while engineers replace its cables, "
        "the city transport office said.\n\n"
        "“The cables are forty years old and have reached the end of their life,” said Maria Okafor, "
        "the city's chief engineer.\n\n"
        "Ferries will run every ten minutes during the closure, the office added.\n"
    ),
    "orchard.md": (
        "# Frost damages the apple harvest\n\n"
        "A late frost destroyed about a third of the region's apple blossom in April, growers said.\n\n"
        "“We have not seen a spring like this since 1991,” said Tom Reyes, who farms near the river.\n\n"
        "Cider makers expect prices to rise by autumn.\n"
    ),
    "library.md": (
        "# The town library opens on Sundays\n\n"
        "The town library will open on Sundays from next month after the council approved new funding.\n\n"
        "“Families asked for weekend hours more than anything else,” said librarian Ana Silva.\n"
    ),
}
QUESTIONS = (
    "Why is the harbour bridge closing?",
    "Who is the city's chief engineer?",
    "What destroyed the apple blossom?",
    "When will the library open on Sundays?",
    "What do the cartels need to make fentanyl?",
    "How will people cross while the bridge is closed?",
)


def _settings(root: Path, **extra: object) -> IndexSettings:
    return IndexSettings(_env_file=None, docs_dir=root / "docs", data_dir=root / "data", **extra)  # type: ignore[call-arg]


def _write(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text(STORIES[name], encoding="utf-8")


def _order(answer: object) -> list[tuple[str, int]]:
    return [(e.doc_id, e.start) for e in answer.excerpts]  # type: ignore[attr-defined]


def test_merging_two_collections_ranks_as_one_index_holding_both(
    tmp_path: Path, real_embedder: SentenceTransformerEmbedder
) -> None:
    shutil.copytree(DOCS, tmp_path / "docs")
    _write(tmp_path / "docs", ["library.md"])
    collections = Collections(_settings(tmp_path), embedder=real_embedder)
    collections.shared.rebuild()
    guild = guild_collection(42)
    _write(collections.folder(guild) / "docs", ["harbour.md", "orchard.md"])
    collections.library(guild).rebuild()

    both = tmp_path / "both"
    shutil.copytree(tmp_path / "docs", both / "docs")
    _write(both / "docs", ["harbour.md", "orchard.md"])
    single = Library(_settings(both, index_dir=both / "index"), embedder=real_embedder)
    single.rebuild()

    for question in QUESTIONS:
        merged = collections.ask(question, [guild, SHARED], limit=3)
        alone = single.ask(question, limit=3)
        assert merged.answered == alone.answered, question
        assert _order(merged) == _order(alone), question
        assert all(e.collection in {guild, SHARED} for e in merged.excerpts)
    first = collections.ask("Who is the city's chief engineer?", [guild, SHARED]).excerpts[0]
    assert first.collection == guild and first.speaker == "Maria Okafor"


def test_a_servers_sources_reach_only_that_server(tmp_path: Path, real_embedder: SentenceTransformerEmbedder) -> None:
    shutil.copytree(DOCS, tmp_path / "docs")
    collections = Collections(_settings(tmp_path), embedder=real_embedder)
    collections.shared.rebuild()
    a, b = guild_collection(1), guild_collection(2)
    invented = (
        b"---\ntitle: Mexican cartels ramp up fentanyl production\nauthor: Fox News\n"
        b"published: 2022-09-02\nurl: https://www.foxnews.com/invented\n---\n\n"
        b"\xe2\x80\x9cThey just need powders to replace them,\xe2\x80\x9d Dhillon said.\n"
    )
    collections.library(a).save_source("fentanyl.md", invented)
    collections.library(a).rebuild()

    quoted_b = collections.ask("What do the cartels need to make fentanyl?", [b, SHARED])
    assert quoted_b.answered and {e.doc_id for e in quoted_b.excerpts} == {p.name for p in DOCS.glob("*.txt")}
    assert all(e.collection is None for e in quoted_b.excerpts)  # one collection serves B: no labels
    assert not any("powders" in e.quote for e in quoted_b.excerpts)
    assert [s.doc_id for s in collections.sources([b, SHARED]) if s.collection == b] == []
    assert {s.collection for s in collections.sources([a, SHARED])} == {a, SHARED}
    quoted_a = collections.ask("What do the cartels need to replace?", [a])
    assert quoted_a.answered and "powders" in quoted_a.excerpts[0].quote
    with pytest.raises(NoIndexError, match="no sources here yet"):
        collections.ask("What do the cartels need?", [b])


def test_an_upload_of_an_existing_name_replaces_only_when_asked_and_never_keeps_the_old_metadata(
    tmp_path: Path,
) -> None:
    collections = Collections(_settings(tmp_path), embedder=HashEmbedder())
    library = collections.library(guild_collection(7))
    docs = library.settings.docs_dir
    library.save_source("story.md", b"The first version of the story has enough words in it.\n")
    (docs / "story.md.meta.yaml").write_text("title: The first story\nauthor: Fox News\n", encoding="utf-8")
    assert library.check_upload("story.md", 10).replaces
    with pytest.raises(SourceExistsError, match=r"already a source called 'story\.md'"):
        library.save_source("story.md", b"A second version, by someone else entirely.\n")
    assert (docs / "story.md.meta.yaml").exists()
    library.save_source("story.md", b"A second version, by someone else entirely.\n", replace=True)
    assert (docs / "story.md").read_text(encoding="utf-8").startswith("A second version")
    assert not (docs / "story.md.meta.yaml").exists()


def test_sidecars_and_hidden_files_are_not_sources_to_remove(tmp_path: Path) -> None:
    collections = Collections(_settings(tmp_path), embedder=HashEmbedder())
    library = collections.library(guild_collection(7))
    docs = library.settings.docs_dir
    library.save_source("story.md", b"The story has enough words in it to be indexed.\n")
    (docs / "story.md.meta.yaml").write_text("title: The story\n", encoding="utf-8")
    (docs / ".hidden.md").write_text("A hidden file the build never reads.\n", encoding="utf-8")
    for name in ("story.md.meta.yaml", ".hidden.md", "../state.sqlite", "missing.md"):
        with pytest.raises(SourceError, match="There is no source file called"):
            library.remove_source(name)
    assert (docs / "story.md.meta.yaml").exists() and (docs / ".hidden.md").exists()
    library.remove_source("story.md")
    assert not (docs / "story.md").exists() and not (docs / "story.md.meta.yaml").exists()


def test_quotas_refuse_an_upload_with_a_message(tmp_path: Path) -> None:
    settings = _settings(tmp_path, max_sources_per_guild=2, max_mb_per_guild=0.001)
    library = Collections(settings, embedder=HashEmbedder()).library(guild_collection(9))
    library.save_source("one.md", b"One story with enough words in it.\n")
    library.save_source("two.md", b"Two stories with enough words in them.\n")
    with pytest.raises(SourceError, match=r"library is full \(2 sources\)"):
        library.save_source("three.md", b"A third story.\n")
    library.save_source("two.md", b"Two stories, replaced, still within the quota.\n", replace=True)
    with pytest.raises(SourceError, match=r"over its 0\.001 MB"):
        library.save_source("two.md", b"x" * 2000, replace=True)


def test_collections_open_on_demand_and_the_least_used_close(tmp_path: Path) -> None:
    collections = Collections(_settings(tmp_path, max_open_collections=2), embedder=HashEmbedder())
    for guild in (1, 2, 3):
        library = collections.library(guild_collection(guild))
        library.save_source("story.md", f"Story {guild} has enough words to be indexed.\n".encode())
        library.rebuild()
    assert collections.open_count() == 2
    first = collections.ask("Which story has enough words?", [guild_collection(1)])
    assert first.excerpts[0].quote.startswith("Story 1")
    assert collections.open_count() == 2


def test_an_index_from_before_collections_moves_to_the_shared_collection(
    tmp_path: Path, fake_embedder: HashEmbedder
) -> None:
    shutil.copytree(DOCS, tmp_path / "docs")
    settings = _settings(tmp_path)
    old = Library(settings.model_copy(update={"index_dir": settings.legacy_index_dir}), embedder=fake_embedder)
    built = old.rebuild().generation

    collections = Collections(settings, embedder=fake_embedder)
    assert not settings.legacy_index_dir.exists()
    assert collections.shared.status().generation == built  # served as it was: nothing rebuilt
    assert not migrate_single_library(settings)  # once only


def test_a_library_serves_the_generation_another_process_made_current(
    tmp_path: Path, fake_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scale-out: one process builds the shared collection, the others serve its new generation."""
    import index.library

    monkeypatch.setattr(index.library, "CURRENT_CHECK_S", 0.0)
    _write(tmp_path / "docs", ["harbour.md"])
    builder = Collections(_settings(tmp_path), embedder=fake_embedder).shared
    builder.rebuild()
    server = Collections(_settings(tmp_path), embedder=fake_embedder).shared
    before = server.status().generation
    _write(tmp_path / "docs", ["orchard.md"])
    after = builder.rebuild().generation

    assert server.status().generation == after != before
    assert {s.doc_id for s in server.sources()} == {"harbour.md", "orchard.md"}
