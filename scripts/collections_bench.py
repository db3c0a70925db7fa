"""Benchmark of many collections: 1,000 servers' collections of 20 small documents each, opened and
closed on demand by one `Collections` (issue 13).

    python scripts/collections_bench.py                 # builds once into .onrecord/bench-collections
    python scripts/collections_bench.py --open 100      # how many may be open at once (default 100)

Documents are real news paragraphs (the first paragraphs of the shared news-dev articles, one document
each, with the article's title), so no two collections hold the same text. The build is cached: a
second run only measures. Measured in one process, after the model has answered one warm-up question:

- RSS with ``--open`` collections open (each has answered a question);
- the first answer on a closed collection (opening it: manifest, checksums, FAISS, BM25, speakers),
  p50 / p95 over ``--cold`` collections not opened before;
- a warm answer on an open collection, p50 / p95, over the same questions asked again.

Questions are each collection's own first sentence cut to its first twelve words, so every one has
an answer in its collection and none repeats (the query cache never answers).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from index import Collections, IndexSettings, guild_collection  # noqa: E402

NEWS = REPO.parent / "shared" / "eval" / "news-dev" / "corpus.jsonl"


def paragraphs(count: int) -> list[tuple[str, str]]:
    """``count`` distinct news paragraphs (title, text) of 150-600 characters."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for line in NEWS.read_text("utf-8").splitlines():
        doc = json.loads(line)
        for paragraph in doc["text"].split("\n\n"):
            text = " ".join(paragraph.split())
            if 150 <= len(text) <= 600 and text not in seen:
                seen.add(text)
                found.append((doc["title"], text))
                if len(found) == count:
                    return found
    raise SystemExit(f"news-dev holds only {len(found)} usable paragraphs")


def build(collections: Collections, servers: int, per: int) -> float:
    started = time.perf_counter()
    texts = paragraphs(servers * per)
    for server in range(servers):
        name = guild_collection(server + 1)
        if collections.has_index(name):
            continue
        library = collections.library(name)
        for number, (title, text) in enumerate(texts[server * per : (server + 1) * per]):
            path = library.settings.docs_dir / f"p{number:02d}.txt"
            path.write_text(text + "\n", "utf-8")
            path.with_name(path.name + ".meta.yaml").write_text(json.dumps({"title": title}), "utf-8")
        library.rebuild()
        if server % 50 == 0:
            print(f"built {server + 1}/{servers} collections", file=sys.stderr, flush=True)
    return time.perf_counter() - started


def question_of(collections: Collections, server: int) -> str:
    first = (collections.folder(guild_collection(server)) / "docs" / "p00.txt").read_text("utf-8")
    return " ".join(first.split()[:12])


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(collections: Collections, server: int, question: str) -> float:
    started = time.perf_counter()
    answer = collections.ask(question, [guild_collection(server)])
    elapsed = (time.perf_counter() - started) * 1000
    if not answer.excerpts and not answer.closest:
        raise SystemExit(f"collection {server} found nothing for {question!r}")
    return elapsed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--per", type=int, default=20, help="documents per collection")
    parser.add_argument("--open", type=int, default=100, help="collections open at once")
    parser.add_argument("--cold", type=int, default=200, help="closed collections whose first answer is timed")
    parser.add_argument("--data", type=Path, default=REPO / ".onrecord" / "bench-collections")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the serving process
    args = parser.parse_args()

    settings = IndexSettings(  # type: ignore[call-arg]
        _env_file=None, docs_dir=args.data / "shared-docs", data_dir=args.data, max_open_collections=args.open
    )
    settings.docs_dir.mkdir(parents=True, exist_ok=True)
    if not args.measure:
        build_s = build(Collections(settings), args.servers, args.per)
        print(f"built in {build_s:.1f} s", file=sys.stderr)
        # Measured in a fresh process, as a bot serving these collections would be.
        return subprocess.run([sys.executable, *sys.argv, "--measure"], check=False).returncode

    fresh = Collections(settings)  # a serving process: nothing open yet
    fresh.queries.embed("warm up the model")
    baseline_mb = rss_mb()
    opened = list(range(1, args.open + 1))
    for server in opened:
        timed(fresh, server, question_of(fresh, server))
    open_mb = rss_mb()
    assert fresh.open_count() == args.open, fresh.open_count()

    cold_servers = list(range(args.open + 1, min(args.servers, args.open + args.cold) + 1))
    questions = {server: question_of(fresh, server) for server in cold_servers}
    cold = [timed(fresh, server, questions[server]) for server in cold_servers]
    # The same collections, now open (the last ``--open`` of them), asked different words of theirs.
    warm_servers = cold_servers[-args.open :]
    warm = [timed(fresh, server, questions[server] + " today") for server in warm_servers]
    figures = {
        "servers": args.servers,
        "documents_per_server": args.per,
        "open_limit": args.open,
        "rss_mb_model_only": round(baseline_mb),
        "rss_mb_with_open": round(open_mb),
        "rss_mb_after_all": round(rss_mb()),
        "open_now": fresh.open_count(),
        "cold_first_answer_ms_p50": round(statistics.median(cold), 1),
        "cold_first_answer_ms_p95": round(percentile(cold, 0.95), 1),
        "warm_answer_ms_p50": round(statistics.median(warm), 1),
        "warm_answer_ms_p95": round(percentile(warm, 0.95), 1),
    }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
