"""Tune the fusion weights and excerpt shape on one half of an eval set; report both halves.

    python scripts/tune.py ../shared/eval/squad-dev --configs 60

Documents alternate between a dev half (even positions in corpus.jsonl) and a test half (odd). Every
configuration is scored on the dev half only; the best one, and the shipped defaults, are then
scored on the test half, so the reported figure is not fitted to itself. Retrieval features are
gathered once per question; each configuration only re-ranks and re-cuts excerpts.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from index import IndexSettings, Library  # noqa: E402
from index.answer import Shape, compose  # noqa: E402
from index.evaluate import EvalQuestion, cache_key, contains_answer, load_dataset, write_sources  # noqa: E402
from index.search import Evidence, Weights, gather  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--configs", type=int, default=60, help="random configurations to try")
    parser.add_argument("--seed", type=int, default=0)
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
    for text in args.tries:
        given = json.loads(text)
        shape_keys = {k: given.pop(k) for k in list(given) if k in Shape.__dataclass_fields__}
        configs.append((Weights(**given), Shape(**shape_keys)))
    for _ in range(args.configs):
        weights = Weights(
            sentence_dense=rng.choice([0.3, 0.4, 0.5]),
            sentence_lexical=rng.choice([0.1, 0.2, 0.3]),
            passage_dense=rng.choice([0.2, 0.3, 0.4]),
            passage_lexical=rng.choice([0.1, 0.2, 0.3]),
            neighbour_dense=rng.choice([0.0, 0.1, 0.2]),
        )
        configs.append((weights, Shape(neighbour_ratio=rng.choice([0.0, 0.3]))))
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


if __name__ == "__main__":
    main()
