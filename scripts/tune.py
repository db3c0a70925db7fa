"""Tune the fusion weights and excerpt shape on one half of an eval set; report both halves.

    python scripts/tune.py ../shared/eval/squad-dev --fit --configs 0   # fit the weights (how they were made)
    python scripts/tune.py ../shared/eval/squad-dev --configs 60        # random steps around the defaults

Documents alternate between a dev half (even positions in corpus.jsonl) and a test half (odd). Every
configuration is scored on the dev half only; the best one, and the shipped defaults, are then
scored on the test half, so the reported figure is not fitted to itself. Retrieval features are
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

from index import IndexSettings, Library  # noqa: E402
from index.answer import Shape, compose  # noqa: E402
from index.evaluate import EvalQuestion, cache_key, contains_answer, load_dataset, write_sources  # noqa: E402
from index.search import FEATURES, Evidence, Weights, gather  # noqa: E402
from index.store import Generation  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--configs", type=int, default=60, help="random configurations to try")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fit", action="store_true", help="fit the weights by logistic regression on the dev half")
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength for --fit")
    parser.add_argument("--cache", type=Path, default=REPO / ".onrecord" / "eval-cache")
    parser.add_argument(
        "--try", dest="tries", action="append", default=[], metavar="JSON",
        help='a configuration to score as well, e.g. \'{"sentence_lexical": 0.3, "neighbour_ratio": 0.0}\'',
    )  # fmt: skip
    args = parser.parse_args()

    settings = IndexSettings(_env_file=None)  # type: ignore[call-arg]
    dataset = load_dataset(args.data)
    library = Library(settings)
    workspace = args.cache / cache_key(dataset, library.embedder, settings, None)
    settings = settings.model_copy(update={"docs_dir": workspace / "docs", "index_dir": workspace / "index"})
    doc_ids = write_sources(dataset.documents, settings.docs_dir)
    library = Library(settings, embedder=library.embedder)
    library.rebuild()
    generation = library.generation()
    file_of = doc_ids  # source file id -> data set doc_id

    dev_docs = {d.doc_id for d in dataset.documents[::2]}
    halves: dict[str, list[tuple[EvalQuestion, Evidence]]] = {"dev": [], "test": []}
    started = time.perf_counter()
    texts = [library.clean_question(q.question) for q in dataset.questions]
    vectors = library.embedder.embed(texts)
    for question, text, vector in zip(dataset.questions, texts, vectors, strict=True):
        half = "dev" if question.doc_id in dev_docs else "test"
        halves[half].append((question, gather(generation, vector, text)))
    print(f"gathered {len(texts)} questions in {time.perf_counter() - started:.0f} s", file=sys.stderr)

    def evaluate(weights: Weights, shape: Shape, half: str) -> dict[str, float]:
        hit1 = hit3 = doc1 = 0
        items = halves[half]
        for question, evidence in items:
            answer = compose(
                generation, question.question, evidence.rank(weights),
                max_excerpts=3, budget=400, min_score=-1.0, shape=shape,
            )  # fmt: skip
            quotes = [e.quote for e in answer.excerpts]
            hit1 += bool(quotes) and contains_answer(quotes[0], question.answers)
            hit3 += any(contains_answer(q, question.answers) for q in quotes[:3])
            if answer.excerpts:
                doc1 += file_of.get(answer.excerpts[0].doc_id, answer.excerpts[0].doc_id) == question.doc_id
        n = len(items)
        return {"hit@1": hit1 / n, "hit@3": hit3 / n, "doc@1": doc1 / n}

    rng = random.Random(args.seed)
    configs: list[tuple[Weights, Shape]] = [(Weights(), Shape())]
    if args.fit:
        fitted = fit(generation, halves["dev"], args.c)
        print(f"fitted: {asdict(fitted)}", file=sys.stderr)
        configs += [(fitted, Shape(min_relative=r)) for r in (0.5, 0.6, 0.7, 0.8, 0.9)]
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
        results.append((dev["hit@1"] + dev["hit@3"], dev, weights, shape))
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
        "questions": {half: len(items) for half, items in halves.items()},
    }
    print(json.dumps(report, indent=1))


def fit(generation: Generation, items: list[tuple[EvalQuestion, Evidence]], c: float) -> Weights:
    """Logistic-regression weights: the probability that a candidate sentence holds a gold answer.

    Every weight is kept at or above zero: each feature is evidence for a sentence, and a negative
    weight would only be an artefact of features that move together (it would, say, punish the
    sentence with the best BM25 score once its word coverage is counted).
    """
    from scipy.optimize import minimize

    features, labels = [], []
    for question, evidence in items:
        for row, sentence in enumerate(evidence.ids.tolist()):
            doc = int(generation.sentence_doc[sentence])
            start, end = int(generation.sentence_start[sentence]), int(generation.sentence_end[sentence])
            labels.append(contains_answer(generation.text(doc, start, end), question.answers))
            features.append(evidence.features[row])
    x = np.hstack([np.array(features, dtype=np.float64), np.ones((len(features), 1))])
    y = np.array(labels, dtype=np.float64)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w
        p = 1.0 / (1.0 + np.exp(-z))
        penalty = 0.5 / c * float(w[:-1] @ w[:-1])
        value = float(np.sum(np.logaddexp(0.0, z) - y * z)) + penalty
        grad = x.T @ (p - y)
        grad[:-1] += w[:-1] / c
        return value, grad

    bounds = [(0.0, None)] * len(FEATURES) + [(None, None)]
    w = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B", bounds=bounds).x
    values = {name: round(float(v), 3) for name, v in zip(FEATURES, w[:-1], strict=True)}
    return Weights(**values, bias=round(float(w[-1]), 3))


if __name__ == "__main__":
    main()
