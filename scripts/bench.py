"""Benchmarks: build time against the common recipe on real news, build throughput against the bare encoder,
unchanged rebuild, ask latency by size, cold start, memory and disk. Writes a Markdown table to
BENCHMARKS.md (between markers) and prints it.

    python scripts/bench.py                      # make bench: 10k and 100k chunks
    python scripts/bench.py --sizes 1000000      # make bench-1m

Build against the recipe: the first ``--news`` articles of the shared news-dev set (distinct real
articles, written as sources the way ``onrecord eval`` writes them), indexed from scratch by OnRecord
and by the common recipe as the eval runs it (1000/200-character chunks, each embedded once, into a
FAISS ``IndexFlatL2``), with the same encoder, alternating ``--repeats`` times; medians are reported,
since the machine is shared. Tokens are those the encoder reads (special tokens included, cut at the
model's window). Then one article more is added and the rebuild's cost is reported.

Corpus: the shared SQuAD dev articles split into one document per paragraph (real text, about 1,200
documents). Large indexes are that corpus repeated: each copy keeps the text, gets its own title, and
its vectors are the real MiniLM vectors of the original plus Gaussian noise (sigma 0.02 per component,
renormalised: cosine to the original about 0.93), so neighbours are realistic but not duplicates.
Latency is measured in a fresh process per size, over real SQuAD questions, after the same number of
other SQuAD questions have warmed the model and the index (a serving process's steady state; no
question repeats, so the query cache never answers).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evaluation.answers import embed_in_steps, load_dataset, recursive_split, write_sources  # noqa: E402
from index import IndexSettings, Library  # noqa: E402
from index.embedding import Embedder  # noqa: E402
from index.models import Chunk, Sentence  # noqa: E402
from index.store import IndexedDocument, open_current, write_generation  # noqa: E402

SQUAD = REPO.parent / "shared" / "eval" / "squad-dev"
NEWS = REPO.parent / "shared" / "eval" / "news-dev"
MARKS = "<!-- {}:begin -->", "<!-- {}:end -->"
NOISE = 0.02


def paragraph_corpus(folder: Path) -> int:
    """Write one document per SQuAD paragraph; returns the number of documents."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for line in (SQUAD / "corpus.jsonl").read_text("utf-8").splitlines():
        doc = json.loads(line)
        for number, paragraph in enumerate(p for p in doc["text"].split("\n\n") if p.strip()):
            name = f"{doc['doc_id']}-{number:03d}"
            (folder / f"{name}.txt").write_text(paragraph, "utf-8")
            (folder / f"{name}.txt.meta.yaml").write_text(json.dumps({"title": doc["title"]}), "utf-8")
            count += 1
    return count


def settings(docs: Path, index: Path, backend: str) -> IndexSettings:
    return IndexSettings(_env_file=None, docs_dir=docs, index_dir=index, backend=backend)  # type: ignore[call-arg]


class Recording:
    """An embedder that forwards to another and keeps every text it was asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.texts: list[str] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    def embed(self, texts: Any) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.embed(texts)

    def count_tokens(self, texts: Any) -> list[int]:
        return self.inner.count_tokens(texts)


def encoder_tokens(embedder: Embedder, texts: list[str]) -> int:
    """Tokens the encoder reads for ``texts``: special tokens included, cut at the window."""
    return int(np.minimum(np.array(embedder.count_tokens(texts), dtype=np.int64) + 2, embedder.max_tokens).sum())


def measure_news_build(work: Path, backend: str, articles: int, repeats: int) -> dict[str, float]:
    """OnRecord's build from scratch against the recipe's on the first ``articles`` news-dev articles."""
    import faiss

    documents = load_dataset(NEWS).documents
    docs = work / "news-docs"
    write_sources(documents[:articles], docs)
    shared = Library(settings(docs, work / "news-warm", backend))
    encoder = shared.embedder
    encoder.embed(["warm up"])
    onnx = work / "news-warm" / "onnx"
    recipe_texts = [piece for doc in documents[:articles] for piece in recursive_split(doc.text)]
    onrecord_s, recipe_s = [], []
    recorder = Recording(encoder)
    report = None
    for run in range(repeats):
        index = work / f"news-index-{run}"
        if onnx.exists():  # the exported graph, so no export is timed
            shutil.copytree(onnx, index / "onnx")
        recorder.texts = []
        library = Library(settings(docs, index, backend), embedder=recorder)
        started = time.perf_counter()
        report = library.rebuild()
        onrecord_s.append(time.perf_counter() - started)
        print(f"[{backend}] news build {run + 1}/{repeats}: OnRecord {onrecord_s[-1]:.1f} s", file=sys.stderr)

        started = time.perf_counter()
        chunks = [piece for doc in documents[:articles] for piece in recursive_split(doc.text)]
        vectors = embed_in_steps(chunks, encoder, lambda stage, done, total: None, "recipe")
        flat = faiss.IndexFlatL2(encoder.dim)
        flat.add(vectors)
        recipe_s.append(time.perf_counter() - started)
        print(f"[{backend}] news build {run + 1}/{repeats}: recipe {recipe_s[-1]:.1f} s", file=sys.stderr)
        if run < repeats - 1:
            shutil.rmtree(index)
    assert report is not None
    onrecord_tokens = encoder_tokens(encoder, recorder.texts)
    recipe_tokens = encoder_tokens(encoder, recipe_texts)

    library = Library(settings(docs, work / f"news-index-{repeats - 1}", backend), embedder=recorder)
    started = time.perf_counter()
    again = library.rebuild()
    unchanged_s = time.perf_counter() - started
    assert again.embedded == 0, "an unchanged corpus was re-embedded"
    # One article more (with the whole set, its last article is left out of the builds above and added here).
    kept = min(articles, len(documents) - 1)
    if kept < articles:
        write_sources(documents[:kept], docs)
        library.rebuild()
    write_sources(documents[: kept + 1], docs)
    recorder.texts = []
    started = time.perf_counter()
    added = library.rebuild()
    added_s = time.perf_counter() - started
    assert added.added and added.unchanged == kept, "adding one article re-read others"
    onrecord, recipe = statistics.median(onrecord_s), statistics.median(recipe_s)
    return {
        "documents": articles,
        "onrecord_texts": report.embedded,
        "onrecord_chunks": report.chunks,
        "onrecord_tokens": onrecord_tokens,
        "onrecord_s": onrecord,
        "recipe_texts": len(recipe_texts),
        "recipe_tokens": recipe_tokens,
        "recipe_s": recipe,
        "ratio": statistics.median(a / b for a, b in zip(onrecord_s, recipe_s, strict=True)),
        "ratios": ", ".join(f"{a / b:.2f}" for a, b in zip(onrecord_s, recipe_s, strict=True)),
        "unchanged_s_per_1000": unchanged_s / articles * 1000,
        "added_texts": added.embedded,
        "added_tokens": encoder_tokens(encoder, recorder.texts),
        "added_s": added_s,
    }


def measure_build(work: Path, backend: str) -> dict[str, float]:
    """Full build, unchanged rebuild, and the bare encoder on exactly the texts the build embedded."""
    docs, index = work / "docs", work / f"index-{backend}"
    n_docs = len(list(docs.glob("*.txt")))
    recorder = Recording(Library(settings(docs, index, backend)).embedder)
    library = Library(settings(docs, index, backend), embedder=recorder)
    library.embedder.embed(["warm up"])
    recorder.texts = []
    started = time.perf_counter()
    report = library.rebuild()
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    again = library.rebuild()
    unchanged_s = time.perf_counter() - started
    assert again.embedded == 0, "an unchanged corpus was re-embedded"

    generation = library.generation()
    texts = list(recorder.texts)
    assert len(texts) == report.embedded
    order = np.argsort([len(t) for t in texts])
    started = time.perf_counter()
    for i in range(0, len(texts), 256):
        recorder.inner.embed([texts[j] for j in order[i : i + 256]])
    bare_s = time.perf_counter() - started
    disk = sum(p.stat().st_size for p in generation.folder.rglob("*") if p.is_file())
    return {
        "documents": n_docs,
        "texts": report.embedded,
        "chunks": report.chunks,
        "build_s": build_s,
        "build_tps": report.embedded / build_s,
        "bare_tps": len(texts) / bare_s,
        "ratio": (report.embedded / build_s) / (len(texts) / bare_s),
        "unchanged_s": unchanged_s,
        "unchanged_s_per_1000": unchanged_s / n_docs * 1000,
        "bytes_per_chunk": disk / report.chunks,
    }


def synthesise(base_index: Path, target: Path, chunks: int, seed: int = 0, group: int = 30) -> int:
    """Write a generation of about ``chunks`` chunks from copies of the base index (see module doc).

    Every ``group`` consecutive paragraph documents of a copy are joined into one article-sized
    document (texts joined by a blank line, spans shifted), so a million chunks make some thirty
    thousand documents, as a real collection of that size would.
    """
    rng = np.random.default_rng(seed)
    base = open_current(base_index)
    originals = [
        (
            *base.full_document(d.row),
            base.vectors("sentences", d.sentence_first, d.sentence_end),
            base.vectors("chunks", d.chunk_first, d.chunk_end),
        )
        for d in base.documents
    ]
    per_copy = sum(len(o[2]) for o in originals)
    copies = max(1, round(chunks / per_copy))

    def noisy(v: np.ndarray) -> np.ndarray:
        out = v + rng.normal(0, NOISE, v.shape).astype(np.float32)
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float16)  # stored as f16 anyway

    items = []
    for k in range(copies):
        for first in range(0, len(originals), group):
            members = originals[first : first + group]
            items.append(_joined(members, k, noisy if k else lambda v: v))
    write_generation(target, items, model=base.manifest.model, dim=base.manifest.dim, chunking=base.manifest.chunking)
    return copies * per_copy


def _joined(members: list[tuple[Any, ...]], copy: int, vectors: Any) -> IndexedDocument:
    """One document made of several, with every span shifted to its place in the joined text."""
    texts, sentences, chunks = [], [], []
    offset = paragraphs = sentence_base = 0
    for doc, doc_sentences, doc_chunks, _, _ in members:
        texts.append(doc.text)
        sentences += [
            Sentence(s.start + offset, s.end + offset, s.paragraph + paragraphs, s.speaker) for s in doc_sentences
        ]
        chunks += [
            Chunk(c.start + offset, c.end + offset, c.first + sentence_base, c.last + sentence_base) for c in doc_chunks
        ]
        offset += len(doc.text) + 2
        paragraphs += max((s.paragraph for s in doc_sentences), default=-1) + 1
        sentence_base += len(doc_sentences)
    head = members[0][0]
    joined = dataclasses.replace(
        head, doc_id=f"copy{copy}/{head.doc_id}", title=f"{head.title} ({copy})", text="\n\n".join(texts)
    )
    return IndexedDocument(
        joined,
        sentences,
        chunks,
        vectors(np.vstack([m[3] for m in members])),
        vectors(np.vstack([m[4] for m in members])),
    )


LATENCY_PROBE = """
import json, statistics, sys, time
from pathlib import Path

def peak_rss_mb():
    # VmHWM is this process's own peak; ru_maxrss would carry over the parent's peak across exec.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

sys.path.insert(0, sys.argv[1])
from index import IndexSettings, Library
index, backend, questions = Path(sys.argv[2]), sys.argv[3], json.loads(Path(sys.argv[4]).read_text())
warm_up = json.loads(Path(sys.argv[5]).read_text())
lib = Library(IndexSettings(_env_file=None, index_dir=index, docs_dir=index, backend=backend))
lib.generation()
for q in warm_up:  # other questions: a serving process's steady state, with no query-cache hits
    lib.ask(q)
times = []
for q in questions:
    t = time.perf_counter(); lib.ask(q); times.append((time.perf_counter() - t) * 1000)
times.sort()
# Peak RSS of serving (loading, then answering); taken before the recall check below reads every vector.
result = {"p50_ms": statistics.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))], "rss_mb": peak_rss_mb()}
# recall@10 of each approximate FAISS index against exact search over the same stored vectors
import numpy as np
g = lib.generation()
queries = lib.embedder.embed(questions[:100])
for kind in ("chunks",):  # sentences have no vector index
    index, stored = g.chunk_index, g.chunk_vectors
    result[kind + "_index"] = g.manifest.vector_index[kind]
    if g.manifest.vector_index[kind] == "flat":
        continue
    best = np.full((len(queries), 10), -np.inf, dtype=np.float32); ids = np.zeros((len(queries), 10), dtype=np.int64)
    for start in range(0, len(stored), 100_000):
        block = np.asarray(stored[start:start + 100_000], dtype=np.float32) @ queries.T
        top = np.argpartition(-block, 10, axis=0)[:10].T
        scores = np.take_along_axis(block.T, top, axis=1)
        merged_scores = np.concatenate([best, scores], axis=1); merged_ids = np.concatenate([ids, top + start], axis=1)
        keep = np.argsort(-merged_scores, axis=1)[:, :10]
        best = np.take_along_axis(merged_scores, keep, axis=1); ids = np.take_along_axis(merged_ids, keep, axis=1)
    _, found = index.search(queries, 10)
    pairs = zip(found.tolist(), ids.tolist())
    result[kind + "_recall10"] = float(np.mean([len(set(a) & set(b)) / 10 for a, b in pairs]))
print(json.dumps(result))
"""


def measure_latency(index: Path, backend: str, questions: Path) -> dict[str, float]:
    warm_up = questions.with_name("warm-up.json")
    out = subprocess.run(
        [sys.executable, "-c", LATENCY_PROBE, str(REPO), str(index), backend, str(questions), str(warm_up)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_cold_start(docs: Path, index: Path, backend: str, runs: int = 3) -> float:
    env = {**os.environ, "ONRECORD_DOCS_DIR": str(docs), "ONRECORD_INDEX_DIR": str(index), "ONRECORD_BACKEND": backend}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [str(Path(sys.executable).parent / "onrecord"), "ask", "Which NFL team won Super Bowl 50?", "--json"],
            check=True, capture_output=True, env=env, cwd=index.parent,
        )  # fmt: skip
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts for the latency runs")
    parser.add_argument("--backends", default="torch,onnx")
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--news", type=int, default=150, help="news-dev articles of the build-against-recipe run")
    parser.add_argument("--repeats", type=int, default=3, help="alternating builds of OnRecord and the recipe")
    parser.add_argument("--news-backends", default="onnx", help="backends of the run against the recipe")
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument("--section", default="bench", help="which marked block of --out to replace")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    backends = [b for b in args.backends.split(",") if b]
    work = Path(tempfile.mkdtemp(prefix="onrecord-bench-"))
    try:
        n_docs = paragraph_corpus(work / "docs")
        lines = [json.loads(x)["question"] for x in (SQUAD / "questions.jsonl").read_text("utf-8").splitlines()]
        step = max(1, len(lines) // args.questions)
        questions = work / "questions.json"
        questions.write_text(json.dumps(lines[::step][: args.questions]), "utf-8")
        (work / "warm-up.json").write_text(json.dumps(lines[1::step][: args.questions]), "utf-8")
        news: dict[str, dict[str, Any]] = {}
        for backend in [b for b in args.news_backends.split(",") if b and args.news > 0]:
            news[backend] = measure_news_build(work, backend, args.news, args.repeats)
        rows: dict[str, dict[str, float]] = {}
        for backend in backends:
            print(f"[{backend}] building {n_docs} documents…", file=sys.stderr)
            rows[backend] = measure_build(work, backend)
            rows[backend]["cold_start_s"] = measure_cold_start(work / "docs", work / f"index-{backend}", backend)
        latency: dict[tuple[int, str], dict[str, float]] = {}
        base = work / f"index-{backends[0] if backends else args.news_backends.split(',')[0]}"
        for size in sizes:
            print(f"synthesising {size:,} chunks…", file=sys.stderr)
            target = work / f"synthetic-{size}"
            made = synthesise(base, target, size)
            if (work / "index-onnx" / "onnx").exists():  # the exported graph, so no export is timed
                shutil.copytree(work / "index-onnx" / "onnx", target / "onnx")
            for backend in backends:
                print(f"[{backend}] latency at {made:,} chunks…", file=sys.stderr)
                latency[(made, backend)] = measure_latency(target, backend, questions)
            shutil.rmtree(target)
        table = render(news, rows, latency, n_docs, args)
        print(table)
        write(args.out, table, args.section)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def render(
    news: dict[str, dict[str, Any]],
    rows: dict[str, dict[str, float]],
    latency: dict[tuple[int, str], dict[str, float]],
    n_docs: int,
    args: argparse.Namespace,
) -> str:
    command = "python scripts/bench.py " + shlex.join(sys.argv[1:])
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    out = [
        f"Measured {dt.date.today().isoformat()} on {machine} with `{command.strip()}`.",
        "",
    ]
    for backend, r in news.items():
        out += [
            f"Build from scratch over the first {r['documents']:,} news-dev articles ({backend}), against the common "
            f"recipe on the same articles with the same encoder; medians of {args.repeats} alternating runs "
            f"(OnRecord/recipe time of each run: {r['ratios']}; their median in the last column):",
            "",
            "| method | texts embedded | tokens | build s | texts/s | tokens/s | time against the recipe |",
            "|---|---|---|---|---|---|---|",
            f"| OnRecord ({r['onrecord_chunks']:,} passages) | {r['onrecord_texts']:,} | {r['onrecord_tokens']:,} | "
            f"{r['onrecord_s']:.1f} | {r['onrecord_texts'] / r['onrecord_s']:.0f} | "
            f"{r['onrecord_tokens'] / r['onrecord_s']:,.0f} | **{r['ratio']:.2f}x** |",
            f"| recipe (1000/200-character chunks, FAISS L2) | {r['recipe_texts']:,} | {r['recipe_tokens']:,} | "
            f"{r['recipe_s']:.1f} | {r['recipe_texts'] / r['recipe_s']:.0f} | "
            f"{r['recipe_tokens'] / r['recipe_s']:,.0f} | 1.00x |",
            "",
            f"Unchanged rebuild: {r['unchanged_s_per_1000']:.2f} s per 1,000 documents. One article added: "
            f"{r['added_texts']} texts ({r['added_tokens']:,} tokens) embedded, {r['added_s']:.1f} s.",
            "",
        ]
    if rows:
        out += _build_rows(rows, n_docs)
    if latency:
        out += _latency_rows(latency, args)
    return "\n".join(out)


def _build_rows(rows: dict[str, dict[str, float]], n_docs: int) -> list[str]:
    out = [
        f"Build over {n_docs:,} documents (one per SQuAD dev paragraph); throughput in texts embedded per second "
        "(sentences and titles: passages are pooled from them), against the bare encoder on exactly the same "
        "texts in the same run.",
        "",
        "| backend | texts | build s | build texts/s | bare encoder texts/s | ratio "
        "| unchanged rebuild s (per 1,000 docs) | cold start to first answer s | bytes on disk per chunk |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for backend, r in rows.items():
        out.append(
            f"| {backend} | {r['texts']:,.0f} | {r['build_s']:.1f} | {r['build_tps']:.0f} | {r['bare_tps']:.0f} | "
            f"{r['ratio']:.2f} | {r['unchanged_s']:.2f} ({r['unchanged_s_per_1000']:.2f}) | {r['cold_start_s']:.1f} | "
            f"{r['bytes_per_chunk']:,.0f} |"
        )
    return out


def _latency_rows(latency: dict[tuple[int, str], dict[str, float]], args: argparse.Namespace) -> list[str]:
    out = ["", f"`ask` latency (model warm, {args.questions} SQuAD questions, one process per size):", ""]
    out += [
        "| chunks | backend | p50 ms | p95 ms | peak RSS MB | chunk index (recall@10) |",
        "|---|---|---|---|---|---|",
    ]
    for (size, backend), r in sorted(latency.items()):
        chunk = f"{r['chunks_index']}" + (f" ({r['chunks_recall10']:.3f})" if "chunks_recall10" in r else "")
        out.append(f"| {size:,} | {backend} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['rss_mb']:.0f} | {chunk} |")
    return out


def write(path: Path, table: str, section: str) -> None:
    """Replace the block between this section's markers (appended if missing)."""
    begin, end = (mark.format(section) for mark in MARKS)
    text = path.read_text("utf-8") if path.exists() else "# Benchmarks\n"
    if begin not in text:
        text += f"\n{begin}\n{end}\n"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{begin}\n{table}\n{end}{tail}", "utf-8")


if __name__ == "__main__":
    main()
