"""Hybrid retrieval: dense (FAISS) and lexical (BM25) evidence for each candidate sentence.

Candidates are the sentences that either index ranks highly on their own, plus every sentence of the
passages (chunks) that rank highly. Each gets its features (`Evidence`): the cosine and the BM25 score
of the sentence and of its best passage, the best cosine of its neighbours, and the share of the
question's words its passage holds; `Weights` fuse them into one score. Cosines are absolute; BM25
scores are scaled by the best score of the query so that both live in [0, 1]. Lexical matching uses
the question's topic words: interrogatives and speech verbs ("what did X say?") are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .embedding import Embedder
from .store import Generation

# Words that make a sentence a question but say nothing about its topic. BM25's English stop words
# keep them, and in declarative sources they are rare, so they would count as strong evidence.
_ASKING = re.compile(
    r"\b(?:what|which|who|whom|whose|when|where|why|how|many|much|do|does|did|"
    r"say|says|said|tell|tells|told|think|thinks|thought|mention|mentions|mentioned|describe|"
    r"described|explain|explained|know|known|claim|claimed|believe|believed)\b",
    re.IGNORECASE,
)
SENTENCE_DEPTH = 40
# Above this many sentences, lexical candidates come from the best BM25 passages only: scoring every
# sentence would cost more than the rest of the question (scripts/bench.py, 100k chunks).
LEXICAL_SCAN_LIMIT = 200_000
PASSAGE_DEPTH = 8


@dataclass(frozen=True)
class Weights:
    """How the features add up to a sentence's score."""

    # Tuned with scripts/tune.py on the even-numbered SQuAD dev articles (see BENCHMARKS.md).
    sentence_dense: float = 0.5
    sentence_lexical: float = 0.3
    passage_dense: float = 0.4
    passage_lexical: float = 0.2
    neighbour_dense: float = 0.1


@dataclass(frozen=True)
class Candidate:
    """A sentence with its evidence."""

    sentence: int
    score: float
    sentence_dense: float
    sentence_lexical: float
    passage_dense: float
    passage_lexical: float
    coverage: float = 0.0

    @property
    def confidence(self) -> float:
        """How sure the evidence is that the sources cover the question, on an absolute scale.

        The fused score ranks; this decides whether to answer at all: the cosines of the sentence and
        of its passage with the question, and how much of the question's vocabulary (weighted by
        rarity) the passage contains. Scaled BM25 is left out: some sentence always scores 1.
        Weights chosen with held-out SQuAD articles as probes (BENCHMARKS.md, Abstention).
        """
        return 0.3 * self.sentence_dense + 0.3 * self.passage_dense + 0.4 * self.coverage


@dataclass(frozen=True)
class Evidence:
    """Features of every candidate sentence of one query, as parallel arrays (rows sorted by id)."""

    ids: np.ndarray
    sentence_dense: np.ndarray
    sentence_lexical: np.ndarray
    passage_dense: np.ndarray
    passage_lexical: np.ndarray
    neighbour_dense: np.ndarray  # the best cosine of an adjacent sentence in the same paragraph
    coverage: np.ndarray  # idf-weighted share of the query's words found in the sentence's passage

    def rank(self, weights: Weights = Weights()) -> list[Candidate]:
        """Candidates by fused score, best first."""
        scores = (
            weights.sentence_dense * self.sentence_dense
            + weights.sentence_lexical * self.sentence_lexical
            + weights.passage_dense * self.passage_dense
            + weights.passage_lexical * self.passage_lexical
            + weights.neighbour_dense * self.neighbour_dense
        )
        order = np.argsort(-scores, kind="stable")
        return [
            Candidate(
                int(self.ids[i]),
                float(scores[i]),
                float(self.sentence_dense[i]),
                float(self.sentence_lexical[i]),
                float(self.passage_dense[i]),
                float(self.passage_lexical[i]),
                float(self.coverage[i]),
            )
            for i in order
        ]


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
    return gather(generation, embedder.embed([query])[0], query, doc_id=doc_id).rank(weights)


def gather(generation: Generation, q: np.ndarray, query: str, *, doc_id: str | None = None) -> Evidence:
    """The candidate sentences of a query (vector ``q``, text ``query``) and their features."""
    s_range, c_range = _ranges(generation, doc_id)
    topic = _ASKING.sub(" ", query)  # what is searched lexically: "what did X say?" is about X
    s_tokens = _query_tokens(generation.tokenizer, topic)
    c_tokens = _query_tokens(generation.chunk_tokenizer, topic)

    c_lexical = _bm25_all(generation.chunk_bm25, c_tokens, generation.n_chunks, c_range)
    chunk_ids = set(_top(c_lexical, PASSAGE_DEPTH)) | set(_dense_top(generation, "chunks", q, PASSAGE_DEPTH, c_range))
    candidate_ids: set[int] = set(_dense_top(generation, "sentences", q, SENTENCE_DEPTH, s_range))
    if generation.n_sentences <= LEXICAL_SCAN_LIMIT:  # few enough to rank every sentence lexically too
        s_all = _bm25_all(generation.sentence_bm25, s_tokens, generation.n_sentences, s_range)
        candidate_ids.update(_top(s_all, SENTENCE_DEPTH))
    for chunk in chunk_ids:
        candidate_ids.update(range(int(generation.chunk_first[chunk]), int(generation.chunk_last[chunk]) + 1))
    ids = np.array(sorted(i for i in candidate_ids if s_range[0] <= i < s_range[1]), dtype=np.int64)
    if len(ids) == 0:
        empty = np.zeros(0, dtype=np.float32)
        return Evidence(ids, empty, empty, empty, empty, empty, empty)

    s_dense = generation.cosines("sentences", ids, q)
    near = _neighbours(generation, ids)
    near_ids = np.unique(near[near >= 0])
    s_lexical = _scaled(_bm25_rows(generation.sentence_bm25, s_tokens, ids))
    dense_of = dict(zip(near_ids.tolist(), generation.cosines("sentences", near_ids, q).tolist(), strict=True))
    n_dense = np.array([max((dense_of[j] for j in row if j >= 0), default=0.0) for row in near], dtype=np.float32)

    owners = _owning_chunks(generation, ids)
    owner_ids = np.array(sorted({c for group in owners for c in group}), dtype=np.int64)
    c_dense_of = dict(zip(owner_ids.tolist(), generation.cosines("chunks", owner_ids, q).tolist(), strict=True))
    p_dense = np.array([max(c_dense_of[c] for c in group) for group in owners], dtype=np.float32)
    p_lexical = np.array([max(float(c_lexical[c]) for c in group) for group in owners], dtype=np.float32)
    c_coverage = _coverage(
        generation.chunk_bm25, c_tokens, owner_ids, _unknown_words(generation.chunk_tokenizer, topic)
    )
    coverage_of = dict(zip(owner_ids.tolist(), c_coverage.tolist(), strict=True))
    coverage = np.array([max(coverage_of[c] for c in group) for group in owners], dtype=np.float32)
    return Evidence(ids, s_dense, s_lexical, p_dense, p_lexical, n_dense, coverage)


def _neighbours(generation: Generation, ids: np.ndarray) -> np.ndarray:
    """For each sentence, the ids of the sentences before and after it in the same paragraph (-1: none)."""
    out = np.stack([ids - 1, ids + 1], axis=1)
    valid = (out >= 0) & (out < generation.n_sentences)
    clipped = np.clip(out, 0, max(generation.n_sentences - 1, 0))
    same = (generation.sentence_doc[clipped] == generation.sentence_doc[ids][:, None]) & (
        generation.sentence_paragraph[clipped] == generation.sentence_paragraph[ids][:, None]
    )
    return np.where(valid & same, out, -1)


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


def _unknown_words(tokenizer: Any, query: str) -> int:
    """How many distinct content words of the query occur nowhere in the index."""
    words = {w for w in tokenizer.splitter(query.lower()) if w not in tokenizer.stopwords}
    stems = {tokenizer.stemmer(w) if tokenizer.stemmer else w for w in words}
    return sum(1 for stem in stems if stem not in tokenizer.stem_to_sid)


def _coverage(retriever: Any, tokens: list[int], rows: np.ndarray, unknown: int = 0) -> np.ndarray:
    """For each row, the idf-weighted share of the query's distinct words that occur in it; a word
    the index has never seen counts as missing, with the highest idf."""
    indptr, indices = retriever.scores["indptr"], retriever.scores["indices"]
    n_docs = max(int(retriever.scores["num_docs"]), 1)
    found = np.zeros(len(rows), dtype=np.float64)
    total = unknown * float(np.log(1 + n_docs))
    for token in set(tokens):
        if token + 1 >= len(indptr):
            continue
        posting = np.asarray(indices[int(indptr[token]) : int(indptr[token + 1])])
        idf = float(np.log(1 + n_docs / max(len(posting), 1)))
        total += idf
        if len(posting):
            where = np.minimum(np.searchsorted(posting, rows), len(posting) - 1)
            found += idf * (posting[where] == rows)
    return (found / total if total else found).astype(np.float32)


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
    firsts, lasts = generation.chunk_first, generation.chunk_last
    highs = np.searchsorted(firsts, sentence_ids, side="right").tolist()  # one pass for all sentences
    result = []
    for sid, hi in zip(sentence_ids.tolist(), highs, strict=True):
        group = [c for c in range(max(hi - 2, 0), hi) if firsts[c] <= sid <= lasts[c]]
        result.append(group or [max(hi - 1, 0)])
    return result
