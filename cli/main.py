"""The ``onrecord`` console script: build the index, ask, list sources, evaluate, run the bot.

Errors of the library are printed as one line on stderr with a non-zero exit code; only a bug
shows a traceback. Heavy imports (the model, discord) happen inside the commands that need them.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from index import SHARED, Collections, IndexSettings, Library, LibraryError

from . import terminal

log = logging.getLogger(__name__)

COLLECTION_COMMANDS = frozenset({"index", "ask", "speakers", "quotes", "who-said", "sources", "report"})
EXIT_ERROR = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose or args.command == "run" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = _settings(args)
        result: int = args.handler(args, settings)
        return result
    except LibraryError as error:
        print(f"onrecord: {error}", file=sys.stderr)
        return EXIT_ERROR
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        print(f"onrecord: invalid setting {where}: {first['msg']}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onrecord", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress and timings")
    commands = parser.add_subparsers(dest="command", required=True)

    def add(name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        sub.add_argument("--docs", type=Path, help="sources folder (ONRECORD_DOCS_DIR)")
        sub.add_argument("--index", type=Path, help="index folder (ONRECORD_INDEX_DIR)")
        if name in COLLECTION_COMMANDS:
            sub.add_argument("--collection", metavar="ID", help="shared (default) or a server's own, guild-<server id>")
        return sub

    add("index", _cmd_index, "build or update the index from the sources folder")
    ask = add("ask", _cmd_ask, "answer a question with quotes from the sources")
    ask.add_argument("question")
    ask.add_argument("--source", help="answer from this document only (its id, see `onrecord sources`)")
    ask.add_argument("--speaker", metavar="NAME", help="quote this person only (any of their names)")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    speakers = add("speakers", _cmd_speakers, "list the people the sources quote, the most quoted first")
    speakers.add_argument("--json", action="store_true", help="print a JSON array")
    quotes = add("quotes", _cmd_quotes, "everything the sources quote a person saying, the newest source first")
    quotes.add_argument("name", help="any of the person's names")
    quotes.add_argument("--source", help="from this document only")
    quotes.add_argument("--json", action="store_true", help="print one JSON object")
    who = add("who-said", _cmd_who_said, "find a quote in the sources: who said it, where and when")
    who.add_argument("text", help="the quote (quotation marks, case and spacing do not matter)")
    who.add_argument("--json", action="store_true", help="print one JSON object")
    sources = add("sources", _cmd_sources, "list the indexed documents")
    sources.add_argument("--json", action="store_true", help="print a JSON array")
    report = add("report", _cmd_report, "what members asked that the sources did not cover, and their feedback")
    report.add_argument("--days", type=float, default=7.0, help="the period: the last this many days (default 7)")
    add("run", _cmd_run, "start the Discord bot (needs DISCORD_TOKEN)")
    evaluate = add("eval", _cmd_eval, "score answers on a question set (corpus.jsonl + questions.jsonl)")
    evaluate.add_argument("data_dir", type=Path, help="folder holding corpus.jsonl and questions.jsonl")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    pick = evaluate.add_mutually_exclusive_group()
    pick.add_argument("--limit", type=int, metavar="N", help="only the first N questions (and N probes)")
    pick.add_argument("--sample", type=int, metavar="N", help="a random sample of N questions (and N probes)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    evaluate.add_argument("--out", type=Path, metavar="FILE", help="write one JSON line per question to FILE")
    evaluate.add_argument("--baselines", action="store_true", help="also score the recipe, BM25 and dense baselines")
    evaluate.add_argument(
        "--unanswerable", type=Path, metavar="OTHER_DIR", help="ask OTHER_DIR's questions as must-abstain probes"
    )
    evaluate.add_argument(
        "--holdout", type=float, metavar="FRACTION", help="index all but the last FRACTION of the documents; "
        "their questions become probes",
    )  # fmt: skip
    evaluate.add_argument("--min-score", type=float, metavar="X", help="abstention threshold (ONRECORD_MIN_SCORE)")
    evaluate.add_argument("--calibrate", action="store_true", help="tabulate abstention thresholds on the probes")
    evaluate.add_argument(
        "--index-cache", type=Path, metavar="DIR", help="cache of eval indexes (default .onrecord/eval-cache)"
    )
    speakers = add("eval-speakers", _cmd_eval_speakers, "score speaker attribution on annotated news quotations")
    speakers.add_argument("data_dir", type=Path, help="folder holding docs.jsonl and quotations.jsonl")
    speakers.add_argument("--json", action="store_true", help="print one JSON object")
    speakers.add_argument(
        "--split", choices=["fit", "test", "all"], default="all",
        help="fit: the half of the articles rules are chosen on; test: the held-out half; all (default)",
    )  # fmt: skip
    speakers.add_argument("--out", type=Path, metavar="FILE", help="write one JSON line per missed quotation")

    extraction = add(
        "eval-extraction", _cmd_eval_extraction, "measure the HTML loader on pages with marked bodies (truth.jsonl)"
    )
    extraction.add_argument("data_dir", type=Path, help="folder holding truth.jsonl and the pages it names")
    extraction.add_argument("--json", action="store_true", help="print a JSON array of summaries")
    return parser


def _library(args: argparse.Namespace, settings: IndexSettings) -> Library:
    """The library of the collection asked for (``--collection``; the shared one by default), after
    moving an index from before collections into place."""
    return Collections(settings).library(getattr(args, "collection", None) or SHARED)


def _settings(args: argparse.Namespace) -> IndexSettings:
    overrides = {}
    if getattr(args, "docs", None):
        overrides["docs_dir"] = args.docs
    if getattr(args, "index", None):
        overrides["index_dir"] = args.index
    return IndexSettings(**overrides)


def _cmd_index(args: argparse.Namespace, settings: IndexSettings) -> int:
    library = _library(args, settings)
    with _ProgressBar() as bar:
        report = library.rebuild(progress=bar)
    print(terminal.render_report(report), end="")
    return 0


def _cmd_ask(args: argparse.Namespace, settings: IndexSettings) -> int:
    library = _library(args, settings)
    library.clean_question(args.question)  # refuse a bad question before loading anything heavy
    if not library.has_index():
        print(f"No index yet: building it from {settings.docs_dir} first.", file=sys.stderr)
        with _ProgressBar() as bar:
            report = library.rebuild(progress=bar)
        print(terminal.render_report(report), end="", file=sys.stderr)
    else:
        library.ensure_index()
    answer = library.ask(args.question, source=args.source, speaker=args.speaker)
    if args.json:
        print(json.dumps(answer.to_json_dict(), ensure_ascii=False))
    else:
        print(terminal.render_answer(answer), end="")
    return 0


def _cmd_speakers(args: argparse.Namespace, settings: IndexSettings) -> int:
    library = _library(args, settings)
    library.ensure_index()
    people = library.speakers()
    if args.json:
        print(json.dumps([p.__dict__ for p in people], ensure_ascii=False, indent=1))
    else:
        print(terminal.render_speakers(people), end="")
    return 0


def _cmd_quotes(args: argparse.Namespace, settings: IndexSettings) -> int:
    library = _library(args, settings)
    library.ensure_index()
    names, excerpts = library.quotes(args.name, source=args.source)
    if args.json:
        body = {"speaker": args.name, "speakers": names, "quotes": [e.model_dump(mode="json") for e in excerpts]}
        print(json.dumps(body, ensure_ascii=False))
    else:
        print(terminal.render_quotes(args.name, names, excerpts), end="")
    return 0


def _cmd_who_said(args: argparse.Namespace, settings: IndexSettings) -> int:
    library = _library(args, settings)
    library.clean_question(args.text)
    library.ensure_index()
    result = library.who_said(args.text)
    if args.json:
        print(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))
    else:
        print(terminal.render_who_said(result), end="")
    return 0


def _cmd_sources(args: argparse.Namespace, settings: IndexSettings) -> int:
    library = _library(args, settings)
    library.ensure_index()
    sources = library.sources()
    if args.json:
        rows = [{**s.__dict__, "published": s.published.isoformat() if s.published else None} for s in sources]
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        print(terminal.render_sources(sources), end="")
    return 0


def _cmd_report(args: argparse.Namespace, settings: IndexSettings) -> int:
    from index.feedback import Feedback
    from index.report import build_report, question_vectors

    if args.days <= 0:
        raise LibraryError("--days must be more than 0.")
    collections = Collections(settings)
    collection = args.collection or SHARED
    collections.folder(collection)  # refuses a malformed id before anything is opened
    feedback = Feedback.of(collections.state(collection), settings)
    report = build_report(feedback, question_vectors(collections.queries), collection=collection, days=args.days)
    print(terminal.render_feedback_report(report), end="")
    return 0


def _cmd_eval(args: argparse.Namespace, settings: IndexSettings) -> int:
    from evaluation import answers as evaluate

    options = evaluate.EvalOptions(
        data_dir=args.data_dir, cache_root=args.index_cache or evaluate.DEFAULT_CACHE, limit=args.limit,
        sample=args.sample, seed=args.seed, baselines=args.baselines, unanswerable_dir=args.unanswerable,
        holdout=args.holdout, min_score=args.min_score, calibrate=args.calibrate,
    )  # fmt: skip
    with _ProgressBar() as bar:
        report = evaluate.run_eval(options, settings, progress=bar)
    if args.out:
        evaluate.write_details(report, args.out)
    if args.json:
        print(json.dumps(report.to_json_dict(), ensure_ascii=False))
    else:
        print(terminal.render_eval(report), end="")
    return 0


def _cmd_eval_speakers(args: argparse.Namespace, settings: IndexSettings) -> int:
    from evaluation import speakers as speaker_eval

    report = speaker_eval.run_speaker_eval(args.data_dir, args.split, keep_misses=args.out is not None)
    if args.out:
        args.out.write_text("".join(json.dumps(m, ensure_ascii=False) + "\n" for m in report.misses), "utf-8")
    if args.json:
        print(json.dumps(report.to_json_dict(), ensure_ascii=False))
    else:
        print(terminal.render_speaker_eval(report), end="")
    return 0


def _cmd_eval_extraction(args: argparse.Namespace, settings: IndexSettings) -> int:
    from evaluation import extraction as extraction_eval

    summaries = extraction_eval.evaluate(args.data_dir)
    if args.json:
        print(json.dumps([s.__dict__ for s in summaries], ensure_ascii=False))
    else:
        print(extraction_eval.table(summaries))
    return 0


def _cmd_run(args: argparse.Namespace, settings: IndexSettings) -> int:
    from bot.__main__ import run

    return run(settings)


class _ProgressBar:
    """tqdm bars on stderr, one per build stage."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._stage = ""

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if stage != self._stage:
            if self._bar is not None:
                self._bar.close()
            self._bar = tqdm(
                total=total, desc=stage, unit=" texts" if stage == "embedding" else "", file=sys.stderr, leave=False
            )
            self._stage = stage
        self._bar.total = total
        self._bar.n = done
        self._bar.refresh()


if __name__ == "__main__":
    sys.exit(main())
