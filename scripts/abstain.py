"""Fit the abstention confidence on answerable questions and not-in-the-sources probes; report both halves.

    python scripts/abstain.py   # SQuAD (first half of the articles indexed) and news-dev with news-probes

For each set, every question is asked as `Library.ask` asks it (on its own date) and the best
candidate's evidence is kept: answerable questions are positives, probes negatives. A logistic
regression over `CONFIDENCE_FEATURES` is fitted on the dev halves of all sets together (each set and
each class weighing the same), then the threshold is chosen on the dev halves: the highest at which
every set still answers at least 95% of its answerable questions (a member asking what the sources
hold must get it); the test halves report what that threshold does to both.
Halves: answerable questions by their document's position (even: dev), probes by a hash of their id.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evaluation.answers import CorpusDoc, DataSet, EvalQuestion, cached_library, load_dataset, split_corpus  # noqa: E402
from index import IndexSettings, Library  # noqa: E402
from index.embedding import load_embedder  # noqa: E402
from index.search import CONFIDENCE_FEATURES, Confidence  # noqa: E402

EVAL = REPO.parent / "shared" / "eval"


def _library(dataset: DataSet, documents: list[CorpusDoc], cache: Path, holdout: float | None) -> Library:
    settings = IndexSettings(_env_file=None)  # type: ignore[call-arg]
    library, _ = cached_library(dataset, documents, settings, load_embedder(settings), cache, holdout)
    library.rebuild()
    return library


def _evidence(library: Library, questions: list[EvalQuestion]) -> np.ndarray:
    rows = []
    for question in questions:
        rows.append(library.confidence_features(question.question, now=question.asked_on))
    return np.array(rows, dtype=np.float64).reshape(len(questions), len(CONFIDENCE_FEATURES))


def _hash_half(text: str) -> str:
    return "dev" if hashlib.sha256(text.encode()).digest()[0] % 2 == 0 else "test"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=REPO / ".onrecord" / "eval-cache")
    parser.add_argument("--answered", type=float, default=0.95, help="share of answerable questions to answer")
    args = parser.parse_args()

    sets: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    squad = load_dataset(EVAL / "squad-dev")
    documents, answerable, probes = split_corpus(squad, 0.5)
    library = _library(squad, documents, args.cache, 0.5)
    dev_docs = {d.doc_id for d in squad.documents[::2]}
    sets["squad-dev"] = _halves(library, answerable, probes, lambda q: "dev" if q.doc_id in dev_docs else "test")

    news = load_dataset(EVAL / "news-dev")
    library = _library(news, news.documents, args.cache, None)
    news_dev_docs = {d.doc_id for d in news.documents[::2]}
    news_probes = load_dataset(EVAL / "news-probes").questions
    sets["news-dev"] = _halves(
        library, news.questions, news_probes, lambda q: "dev" if q.doc_id in news_dev_docs else "test"
    )

    x, y, w = [], [], []
    for halves in sets.values():
        for label, key in ((1.0, "answerable"), (0.0, "probes")):
            rows = halves["dev"][key]
            x.append(rows)
            y.append(np.full(len(rows), label))
            w.append(np.full(len(rows), 1.0 / max(len(rows), 1)))
    weights = _fit(np.vstack(x), np.concatenate(y), np.concatenate(w))
    print("weights:", json.dumps(dict(zip([*CONFIDENCE_FEATURES, "bias"], weights.round(3).tolist(), strict=True))))

    def confidence(rows: np.ndarray) -> np.ndarray:
        z = rows @ weights[:-1] + weights[-1]
        return np.asarray(1.0 / (1.0 + np.exp(-z)))

    chosen = _threshold(sets, confidence, args.answered)
    print(f"threshold {chosen}")
    _report(sets, confidence, chosen)
    # The confidence shipped now, on the same evidence: at its shipped threshold, and at the one the
    # same rule picks for it, so that the two compare on the dev halves at the same operating point.
    shipped, threshold = Confidence(), IndexSettings(_env_file=None).min_score  # type: ignore[call-arg]

    def shipped_confidence(rows: np.ndarray) -> np.ndarray:
        return np.array([shipped.of(row) for row in rows])

    print(f"shipped: {json.dumps(shipped.__dict__)} at {threshold}")
    _report(sets, shipped_confidence, threshold)
    own = _threshold(sets, shipped_confidence, args.answered)
    print(f"shipped at the threshold the rule picks for it, {own}")
    _report(sets, shipped_confidence, own)


def _threshold(
    sets: dict[str, dict[str, dict[str, np.ndarray]]], confidence: Callable[[np.ndarray], np.ndarray], answered: float
) -> float:
    """The highest threshold at which every set's dev answerable questions are answered enough."""
    chosen = 0.0
    for t in np.round(np.arange(0.0, 1.0001, 0.005), 3):
        if all((confidence(h["dev"]["answerable"]) >= t).mean() >= answered for h in sets.values()):
            chosen = float(t)
    return chosen


def _report(
    sets: dict[str, dict[str, dict[str, np.ndarray]]], confidence: Callable[[np.ndarray], np.ndarray], threshold: float
) -> None:
    for name, halves in sets.items():
        for half in ("dev", "test"):
            answered = float((confidence(halves[half]["answerable"]) >= threshold).mean())
            abstained = float((confidence(halves[half]["probes"]) < threshold).mean())
            print(f"{name} {half}: probes abstained {abstained:.3f}, answerable answered {answered:.3f}")


def _halves(
    library: Library, answerable: list[EvalQuestion], probes: list[EvalQuestion], half_of: Callable[[EvalQuestion], str]
) -> dict[str, dict[str, np.ndarray]]:
    out: dict[str, dict[str, list[EvalQuestion]]] = {
        "dev": {"answerable": [], "probes": []},
        "test": {"answerable": [], "probes": []},
    }
    for q in answerable:
        out[half_of(q)]["answerable"].append(q)
    for q in probes:
        out[_hash_half(q.qid)]["probes"].append(q)
    return {h: {k: _evidence(library, qs) for k, qs in parts.items()} for h, parts in out.items()}


def _fit(x: np.ndarray, y: np.ndarray, sample: np.ndarray, c: float = 10.0) -> np.ndarray:
    from scipy.optimize import minimize

    x1 = np.hstack([x, np.ones((len(x), 1))])
    sample = sample * len(sample) / sample.sum()

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x1 @ w
        p = 1.0 / (1.0 + np.exp(-z))
        value = float(np.sum(sample * (np.logaddexp(0.0, z) - y * z))) + 0.5 / c * float(w[:-1] @ w[:-1])
        grad = x1.T @ (sample * (p - y))
        grad[:-1] += w[:-1] / c
        return value, grad

    bounds = [(0.0, None)] * x.shape[1] + [(None, None)]  # more evidence never lowers the confidence
    result: np.ndarray = minimize(loss, np.zeros(x1.shape[1]), jac=True, method="L-BFGS-B", bounds=bounds).x
    return result


if __name__ == "__main__":
    main()
