"""The two backends of the bundled model: same vectors, offline, ONNX graph exported once and cached."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from index.embedding import OnnxEmbedder, SentenceTransformerEmbedder, model_folder
from index.settings import BUNDLED_MODEL

TEXTS = [
    "What do the cartels need to make fentanyl?",
    "“They just need precursor chemicals,” Dhillon said.",
    "short",
    " ".join(["A very long passage that goes past the model's window of two hundred and fifty-six tokens."] * 30),
]


def test_bundled_model_is_a_local_folder() -> None:
    folder = model_folder(BUNDLED_MODEL)
    assert folder is not None and (folder / "model.safetensors").is_file()
    assert os.environ.get("HF_HUB_OFFLINE") in (None, "1")


def test_torch_vectors_are_normalised(real_embedder: SentenceTransformerEmbedder) -> None:
    vectors = real_embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_onnx_backend_gives_the_same_vectors_and_token_counts(
    real_embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    onnx = OnnxEmbedder(BUNDLED_MODEL, tmp_path / "onnx")
    exported = list((tmp_path / "onnx").glob("*.onnx"))
    assert len(exported) == 1
    cosines = (onnx.embed(TEXTS) * real_embedder.embed(TEXTS)).sum(axis=1)
    assert cosines.min() > 0.9999
    assert onnx.count_tokens(TEXTS) == real_embedder.count_tokens(TEXTS)
    assert (onnx.name, onnx.dim, onnx.max_tokens) == (real_embedder.name, real_embedder.dim, real_embedder.max_tokens)

    stamp = exported[0].stat().st_mtime_ns
    again = OnnxEmbedder(BUNDLED_MODEL, tmp_path / "onnx")
    assert exported[0].stat().st_mtime_ns == stamp, "the cached graph was exported again"
    assert np.allclose(again.embed(TEXTS[:1]), onnx.embed(TEXTS[:1]))


def test_onnx_backend_refuses_a_model_it_cannot_run(tmp_path: Path) -> None:
    from index import LibraryError

    with pytest.raises(LibraryError, match="ONNX backend"):
        OnnxEmbedder("some-org/some-hub-model", tmp_path)
