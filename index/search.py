"""Hybrid retrieval: dense (FAISS) and lexical (BM25) evidence for each candidate sentence.

Candidates are the sentences that either index ranks highly on their own, plus every sentence of the
passages (chunks) that rank highly; each gets four features, the cosine and the BM25 score of the
sentence and of its best passage, and one fused score. Cosines are absolute; BM25 scores are scaled
by the best score of the query so that both live in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .embedding import Embedder
from .store import Generation

SENTENCE_DEPTH = 40
PASSAGE_DEPTH = 8


@dataclass(frozen=True)
class Weights:
    """How the features add up to a sentence's score."""

    sentence_dense: float = 0.35
    sentence_lexical: float = 0.35
    passage_dense: float = 0.20
    passage_lexical: float = 0.10


@dataclass(frozen=True)
class Candidate:
    """A sentence with its evidence."""

    sentence: int
    score: float
    sentence_dense: float
    sentence_lexical: float
    passage_dense: float
    passage_lexical: float

    @property
    def confidence(self) -> float:
        """How well the sentence and its passage match in meaning, on an absolute scale.

        The fused score ranks; this decides whether to answer at all. BM25 is left out because it is
        scaled per query: some sentence always has the best lexical score.
        """
        return 0.5 * self.sentence_dense + 0.5 * self.passage_dense


def retrieve(
    generation: Generation,
    embedder: Embedder,
    query: str,
    *,
    doc_id: str | None = None,
    weights: Weights = Weights(),
) -> list[Candidate]:
    """Candidate sentences for ``query``, best first; restricted to one document if ``doc_id`` is given."""
    if generation.n_sentences == 0:
        return []
    s_range, c_range = _ranges(generation, doc_id)
    q = embedder.embed([query])[0]
    s_tokens = _query_tokens(generation.tokenizer, query)
    c_tokens = _query_tokens(generation.chunk_tokenizer, query)

    c_lexical = _bm25_all(generation.chunk_bm25, c_tokens, generation.n_chunks, c_range)
    chunk_ids = set(_top(c_lexical, PASSAGE_DEPTH)) | set(_dense_top(generation, "chunks", q, PASSAGE_DEPTH, c_range))
    candidate_ids: set[int] = set(_dense_top(generation, "sentences", q, SENTENCE_DEPTH, s_range))
    if generation.sentence_index is not None:  # small enough to rank every sentence lexically too
        s_all = _bm25_all(generation.sentence_bm25, s_tokens, generation.n_sentences, s_range)
        candidate_ids.update(_top(s_all, SENTENCE_DEPTH))
    for chunk in chunk_ids:
        candidate_ids.update(range(int(generation.chunk_first[chunk]), int(generation.chunk_last[chunk]) + 1))
    ids = np.array(sorted(i for i in candidate_ids if s_range[0] <= i < s_range[1]), dtype=np.int64)
    if len(ids) == 0:
        return []

    s_dense = generation.cosines("sentences", ids, q)
    s_lexical = _scaled(_bm25_rows(generation.sentence_bm25, s_tokens, ids))
    owners = _owning_chunks(generation, ids)
    owner_ids = np.array(sorted({c for group in owners for c in group}), dtype=np.int64)
    c_dense_of = dict(zip(owner_ids.tolist(), generation.cosines("chunks", owner_ids, q).tolist(), strict=True))
    candidates = []
    for sid, dense, lexical, group in zip(ids.tolist(), s_dense.tolist(), s_lexical.tolist(), owners, strict=True):
        p_dense = max(c_dense_of[c] for c in group)
        p_lexical = max(float(c_lexical[c]) for c in group)
        score = (
            weights.sentence_dense * dense
            + weights.sentence_lexical * lexical
            + weights.passage_dense * p_dense
            + weights.passage_lexical * p_lexical
        )
        candidates.append(Candidate(sid, score, dense, lexical, p_dense, p_lexical))
    candidates.sort(key=lambda c: c.score, reverse=True)
    return candidates


def _ranges(generation: Generation, doc_id: str | None) -> tuple[tuple[int, int], tuple[int, int]]:
    if doc_id is None:
        return (0, generation.n_sentences), (0, generation.n_chunks)
    doc = generation.by_id[doc_id]
    return (doc.sentence_first, doc.sentence_end), (doc.chunk_first, doc.chunk_end)


def _query_tokens(tokenizer: Any, query: str) -> list[int]:
    ids = tokenizer.tokenize([query], update_vocab=False, return_as="ids", show_progress=False)[0]
    return [int(i) for i in ids if i != 0]  # 0 is the empty token bm25s maps unknown words to


def _bm25_all(retriever: Any, tokens: list[int], n: int, window: tuple[int, int]) -> np.ndarray:
    """BM25 score of every row, zero outside ``window``, scaled so the best row scores 1."""
    if not tokens:
        return np.zeros(n, dtype=np.float32)
    scores = np.asarray(retriever.get_scores(tokens), dtype=np.float32)
    if window != (0, n):
        mask = np.zeros(n, dtype=bool)
        mask[window[0] : window[1]] = True
        scores = np.where(mask, scores, 0.0)
    return _scaled(scores)


def _bm25_rows(retriever: Any, tokens: list[int], rows: np.ndarray) -> np.ndarray:
    """BM25 scores of the given rows only, read from the index's per-token posting lists.

    Costs the length of the query's posting lists, not the size of the collection.
    """
    scores = np.zeros(len(rows), dtype=np.float32)
    data, indices, indptr = retriever.scores["data"], retriever.scores["indices"], retriever.scores["indptr"]
    for token in tokens:
        if token + 1 >= len(indptr):
            continue
        lo, hi = int(indptr[token]), int(indptr[token + 1])
        posting = np.asarray(indices[lo:hi])
        where = np.searchsorted(posting, rows)
        where = np.minimum(where, max(len(posting) - 1, 0))
        hit = (posting[where] == rows) if len(posting) else np.zeros(len(rows), dtype=bool)
        scores[hit] += np.asarray(data[lo:hi])[where[hit]]
    return scores


def _scaled(scores: np.ndarray) -> np.ndarray:
    best = float(scores.max(initial=0.0))
    return scores / best if best > 0 else scores


def _dense_top(generation: Generation, kind: str, q: np.ndarray, k: int, window: tuple[int, int]) -> list[int]:
    """The ``k`` rows in ``window`` nearest the query: the FAISS index for the whole collection, or
    exact cosines from the stored vectors for one document's rows."""
    total = window[1] - window[0]
    if total <= 0:
        return []
    index = generation.sentence_index if kind == "sentences" else generation.chunk_index
    whole = window == (0, generation.n_sentences if kind == "sentences" else generation.n_chunks)
    if not whole:
        rows = np.arange(window[0], window[1], dtype=np.int64)
        scores = generation.cosines(kind, rows, q)
        return [int(rows[i]) for i in np.argsort(-scores)[:k]]
    if index is None:
        return []
    _, ids = index.search(q.reshape(1, -1), min(k, total))
    return [int(i) for i in ids[0] if i >= 0]


def _top(scores: np.ndarray, k: int) -> list[int]:
    if len(scores) == 0:
        return []
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k]
    return [int(i) for i in top if scores[i] > 0]


def _owning_chunks(generation: Generation, sentence_ids: np.ndarray) -> list[list[int]]:
    """The chunks containing each sentence (overlap puts a sentence in up to two)."""
    firsts = generation.chunk_first
    lasts = generation.chunk_last
    result = []
    for sid in sentence_ids:
        hi = int(np.searchsorted(firsts, sid, side="right"))
        group = [c for c in range(max(hi - 2, 0), hi) if firsts[c] <= sid <= lasts[c]]
        result.append(group or [max(hi - 1, 0)])
    return result
