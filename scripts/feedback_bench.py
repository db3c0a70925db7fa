"""What the question log and pins add to an answer: the state-database calls `LibraryService.ask` makes
in its worker thread (has_pins, log, count), timed alone on a fresh collection state.

    .venv/bin/python scripts/feedback_bench.py [--runs 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from index import Answer, Excerpt, State
from index.feedback import Feedback


def timed(call: Callable[[], object], runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (runs - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    excerpt = Excerpt(
        quote="They just need precursor chemicals.", doc_id="a.txt", title="A title", path=None, url=None,
        author=None, published=None, speaker="Maltz", location=None, start=0, end=35, score=0.9,
    )  # fmt: skip
    answer = Answer(question="What do the cartels need?", answered=True, excerpts=[excerpt] * 3, confidence=0.8)
    with tempfile.TemporaryDirectory() as folder:
        feedback = Feedback(State(Path(folder) / "state.sqlite"))
        feedback.log(answer)  # the migration, once
        for name, call in (
            ("has_pins", feedback.has_pins),
            ("log", lambda: feedback.log(answer)),
            ("count (before this issue)", lambda: feedback.state.count("answered")),
        ):
            median, p95 = timed(call, args.runs)
            print(f"{name:28} median {median:.2f} ms  p95 {p95:.2f} ms")


if __name__ == "__main__":
    main()
