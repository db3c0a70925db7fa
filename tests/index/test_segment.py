"""Segmentation: paragraphs, sentences and chunks as exact character offsets into a document's text.

Besides examples, a property test generates many messy documents (abbreviations, quotes, blank lines,
unicode, furniture, page breaks) and checks the invariants every later stage relies on.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.loaders import load_document
from index.models import Chunk, Document, Sentence, Span
from index.segment import chunks, paragraphs, sentences
from tests.conftest import DOCS
from tests.fakes import HashEmbedder

SEED_NAME = "2022-09-01-mexican-cartels-fentanyl.txt"
SEED_FURNITURE = "date 2022-09-01 New You can listen to Fox News articles now!"
count_tokens = HashEmbedder().count_tokens


def doc_of(text: str, furniture: Sequence[str] = (), page_starts: Sequence[int] = ()) -> Document:
    spans = sorted((m.start(), m.end()) for f in furniture for m in re.finditer(re.escape(f), text))
    return Document("doc.txt", text, "Doc", furniture=tuple(spans), page_starts=tuple(page_starts))


def sentence_texts(text: str) -> list[str]:
    doc = doc_of(text)
    return [text[s.start : s.end] for s in sentences(doc)]


# -- sentences -----------------------------------------------------------------------------------


def test_titles_abbreviations_and_initials_do_not_end_sentences() -> None:
    text = (
        "Dr. Jane Smith arrived at 9 a.m. on Monday. She met officials of the U.S. Coast Guard. "
        "J. R. R. Tolkien was mentioned, e.g. in passing. Mr. and Mrs. Smith left for Washington, D.C. in May."
    )
    assert sentence_texts(text) == [
        "Dr. Jane Smith arrived at 9 a.m. on Monday.",
        "She met officials of the U.S. Coast Guard.",
        "J. R. R. Tolkien was mentioned, e.g. in passing.",
        "Mr. and Mrs. Smith left for Washington, D.C. in May.",
    ]


def test_curly_quotes_stay_with_their_sentence() -> None:
    text = "“We will rebuild the bridge,” she said. “It will take a year.” Then the meeting ended."
    assert sentence_texts(text) == [
        "“We will rebuild the bridge,” she said.",
        "“It will take a year.”",
        "Then the meeting ended.",
    ]


def test_sentences_never_cross_a_blank_line_or_a_page_break() -> None:
    text = "The first paragraph has no full stop\n\nThe second one does. And continues\fhere on a new page"
    page_two = text.index("here")
    doc = doc_of(text, page_starts=[0, page_two])
    found = [(text[s.start : s.end], s.paragraph) for s in sentences(doc)]
    assert found == [
        ("The first paragraph has no full stop", 0),
        ("The second one does.", 1),
        ("And continues", 1),
        ("here on a new page", 2),
    ]


def test_a_line_of_non_breaking_spaces_leaves_no_trailing_space_on_a_sentence() -> None:
    text = "First line here \n\u00a0\nSecond line.\n\nThird."
    assert sentence_texts(text) == ["First line here", "Second line.", "Third."]


def test_the_seed_furniture_line_is_never_inside_a_sentence() -> None:
    doc = load_document(DOCS / SEED_NAME, DOCS, 10_000_000)
    start = doc.text.index(SEED_FURNITURE)
    end = start + len(SEED_FURNITURE)

    found = sentences(doc)

    assert len(found) > 30
    assert all(s.end <= start or s.start >= end for s in found)
    assert all("listen to Fox News" not in doc.text[s.start : s.end] for s in found)
    assert doc.text[found[0].start : found[0].end].startswith("Mexican drug cartels are rapidly ramping up")


# -- chunks --------------------------------------------------------------------------------------

STORY = [
    "The council met on Tuesday.",
    "It discussed the flooding of the northern quay, which has damaged dozens of homes over two winters.",
    "Residents spoke.",
    "“We cannot keep pumping water out of our kitchens every January,” one of them said to the councillors.",
    "The mayor agreed.",
    "A sea wall was proposed, costing about four million euros and taking a year to build.",
    "The vote passed.",
    "Work starts in spring.",
]


def story_sentences() -> tuple[str, list[Sentence], list[int]]:
    text = " ".join(STORY)
    spans: list[Sentence] = []
    position = 0
    for piece in STORY:
        start = text.index(piece, position)
        spans.append(Sentence(start, start + len(piece), 0))
        position = start + len(piece)
    return text, spans, count_tokens(STORY)


def test_chunks_are_maximal_runs_of_whole_sentences_within_the_budget() -> None:
    _, sents, counts = story_sentences()
    budget = 40
    assert max(counts) <= budget < sum(counts)

    result = chunks(sents, counts, budget, overlap=0)

    assert len(result) > 1
    assert result[0].first == 0 and result[-1].last == len(sents) - 1
    for chunk in result:
        assert (chunk.start, chunk.end) == (sents[chunk.first].start, sents[chunk.last].end)
        assert sum(counts[chunk.first : chunk.last + 1]) <= budget
    for before, after in itertools.pairwise(result):
        assert after.first == before.last + 1  # no gap, no overlap
        assert sum(counts[before.first : before.last + 2]) > budget  # the next sentence did not fit


def test_neighbouring_chunks_share_the_configured_overlap() -> None:
    _, sents, counts = story_sentences()
    for overlap in (1, 2):
        result = chunks(sents, counts, 40, overlap=overlap)
        assert len(result) > 1
        for before, after in itertools.pairwise(result):
            # The overlap is kept unless that would not move forward at all.
            assert after.first == max(before.last + 1 - overlap, before.first + 1)


def test_a_sentence_longer_than_the_budget_is_a_chunk_of_its_own() -> None:
    _, sents, counts = story_sentences()
    counts = list(counts)
    counts[3] = 500

    result = chunks(sents, counts, 40, overlap=1)

    assert Chunk(sents[3].start, sents[3].end, 3, 3) in result
    assert all(c.first == c.last == 3 for c in result if c.first <= 3 <= c.last)


def test_the_seed_chunks_fit_the_token_budget() -> None:
    doc = load_document(DOCS / SEED_NAME, DOCS, 10_000_000)
    sents = sentences(doc)
    counts = count_tokens([doc.text[s.start : s.end] for s in sents])

    result = chunks(sents, counts, 64, overlap=1)

    assert len(result) >= 5
    assert all(sum(counts[c.first : c.last + 1]) <= 64 for c in result if c.first < c.last)
    covered = {i for c in result for i in range(c.first, c.last + 1)}
    assert covered == set(range(len(sents)))


# -- properties over generated documents ---------------------------------------------------------

FURNITURE = "Listen to this article now!"
WORDS = [
    "river", "Council", "fentanyl", "café", "naïve", "Zürich", "東京", "Ελλάδα", "😀", "42", "3.5", "$15",
    "López", "O’Brien", "well-known", "e-mail", "(see", "below)", "—", "–", "…", "#tag", "@user", "x\u200by",
]  # fmt: skip
ABBREVIATIONS = ["Dr.", "U.S.", "Mr.", "Mrs.", "e.g.", "i.e.", "a.m.", "J.", "R.", "No.", "St.", "Inc.", "D.C.", "etc."]
QUOTES = [("", ""), ("“", "”"), ('"', '"'), ("‘", "’"), ("“", ""), ("", "”")]
ENDINGS = ["", ".", "?", "!", "…", "!!", "?”", ".”", '."', ":", ";"]
INNER_SPACES = [" ", "  ", "\n", " \n ", "\u00a0", "\t"]
SEPARATORS = ["\n\n", "\n \n", "\r\n\r\n", "\n\t\n\n\n", "\n", "\n\u3000\n"]

# Any character UTF-8 can hold but the ASCII information separators, which str.isspace() counts as
# whitespace but which no real source contains.
NOISE = st.characters(codec="utf-8", blacklist_characters="\x1c\x1d\x1e\x1f")
word = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(ABBREVIATIONS),
    st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=8),
)


@st.composite
def a_sentence(draw: st.DrawFn) -> str:
    words = draw(st.lists(word, min_size=1, max_size=10))
    opening, closing = draw(st.sampled_from(QUOTES))
    body = opening + " ".join(words) + draw(st.sampled_from(ENDINGS)) + closing
    if draw(st.booleans()):
        body += draw(st.sampled_from([" Dr. Smith said.", " said Ana Ruiz.", " according to officials."]))
    return body


@st.composite
def a_paragraph(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["prose", "prose", "prose", "furniture", "noise"]))
    if kind == "furniture":
        return FURNITURE
    if kind == "noise":
        return draw(st.text(NOISE, max_size=40))
    parts = draw(st.lists(a_sentence(), min_size=1, max_size=4))
    text = parts[0]
    for part in parts[1:]:
        text += draw(st.sampled_from(INNER_SPACES)) + part
    if draw(st.integers(0, 4)) == 0:  # furniture glued inside a paragraph
        text += " " + FURNITURE + " " + draw(a_sentence())
    return text


@st.composite
def a_document(draw: st.DrawFn) -> Document:
    text = draw(st.sampled_from(["", " ", "\n", "\ufeff"]))
    page_starts = [0]
    for number, para in enumerate(draw(st.lists(a_paragraph(), min_size=1, max_size=6))):
        if number:
            text += draw(st.sampled_from(SEPARATORS))
            if draw(st.booleans()):
                page_starts.append(len(text))
        text += para
    text += draw(st.sampled_from(["", "\n", "  \n\n"]))
    return doc_of(text, furniture=[FURNITURE], page_starts=page_starts if len(page_starts) > 1 else ())


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def assert_stripped_spans_in_order(text: str, spans: Sequence[Span | Sentence]) -> None:
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)
        piece = text[span.start : span.end]
        assert piece == piece.strip(), repr(piece)
        assert any(ch.isalnum() for ch in piece)
    for before, after in itertools.pairwise(spans):
        assert before.end <= after.start


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=a_document(), budget=st.integers(5, 60), overlap=st.integers(0, 3))
def test_segmentation_invariants_hold_for_any_document(doc: Document, budget: int, overlap: int) -> None:
    text = doc.text
    paras = paragraphs(doc)
    sents = sentences(doc, paras)

    assert_stripped_spans_in_order(text, paras)
    assert_stripped_spans_in_order(text, sents)
    edges = [(p.start, p.end) for p in paras] + [(s.start, s.end) for s in sents]
    for start, end in edges:
        assert not any(overlaps((start, end), f) for f in doc.furniture)
        assert not any(start < page < end for page in doc.page_starts)
    for sent in sents:
        para = paras[sent.paragraph]
        assert para.start <= sent.start and sent.end <= para.end
    assert [s.paragraph for s in sents] == sorted(s.paragraph for s in sents)
    # No words are lost: every letter or digit outside furniture is inside some sentence.
    for position, ch in enumerate(text):
        if ch.isalnum() and not any(a <= position < b for a, b in doc.furniture):
            assert any(s.start <= position < s.end for s in sents), (position, text)

    if not sents:
        return
    counts = count_tokens([text[s.start : s.end] for s in sents])
    result = chunks(sents, counts, budget, overlap)
    assert result[0].first == 0 and result[-1].last == len(sents) - 1
    starts = {s.start for s in sents}
    ends = {s.end for s in sents}
    for chunk in result:
        assert chunk.start in starts and chunk.end in ends
        assert (chunk.start, chunk.end) == (sents[chunk.first].start, sents[chunk.last].end)
        assert chunk.first == chunk.last or sum(counts[chunk.first : chunk.last + 1]) <= budget
    for before, after in itertools.pairwise(result):
        assert before.first < after.first <= before.last + 1
        assert after.first >= before.last + 1 - overlap
