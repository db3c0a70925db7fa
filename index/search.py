"""Hybrid retrieval: dense (FAISS) and lexical (BM25) evidence for each candidate sentence.

Candidates are every sentence of the passages (chunks) that the dense or the BM25 index ranks highly,
plus, in collections small enough to score them all, the sentences BM25 ranks highly on their own.
Each gets its features (`Evidence`, named in `FEATURES`): the cosine and the BM25 score of the
sentence and of its best passage, the best cosine of its neighbours, and which of the question's
words the passage, the sentence and its neighbours hold; `Weights`, a
logistic regression fitted on half of SQuAD, turn them into the probability that the sentence holds
the answer. Cosines are absolute; BM25 scores are scaled by the best score of the query so that both
live in [0, 1]. Lexical matching uses the question's topic words: interrogatives and speech verbs
("what did X say?") are left out.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .analysis import DATE, NUMBER, content_stems, name_bit, word_ids
from .dates import period
from .embedding import Embedder
from .readers import QueryPostings
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
# Passages taken from each index. Searching every sentence's vector as well found nothing more on SQuAD
# once 16 passages come from each (BENCHMARKS.md), so sentences have no vector index of their own.
PASSAGE_DEPTH = 16
# A restriction to this many sentences or fewer (`gather`'s ``allowed``) scores every one of them:
# about the cost of the usual candidates of a question.
ALLOWED_SCAN = 2_000


FEATURES = (
    "sentence_dense",  # cosine of the sentence with the question
    "sentence_lexical",  # BM25 of the sentence, scaled by the query's best
    "passage_dense",  # cosine of the sentence's best passage (chunk)
    "passage_lexical",  # BM25 of that passage, scaled
    "neighbour_dense",  # best cosine of an adjacent sentence in the same paragraph
    "passage_coverage",  # idf-weighted share of the question's words found in the passage
    "sentence_coverage",  # the same share, in the sentence itself
    "local_coverage",  # the share in the sentence, words weighted by their rarity among the candidates
    "neighbour_coverage",  # the share (collection idf) found in the adjacent sentences
    "window_local_coverage",  # the local share found in the sentence or its neighbours
    "context_dense",  # cosine of the sentence and its neighbours together (the sum of their vectors)
    "off_title_coverage",  # the local share of the question's words that are not in the document's title
    "answer_kind",  # a "when" question and the sentence holds a date, a "how many" one and it holds a number
    "neighbour_answer_kind",  # the same, for an adjacent sentence
    "in_period",  # the document is dated within the period the question names ("this week", "in 2021")
    "after_asking",  # the document is dated after the day of asking (the asker cannot have meant it)
    "doc_coverage",  # the share (collection idf) of the question's words found anywhere in the document
    "doc_dense",  # the best passage cosine of the sentence's document among the candidates
    "title_coverage",  # the share (collection idf) of the question's words in the document's title
    "lede",  # how near the document's start the sentence's paragraph is: 1 / (1 + paragraph)
    "new_name",  # a "which / who / where" question, and the sentence holds names the question does not
    "ask_coverage",  # the local share of the words of the question's last sentence (what it asks, after
    # any context: "X happened this week. Which team does he play for?") in the sentence or its neighbours
    "recent_week",  # how recent the document is on the day of asking, 1 / (1 + days / 7): a news question with
    # no time word is most often about the latest story; 0 when undated or dated after the day of asking
    "recent_season",  # the same over a longer span: 1 / (1 + days / 90)
)
# Features that count against a sentence: their fitted weights are at most zero.
NEGATIVE = frozenset({"after_asking"})


@dataclass(frozen=True)
class Weights:
    """How the features add up to a sentence's score (one weight per name in `FEATURES`).

    Fitted with ``scripts/tune.py ../shared/eval/squad-dev ../shared/eval/news-dev --fit``: a listwise
    ranking loss (the candidates that hold the answer, in a document that holds it, first), on the
    even-numbered articles of SQuAD and of the news set together, each set weighing the same, then a
    bias so the score is the probability that the sentence holds the answer; reported on the odd
    articles (BENCHMARKS.md). Refitted for passage vectors pooled from sentences (issue 17).
    """

    sentence_dense: float = 5.201
    sentence_lexical: float = 0.0
    passage_dense: float = 0.675
    passage_lexical: float = 1.338
    neighbour_dense: float = 0.327
    passage_coverage: float = 2.688
    sentence_coverage: float = 0.0
    local_coverage: float = 0.0
    neighbour_coverage: float = 0.0
    window_local_coverage: float = 0.0
    context_dense: float = 1.713
    off_title_coverage: float = 3.344
    answer_kind: float = 2.375
    neighbour_answer_kind: float = 0.0
    in_period: float = 0.097
    after_asking: float = -1.016
    doc_coverage: float = 2.351
    doc_dense: float = 1.59
    title_coverage: float = 4.322
    lede: float = 1.179
    new_name: float = 1.841
    ask_coverage: float = 1.991
    recent_week: float = 2.313
    recent_season: float = 0.44
    bias: float = -16.575

    def vector(self) -> np.ndarray:
        return np.array([getattr(self, name) for name in FEATURES], dtype=np.float32)

    def scores(self, features: np.ndarray) -> np.ndarray:
        """The fused score of each row of features: a probability when the weights were fitted."""
        linear = features.astype(np.float64) @ self.vector().astype(np.float64) + self.bias
        return 1.0 / (1.0 + np.exp(-linear))


# What the abstention confidence reads of the best candidate (`Candidate.evidence`), and how it weighs
# them (`Confidence`).
CONFIDENCE_FEATURES = ("sentence_dense", "passage_dense", "passage_coverage", "doc_coverage", "period_fit", "score")


@dataclass(frozen=True)
class Confidence:
    """How sure the best evidence is that the sources cover the question: a probability.

    The fused score ranks; this decides whether to answer at all, from the best candidate: the cosines
    of the sentence and of its passage with the question, how much of the question's vocabulary
    (weighted by rarity) the passage and its whole document contain, whether the document is from the
    period the question names, and the fused score. A logistic regression fitted by
    ``scripts/abstain.py`` on answerable questions against not-in-the-sources probes of SQuAD and of
    news (dev halves, each set and class weighing the same); ``min_score`` is then the threshold.
    Scaled BM25 is left out: some sentence always scores 1.
    """

    sentence_dense: float = 8.113
    passage_dense: float = 2.048
    passage_coverage: float = 5.812
    doc_coverage: float = 2.439
    period_fit: float = 0.0
    score: float = 2.013
    bias: float = -10.411

    def of(self, evidence: Sequence[float]) -> float:
        pairs = zip(CONFIDENCE_FEATURES, evidence, strict=True)
        linear = float(sum(getattr(self, name) * value for name, value in pairs)) + self.bias
        return 1.0 / (1.0 + math.exp(-linear))


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
    doc_coverage: float = 0.0
    period_fit: float = 1.0  # 1 when the question names no period or the document is dated within it

    @property
    def evidence(self) -> tuple[float, ...]:
        """The values `CONFIDENCE_FEATURES` name, in that order."""
        return (self.sentence_dense, self.passage_dense, self.coverage, self.doc_coverage, self.period_fit, self.score)

    @property
    def confidence(self) -> float:
        """`Confidence` of this candidate's evidence (compared with ``min_score``)."""
        return Confidence().of(self.evidence)


@dataclass(frozen=True)
class Evidence:
    """Features of every candidate sentence of one query: ``features[i]`` (named by `FEATURES`)
    belongs to sentence ``ids[i]``; rows sorted by id. ``period_named``: the question names a period."""

    ids: np.ndarray
    features: np.ndarray
    period_named: bool = False

    def __getitem__(self, name: str) -> np.ndarray:
        return self.features[:, FEATURES.index(name)]

    def rank(self, weights: Weights = Weights()) -> list[Candidate]:
        """Candidates by fused score, best first."""
        scores = weights.scores(self.features)
        order = np.argsort(-scores, kind="stable")
        picked = self.features[order][:, [FEATURES.index(n) for n in _CANDIDATE_FIELDS]].tolist()
        return [
            Candidate(
                sid,
                score,
                sentence_dense=sd,
                sentence_lexical=sl,
                passage_dense=pd,
                passage_lexical=pl,
                coverage=cov,
                doc_coverage=doc,
                period_fit=within if self.period_named else 1.0,
            )
            for sid, score, (sd, sl, pd, pl, cov, doc, within) in zip(
                self.ids[order].tolist(), scores[order].tolist(), picked, strict=True
            )
        ]


_CANDIDATE_FIELDS = (
    "sentence_dense", "sentence_lexical", "passage_dense", "passage_lexical", "passage_coverage", "doc_coverage",
    "in_period",
)  # fmt: skip


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


@dataclass(frozen=True)
class Lexical:
    """What a query finds without its vector (`lexical`): computed while the model embeds it."""

    topic: str
    s_range: tuple[int, int]
    c_range: tuple[int, int]
    s_lists: QueryPostings
    c_lists: QueryPostings
    c_lexical: np.ndarray  # scaled BM25 of every chunk
    chunk_ids: frozenset[int]  # the best chunks by BM25
    sentence_ids: frozenset[int]  # the best sentences by BM25 (small collections only)


def lexical(generation: Generation, query: str, *, doc_id: str | None = None) -> Lexical:
    """The lexical half of `gather`: it needs no query vector, so it can run beside the model."""
    s_range, c_range = _ranges(generation, doc_id)
    topic = _ASKING.sub(" ", query)  # what is searched lexically: "what did X say?" is about X
    s_lists = generation.sentence_postings.query(word_ids(generation.tokenizer, topic))
    c_lists = generation.chunk_postings.query(word_ids(generation.chunk_tokenizer, topic))
    c_lexical = _bm25_all(c_lists, generation.n_chunks, c_range)
    sentence_ids: list[int] = []
    if generation.n_sentences <= LEXICAL_SCAN_LIMIT:  # few enough to rank every sentence lexically too
        sentence_ids = _top(_bm25_all(s_lists, generation.n_sentences, s_range), SENTENCE_DEPTH)
    return Lexical(
        topic, s_range, c_range, s_lists, c_lists, c_lexical,
        frozenset(_top(c_lexical, PASSAGE_DEPTH)), frozenset(sentence_ids),
    )  # fmt: skip


def gather(
    generation: Generation,
    q: np.ndarray,
    query: str,
    *,
    doc_id: str | None = None,
    found: Lexical | None = None,
    today: dt.date | None = None,
    allowed: np.ndarray | None = None,
) -> Evidence:
    """The candidate sentences of a query (vector ``q``, text ``query``) and their features.

    ``found`` is the query's `lexical` half when the caller computed it already; ``today`` is the day
    the question is asked (default: the clock's). ``allowed`` (sorted sentence ids, e.g. one person's
    quotes) restricts the candidates to those sentences.
    """
    found = found or lexical(generation, query, doc_id=doc_id)
    s_range, c_range, s_lists, c_lists, c_lexical = (
        found.s_range, found.c_range, found.s_lists, found.c_lists, found.c_lexical
    )  # fmt: skip
    chunk_ids = set(found.chunk_ids) | set(_dense_chunks(generation, q, PASSAGE_DEPTH, c_range))
    candidate_ids = set(found.sentence_ids)
    if s_range != (0, generation.n_sentences):  # one document: its sentences by cosine, too
        candidate_ids.update(_nearest(generation, "sentences", q, SENTENCE_DEPTH, s_range))
    for chunk in chunk_ids:
        candidate_ids.update(range(int(generation.chunk_first[chunk]), int(generation.chunk_last[chunk]) + 1))
    ids = np.array(sorted(i for i in candidate_ids if s_range[0] <= i < s_range[1]), dtype=np.int64)
    if allowed is not None:
        ids = _restricted(ids, allowed, s_lists, s_range)
    if len(ids) == 0:
        return Evidence(ids, np.zeros((0, len(FEATURES)), dtype=np.float32))

    near = _neighbours(generation, ids)
    rows = np.union1d(ids, near[near >= 0])  # the candidates and their neighbours, sorted
    at = np.searchsorted(rows, ids)
    near_at = np.where(near >= 0, np.searchsorted(rows, np.maximum(near, 0)), -1)
    vectors = generation.rows("sentences", rows)
    dense = vectors @ q
    n_dense = _beside(dense, near_at, 0.0).max(axis=1, initial=0.0)
    context = vectors[at] + _beside(vectors, near_at, 0.0).sum(axis=1)
    c_dense = (context @ q) / np.maximum(np.linalg.norm(context, axis=1), 1e-9)

    # Which of the question's words each sentence holds: collection idf, and "local" idf, the
    # rarity among the candidates (a word every candidate has, like an article's subject, tells
    # them apart no better than a stop word).
    held, idf = _membership(s_lists, rows)
    held_near = np.asarray(_beside(held, near_at, False).any(axis=1))
    held_own = held[at]
    count = held_own.sum(axis=0)
    local = np.where(count > 0, np.log1p(len(ids) / np.maximum(count, 1)), 0.0)

    # The words of the question that are not the subject of the sentence's document (its title):
    # in an article about X, what the question asks about X is in the other words.
    words = sorted(s_lists.lists)
    docs, doc_of = np.unique(generation.sentence_doc[ids], return_inverse=True)
    titles = [generation.title_tokens(doc) for doc in docs.tolist()]
    in_title = np.array([[w in title for w in words] for title in titles], dtype=bool).reshape(len(docs), len(words))
    in_title = in_title[doc_of]
    off_title = local * ~in_title
    off_total = off_title.sum(axis=1)
    off_title_coverage = np.where(off_total > 0, (held_own * off_title).sum(axis=1) / np.maximum(off_total, 1e-9), 0.0)

    wanted = asked_kind(query)
    kinds = generation.sentence_kinds[rows] & wanted
    own_kind = (kinds[at] > 0).astype(np.float32)
    near_kind = (_beside(kinds, near_at, 0) > 0).any(axis=1).astype(np.float32)

    owners = _owning_chunks(generation, ids)  # (n, 2), -1 where a sentence has one chunk only
    owner_ids = np.unique(owners[owners >= 0])
    slot = np.where(owners >= 0, np.searchsorted(owner_ids, np.maximum(owners, 0)), -1)
    unknown = _unknown_words(generation.chunk_tokenizer, found.topic)
    c_coverage = _coverage(c_lists, owner_ids, unknown)
    p_dense = _best(generation.cosines("chunks", owner_ids, q), slot)
    p_lexical = _best(c_lexical[owner_ids], slot)
    coverage = _best(c_coverage, slot)
    today = today or dt.date.today()
    named, in_period, after_asking = _dated(generation, docs, query, today)
    published = generation.doc_published[docs].astype(np.float64)
    age = np.where((published > 0) & (after_asking == 0), today.toordinal() - published, np.inf)
    age = np.maximum(age, 0.0)
    doc_best = np.full(len(docs), -1.0, dtype=np.float32)
    np.maximum.at(doc_best, doc_of, p_dense)
    idf_total = float(idf.sum())
    title_coverage = (in_title * idf).sum(axis=1) / idf_total if idf_total > 0 else np.zeros(len(ids))
    columns = {
        "in_period": in_period[doc_of],
        "after_asking": after_asking[doc_of],
        "recent_week": (1.0 / (1.0 + age / 7.0))[doc_of],
        "recent_season": (1.0 / (1.0 + age / 90.0))[doc_of],
        "doc_coverage": _doc_coverage(generation, c_lists, docs, unknown)[doc_of],
        "doc_dense": doc_best[doc_of],
        "title_coverage": title_coverage,
        "lede": 1.0 / (1.0 + generation.sentence_paragraph[ids].astype(np.float32)),
        "new_name": _new_names(generation, ids, query),
        "ask_coverage": _share((held_own | held_near) & _asked_columns(generation, s_lists, query), local),
        "sentence_dense": dense[at],
        "sentence_lexical": _scaled(_bm25_rows(s_lists, ids)),
        "passage_dense": p_dense,
        "passage_lexical": p_lexical,
        "neighbour_dense": n_dense,
        "passage_coverage": coverage,
        "sentence_coverage": _share(held_own, idf),
        "local_coverage": _share(held_own, local),
        "neighbour_coverage": _share(held_near, idf),
        "window_local_coverage": _share(held_own | held_near, local),
        "context_dense": c_dense,
        "off_title_coverage": off_title_coverage,
        "answer_kind": own_kind,
        "neighbour_answer_kind": near_kind,
    }
    return Evidence(ids, np.stack([columns[name] for name in FEATURES], axis=1).astype(np.float32), named)


_ASKS_NAME = re.compile(r"\b(?:which|who|whom|whose|where)\b|\bwhat (?:is|was|are|were) the names?\b", re.IGNORECASE)
_WORD = re.compile(r"[\w’'.&-]+")


_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"'])")


def _asked_columns(generation: Generation, postings: QueryPostings, query: str) -> np.ndarray:
    """Which of the query's distinct words (ascending, as `_membership` orders them) are in its last
    sentence, the one that asks."""
    ask = _SENTENCE_BREAK.split(query.strip())[-1]
    wanted = set(word_ids(generation.tokenizer, _ASKING.sub(" ", ask)))
    return np.array([token in wanted for token in sorted(postings.lists)], dtype=bool)


def _new_names(generation: Generation, ids: np.ndarray, query: str) -> np.ndarray:
    """For a question asking for a name, how many names each sentence holds that the question does not
    (from the sentences' `analysis.name_signature`, up to 3, scaled to [0, 1]); zeros for other questions."""
    if not _ASKS_NAME.search(query):
        return np.zeros(len(ids), dtype=np.float32)
    asked = 0
    for word in _WORD.findall(query):
        asked |= name_bit(word)
    mask = np.int64(asked - (1 << 64) if asked >= 1 << 63 else asked)
    novel: np.ndarray = np.bitwise_count(generation.sentence_names[ids] & ~mask)
    scaled: np.ndarray = np.minimum(novel, 3).astype(np.float32) / np.float32(3.0)
    return scaled


def _dated(generation: Generation, docs: np.ndarray, query: str, today: dt.date) -> tuple[bool, np.ndarray, np.ndarray]:
    """Whether the question names a period; for each document row, whether it is dated within it, and
    whether it is dated after the day of asking."""
    published = generation.doc_published[docs]
    dated = published > 0
    after = dated & (published > today.toordinal() + 1)  # a day's grace for time zones
    asked = period(query, today)
    if asked is None:
        within = np.zeros(len(docs), dtype=bool)
    else:
        within = dated & (published >= asked.first.toordinal()) & (published <= asked.last.toordinal())
    return asked is not None, within.astype(np.float32), after.astype(np.float32)


def _doc_coverage(generation: Generation, postings: QueryPostings, docs: np.ndarray, unknown: int) -> np.ndarray:
    """For each document row, the idf-weighted share of the query's words found in any of its passages
    (`_weighted_share`, with ``unknown`` words no source holds). A document's passages are one run of
    rows, so whether a (sorted) posting list touches it is two binary searches."""
    if len(docs) == 0:
        return np.zeros(0, dtype=np.float32)
    first, end = generation.doc_chunks[docs, 0], generation.doc_chunks[docs, 1]
    words = sorted(postings.lists)
    held = np.zeros((len(docs), len(words)), dtype=bool)
    for column, token in enumerate(words):
        rows = postings.lists[token][0]
        held[:, column] = np.searchsorted(rows, first) < np.searchsorted(rows, end)
    return _weighted_share(held, _idf(postings), unknown, postings.num_docs)


def _unknown_weight(known_idf: np.ndarray, n_docs: int) -> float:
    """What a question's word that no source holds weighs in a coverage: the mean idf of its words that
    some source holds (a small library has never seen many ordinary words: counting each at the
    highest idf let one stray word outweigh the topic), or the highest idf when it knows none."""
    known = known_idf[known_idf > 0]
    return float(known.mean()) if len(known) else float(np.log1p(max(n_docs, 1)))


def _restricted(ids: np.ndarray, allowed: np.ndarray, postings: QueryPostings, window: tuple[int, int]) -> np.ndarray:
    """The candidates within ``allowed``. A few allowed sentences are all scored (a person's quotes
    may share no passage with the best ones); of many, the usual candidates among them and their
    best by BM25."""
    inside = allowed[(allowed >= window[0]) & (allowed < window[1])].astype(np.int64)
    if len(inside) <= ALLOWED_SCAN:
        return inside
    best = inside[_top(_bm25_rows(postings, inside), SENTENCE_DEPTH * 4)]
    return np.union1d(np.intersect1d(ids, inside), best)


def _beside(values: np.ndarray, near_at: np.ndarray, empty: float | bool) -> np.ndarray:
    """``values`` (rows of ``rows``) of each candidate's two neighbours, (n, 2, ...); ``empty`` where
    the candidate has no neighbour on that side (``near_at`` is -1)."""
    picked = values[np.maximum(near_at, 0)]
    present = (near_at >= 0).reshape(near_at.shape + (1,) * (values.ndim - 1))
    return np.where(present, picked, empty)


def _membership(postings: QueryPostings, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of the query's distinct words each row holds (rows x words, words ascending), and their idf."""
    words = sorted(postings.lists)
    held = np.zeros((len(rows), len(words)), dtype=bool)
    for column, token in enumerate(words):
        held[:, column] = _holds(postings.lists[token][0], rows)
    return held, _idf(postings)


def _idf(postings: QueryPostings) -> np.ndarray:
    """The idf of each of the query's distinct words (ascending), 0 for a word in no row."""
    n_docs = max(postings.num_docs, 1)
    lengths = np.array([len(postings.lists[token][0]) for token in sorted(postings.lists)], dtype=np.float64)
    return np.where(lengths > 0, np.log1p(n_docs / np.maximum(lengths, 1)), 0.0)


def _holds(posting: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Whether each row is in the (ascending) posting list."""
    if len(posting) == 0:
        return np.zeros(len(rows), dtype=bool)
    where = np.minimum(np.searchsorted(posting, rows), len(posting) - 1)
    found: np.ndarray = posting[where] == rows
    return found


def _share(held: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted share of the words each row holds."""
    total = float(weights.sum())
    return (held @ weights / total if total > 0 else np.zeros(len(held))).astype(np.float32)


_ASKS_DATE = re.compile(r"\bwhen\b|\b(?:what|which|in what) (?:year|century|decade|date|month)\b", re.IGNORECASE)
_ASKS_NUMBER = re.compile(
    r"\bhow (?:many|much|long|old|far|large|big|tall|high|often|fast)\b|"
    r"\bwhat (?:percentage|percent|number|amount|proportion)\b",
    re.IGNORECASE,
)


def asked_kind(question: str) -> int:
    """The kind of answer a question asks for, as `analysis.DATE` / `analysis.NUMBER` bits (0: other)."""
    return (DATE if _ASKS_DATE.search(question) else 0) | (NUMBER if _ASKS_NUMBER.search(question) else 0)


def topic_stems(generation: Generation, question: str) -> frozenset[str]:
    """The question's topic words as the lexical index stems them (no interrogatives, no stop words)."""
    return content_stems(generation.tokenizer, _ASKING.sub(" ", question))


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


def _bm25_all(postings: QueryPostings, n: int, window: tuple[int, int]) -> np.ndarray:
    """BM25 score of every row, zero outside ``window``, scaled so the best row scores 1."""
    if not postings.tokens:
        return np.zeros(n, dtype=np.float32)
    scores = postings.scores()
    if window != (0, n):
        mask = np.zeros(n, dtype=bool)
        mask[window[0] : window[1]] = True
        scores = np.where(mask, scores, 0.0)
    return _scaled(scores)


def _bm25_rows(postings: QueryPostings, rows: np.ndarray) -> np.ndarray:
    """BM25 scores of the given (ascending) rows only: costs the query's posting lists, not the collection."""
    scores = np.zeros(len(rows), dtype=np.float32)
    for token in postings.tokens:
        posting, weights = postings.lists[token]
        if len(posting):
            where = np.minimum(np.searchsorted(posting, rows), len(posting) - 1)
            hit = posting[where] == rows
            scores[hit] += weights[where[hit]]
    return scores


def _unknown_words(tokenizer: Any, query: str) -> int:
    """How many distinct content words of the query occur nowhere in the index."""
    return sum(1 for stem in content_stems(tokenizer, query) if stem not in tokenizer.stem_to_sid)


def _coverage(postings: QueryPostings, rows: np.ndarray, unknown: int = 0) -> np.ndarray:
    """For each row, the idf-weighted share of the query's distinct words that occur in it
    (`_weighted_share`)."""
    held, idf = _membership(postings, rows)
    return _weighted_share(held, idf, unknown, postings.num_docs)


def _weighted_share(held: np.ndarray, idf: np.ndarray, unknown: int, num_docs: int) -> np.ndarray:
    """Each row's idf-weighted share of the query's words (``held``: rows x words); each of the
    ``unknown`` words that no source holds counts as missing, as much as the known words on average."""
    total = float(idf.sum()) + unknown * _unknown_weight(idf, num_docs)
    found: np.ndarray = held @ idf
    return (found / total if total else found).astype(np.float32)


def _scaled(scores: np.ndarray) -> np.ndarray:
    best = float(scores.max(initial=0.0))
    return scores / best if best > 0 else scores


def _dense_chunks(generation: Generation, q: np.ndarray, k: int, window: tuple[int, int]) -> list[int]:
    """The ``k`` chunks in ``window`` nearest the query: the FAISS index for the whole collection,
    exact cosines from the stored vectors for one document's chunks."""
    if window == (0, generation.n_chunks):
        _, ids = generation.chunk_index.search(q.reshape(1, -1), min(k, generation.n_chunks))
        return [int(i) for i in ids[0] if i >= 0]
    return _nearest(generation, "chunks", q, k, window)


def _nearest(generation: Generation, kind: str, q: np.ndarray, k: int, window: tuple[int, int]) -> list[int]:
    """The ``k`` rows in ``window`` nearest the query, by exact cosines (for one document's rows)."""
    rows = np.arange(window[0], window[1], dtype=np.int64)
    scores = generation.cosines(kind, rows, q)
    return [int(rows[i]) for i in np.argsort(-scores)[:k]]


def _top(scores: np.ndarray, k: int) -> list[int]:
    """The rows of the ``k`` best positive scores (in no particular order)."""
    rows = np.flatnonzero(scores > 0)  # usually a small share of the collection: partition only those
    if len(rows) > k:
        rows = rows[np.argpartition(-scores[rows], k - 1)[:k]]
    return [int(i) for i in rows]


def _owning_chunks(generation: Generation, sentence_ids: np.ndarray) -> np.ndarray:
    """The chunks containing each sentence, as (n, 2) ids, -1 for none (overlap puts a sentence in
    up to two chunks, which are adjacent); a sentence outside every chunk gets the chunk before it."""
    firsts, lasts = generation.chunk_first, generation.chunk_last
    high = np.searchsorted(firsts, sentence_ids, side="right")  # chunks [0, high) start at or before it
    pair = np.stack([high - 2, high - 1], axis=1)
    safe = np.clip(pair, 0, max(len(firsts) - 1, 0))
    inside = (pair >= 0) & (firsts[safe] <= sentence_ids[:, None]) & (sentence_ids[:, None] <= lasts[safe])
    owners = np.where(inside, pair, -1)
    orphan = ~inside.any(axis=1)
    owners[orphan, 1] = np.maximum(high[orphan] - 1, 0)
    return owners


def _best(values: np.ndarray, slot: np.ndarray) -> np.ndarray:
    """For each row of ``slot`` (indexes into ``values``, -1: none), the largest value it points to."""
    picked = np.where(slot >= 0, values[np.maximum(slot, 0)], -np.inf)
    best: np.ndarray = picked.max(axis=1).astype(np.float32)
    return best
