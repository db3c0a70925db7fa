"""Shared fixtures: the real bundled model (loaded once), a fake embedder, and a built seed index."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from index import IndexSettings, Library
from index.embedding import SentenceTransformerEmbedder
from index.settings import BUNDLED_MODEL
from tests.fakes import HashEmbedder

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"


@pytest.fixture(scope="session")
def real_embedder() -> SentenceTransformerEmbedder:
    """The bundled all-MiniLM-L6-v2, loaded once for the whole run."""
    return SentenceTransformerEmbedder(BUNDLED_MODEL)


@pytest.fixture
def fake_embedder() -> HashEmbedder:
    return HashEmbedder()


def make_settings(docs: Path, index: Path, **extra: Any) -> IndexSettings:
    """Settings that ignore the developer's environment and .env file."""
    return IndexSettings(_env_file=None, docs_dir=docs, index_dir=index, **extra)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def seed_library(
    real_embedder: SentenceTransformerEmbedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Library]:
    """The shipped docs/ indexed once with the real model and real FAISS."""
    root = tmp_path_factory.mktemp("seed")
    docs = root / "docs"
    shutil.copytree(DOCS, docs)
    library = Library(make_settings(docs, root / "index"), embedder=real_embedder)
    library.rebuild()
    yield library
