"""Tune the fusion weights and excerpt shape on one half of an eval set; report both halves.

    python scripts/tune.py ../shared/eval/squad-dev ../shared/eval/news-dev --fit --configs 0   # fit (as shipped)
    python scripts/tune.py ../shared/eval/squad-dev --configs 60        # random steps around the defaults

Several sets are fitted and chosen together, each weighing the same. In each, documents alternate
between a dev half (even positions in corpus.jsonl) and a test half (odd); a question belongs to the
half of its (first) gold document. Every configuration is scored on the dev halves only; the best one,
and the shipped defaults, are then scored on the test halves, so the reported figure is not fitted to
itself. Questions are asked on their ``question_date`` where they have one. Retrieval features are
gathered once per question; each configuration only re-ranks and re-cuts excerpts. ``--fit`` fits the
weights by logistic regression with non-negative weights on the dev half (a candidate sentence is
positive when it holds a gold answer) and scores them like the other configurations.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evaluation.answers import EvalQuestion, cached_library, contains_answer, load_dataset  # noqa: E402
from index import IndexSettings  # noqa: E402
from index.answer import Shape, compose  # noqa: E402
from index.embedding import load_embedder  # noqa: E402
from index.search import FEATURES, NEGATIVE, Evidence, Weights, gather  # noqa: E402
from index.store import Generation  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, nargs="+", help="one or more eval sets (fitted together)")
    parser.add_argument("--configs", type=int, default=60, help="random configurations to try")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fit", action="store_true", help="fit the weights by logistic regression on the dev half")
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength for --fit")
    parser.add_argument("--cache", type=Path, default=REPO / ".onrecord" / "eval-cache")
    parser.add_argument(
        "--window", type=int, default=0, help="--fit labels a sentence by it and N neighbours on each side"
    )
    parser.add_argument(
        "--prior", action="store_true", help="--fit shrinks the weights towards the shipped ones, not towards 0"
    )
    parser.add_argument(
        "--weigh", action="append", default=[], metavar="SET=W", help="weigh a set W times the others in --fit"
    )
    parser.add_argument(
        "--without", action="append", default=[], metavar="FEATURE", help="fit with this feature's weight at 0"
    )
    parser.add_argument(
        "--try", dest="tries", action="append", default=[], metavar="JSON",
        help='a configuration to score as well, e.g. \'{"sentence_lexical": 0.3, "neighbour_ratio": 0.0}\'',
    )  # fmt: skip
    args = parser.parse_args()

    sets = [_gather_set(folder, args.cache) for folder in args.data]

    def evaluate(weights: Weights, shape: Shape, half: str) -> dict[str, dict[str, float]]:
        return {item.name: item.evaluate(weights, shape, half) for item in sets}

    def objective(result: dict[str, dict[str, float]]) -> float:  # every set counts the same
        return sum(r["hit@1"] + r["hit@3"] for r in result.values()) / len(result)

    rng = random.Random(args.seed)
    configs: list[tuple[Weights, Shape]] = [(Weights(), Shape())]
    if args.fit:
        weigh = {name: float(w) for name, w in (item.split("=") for item in args.weigh)}
        fitted = fit(sets, args.c, frozenset(args.without), weigh, Weights() if args.prior else None, args.window)
        print(f"fitted: {asdict(fitted)}", file=sys.stderr)
        configs += [(fitted, Shape(min_relative=r)) for r in (0.15, 0.0, 0.05, 0.3)]
    for text in args.tries:
        given = json.loads(text)
        shape_keys = {k: given.pop(k) for k in list(given) if k in Shape.__dataclass_fields__}
        configs.append((Weights(**given), Shape(**shape_keys)))
    for _ in range(args.configs):  # random steps around the defaults
        base = Weights()
        weights = Weights(**{name: getattr(base, name) * rng.uniform(0.7, 1.3) for name in FEATURES}, bias=base.bias)
        configs.append((weights, Shape(min_relative=rng.choice([0.0, 0.15, 0.3]))))
    results = []
    for number, (weights, shape) in enumerate(configs):
        dev = evaluate(weights, shape, "dev")
        results.append((objective(dev), dev, weights, shape))
        print(f"[{number + 1}/{len(configs)}] {dev} {asdict(weights)} {asdict(shape)}", file=sys.stderr)
    results.sort(key=lambda r: r[0], reverse=True)
    best = results[0]
    report = {
        "defaults": {"dev": evaluate(Weights(), Shape(), "dev"), "test": evaluate(Weights(), Shape(), "test")},
        "best": {
            "weights": asdict(best[2]),
            "shape": asdict(best[3]),
            "dev": best[1],
            "test": evaluate(best[2], best[3], "test"),
        },
        "questions": {item.name: {half: len(rows) for half, rows in item.halves.items()} for item in sets},
        "candidate_recall": {item.name: item.recall() for item in sets},
    }
    print(json.dumps(report, indent=1))


class _Set:
    """One eval set's questions with their gathered evidence, split into a dev and a test half."""

    def __init__(self, name: str, generation: Generation, file_of: dict[str, str]) -> None:
        self.name = name
        self.generation = generation
        self.file_of = file_of  # source file id -> data set doc_id
        self.halves: dict[str, list[tuple[EvalQuestion, Evidence]]] = {"dev": [], "test": []}

    def evaluate(self, weights: Weights, shape: Shape, half: str) -> dict[str, float]:
        hit1 = hit3 = doc1 = 0
        items = self.halves[half]
        for question, evidence in items:
            answer = compose(
                self.generation, question.question, evidence.rank(weights),
                max_excerpts=3, budget=400, min_score=-1.0, shape=shape,
            )  # fmt: skip
            quotes = [e.quote for e in answer.excerpts]
            hit1 += bool(quotes) and contains_answer(quotes[0], question.answers)
            hit3 += any(contains_answer(q, question.answers) for q in quotes[:3])
            if answer.excerpts:
                first = answer.excerpts[0].doc_id
                doc1 += self.file_of.get(first, first) in question.gold_docs
        n = max(len(items), 1)
        return {"hit@1": round(hit1 / n, 4), "hit@3": round(hit3 / n, 4), "doc@1": round(doc1 / n, 4)}

    def labels(
        self, question: EvalQuestion, evidence: Evidence, *, gold_only: bool = False, window: int = 0
    ) -> list[bool]:
        """Whether each candidate sentence holds a gold answer (and, with ``gold_only``, lies in one of
        the documents that hold it: in news the answer's name also turns up in unrelated stories);
        with ``window``, whether it or one of its ``window`` neighbours on each side in the same
        document does (what an excerpt grown around it would quote)."""
        generation = self.generation
        out = []
        for sentence in evidence.ids.tolist():
            doc = int(generation.sentence_doc[sentence])
            if gold_only:
                source = generation.documents[doc].doc_id
                if self.file_of.get(source, source) not in question.gold_docs:
                    out.append(False)
                    continue
            first, last = sentence, sentence
            while window and first > 0 and sentence - first < window and generation.sentence_doc[first - 1] == doc:
                first -= 1
            while (
                window and last + 1 < generation.n_sentences and last - sentence < window
                and generation.sentence_doc[last + 1] == doc
            ):  # fmt: skip
                last += 1
            start, end = int(generation.sentence_start[first]), int(generation.sentence_end[last])
            out.append(contains_answer(generation.text(doc, start, end), question.answers))
        return out

    def recall(self) -> dict[str, float]:
        """The share of each half's questions with a candidate sentence that holds an answer (the ceiling)."""
        return {
            half: round(sum(any(self.labels(q, e)) for q, e in items) / max(len(items), 1), 4)
            for half, items in self.halves.items()
        }


def _gather_set(folder: Path, cache: Path) -> _Set:
    settings = IndexSettings(_env_file=None)  # type: ignore[call-arg]
    dataset = load_dataset(folder)
    library, doc_ids = cached_library(dataset, dataset.documents, settings, load_embedder(settings), cache, None)
    library.rebuild()
    generation = library.generation()
    item = _Set(dataset.name, generation, doc_ids)

    dev_docs = {d.doc_id for d in dataset.documents[::2]}
    started = time.perf_counter()
    texts = [library.clean_question(q.question) for q in dataset.questions]
    vectors = library.embedder.embed(texts)
    for question, text, vector in zip(dataset.questions, texts, vectors, strict=True):
        half = "dev" if question.doc_id in dev_docs else "test"
        item.halves[half].append((question, gather(generation, vector, text, today=question.asked_on)))
    print(f"{dataset.name}: gathered {len(texts)} questions in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return item


def fit(
    sets: list[_Set],
    c: float,
    without: frozenset[str] = frozenset(),
    weigh: dict[str, float] | None = None,
    prior: Weights | None = None,
    window: int = 0,
) -> Weights:
    """Ranking weights fitted on the dev halves of every set together, then a bias for their scale.

    The weights maximise, question by question, the softmax share of the candidates that hold a gold
    answer (in a document that holds it) among all candidates: a listwise ranking loss, so what counts
    is the order within a question, not the mass of easy negatives a pointwise fit is dominated by.
    Each set weighs the same whatever its number of questions (or as ``weigh`` says). Every weight is
    kept at or above zero, those of `NEGATIVE` features at or below: each feature is evidence for (or
    against) a sentence.
    The bias is then fitted alone (logistic regression with the weights fixed), so that scores are
    probabilities that a sentence holds the answer, as `Shape.min_relative` and the answer expect.
    """
    from scipy.optimize import minimize

    blocks, labels, groups, weights = [], [], [], []
    group = 0
    for item in sets:
        rows = [(q, e) for q, e in item.halves["dev"] if len(e.ids)]
        for question, evidence in rows:
            found = item.labels(question, evidence, gold_only=True, window=window)
            if not any(found):
                continue  # nothing to rank first
            blocks.append(evidence.features.astype(np.float64))
            labels.extend(found)
            groups.extend([group] * len(found))
            weights.append((weigh or {}).get(item.name, 1.0) / len(rows))
            group += 1
    x = np.vstack(blocks)
    y = np.array(labels, dtype=bool)
    g = np.array(groups)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    qw = np.array(weights) * group / sum(weights)

    centre = prior.vector().astype(np.float64) if prior is not None else np.zeros(len(FEATURES))

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w
        zmax = np.maximum.reduceat(z, starts)[g]
        e = np.exp(z - zmax)
        all_sum = np.add.reduceat(e, starts)
        pos_sum = np.add.reduceat(e * y, starts)
        value = float(np.sum(qw * (np.log(all_sum) - np.log(pos_sum)))) + 0.5 / c * float((w - centre) @ (w - centre))
        p_all = e / all_sum[g]
        p_pos = e * y / pos_sum[g]
        grad = ((qw[g] * (p_all - p_pos))[:, None] * x).sum(axis=0) + (w - centre) / c
        return value, grad

    def bound(name: str) -> tuple[float | None, float | None]:
        if name in without:
            return (0.0, 0.0)
        return (None, 0.0) if name in NEGATIVE else (0.0, None)

    w = minimize(loss, centre.copy(), jac=True, method="L-BFGS-B", bounds=[bound(n) for n in FEATURES]).x
    linear = x @ w
    sample = (qw[g] / np.bincount(g)[g]) * len(g) / group

    def bias_loss(b: np.ndarray) -> tuple[float, np.ndarray]:
        z = linear + b[0]
        p = 1.0 / (1.0 + np.exp(-z))
        return float(np.sum(sample * (np.logaddexp(0.0, z) - y * z))), np.array([np.sum(sample * (p - y))])

    bias = float(minimize(bias_loss, np.zeros(1), jac=True, method="L-BFGS-B").x[0])
    values = {name: round(float(v), 3) for name, v in zip(FEATURES, w, strict=True)}
    return Weights(**values, bias=round(bias, 3))


if __name__ == "__main__":
    main()
