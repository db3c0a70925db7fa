"""Throwaway: do rankers other than the shipped linear fusion gain on the dev halves? (issue 10)

    python scripts/rank_experiment.py ../shared/eval/squad-dev ../shared/eval/news-dev --cache DIR

Gathers each question's candidates once (as scripts/tune.py), then fits on the dev halves
and scores every half with compose (hit@1 / hit@3 / doc@1, abstention off).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from tune import Shape, _gather_set, _Set, fit  # noqa: E402

from index.search import FEATURES, NEGATIVE, Weights  # noqa: E402


def relative(features: np.ndarray) -> np.ndarray:
    """Each feature minus its best among the question's candidates (0 for the best)."""
    return features - features.max(axis=0, keepdims=True)


class Linear2:
    """Linear over the features and their question-relative values."""

    def __init__(self, w: np.ndarray, bias: float) -> None:
        self.w, self.bias = w, bias

    def scores(self, features: np.ndarray) -> np.ndarray:
        x = np.hstack([features, relative(features)]).astype(np.float64)
        return 1.0 / (1.0 + np.exp(-(x @ self.w + self.bias)))


class Trees:
    def __init__(self, model: object, with_relative: bool) -> None:
        self.model, self.with_relative = model, with_relative

    def scores(self, features: np.ndarray) -> np.ndarray:
        x = np.hstack([features, relative(features)]) if self.with_relative else features
        return self.model.predict_proba(x)[:, 1]  # type: ignore[attr-defined]


def dev_rows(sets: list[_Set], with_relative: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    blocks, labels, groups, weights = [], [], [], []
    group = 0
    for item in sets:
        rows = [(q, e) for q, e in item.halves["dev"] if len(e.ids)]
        for question, evidence in rows:
            found = item.labels(question, evidence, gold_only=True)
            if not any(found):
                continue
            f = evidence.features.astype(np.float64)
            blocks.append(np.hstack([f, relative(f)]) if with_relative else f)
            labels.extend(found)
            groups.extend([group] * len(found))
            weights.extend([1.0 / len(rows) / len(found)] * len(found))
            group += 1
    return np.vstack(blocks), np.array(labels), np.array(groups), np.array(weights)


def fit_linear2(sets: list[_Set], c: float) -> Linear2:
    from scipy.optimize import minimize

    x, y, g, sw = dev_rows(sets, True)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    qw = np.array([sw[s] * np.sum(g == g[s]) for s in starts])
    qw = qw * len(starts) / qw.sum()
    n = x.shape[1]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w
        zmax = np.maximum.reduceat(z, starts)[g]
        e = np.exp(z - zmax)
        all_sum = np.add.reduceat(e, starts)
        pos_sum = np.add.reduceat(e * y, starts)
        value = float(np.sum(qw * (np.log(all_sum) - np.log(pos_sum)))) + 0.5 / c * float(w @ w)
        p_all = e / all_sum[g]
        p_pos = e * y / pos_sum[g]
        grad = ((qw[g] * (p_all - p_pos))[:, None] * x).sum(axis=0) + w / c
        return value, grad

    names = list(FEATURES) * 2
    bounds = [(None, 0.0) if name in NEGATIVE else (0.0, None) for name in names]
    w = minimize(loss, np.zeros(n), jac=True, method="L-BFGS-B", bounds=bounds).x
    linear = x @ w

    def bias_loss(b: np.ndarray) -> tuple[float, np.ndarray]:
        z = linear + b[0]
        p = 1.0 / (1.0 + np.exp(-z))
        return float(np.sum(sw * (np.logaddexp(0.0, z) - y * z))), np.array([np.sum(sw * (p - y))])

    bias = float(minimize(bias_loss, np.zeros(1), jac=True, method="L-BFGS-B").x[0])
    print(
        "linear2 weights:",
        {
            f"{a}{'' if i < len(FEATURES) else '_rel'}": round(float(v), 3)
            for i, (a, v) in enumerate(zip(names, w, strict=True))
        },
        file=sys.stderr,
    )
    return Linear2(w, bias)


def fit_trees(sets: list[_Set], with_relative: bool, **params: object) -> Trees:
    from sklearn.ensemble import HistGradientBoostingClassifier

    x, y, _, sw = dev_rows(sets, with_relative)
    model = HistGradientBoostingClassifier(**params)  # type: ignore[arg-type]
    model.fit(x, y, sample_weight=sw * len(sw) / sw.sum())
    return Trees(model, with_relative)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path, nargs="+")
    parser.add_argument("--cache", type=Path, required=True)

    args = parser.parse_args()
    started = time.perf_counter()
    sets = [_gather_set(folder, args.cache) for folder in args.data]
    print(f"gathered in {time.perf_counter() - started:.0f} s", file=sys.stderr)

    def report(name: str, ranker: object) -> None:
        out = {s.name: {h: s.evaluate(ranker, Shape(), h) for h in ("dev", "test")} for s in sets}  # type: ignore[arg-type]
        cells = "  ".join(
            f"{s}: dev {r['dev']['hit@1']:.3f}/{r['dev']['hit@3']:.3f}/{r['dev']['doc@1']:.3f} "
            f"test {r['test']['hit@1']:.3f}/{r['test']['hit@3']:.3f}/{r['test']['doc@1']:.3f}"
            for s, r in out.items()
        )
        dev_mean = sum(r["dev"]["hit@1"] + r["dev"]["hit@3"] for r in out.values()) / len(out)
        print(f"{name:40s} devmean {dev_mean:.4f}  {cells}", flush=True)

    report("shipped linear", Weights())
    report("refit linear", fit(sets, 1.0))
    for c in (1.0, 10.0):
        report(f"linear + relative c={c}", fit_linear2(sets, c))
    for rel in (False, True):
        for depth, iters, lr in ((3, 200, 0.05), (4, 300, 0.05), (6, 300, 0.03)):
            report(
                f"trees rel={rel} depth={depth} it={iters}",
                fit_trees(
                    sets,
                    rel,
                    max_depth=depth,
                    max_iter=iters,
                    learning_rate=lr,
                    min_samples_leaf=40,
                    l2_regularization=1.0,
                    random_state=0,
                ),
            )


if __name__ == "__main__":
    main()
