"""Hybrid retrieval: dense (FAISS) and lexical (BM25) evidence for each candidate sentence.

Candidates are the sentences that either index ranks highly on their own, plus every sentence of the
passages (chunks) that rank highly; each gets four features, the cosine and the BM25 score of the
sentence and of its best passage, and one fused score. Cosines are absolute; BM25 scores are scaled
by the best score of the query so that both live in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

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
    n_sentences = generation.sentence_index.ntotal
    if n_sentences == 0:
        return []
    s_range, c_range = _ranges(generation, doc_id)
    vector = embedder.embed([query])

    s_lexical = _bm25(generation.sentence_bm25, generation.tokenizer, query, n_sentences, s_range)
    c_lexical = _bm25(generation.chunk_bm25, generation.chunk_tokenizer, query, generation.chunk_index.ntotal, c_range)
    dense_sentences = _dense_top(generation.sentence_index, vector, SENTENCE_DEPTH, s_range)
    dense_chunks = _dense_top(generation.chunk_index, vector, PASSAGE_DEPTH, c_range)
    lexical_chunks = _top(c_lexical, PASSAGE_DEPTH)

    chunk_ids = sorted(set(dense_chunks) | set(lexical_chunks))
    candidate_ids: set[int] = set(dense_sentences) | set(_top(s_lexical, SENTENCE_DEPTH))
    for chunk in chunk_ids:
        candidate_ids.update(range(int(generation.chunk_first[chunk]), int(generation.chunk_last[chunk]) + 1))
    ids = np.array(sorted(candidate_ids), dtype=np.int64)
    if doc_id is not None:
        ids = ids[(ids >= s_range[0]) & (ids < s_range[1])]
    if len(ids) == 0:
        return []

    q = vector[0]
    s_dense = np.array([float(generation.sentence_index.reconstruct(int(i)) @ q) for i in ids])
    owners = _owning_chunks(generation, ids)
    unique_owners = sorted({c for group in owners for c in group})
    c_dense_of = {c: float(generation.chunk_index.reconstruct(c) @ q) for c in unique_owners}
    candidates = []
    for sid, dense, group in zip(ids, s_dense, owners, strict=True):
        p_dense = max(c_dense_of[c] for c in group)
        p_lexical = max(float(c_lexical[c]) for c in group)
        lexical = float(s_lexical[sid])
        score = (
            weights.sentence_dense * dense
            + weights.sentence_lexical * lexical
            + weights.passage_dense * p_dense
            + weights.passage_lexical * p_lexical
        )
        candidates.append(Candidate(int(sid), score, float(dense), lexical, p_dense, p_lexical))
    candidates.sort(key=lambda c: c.score, reverse=True)
    return candidates


def _ranges(generation: Generation, doc_id: str | None) -> tuple[tuple[int, int], tuple[int, int]]:
    if doc_id is None:
        return (0, generation.sentence_index.ntotal), (0, generation.chunk_index.ntotal)
    doc = generation.by_id[doc_id]
    return (doc.sentence_first, doc.sentence_end), (doc.chunk_first, doc.chunk_end)


def _bm25(retriever: object, tokenizer: object, query: str, n: int, window: tuple[int, int]) -> np.ndarray:
    """BM25 score of every row for the query, scaled so the best row in ``window`` scores 1."""
    ids = tokenizer.tokenize([query], update_vocab=False, return_as="ids", show_progress=False)[0]  # type: ignore[attr-defined]
    ids = [i for i in ids if i != 0]  # 0 is the empty token bm25s maps unknown words to
    if not ids:
        return np.zeros(n, dtype=np.float32)
    scores = np.asarray(retriever.get_scores(ids), dtype=np.float32)  # type: ignore[attr-defined]
    mask = np.zeros(n, dtype=bool)
    mask[window[0] : window[1]] = True
    scores = np.where(mask, scores, 0.0)
    best = float(scores.max(initial=0.0))
    return scores / best if best > 0 else scores


def _dense_top(index: object, vector: np.ndarray, k: int, window: tuple[int, int]) -> list[int]:
    import faiss

    total = window[1] - window[0]
    if total <= 0:
        return []
    params = None
    if window != (0, index.ntotal):  # type: ignore[attr-defined]
        params = faiss.SearchParameters(sel=faiss.IDSelectorRange(window[0], window[1]))  # type: ignore[call-arg]
    _, ids = index.search(vector, min(k, total), params=params)  # type: ignore[attr-defined]
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
