"""`onrecord eval-speakers`: name matching, the vote over sentences, the baseline, and a whole run on made-up data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli import main as onrecord
from evaluation.answers import EvalError
from evaluation.speakers import (
    baseline_speaker,
    exact_matches,
    false_attributions,
    half_of,
    name_words,
    predicted_speaker,
    run_speaker_eval,
    surname_matches,
)
from index.models import Sentence, Span

# -- matching ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("predicted", "gold"),
    [
        ("Clinton", "Hillary Clinton"),
        ("Sen. Ted Cruz", "Cruz"),
        ("Trump’s", "Donald Trump"),
        ("Martin Luther King Jr.", "King"),
        ("JOHN MICA", "Mica"),
    ],
)
def test_the_last_word_decides_a_surname_match(predicted: str, gold: str) -> None:
    assert surname_matches(predicted, [gold])


@pytest.mark.parametrize(("predicted", "gold"), [("Bill Clinton", "Chelsea Roe"), ("Tuesday", "Jones"), ("", "X")])
def test_other_surnames_do_not_match(predicted: str, gold: str) -> None:
    assert not surname_matches(predicted, [gold])


def test_exact_needs_the_whole_name_but_ignores_titles_and_case() -> None:
    assert exact_matches("Sen. Marco Rubio", "marco rubio")
    assert not exact_matches("Rubio", "Marco Rubio")
    assert not exact_matches("Marco Rubio", None)


def test_a_title_alone_is_kept_as_the_name() -> None:
    assert name_words("Mr.") == ["mr"]
    assert name_words("the") == ["the"]


def test_a_leading_article_is_ignored_as_the_gold_drops_it() -> None:
    assert name_words("the spokesman") == ["spokesman"]
    assert exact_matches("a New Hampshire Democrat", "New Hampshire Democrat")
    assert exact_matches("the New York Times", "New York Times")
    assert exact_matches("another New Hampshire Democrat", "New Hampshire Democrat")
    assert not exact_matches("a New Hampshire Democrat", "New Hampshire Republican")


# -- the vote over sentences -----------------------------------------------------------------------


def test_the_speaker_of_most_quoted_characters_wins() -> None:
    sents = [Sentence(0, 10, 0, "Ana Ruiz"), Sentence(11, 40, 0, "Tom Baker"), Sentence(41, 50, 0, None)]
    assert predicted_speaker([(0, 10), (11, 40)], sents) == "Tom Baker"


def test_a_quotation_mostly_in_sentences_without_a_speaker_is_unattributed() -> None:
    sents = [Sentence(0, 10, 0, "Ana Ruiz"), Sentence(11, 60, 0, None)]
    assert predicted_speaker([(0, 60)], sents) is None


def test_false_attributions_count_only_speakers_outside_every_quotation() -> None:
    sents = [Sentence(0, 10, 0, "A"), Sentence(11, 20, 0, "B"), Sentence(21, 30, 0, None)]
    assert false_attributions(sents, [(5, 8)]) == 1
    assert false_attributions(sents, []) == 2


def test_the_baseline_takes_the_nearest_capitalised_name_outside_the_quotation() -> None:
    text = "Tom Baker spoke first. “We Will Win This,” said Ana Ruiz. The End came."
    start = text.index("“")
    end = text.index("”") + 1
    assert baseline_speaker(text, Span(0, len(text)), [(start, end)]) == "Ana Ruiz"


def test_halves_are_fixed_by_the_id_and_hold_both_kinds() -> None:
    halves = [half_of(f"doc-{n}") for n in range(200)]
    assert halves == [half_of(f"doc-{n}") for n in range(200)]
    assert 60 < halves.count("fit") < 140


# -- a whole run -----------------------------------------------------------------------------------

TEXT_A = (
    "Mayor Ana Ruiz opened the bridge on Monday.\n\n"
    "“We will rebuild every road before the spring floods,” Ruiz said.\n\n"
    "The council voted on the budget later that week."
)
TEXT_B = "“Nobody told the ferry workers about the new timetable,” said Tom Baker, a union official."


def _quote(doc_id: str, text: str, source: str, names: list[str], full: str, kind: str = "direct") -> dict[str, Any]:
    start = text.index("“")
    end = text.index("”") + 1
    return {
        "doc_id": doc_id, "kind": kind, "quote_frags": [[start, end]], "gold_name_from": source,
        "gold_names": names, "gold_full_name": full,
    }  # fmt: skip


@pytest.fixture
def data(tmp_path: Path) -> Path:
    docs = [{"doc_id": "a", "title": "A", "text": TEXT_A}, {"doc_id": "b", "title": "B", "text": TEXT_B}]
    quotes = [
        _quote("a", TEXT_A, "span", ["Ruiz"], "Ana Ruiz"),
        _quote("b", TEXT_B, "span", ["Tom Baker"], "Tom Baker"),
    ]
    (tmp_path / "docs.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs), "utf-8")
    (tmp_path / "quotations.jsonl").write_text("".join(json.dumps(q) + "\n" for q in quotes), "utf-8")
    return tmp_path


def test_a_run_scores_the_index_path_and_the_baseline(data: Path) -> None:
    figures = run_speaker_eval(data).to_json_dict()
    assert figures["coverage"] == 1.0
    assert figures["accuracy"] == 1.0
    assert figures["exact"] == 1.0  # "Ruiz" expanded from the earlier "Ana Ruiz"
    assert figures["false_per_1000"] == 0.0
    assert figures["by_source"]["named"]["quotations"] == 2
    assert figures["baseline"]["coverage"] == 1.0


def test_a_split_keeps_only_its_half(data: Path) -> None:
    fit, test = run_speaker_eval(data, "fit"), run_speaker_eval(data, "test")
    assert fit.documents + test.documents == 2
    assert {half_of("a"), half_of("b")} == {h for h, r in (("fit", fit), ("test", test)) if r.documents}


def test_the_cli_prints_one_json_object(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert onrecord.main(["eval-speakers", str(data), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert {"coverage", "accuracy", "exact", "false_per_1000", "by_source", "baseline"} <= set(figures)


def test_a_folder_without_the_files_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(EvalError, match=r"docs\.jsonl"):
        run_speaker_eval(tmp_path)
    assert onrecord.main(["eval-speakers", str(tmp_path)]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_the_cli_table_shows_both_methods_and_the_false_rate(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert onrecord.main(["eval-speakers", str(data), "--split", "all"]) == 0
    out = capsys.readouterr().out
    assert "OnRecord   named" in out and "baseline   named" in out
    assert "per 1,000 sentences" in out
