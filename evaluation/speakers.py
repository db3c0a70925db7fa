"""`onrecord eval-speakers`: how often the index names the right speaker of a direct quotation.

The data is a folder with ``docs.jsonl`` (``{"doc_id", "title", "text", ...}`` a line) and
``quotations.jsonl`` (human-annotated quotations: ``doc_id``, ``kind``, ``quote_frags``, the gold speaker
``gold_names`` / ``gold_full_name`` and ``gold_name_from``), as PolNeAR is laid out in
``shared/eval/README.md``. Every document goes through `build.attributed_sentences`, the path an index
build takes (paragraphs, sentences, `attribution.speakers`); no model is loaded.

A quotation's predicted speaker is the one the index gives to most of its characters (a sentence with no
speaker votes for nobody). Scores, for ``kind == "direct"`` quotations:

- ``coverage``: the share that get a speaker;
- ``accuracy``: among those attributed whose gold speaker is a name, the share whose last word matches
  the last word of a gold name (case, titles, suffixes and possessives ignored; the README's rule);
- ``exact``: the same share, when the whole name must equal the gold full name (a leading article
  or determiner ignored too: the gold writes "New Hampshire Democrat" for "another New Hampshire Democrat");
- ``right``: the share of all checkable quotations (gold is a name) that are attributed and match;
- ``false_per_1000``: sentences given a speaker that overlap no annotated quotation (direct or mixed),
  per 1,000 sentences.

Groups by ``gold_name_from``: ``named`` (span, span-proper), ``pronoun`` (corenlp-coref,
unresolved-pronoun: the latter's gold is the bare pronoun, so it counts for coverage only), ``nominal``
(span-nominal: "the spokesman") and ``other`` (no gold speaker, annotation errors; counted for coverage).
The baseline names, for each annotated quotation, the capitalised run of words in its paragraph nearest
to it outside its quotation marks: it is told where the quotations are, which the index is not.

Articles split in two halves by a hash of ``doc_id`` (``fit``: the rules are chosen on these; ``test``:
held out), so no figure is tuned to single articles.
"""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from index import segment
from index.build import attributed_sentences
from index.models import Document, Sentence, Span

from .answers import EvalError, read_jsonl

Split = Literal["fit", "test", "all"]
SPLITS: tuple[Split, ...] = ("fit", "test", "all")
GROUPS = ("named", "pronoun", "nominal", "other")
_GROUP_OF = {
    "span": "named",
    "span-proper": "named",
    "corenlp-coref": "pronoun",
    "unresolved-pronoun": "pronoun",
    "span-nominal": "nominal",
}
_PRONOUNS = {"he", "she", "they", "i", "we", "it", "you", "him", "her", "them", "his", "its", "their"}
_TITLES = {
    "mr", "mrs", "ms", "miss", "dr", "prof", "professor", "sen", "senator", "rep", "representative", "gov",
    "governor", "gen", "general", "president", "rev", "reverend", "sir", "lt", "col", "capt", "sgt", "judge",
    "justice", "secretary", "speaker", "mayor", "former",
}  # fmt: skip
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}
_ARTICLES = {"a", "an", "the", "another", "one"}  # the determiners the gold names drop from their spans
_APOSTROPHES = "’'"


# -- data ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldQuotation:
    """One annotated direct quotation and its gold speaker."""

    doc_id: str
    frags: tuple[tuple[int, int], ...]  # character offsets in the document's text, marks included
    group: str  # one of GROUPS
    names: tuple[str, ...]  # gold names (empty when there is no gold speaker)
    full_name: str | None
    checkable: bool  # the gold is a name, so a prediction can be scored


@dataclass(frozen=True)
class AttributionSet:
    """Documents, their scored quotations, and every annotated quotation span (direct or mixed)."""

    name: str
    documents: list[Document]
    quotations: list[GoldQuotation]
    quoted: dict[str, list[tuple[int, int]]]


def half_of(doc_id: str) -> Literal["fit", "test"]:
    """The half an article belongs to, fixed by a hash of its id (not by file order)."""
    return "fit" if hashlib.sha256(doc_id.encode("utf-8")).digest()[0] % 2 == 0 else "test"


def load_attribution_set(folder: Path, split: Split = "all") -> AttributionSet:
    """Read ``docs.jsonl`` and ``quotations.jsonl``, keeping the articles of ``split``. Raises `EvalError`."""
    docs_path, quotes_path = folder / "docs.jsonl", folder / "quotations.jsonl"
    for path in (docs_path, quotes_path):
        if not path.is_file():
            raise EvalError(f"{path} does not exist: an attribution set holds docs.jsonl and quotations.jsonl.")
    documents = [
        Document(doc_id=str(row["doc_id"]), text=str(row["text"]), title=str(row.get("title") or row["doc_id"]))
        for row in read_jsonl(docs_path.read_bytes(), docs_path, ("doc_id", "text"))
        if split == "all" or half_of(str(row["doc_id"])) == split
    ]
    texts = {doc.doc_id: doc.text for doc in documents}
    quotations: list[GoldQuotation] = []
    quoted: dict[str, list[tuple[int, int]]] = {doc.doc_id: [] for doc in documents}
    for row in read_jsonl(quotes_path.read_bytes(), quotes_path, ("doc_id", "kind", "quote_frags")):
        doc_id = str(row["doc_id"])
        if doc_id not in texts:
            continue
        frags = tuple((int(a), int(b)) for a, b in row["quote_frags"])
        if any(not 0 <= a < b <= len(texts[doc_id]) for a, b in frags):
            raise EvalError(f"{quotes_path}: a quotation of {doc_id} lies outside its text.")
        quoted[doc_id].extend(frags)
        if row["kind"] == "direct":
            quotations.append(_gold(doc_id, frags, row))
    return AttributionSet(folder.name, documents, quotations, quoted)


def _gold(doc_id: str, frags: tuple[tuple[int, int], ...], row: Mapping[str, Any]) -> GoldQuotation:
    source = row.get("gold_name_from")
    group = _GROUP_OF.get(str(source), "other")
    names = tuple(str(n) for n in row.get("gold_names") or ())
    full = row.get("gold_full_name")
    # an unresolved pronoun's gold is the pronoun itself: no name to check a prediction against
    checkable = group != "other" and bool(names) and not all(n.casefold() in _PRONOUNS for n in names)
    return GoldQuotation(doc_id, frags, group, names, str(full) if full else None, checkable)


# -- matching --------------------------------------------------------------------------------------


def name_words(name: str) -> list[str]:
    """The words of a name as compared: NFKC, case-folded, possessives, titles and suffixes dropped."""
    text = unicodedata.normalize("NFKC", name).casefold().replace("’", "'")
    words = [w.strip('.,;:()[]"“”') for w in text.split()]
    words = [re.sub(r"'s?$", "", w) for w in words]
    words = [w for w in words if w and w.rstrip(".") not in _SUFFIXES]
    # the gold drops a phrase's article ("New York Times" for "the New York Times"), as it drops titles
    while len(words) > 1 and (words[0].rstrip(".") in _TITLES or words[0] in _ARTICLES):
        words = words[1:]
    return words


def surname_matches(predicted: str, gold_names: Sequence[str]) -> bool:
    """The README's rule: the predicted name's last word equals the last word of a gold name."""
    mine = name_words(predicted)
    if not mine:
        return False
    return any((words := name_words(gold)) and words[-1] == mine[-1] for gold in gold_names)


def exact_matches(predicted: str, full_name: str | None) -> bool:
    """The whole predicted name equals the gold full name (case, titles, suffixes, possessives ignored)."""
    return full_name is not None and bool(name_words(predicted)) and name_words(predicted) == name_words(full_name)


# -- predictions -----------------------------------------------------------------------------------


def predicted_speaker(frags: Sequence[tuple[int, int]], sentences: Sequence[Sentence]) -> str | None:
    """The speaker the sentences give to most of the quotation's characters (nobody counts as a choice)."""
    votes: dict[str | None, int] = {}
    for sent in sentences:
        for start, end in frags:
            overlap = min(end, sent.end) - max(start, sent.start)
            if overlap > 0:
                votes[sent.speaker] = votes.get(sent.speaker, 0) + overlap
    if not votes:
        return None
    return max(votes.items(), key=lambda item: (item[1], item[0] is not None))[0]


# a capitalised word, or an abbreviation such as "Sen." or "J." (a longer word's full stop ends the sentence)
_CAPITALISED = r"(?:[A-Z][a-z]{0,2}\.|[A-Z][\w’'\-]*)"
_CAPITALISED_RUN = re.compile(rf"{_CAPITALISED}(?:\s+{_CAPITALISED})*")
_FUNCTION_WORDS = {
    "The", "A", "An", "He", "She", "They", "It", "We", "I", "You", "But", "And", "In", "On", "At", "As", "If",
    "This", "That", "His", "Her", "Their", "Its", "Our", "When", "While", "After", "Before", "For", "So", "Yet",
    "Or", "Then", "There", "What", "Who", "Why", "How", "Mr.", "Mrs.", "Ms.", "Dr.",
}  # fmt: skip


def baseline_speaker(text: str, paragraph: Span, frags: Sequence[tuple[int, int]]) -> str | None:
    """Naive: the capitalised run of words in the paragraph nearest to the quotation, outside it."""
    chars = list(text[paragraph.start : paragraph.end])
    for start, end in frags:
        for k in range(max(start, paragraph.start), min(end, paragraph.end)):
            chars[k - paragraph.start] = " "
    narration = "".join(chars)
    first, last = frags[0][0], frags[-1][1]
    best: tuple[int, str] | None = None
    for match in _CAPITALISED_RUN.finditer(narration):
        words = match.group().split()
        while words and words[0] in _FUNCTION_WORDS:
            words = words[1:]
        if not words:
            continue
        start, end = paragraph.start + match.start(), paragraph.start + match.end()
        distance = max(start - last, first - end, 0)
        if best is None or distance < best[0]:
            best = (distance, " ".join(words).rstrip(".,"))
    return best[1] if best else None


# -- scoring ---------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Counts for one group of quotations; the rates are derived from them."""

    quotations: int = 0
    attributed: int = 0
    checkable: int = 0
    checked: int = 0  # attributed and checkable
    surname: int = 0
    exact: int = 0

    def add(self, gold: GoldQuotation, predicted: str | None) -> None:
        self.quotations += 1
        self.checkable += gold.checkable
        if predicted is None:
            return
        self.attributed += 1
        if gold.checkable:
            self.checked += 1
            self.surname += surname_matches(predicted, [*gold.names, *([gold.full_name] if gold.full_name else [])])
            self.exact += exact_matches(predicted, gold.full_name)

    def rates(self) -> dict[str, float | int | None]:
        return {
            "quotations": self.quotations,
            "coverage": _ratio(self.attributed, self.quotations),
            "accuracy": _ratio(self.surname, self.checked),
            "exact": _ratio(self.exact, self.checked),
            "right": _ratio(self.surname, self.checkable),
        }


def _ratio(part: int, whole: int) -> float | None:
    """A share, or None where nothing could be counted (no quotation with a name to check against)."""
    return round(part / whole, 4) if whole else None


@dataclass
class SpeakerReport:
    """What `run_speaker_eval` measured, for one split."""

    data: str
    split: Split
    documents: int
    sentences: int
    overall: Tally = field(default_factory=Tally)
    groups: dict[str, Tally] = field(default_factory=lambda: {g: Tally() for g in GROUPS})
    baseline: Tally = field(default_factory=Tally)
    baseline_groups: dict[str, Tally] = field(default_factory=lambda: {g: Tally() for g in GROUPS})
    false_attributions: int = 0
    attribution_ms_per_doc: float = 0.0
    misses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def false_per_1000(self) -> float:
        return round(1000 * self.false_attributions / self.sentences, 2) if self.sentences else 0.0

    def to_json_dict(self) -> dict[str, Any]:
        overall = self.overall.rates()
        base = self.baseline.rates()
        return {
            "data": self.data,
            "split": self.split,
            "documents": self.documents,
            "sentences": self.sentences,
            "quotations": overall["quotations"],
            "coverage": overall["coverage"],
            "accuracy": overall["accuracy"],
            "exact": overall["exact"],
            "right": overall["right"],
            "false_per_1000": self.false_per_1000,
            "false_attributions": self.false_attributions,
            "by_source": {g: t.rates() for g, t in self.groups.items()},
            "baseline": {
                **{k: base[k] for k in ("coverage", "accuracy", "exact", "right")},
                "by_source": {g: t.rates() for g, t in self.baseline_groups.items()},
            },
            "attribution_ms_per_doc": round(self.attribution_ms_per_doc, 3),
        }


def false_attributions(sentences: Sequence[Sentence], quoted: Sequence[tuple[int, int]]) -> int:
    """Sentences given a speaker that overlap no annotated quotation."""
    return sum(
        1
        for s in sentences
        if s.speaker is not None and not any(a < s.end and s.start < b for a, b in quoted)
    )  # fmt: skip


def run_speaker_eval(folder: Path, split: Split = "all", *, keep_misses: bool = False) -> SpeakerReport:
    """Attribute every document of the split as a build does and score it against the annotations."""
    data = load_attribution_set(folder, split)
    by_doc: dict[str, list[GoldQuotation]] = {doc.doc_id: [] for doc in data.documents}
    for gold in data.quotations:
        by_doc[gold.doc_id].append(gold)
    report = SpeakerReport(data.name, split, len(data.documents), 0)
    spent = 0.0
    for doc in data.documents:
        started = time.perf_counter()
        sentences = attributed_sentences(doc)
        spent += time.perf_counter() - started
        paras = segment.paragraphs(doc)
        report.sentences += len(sentences)
        report.false_attributions += false_attributions(sentences, data.quoted[doc.doc_id])
        for gold in by_doc[doc.doc_id]:
            predicted = predicted_speaker(gold.frags, sentences)
            report.overall.add(gold, predicted)
            report.groups[gold.group].add(gold, predicted)
            paragraph = next((p for p in paras if p.start <= gold.frags[0][0] < p.end), None)
            guess = baseline_speaker(doc.text, paragraph, gold.frags) if paragraph else None
            report.baseline.add(gold, guess)
            report.baseline_groups[gold.group].add(gold, guess)
            if keep_misses and gold.checkable and not (predicted and surname_matches(predicted, gold.names)):
                report.misses.append(_miss(doc, gold, predicted))
    report.attribution_ms_per_doc = 1000 * spent / len(data.documents) if data.documents else 0.0
    return report


def _miss(doc: Document, gold: GoldQuotation, predicted: str | None) -> dict[str, Any]:
    start, end = gold.frags[0][0], gold.frags[-1][1]
    return {
        "doc_id": doc.doc_id,
        "group": gold.group,
        "gold": gold.full_name,
        "predicted": predicted,
        "context": doc.text[max(0, start - 200) : end + 200],
    }
