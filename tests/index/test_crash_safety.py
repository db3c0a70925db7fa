"""A rebuild killed with SIGKILL at any point leaves the last good index serving and the next rebuild working.

Each case runs a rebuild in a subprocess that kills itself at one point of the build (while
embedding, after the database is written, just before CURRENT is switched, just after); then a fresh
`Library` must load a complete generation, answer, and rebuild successfully.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from index import CorruptIndexError, Library
from index.store import current_name
from tests.conftest import REPO, make_settings
from tests.fakes import HashEmbedder

KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from index import IndexSettings, Library, build, store
    from tests.fakes import HashEmbedder

    docs, index, point = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    def progress(stage, done, total):
        if point == "embedding" and stage == "embedding" and done > 0:
            die()

    if point == "after-database":
        store._write_bm25 = die
    elif point == "before-current":
        store.set_current = die
    elif point == "after-current":
        build.remove_old_generations = die
    settings = IndexSettings(_env_file=None, docs_dir=docs, index_dir=index, batch_size=2)
    Library(settings, embedder=HashEmbedder()).rebuild(progress)
    """
)

OLD = {
    "cartels.txt": "The cartels need precursor chemicals to make fentanyl. They buy them abroad.",
    "bread.md": "---\ntitle: Bread\n---\nSourdough bread needs a starter. Bake it hot.",
    "rivers.txt": "The Danube flows through Vienna. The Rhine flows past Cologne.",
}


def _corpus(docs: Path) -> None:
    docs.mkdir()
    for name, text in OLD.items():
        (docs / name).write_text(text, "utf-8")


def _change(docs: Path) -> None:
    (docs / "new.txt").write_text("Zanzibarite is a mineral found only in test suites.", "utf-8")
    (docs / "rivers.txt").write_text("The Danube flows through Budapest as well.", "utf-8")
    (docs / "bread.md").unlink()
    # Enough sentences that embedding takes several batches, so a kill can land in the middle.
    (docs / "long.txt").write_text(" ".join(f"Sentence number {i} is here." for i in range(200)), "utf-8")


@pytest.mark.parametrize("point", ["embedding", "after-database", "before-current", "after-current"])
def test_killed_rebuild_leaves_a_good_index(tmp_path: Path, point: str) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    _corpus(docs)
    Library(make_settings(docs, index), embedder=HashEmbedder()).rebuild()
    first = current_name(index)
    _change(docs)

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, str(docs), str(index), point], env=env, cwd=tmp_path, timeout=120
    )
    assert killed.returncode == -9, f"the rebuild was not killed at {point}"

    serving = Library(make_settings(docs, index), embedder=HashEmbedder())
    generation = serving.generation()
    if point == "after-current":
        assert current_name(index) != first
        assert "new.txt" in generation.by_id and "bread.md" not in generation.by_id
    else:
        assert current_name(index) == first
        assert set(generation.by_id) == set(OLD)
    answer = serving.ask("What do cartels need to make fentanyl?")
    assert all(e.quote for e in answer.excerpts + answer.closest)

    report = serving.rebuild()
    assert "new.txt" in serving.generation().by_id
    assert "bread.md" not in serving.generation().by_id
    assert report.documents == 4
    assert not list(index.glob(".tmp-*")), "the killed build's temporary folder was not cleaned up"


def test_corrupt_current_generation_falls_back_to_the_last_good_one(tmp_path: Path) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    _corpus(docs)
    library = Library(make_settings(docs, index), embedder=HashEmbedder())
    library.rebuild()
    good = current_name(index)
    _change(docs)
    library.rebuild()
    broken = current_name(index)
    assert broken and good and broken != good
    target = index / broken / "chunks.faiss"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))

    fresh = Library(make_settings(docs, index), embedder=HashEmbedder())
    assert fresh.generation().name == good
    assert set(fresh.generation().by_id) == set(OLD)


def test_corruption_with_no_fallback_is_one_clear_error(tmp_path: Path) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    _corpus(docs)
    Library(make_settings(docs, index), embedder=HashEmbedder()).rebuild()
    name = current_name(index)
    assert name
    (index / name / "library.sqlite").write_bytes(b"not a database")
    with pytest.raises(CorruptIndexError) as caught:
        Library(make_settings(docs, index), embedder=HashEmbedder()).generation()
    assert "library.sqlite" in str(caught.value)
    assert "\n" not in str(caught.value)
    # ensure_index repairs it by rebuilding from the sources
    healed = Library(make_settings(docs, index), embedder=HashEmbedder())
    assert healed.ensure_index() is not None
    assert set(healed.generation().by_id) == set(OLD)
