"""`onrecord eval`: metric arithmetic on hand-made answers, the recipe splitter, and whole runs on a tiny set."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest

from cli import main as onrecord
from cli import terminal
from evaluation.answers import (
    EvalError,
    EvalOptions,
    EvalQuestion,
    Outcome,
    calibrate,
    contains_answer,
    doc_at_1,
    hit_at,
    load_dataset,
    outcome_of,
    percentile,
    probe_scores,
    recursive_split,
    run_eval,
    score,
    truncate_words,
    write_sources,
)
from index import Answer, Excerpt, IndexSettings, Library
from tests.conftest import make_settings
from tests.fakes import HashEmbedder

# -- a tiny data set ---------------------------------------------------------------------------------

CORPUS = [
    {
        "doc_id": "Mount Etna (Sicily)",
        "title": "Mount Etna",
        "text": "Mount Etna is an active volcano on the island of Sicily. Its lava flows reach nearby towns.\n\n"
        "The summit of Etna rises about 3,300 metres above sea level. Farmers grow grapes on its slopes.",
    },
    {
        "doc_id": "Danube/River",
        "title": "The Danube",
        "text": "The Danube flows through ten countries before reaching the Black Sea. Vienna and Budapest stand "
        "on its banks.\n\nBarges carry grain and steel along the waterway.",
    },
    {
        "doc_id": "sourdough",
        "title": "Sourdough",
        "text": "Sourdough bread rises with a culture of wild yeast. Bakers feed the starter with flour and water "
        "each day.\n\nA long cold proof gives the crust a sour flavour.",
    },
]
QUESTIONS = [
    {"qid": "q1", "question": "Which island is Mount Etna on?", "answers": ["Sicily"], "doc_id": "Mount Etna (Sicily)"},
    {"qid": "q2", "question": "Which sea does the Danube reach?", "answers": ["Black Sea"], "doc_id": "Danube/River"},
    {
        "qid": "q3",
        "question": "What do bakers feed the sourdough starter with?",
        "answers": ["flour and water", "flour"],
        "doc_id": "sourdough",
    },
]
OTHER_CORPUS = [{"doc_id": "jupiter", "title": "Jupiter", "text": "Jupiter has ninety-five known moons."}]
OTHER_QUESTIONS = [
    {"qid": "p1", "question": "How many moons orbit Jupiter?", "answers": ["ninety-five"], "doc_id": "jupiter"}
]


def _write_set(folder: Path, corpus: Sequence[Mapping[str, object]], questions: Sequence[Mapping[str, object]]) -> Path:
    folder.mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in corpus), "utf-8")
    (folder / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions), "utf-8")
    return folder


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return _write_set(tmp_path / "tiny", CORPUS, QUESTIONS)


@pytest.fixture
def other(tmp_path: Path) -> Path:
    return _write_set(tmp_path / "other", OTHER_CORPUS, OTHER_QUESTIONS)


@pytest.fixture
def settings(tmp_path: Path) -> IndexSettings:
    return make_settings(tmp_path / "unused-docs", tmp_path / "unused-index")


class RecordingEmbedder(HashEmbedder):
    """A hash embedder that remembers every text it embedded."""

    def __init__(self) -> None:
        super().__init__(dim=512)
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return super().embed(texts)


# -- pure metrics on hand-made answers ---------------------------------------------------------------


def _excerpt(quote: str, doc_id: str = "a.txt") -> Excerpt:
    return Excerpt(
        quote=quote, doc_id=doc_id, title="A", path=doc_id, url=None, author=None, published=None,
        speaker=None, location="paragraph 1", start=0, end=len(quote), score=0.5,
    )  # fmt: skip


def _question(answers: Sequence[str] = ("Black Sea",), doc_id: str = "danube") -> EvalQuestion:
    return EvalQuestion("q", "Where does it flow?", tuple(answers), doc_id)


def _outcome(answer: Answer, ms: float = 10.0) -> Outcome:
    return outcome_of(answer, {"a.txt": "danube", "b.txt": "etna"}, ms)


def test_an_answer_in_the_second_excerpt_counts_for_hit3_not_hit1() -> None:
    answer = Answer(
        question="q", answered=True,
        excerpts=[_excerpt("It flows east.", "b.txt"), _excerpt("It reaches the BLACK SEA at last.")],
    )  # fmt: skip
    outcome = _outcome(answer)
    assert not hit_at(outcome, ["Black Sea"], 1)
    assert hit_at(outcome, ["Black Sea"], 3)
    assert not doc_at_1(outcome, ("danube",))  # the first excerpt is from b.txt, which is "etna"
    assert doc_at_1(outcome, ("etna",))


def test_doc_at_1_maps_source_files_back_to_data_set_ids() -> None:
    outcome = _outcome(Answer(question="q", answered=True, excerpts=[_excerpt("Vienna stands on its banks.")]))
    assert outcome.doc_ids == ("danube",)
    assert doc_at_1(outcome, ("danube",))
    assert not hit_at(outcome, ["Black Sea"], 3)


def test_an_abstained_answerable_question_is_a_miss_even_if_the_nearest_passage_holds_the_answer() -> None:
    answer = Answer(question="q", answered=False, excerpts=[], closest=[_excerpt("the Black Sea")], confidence=0.1)
    outcome = _outcome(answer)
    assert not hit_at(outcome, ["Black Sea"], 1)
    assert not hit_at(outcome, ["Black Sea"], 3)
    assert not doc_at_1(outcome, ("danube",))
    assert outcome.best_quote == "the Black Sea"
    scores = score([_question()], [outcome])
    assert (scores.hit1, scores.hit3, scores.doc1, scores.abstained) == (0.0, 0.0, 0.0, 1.0)


def test_a_refused_question_counts_as_abstained() -> None:
    outcome = outcome_of(None, {}, 1.5)
    assert not outcome.answered
    assert score([_question()], [outcome]).abstained == 1.0


def test_score_arithmetic_over_several_questions() -> None:
    black_sea_first = Answer(question="q", answered=True, excerpts=[_excerpt("the Black Sea"), _excerpt("x")])
    black_sea_second = Answer(question="q", answered=True, excerpts=[_excerpt("x", "b.txt"), _excerpt("Black Sea")])
    black_sea_fourth = Answer(
        question="q", answered=True, excerpts=[_excerpt("x"), _excerpt("y"), _excerpt("z"), _excerpt("Black Sea")]
    )
    abstained = Answer(question="q", answered=False, excerpts=[], closest=[_excerpt("Black Sea")])
    outcomes = [_outcome(a, ms) for a, ms in zip(
        [black_sea_first, black_sea_second, black_sea_fourth, abstained], [10.0, 20.0, 30.0, 40.0], strict=True
    )]  # fmt: skip
    scores = score([_question()] * 4, outcomes)
    assert scores.questions == 4
    assert scores.hit1 == 0.25
    assert scores.hit3 == 0.5  # the fourth excerpt is beyond hit@3
    assert scores.doc1 == 0.5  # first, fourth: a.txt; second: b.txt; abstained: none
    assert scores.abstained == 0.25
    assert scores.p50_ms == 25.0
    assert scores.p95_ms == pytest.approx(38.5)


def test_percentiles_interpolate_between_ranks_like_numpy() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) == 0.0
    rng = np.random.default_rng(3)
    sample = list(rng.exponential(13.0, 257))
    for q in (50, 95):
        assert percentile(sample, q) == pytest.approx(float(np.percentile(sample, q)))


def test_answer_matching_ignores_case_and_whitespace_runs() -> None:
    assert contains_answer("flows into the\nBlack  Sea.", ["black sea"])
    assert not contains_answer("the Black Forest", ["Black Sea", ""])


def test_an_answered_probe_counts_against_abstention() -> None:
    answered = _outcome(Answer(question="p", answered=True, excerpts=[_excerpt("unrelated")]))
    abstained = _outcome(Answer(question="p", answered=False, excerpts=[]))
    result = probe_scores(answerable=[answered, answered, abstained, answered], probes=[answered, abstained])
    assert result.probes == 2
    assert result.probes_abstained == 0.5
    assert result.answerable == 4
    assert result.answerable_answered == 0.75


def test_calibration_tabulates_thresholds_and_picks_the_most_answering_one_that_meets_the_target() -> None:
    def at(confidence: float | None, quote: str = "the Black Sea") -> Outcome:
        return Outcome(answered=True, quotes=(quote,), doc_ids=("danube",), ms=1.0, confidence=confidence,
                       best_quote=quote)  # fmt: skip

    answerable = [(_question(), at(c)) for c in (0.6, 0.5, 0.4)] + [(_question(), at(0.45, "a river"))]
    probes = [at(c) for c in (0.1, 0.2, 0.3, 0.35, 0.42)] + [at(None)]
    result = calibrate(answerable, probes, current=0.2, thresholds=[0.0, 0.3, 0.5], target=0.8)
    assert [(r.threshold, r.probes_abstained, r.answered, r.hit1) for r in result.rows] == [
        (0.0, 1 / 6, 1.0, 0.75),
        (0.3, 3 / 6, 1.0, 0.75),
        (0.5, 1.0, 0.5, 0.5),
    ]
    assert result.current.threshold == 0.2 and result.current.probes_abstained == 2 / 6
    assert result.best is not None
    # 5 of 6 probes abstain once the threshold passes 0.35; 0.36 still answers all four answerable questions.
    assert result.best.threshold == pytest.approx(0.355)
    assert result.best.answered == 1.0
    assert calibrate(answerable, [at(1.0)], current=0.2, target=0.8).best is None  # cosines end at 1


def test_answer_json_leaves_the_confidence_out() -> None:
    answer = Answer(question="q", answered=True, excerpts=[_excerpt("x")], confidence=0.42)
    assert "confidence" not in answer.to_json_dict()


# -- the recipe splitter -----------------------------------------------------------------------------


def test_recursive_split_matches_the_recipe_on_a_small_example() -> None:
    # Worked through LangChain's algorithm by hand: words merged to <= 5 chars with <= 2 chars of overlap.
    assert recursive_split("a b c d e f", chunk_size=5, overlap=2) == ["a b c", "c d", "d e", "e f"]
    assert recursive_split("one\n\ntwo", chunk_size=5, overlap=0) == ["one", "two"]
    assert recursive_split("abcdefgh", chunk_size=3, overlap=1) == ["abc", "cde", "efg", "gh"]


def test_recursive_split_keeps_chunks_within_1000_chars_with_overlap() -> None:
    words = [f"word{i}" for i in range(2000)]
    paragraphs = [" ".join(words[i : i + 150]) for i in range(0, 1500, 150)]  # ~1,100 chars: split on spaces
    text = "\n\n".join(paragraphs) + "\n" + " ".join(words[1500:]) + "\n\n" + "x" * 2500
    chunks = recursive_split(text)
    assert all(0 < len(c) <= 1000 for c in chunks)
    assert "x" * 1000 in chunks  # a word longer than a chunk is cut by characters
    long_paragraph = recursive_split(paragraphs[0] + " " + paragraphs[1])
    assert len(long_paragraph) >= 2
    for before, after in itertools.pairwise(long_paragraph):
        head = after[:150]
        assert head in before, "each chunk starts with the tail of the one before"
        assert len(before) - before.index(head) <= 200  # the overlap never exceeds 200 characters
    covered = " ".join(long_paragraph)
    assert all(w in covered for w in words[:300])


def test_truncate_words_cuts_at_a_word_boundary() -> None:
    assert truncate_words("short", 400) == "short"
    text = "alpha beta gamma delta"
    assert truncate_words(text, 12) == "alpha beta"
    assert truncate_words(text, 11) == "alpha beta"
    assert truncate_words("x" * 20, 5) == "xxxxx"


# -- data and sources --------------------------------------------------------------------------------


def test_sources_get_safe_names_titles_and_a_mapping_back(tiny: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs).mkdir()
    (docs / "stale.txt").write_text("old", "utf-8")
    mapping = write_sources(load_dataset(tiny).documents, docs)
    assert set(mapping.values()) == {"Mount Etna (Sicily)", "Danube/River", "sourdough"}
    assert all("/" not in name and " " not in name and name.endswith(".txt") for name in mapping)
    assert not (docs / "stale.txt").exists()
    etna = next(name for name, doc_id in mapping.items() if doc_id == "Mount Etna (Sicily)")
    assert (docs / etna).read_text("utf-8") == CORPUS[0]["text"]
    assert "title: Mount Etna" in (docs / f"{etna}.meta.yaml").read_text("utf-8")


NEWS_DOC = {
    "doc_id": "rtqa-1",
    "title": "Storm floods the bay",
    "text": "A storm flooded the bay on Tuesday. Ferries stayed in port.",
    "url": "https://www.example-news.com/2023/01/03/storm.html",
    "publish_date": "2023/01/03",
    "authors": ["Ana Ruiz Bo Chen", "Ana Ruiz", "Bo Chen"],
}


def test_sources_carry_the_corpus_metadata_as_a_moderator_would_give_it(tmp_path: Path) -> None:
    folder = _write_set(tmp_path / "news", [NEWS_DOC], [])
    docs = tmp_path / "docs"
    mapping = write_sources(load_dataset(folder).documents, docs)
    (name,) = mapping
    library = Library(make_settings(docs, tmp_path / "index"), embedder=HashEmbedder())
    library.rebuild()
    (source,) = library.sources()
    assert source.url == NEWS_DOC["url"]
    assert source.published == dt.date(2023, 1, 3)
    assert source.author == "Ana Ruiz, Bo Chen"  # the run-together entry is dropped
    assert "outlet: example-news.com" in (docs / f"{name}.meta.yaml").read_text("utf-8")


def test_each_question_is_asked_on_its_own_date_and_nothing_else_of_it_reaches_the_library(
    tmp_path: Path, settings: IndexSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    question = {
        "qid": "n1", "question": "Which ferries stayed in port this week?", "answers": ["Ferries"],
        "doc_id": "rtqa-1", "doc_ids": ["rtqa-1"], "question_date": "2023/01/05", "choices": ["Ferries", "Cars"],
    }  # fmt: skip
    folder = _write_set(tmp_path / "news", [NEWS_DOC], [question])
    seen: list[tuple[str, dict[str, object]]] = []
    real_ask = Library.ask

    def recording_ask(self: Library, text: str, **kwargs: object) -> Answer:
        seen.append((text, kwargs))
        return real_ask(self, text, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Library, "ask", recording_ask)
    run_eval(EvalOptions(data_dir=folder, cache_root=tmp_path / "cache"), settings, embedder=HashEmbedder())
    assert seen and all(kwargs == {"now": dt.date(2023, 1, 5)} for _, kwargs in seen)
    assert {text for text, _ in seen} == {question["question"]}


def test_doc_at_1_counts_any_document_that_holds_the_answer(tmp_path: Path) -> None:
    outcome = _outcome(Answer(question="q", answered=True, excerpts=[_excerpt("Vienna stands on its banks.")]))
    assert doc_at_1(outcome, ("etna", "danube"))
    assert not doc_at_1(outcome, ("etna",))


def test_a_folder_without_the_files_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EvalError, match=r"corpus\.jsonl"):
        load_dataset(tmp_path)


# -- whole runs --------------------------------------------------------------------------------------


def test_whole_eval_on_a_tiny_set(tiny: Path, other: Path, tmp_path: Path, settings: IndexSettings) -> None:
    options = EvalOptions(
        data_dir=tiny, cache_root=tmp_path / "cache", baselines=True, unanswerable_dir=other, min_score=0.3
    )
    report = run_eval(options, settings, embedder=RecordingEmbedder())
    assert report.documents == 3
    assert report.scores.questions == 3
    assert report.scores.doc1 == 1.0
    assert report.scores.hit3 == 1.0
    assert report.scores.p95_ms >= report.scores.p50_ms > 0
    assert report.baselines is not None and set(report.baselines) == {"recipe", "bm25", "dense"}
    assert report.baselines["bm25"].hit1 == 1.0  # each question shares its rare words with its answer
    assert all(s.questions == 3 for s in report.baselines.values())
    assert report.probes is not None and report.probes.probes == 1
    assert report.probes.probes_abstained == 1.0
    summary = report.to_json_dict()
    for key in ("hit@1", "hit@3", "doc@1", "abstained", "p50_ms", "p95_ms", "questions", "index_s"):
        assert key in summary
    assert summary["unanswerable"]["abstained"] == 1.0
    assert set(summary["baselines"]["recipe"]) >= {"hit@1", "hit@3", "doc@1", "p50_ms"}
    assert len(report.details) == 4 and report.details[-1]["probe"]
    table = terminal.render_eval(report)
    assert "OnRecord" in table and "recipe" in table and "probes" in table


def test_second_run_reuses_the_cached_index_and_vectors(tiny: Path, tmp_path: Path, settings: IndexSettings) -> None:
    options = EvalOptions(data_dir=tiny, cache_root=tmp_path / "cache", baselines=True)
    first_embedder = RecordingEmbedder()
    first = run_eval(options, settings, embedder=first_embedder)
    assert first.embedded > 0
    corpus_texts = set(first_embedder.texts) - {q["question"] for q in QUESTIONS}
    assert corpus_texts, "the first run embeds sentences, chunks and recipe chunks"

    again = RecordingEmbedder()
    second = run_eval(options, settings, embedder=again)
    assert second.embedded == 0
    assert second.cache_dir == first.cache_dir
    assert not set(again.texts) & corpus_texts, "no corpus text is embedded twice"
    assert set(again.texts) <= {q["question"] for q in QUESTIONS}  # only the timed questions
    assert (second.scores.hit1, second.scores.hit3, second.scores.doc1) == (
        first.scores.hit1, first.scores.hit3, first.scores.doc1,
    )  # fmt: skip


def test_holdout_indexes_the_first_documents_and_probes_with_the_rest(
    tiny: Path, tmp_path: Path, settings: IndexSettings
) -> None:
    options = EvalOptions(data_dir=tiny, cache_root=tmp_path / "cache", holdout=0.34, calibrate=True)
    report = run_eval(options, settings, embedder=RecordingEmbedder())
    assert report.documents == 2
    assert report.scores.questions == 2
    assert report.probes is not None and report.probes.probes == 1
    assert report.calibration is not None
    assert [r.threshold for r in report.calibration.rows][:3] == [0.0, 0.05, 0.1]
    assert "Calibration" in terminal.render_eval(report)


def test_calibration_without_probes_is_refused(tiny: Path, tmp_path: Path, settings: IndexSettings) -> None:
    with pytest.raises(EvalError, match="probes"):
        run_eval(
            EvalOptions(data_dir=tiny, cache_root=tmp_path / "c", calibrate=True), settings, embedder=HashEmbedder()
        )


def test_cli_eval_prints_one_json_object_and_writes_details(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("evaluation.answers.load_embedder", lambda settings: RecordingEmbedder())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ONRECORD_MIN_SCORE", "0.2")
    out = tmp_path / "details.jsonl"
    code = onrecord.main(
        ["eval", str(tiny), "--json", "--limit", "2", "--index-cache", str(tmp_path / "c"), "--out", str(out)]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["questions"] == 2
    assert "baselines" not in summary
    assert [json.loads(line)["qid"] for line in out.read_text("utf-8").splitlines()] == ["q1", "q2"]


def test_cli_eval_reports_a_missing_folder_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert onrecord.main(["eval", str(tmp_path / "nowhere")]) == onrecord.EXIT_ERROR
    assert "corpus.jsonl" in capsys.readouterr().err


def test_dense_baseline_ranks_sentences_by_exact_cosine(tiny: Path, tmp_path: Path) -> None:
    from evaluation.answers import SentenceBaselines
    from index import Library

    embedder = HashEmbedder(dim=512)
    docs = tmp_path / "docs"
    mapping = write_sources(load_dataset(tiny).documents, docs)
    library = Library(make_settings(docs, tmp_path / "index"), embedder=embedder)
    library.rebuild()
    generation = library.generation()
    baselines = SentenceBaselines(generation, mapping, budget=400)
    vector = embedder.embed(["Which sea does the Danube reach?"])[0]
    texts, owners = baselines.dense(vector)
    assert owners[0] == "Danube/River" and "Black Sea" in texts[0]
    cosines = generation.vectors("sentences", 0, generation.n_sentences) @ vector
    expected = [baselines.texts[i] for i in np.argsort(-cosines, kind="stable")[: len(texts)]]
    assert list(texts) == expected


def test_limit_and_sample_pick_deterministic_questions(tiny: Path, tmp_path: Path, settings: IndexSettings) -> None:
    from evaluation.answers import select

    questions = load_dataset(tiny).questions
    assert [q.qid for q in select(questions, limit=2, sample=None, seed=0)] == ["q1", "q2"]
    sampled = select(questions, limit=None, sample=2, seed=7)
    assert sampled == select(questions, limit=None, sample=2, seed=7)
    assert [q.qid for q in sampled] == sorted(q.qid for q in sampled)  # kept in file order
    with pytest.raises(EvalError, match="--limit"):
        run_eval(EvalOptions(data_dir=tiny, cache_root=tmp_path / "c", limit=0), settings, embedder=HashEmbedder())
