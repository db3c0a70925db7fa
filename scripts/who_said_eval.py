"""Measure "who said this?" on PolNeAR's direct quotations: is a quote found where it is, and is a
quote the sources do not hold left unmatched?

    python scripts/who_said_eval.py ../shared/eval/attribution-train [--json]

Articles alternate (sorted by id) between indexed and not indexed. Each indexed article's direct
quotations (one fragment, at least 5 words) are looked up as a member would paste them: as printed,
retyped (no quotation marks, lower case, straight apostrophes, doubled spaces) and with a slip (one
letter dropped from one word). The quotations of the articles not indexed are the probes: nothing
should match them (a probe that does match is counted apart when its words are in an indexed article,
as political news repeats quotes). Articles alternate again between a fit half, on which the
similarity threshold is chosen (the lowest that matches at most 0.25% of the probes: telling a member
that the sources attribute words to someone when they do not is worse than a miss), and a report half.
Only who-said is measured, so the index is built with a hashed bag-of-words embedder (no model).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from index import IndexSettings, Library  # noqa: E402
from index.whosaid import MIN_SIMILARITY, reduced, who_said  # noqa: E402
from tests.fakes import HashEmbedder  # noqa: E402

FLOOR = 60.0  # every lookup keeps its best match down to here; thresholds are applied afterwards
GRID = [80.0, 82.0, 84.0, 86.0, 88.0, 90.0, 92.0, 94.0, 96.0]
FORMS = ("printed", "retyped", "slip")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("data", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    docs = sorted(
        (json.loads(line) for line in (args.data / "docs.jsonl").open(encoding="utf-8")), key=lambda d: d["doc_id"]
    )
    quotes = [json.loads(line) for line in (args.data / "quotations.jsonl").open(encoding="utf-8")]
    position = {d["doc_id"]: i for i, d in enumerate(docs)}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "docs").mkdir()
        names = {}
        for i, doc in enumerate(docs):
            if i % 2 == 0:
                names[doc["doc_id"]] = f"a{i:04}.txt"
                (root / "docs" / names[doc["doc_id"]]).write_text(doc["text"], encoding="utf-8")
        settings = IndexSettings(_env_file=None, docs_dir=root / "docs", index_dir=root / "index")  # type: ignore[call-arg]
        library = Library(settings, embedder=HashEmbedder())
        started = time.perf_counter()
        library.rebuild()
        build_s = time.perf_counter() - started
        corpus = " ".join(reduced(d["text"]) for d in docs if d["doc_id"] in names)
        rows, lookup_ms = _lookups(library, docs, quotes, position, names, corpus)
    report = _report(rows, build_s, lookup_ms)
    print(json.dumps(report) if args.json else _table(report))


def _lookups(
    library: Library,
    docs: list[dict[str, Any]],
    quotes: list[dict[str, Any]],
    position: dict[str, int],
    names: dict[str, str],
    corpus: str,
) -> tuple[list[dict[str, Any]], list[float]]:
    generation = library.generation()
    table = library.speaker_table(generation)
    rng = random.Random(0)
    rows: list[dict[str, Any]] = []
    times: list[float] = []
    for quote in quotes:
        if quote["kind"] != "direct" or len(quote["quote_frags"]) != 1 or quote["quote_words"] < 5:
            continue
        i = position[quote["doc_id"]]
        start, end = quote["quote_frags"][0]
        text = docs[i]["text"][start:end]
        half = "fit" if i % 4 in (0, 1) else "report"
        forms = {"printed": text, "retyped": _retyped(text), "slip": _slip(text, rng)} if i % 2 == 0 else {}
        if i % 2 == 1:
            forms = {"probe": text}
        for form, looked_up in forms.items():
            began = time.perf_counter()
            result = who_said(generation, table, looked_up, library.settings.excerpt_chars, min_similarity=FLOOR)
            times.append((time.perf_counter() - began) * 1000)
            best = result.matches[0] if result.matches else None
            right = (
                best is not None
                and best.excerpt.doc_id == names.get(quote["doc_id"])
                and best.excerpt.start < end
                and start < best.excerpt.end
            )
            rows.append({
                "half": half, "form": form, "similarity": best.similarity if best else 0.0, "right": right,
                "in_corpus": form == "probe" and reduced(text) in corpus,
            })  # fmt: skip
    return rows, times


def _retyped(text: str) -> str:
    plain = text.translate(str.maketrans({"“": "", "”": "", '"': "", "’": "'", "‘": "'"})).lower()
    return plain.replace(" ", "  ", 3)


def _slip(text: str, rng: random.Random) -> str:
    words = text.split()
    long = [k for k, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long:
        return text
    k = rng.choice(long)
    cut = rng.randrange(1, len(words[k]) - 1)
    words[k] = words[k][:cut] + words[k][cut + 1 :]
    return " ".join(words)


def _rates(rows: list[dict[str, Any]], half: str, threshold: float) -> dict[str, float]:
    out: dict[str, float] = {}
    for form in FORMS:
        mine = [r for r in rows if r["half"] == half and r["form"] == form]
        out[f"found_{form}"] = sum(r["right"] and r["similarity"] >= threshold for r in mine) / max(len(mine), 1)
        out[f"wrong_place_{form}"] = sum((not r["right"]) and r["similarity"] >= threshold for r in mine) / max(
            len(mine), 1
        )
    probes = [r for r in rows if r["half"] == half and r["form"] == "probe"]
    absent = [r for r in probes if not r["in_corpus"]]
    out["probes_matched"] = sum(r["similarity"] >= threshold for r in absent) / max(len(absent), 1)
    out["probes_in_corpus"] = sum(r["in_corpus"] for r in probes) / max(len(probes), 1)
    return out


def _report(rows: list[dict[str, Any]], build_s: float, times: list[float]) -> dict[str, Any]:
    fit = {t: _rates(rows, "fit", t) for t in GRID}
    chosen = min((t for t in GRID if fit[t]["probes_matched"] <= 0.0025), default=max(GRID))
    counts = {
        h: {f: sum(r["half"] == h and r["form"] == f for r in rows) for f in (*FORMS, "probe")}
        for h in ("fit", "report")
    }
    times.sort()
    return {
        "chosen_threshold": chosen, "shipped_threshold": MIN_SIMILARITY, "fit_grid": fit,
        "report": _rates(rows, "report", MIN_SIMILARITY), "counts": counts, "build_s": round(build_s, 1),
        "lookup_ms_p50": round(times[len(times) // 2], 2), "lookup_ms_p95": round(times[int(len(times) * 0.95)], 2),
    }  # fmt: skip


def _table(report: dict[str, Any]) -> str:
    lines = [
        f"threshold chosen on the fit half: {report['chosen_threshold']:g} (shipped {report['shipped_threshold']:g})"
    ]
    lines.append(f"{'threshold':>9} " + " ".join(f"{k:>18}" for k in report["report"]))
    for t, rates in report["fit_grid"].items():
        lines.append(f"{t:>9g} " + " ".join(f"{v:>18.3f}" for v in rates.values()))
    lines.append(f"{'report':>9} " + " ".join(f"{v:>18.3f}" for v in report["report"].values()))
    lines.append(f"counts {report['counts']}; build {report['build_s']} s; lookup p50 {report['lookup_ms_p50']} ms, "
                 f"p95 {report['lookup_ms_p95']} ms")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    main()
