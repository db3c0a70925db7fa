"""The `onrecord` console script, run as a user runs it: a subprocess with the real bundled model.

Each run loads the model (seconds), so the module builds its index once, through the first `ask`
(which must build it because none exists); the later commands then run at the same time, as they
may on a server (a rebuild while questions are answered), and are checked one by one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import DOCS

ONRECORD = Path(sys.executable).parent / "onrecord"
SEED_ID = "2022-09-01-mexican-cartels-fentanyl.txt"
CARTELS = "What do the cartels need to make fentanyl?"
OFF_TOPIC = "How do I bake sourdough bread?"
# Run together once the index exists.
LATER = {
    "index": ("index",),
    "off-topic": ("ask", OFF_TOPIC, "--json"),
    "sources": ("sources", "--json"),
    "speaker": ("ask", CARTELS, "--speaker", "DHILLON", "--json"),
    "about-a-person": ("ask", "What has Felbab-Brown said?"),
    "speakers": ("speakers", "--json"),
    "quotes": ("quotes", "maltz"),
    "who-said": ("who-said", "“They just need precursor chemicals,” Maltz said.", "--json"),
    "who-said-nothing": ("who-said", "Sourdough needs a long, slow rise overnight"),
}
EXCERPT_KEYS = {
    "quote", "doc_id", "title", "path", "url", "author", "published", "speaker", "location", "start", "end", "score",
}  # fmt: skip


@dataclass(frozen=True)
class Workspace:
    """A copy of docs/ (plus a broken PDF), an index folder, and the environment that points at them."""

    root: Path
    docs: Path
    index: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.start(*args).result()

    def start(self, *args: str) -> Running:
        command = [str(ONRECORD), *args]
        process = subprocess.Popen(
            command, cwd=self.root, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        return Running(command, process)


@dataclass(frozen=True)
class Running:
    """A command started in the background."""

    command: list[str]
    process: subprocess.Popen[str]

    def result(self) -> subprocess.CompletedProcess[str]:
        try:
            stdout, stderr = self.process.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        return subprocess.CompletedProcess(self.command, self.process.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("cli")
    docs = root / "docs"
    shutil.copytree(DOCS, docs)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\n\x00\x01\x02 not a PDF at all \xff")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONRECORD_", "DISCORD_"))}
    env |= {"ONRECORD_DOCS_DIR": str(docs), "ONRECORD_INDEX_DIR": str(root / "index")}
    return Workspace(root, docs, root / "index", env)


@pytest.fixture(scope="module")
def first_ask(workspace: Workspace) -> subprocess.CompletedProcess[str]:
    """The first command run: an `ask` with no index yet."""
    assert not workspace.index.exists()
    return workspace.run("ask", CARTELS, "--json")


@pytest.fixture(scope="module")
def later(
    workspace: Workspace, first_ask: subprocess.CompletedProcess[str]
) -> dict[str, subprocess.CompletedProcess[str]]:
    """The commands run after the first, all at once (each waits seconds for the model)."""
    running = {name: workspace.start(*args) for name, args in LATER.items()}
    return {name: job.result() for name, job in running.items()}


def one_json_object(stdout: str) -> dict[str, object]:
    lines = stdout.strip().splitlines()
    assert len(lines) == 1, stdout
    data = json.loads(lines[0])
    assert isinstance(data, dict)
    return data


def test_ask_builds_the_index_first_and_prints_one_json_answer(
    workspace: Workspace, first_ask: subprocess.CompletedProcess[str]
) -> None:
    assert first_ask.returncode == 0, first_ask.stderr
    assert "No index yet" in first_ask.stderr
    assert (workspace.index / "CURRENT").is_file()

    answer = one_json_object(first_ask.stdout)

    assert set(answer) == {"question", "answered", "excerpts"}
    assert answer["question"] == CARTELS
    assert answer["answered"] is True
    excerpts = answer["excerpts"]
    assert isinstance(excerpts, list) and 1 <= len(excerpts) <= 3
    for excerpt in excerpts:
        assert set(excerpt) == EXCERPT_KEYS
        text = (workspace.docs / excerpt["doc_id"]).read_bytes().decode("utf-8")
        assert excerpt["quote"] == text[excerpt["start"] : excerpt["end"]]
    first = excerpts[0]
    assert "precursor chemicals" in first["quote"]
    assert "Dhillon" in first["speaker"]
    assert (first["doc_id"], first["author"], first["published"]) == (SEED_ID, "Fox News", "2022-09-01")


def test_an_off_topic_question_is_not_answered(later: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = later["off-topic"]

    assert result.returncode == 0, result.stderr
    assert "No index yet" not in result.stderr
    assert one_json_object(result.stdout) == {
        "question": OFF_TOPIC,
        "answered": False,
        "excerpts": [],
    }


def test_index_prints_a_summary_naming_each_skipped_file_with_its_reason(
    later: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = later["index"]

    assert result.returncode == 0, result.stderr
    summary = result.stdout
    assert re.search(r"^Indexed 1 documents, [1-9]\d* chunks", summary, re.MULTILINE), summary
    assert "1 unchanged; 0 texts embedded" in summary
    assert "Skipped 1:" in summary
    assert "broken.pdf: it is not a readable PDF" in summary
    assert "Traceback" not in result.stderr
    assert " DEBUG " not in result.stderr  # bm25s logs each build at DEBUG unless quietened


def test_sources_lists_the_indexed_documents_as_json(later: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = later["sources"]

    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["doc_id"] for row in rows] == [SEED_ID]
    seed = rows[0]
    assert seed["title"] == "Mexican cartels ramp up fentanyl production"
    assert (seed["author"], seed["published"]) == ("Fox News", "2022-09-01")
    assert seed["chars"] == len((DOCS / SEED_ID).read_text("utf-8"))
    assert seed["sentences"] > 30 and seed["chunks"] >= 1


@pytest.mark.parametrize("question", ["", "   ", "\u200b"], ids=["empty", "blank", "zero-width"])
def test_an_empty_question_fails_with_one_line_and_no_traceback(workspace: Workspace, question: str) -> None:
    result = workspace.run("ask", question)

    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("onrecord: ") and "question" in lines[0]
    assert "Traceback" not in result.stderr


def test_ask_with_a_speaker_quotes_only_that_person(
    workspace: Workspace, later: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    result = later["speaker"]

    assert result.returncode == 0, result.stderr
    answer = one_json_object(result.stdout)
    assert (answer["speaker"], answer["speakers"], answer["answered"]) == ("Uttam Dhillon", ["Uttam Dhillon"], True)
    excerpts = answer["excerpts"]
    assert isinstance(excerpts, list) and excerpts
    assert any("precursor chemicals" in e["quote"] for e in excerpts)
    for excerpt in excerpts:
        assert excerpt["speaker"] == "Uttam Dhillon"
        text = (workspace.docs / excerpt["doc_id"]).read_bytes().decode("utf-8")
        assert excerpt["quote"] == text[excerpt["start"] : excerpt["end"]]


def test_a_question_about_a_person_quotes_them(later: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = later["about-a-person"]

    assert result.returncode == 0, result.stderr
    assert "Quoting Wanda Felbab-Brown only." in result.stdout
    attributions = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("— ")]
    assert len(attributions) == 3
    assert all(line.startswith("— Wanda Felbab-Brown · ") for line in attributions)
    assert "Dhillon said" not in result.stdout


def test_speakers_and_quotes(later: dict[str, subprocess.CompletedProcess[str]]) -> None:
    speakers, quotes = later["speakers"], later["quotes"]

    assert speakers.returncode == 0 and quotes.returncode == 0, speakers.stderr + quotes.stderr
    people = {row["name"]: row for row in json.loads(speakers.stdout)}
    assert {"Uttam Dhillon", "Derek Maltz", "Wanda Felbab-Brown"} <= set(people)
    assert people["Uttam Dhillon"]["quotes"] == max(p["quotes"] for p in people.values())
    assert quotes.stdout.startswith("Quotes of Derek Maltz (1)")
    assert "Mexican cartels run a global enterprise." in quotes.stdout


def test_who_said_names_the_speaker_and_corrects_the_claim(
    later: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    found, nothing = later["who-said"], later["who-said-nothing"]

    assert found.returncode == 0 and nothing.returncode == 0, found.stderr + nothing.stderr
    result = one_json_object(found.stdout)
    assert result["claimed"] == "Maltz"
    [match] = result["matches"]
    assert match["claim_agrees"] is False
    assert match["excerpt"]["speaker"] == "Uttam Dhillon" and match["excerpt"]["published"] == "2022-09-01"
    assert match["excerpt"]["quote"] == "“They just need precursor chemicals,” Dhillon said."
    assert "The sources hold no such quote." in nothing.stdout
