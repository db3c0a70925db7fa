"""The people the sources quote: their names as members type them, their quotes, and questions about them.

A speaker is stored per sentence (attribution.py). Members name a person by any of their names:
"Uttam Dhillon", "Dhillon", "dhillon", "Felbab Brown" or "Mr. Dhillon" all mean the speaker "Uttam
Dhillon". Names are compared word by word after folding case and diacritics and dropping titles and
punctuation inside words; what is typed must end with the speaker's last word (a surname) and its
words must be the speaker's, in order (so a first name alone matches nobody).

`speaker_question` finds a person in a question of the "what did X say" kind, conservatively: the
question must have one of those shapes and X must match a person the sources quote.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from .models import SpeakerInfo
from .store import Generation

_TITLES = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "dr",
        "prof",
        "sen",
        "senator",
        "rep",
        "representative",
        "gov",
        "governor",
        "gen",
        "general",
        "president",
        "pres",
        "rev",
        "sir",
        "dame",
        "lord",
        "lady",
        "judge",
        "justice",
        "secretary",
        "minister",
        "mayor",
        "chancellor",
    ]
)
_ARTICLES = frozenset({"the", "a", "an"})
_NAME_WORD = re.compile(r"[^\s,;:!?()\[\]{}“”\"«»]+")


@cache
def name_words(name: str) -> tuple[str, ...]:
    """A name's words as compared: case and diacritics folded, punctuation inside words dropped
    ("Felbab-Brown" -> "felbabbrown"), a trailing possessive and leading titles removed."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold()
    words = [re.sub(r"[’']s$", "", w) for w in _NAME_WORD.findall(folded)]
    words = [re.sub(r"\W|_", "", w) for w in words]
    words = [w for w in words if w]
    while words and (words[0] in _TITLES or words[0] in _ARTICLES):
        words.pop(0)
    return tuple(words)


def names_match(typed: Sequence[str], speaker: Sequence[str]) -> bool:
    """Whether typed name words mean the speaker: they end with the speaker's last word and are
    the speaker's words in order (words typed apart may be one word of the name: "felbab brown")."""
    if not typed or not speaker:
        return False
    compact = "".join(typed)
    if not compact.endswith(speaker[-1]):
        return False

    def rest(prefix: str, before: int) -> bool:
        return not prefix or any(
            prefix.endswith(speaker[j]) and rest(prefix[: -len(speaker[j])], j) for j in range(before)
        )

    return rest(compact[: -len(speaker[-1])], len(speaker) - 1)


def looks_like_a_name(speaker: str) -> bool:
    """A person's name ("Uttam Dhillon"), not a description ("a Department of Homeland spokesperson")."""
    first = speaker.split()[0] if speaker.split() else ""
    return first[:1].isupper() and first.casefold() not in _ARTICLES


@dataclass(frozen=True)
class Quote:
    """A quotation: consecutive sentences of one speaker within one paragraph."""

    speaker: str
    doc_row: int
    sentences: tuple[int, ...]


class SpeakerTable:
    """Every quoted sentence of one generation, by speaker (read from the index once)."""

    def __init__(self, generation: Generation) -> None:
        self.generation = generation
        rows = generation.quoted_sentences()
        ids: defaultdict[str, list[int]] = defaultdict(list)
        for sid, name in rows:
            ids[name].append(sid)
        self._ids = {name: np.array(found, dtype=np.int64) for name, found in ids.items()}
        self.quotes = list(_runs(generation, rows))
        self.quote_of = {sid: quote for quote in self.quotes for sid in quote.sentences}
        self._info = self._summaries()
        # Speakers by their last word (compared form): what is typed must end with it, so matching
        # looks at the few speakers whose last word ends the typed name, not at everyone.
        self._by_last: defaultdict[str, list[SpeakerInfo]] = defaultdict(list)
        for person in self._info:
            words = name_words(person.name)
            if words:
                self._by_last[words[-1]].append(person)

    def _summaries(self) -> list[SpeakerInfo]:
        quotes = Counter(q.speaker for q in self.quotes)
        documents = Counter(name for name, _ in {(q.speaker, q.doc_row) for q in self.quotes})
        people = [SpeakerInfo(name, quotes[name], len(found), documents[name]) for name, found in self._ids.items()]
        return sorted(people, key=lambda p: (-p.quotes, p.name.casefold()))

    def people(self) -> list[SpeakerInfo]:
        """Everyone quoted, the most quoted first."""
        return list(self._info)

    def match(self, typed: str, *, names_only: bool = False) -> list[str]:
        """The speakers ``typed`` means: the one spelled so (any case), else those whose names match."""
        wanted = " ".join(typed.split()).casefold()
        exact = [p.name for p in self._info if p.name.casefold() == wanted]
        if exact:
            return exact
        words = name_words(typed)
        compact = "".join(words)
        possible = {id(p): p for k in range(len(compact)) for p in self._by_last.get(compact[k:], [])}
        return [
            p.name
            for p in self._info
            if id(p) in possible
            and (not names_only or looks_like_a_name(p.name))
            and names_match(words, name_words(p.name))
        ]

    def sentence_ids(self, names: Iterable[str]) -> np.ndarray:
        """Every sentence of these speakers, ascending."""
        parts = [self._ids[n] for n in names if n in self._ids]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def quotes_of(self, names: Iterable[str], doc_row: int | None = None) -> list[Quote]:
        """Their quotations, the newest source first (undated sources last), in document order."""
        wanted = set(names)
        found = [q for q in self.quotes if q.speaker in wanted and (doc_row is None or q.doc_row == doc_row)]
        documents = self.generation.documents

        def newest_first(quote: Quote) -> tuple[int, int, int]:
            published = documents[quote.doc_row].published
            return (-(published or dt.date.min).toordinal(), quote.doc_row, quote.sentences[0])

        return sorted(found, key=newest_first)


def _runs(generation: Generation, rows: Sequence[tuple[int, str]]) -> Iterable[Quote]:
    """Quotations from the quoted sentences (in id order): a run ends at another speaker, a gap or a
    new paragraph."""
    run: list[int] = []
    speaker = ""
    for sid, name in rows:
        if run and (
            name != speaker
            or sid != run[-1] + 1
            or generation.sentence_doc[sid] != generation.sentence_doc[run[-1]]
            or generation.sentence_paragraph[sid] != generation.sentence_paragraph[run[-1]]
        ):
            yield Quote(speaker, int(generation.sentence_doc[run[0]]), tuple(run))
            run = []
        run.append(sid)
        speaker = name
    if run:
        yield Quote(speaker, int(generation.sentence_doc[run[0]]), tuple(run))


# -- questions about a person --------------------------------------------------------------------

_NAME = r"(?P<name>[^\s?!,;:]+(?:\s+[^\s?!,;:]+){0,5}?)"
_VERB = (
    r"(?:say|said|says|tell|told|think|thought|claim|claimed|argue|argued|write|wrote|mean|meant|warn|warned"
    r"|add|added|state|stated|comment|commented|mention|mentioned|note|noted)"
)
_SHAPES = [
    # What did Dhillon say about Mexico? / What has Felbab-Brown said? / And what else did she tell them?
    re.compile(
        rf"^\W*(?:and\s+|so\s+|but\s+)?what\s+(?:else\s+)?(?:did|does|do|has|have|had|would|will|could)\s+{_NAME}"
        rf"\s+(?:ever\s+|actually\s+|really\s+|also\s+|just\s+)?{_VERB}\b",
        re.IGNORECASE,
    ),
    # Did Dhillon say anything about China? / Has Maltz commented on ...
    re.compile(rf"^\W*(?:did|does|has|have)\s+{_NAME}\s+(?:ever\s+)?(?:{_VERB}|talk|speak|comment)\b", re.IGNORECASE),
    # How did Dhillon describe the cartels?
    re.compile(
        rf"^\W*how\s+(?:did|does|has)\s+{_NAME}\s+(?:describe|described|explain|explained|characteri[sz]e|put)\b",
        re.IGNORECASE,
    ),
    # What Dhillon said about Mexico / What is Dhillon saying about ...
    re.compile(rf"^\W*what\s+(?:is\s+|was\s+)?{_NAME}\s+(?:said|says|saying|has\s+said|told)\b", re.IGNORECASE),
    # What are Dhillon's views on Mexico?
    re.compile(
        rf"^\W*what\s+(?:is|was|are|were)\s+{_NAME}(?:’s|'s|s’|s')\s+(?:view|views|position|opinion|take|words"
        r"|quotes?|comments?|statements?|point|argument)\b",
        re.IGNORECASE,
    ),
    # Quotes from Dhillon about Mexico / Any statements by Maltz?
    re.compile(
        rf"^\W*(?:show\s+me\s+|give\s+me\s+|find\s+|list\s+)?(?:any\s+|the\s+|all\s+)?"
        rf"(?:quotes?|quotations?|statements?|comments?|words)\s+(?:from|by|of)\s+{_NAME}"
        r"(?=\s*(?:$|[?.!]|\s(?:about|on|regarding|concerning)\b))",
        re.IGNORECASE,
    ),
]


@dataclass(frozen=True)
class SpeakerQuestion:
    """A question about one person: who (as written and as the sources name them), and the
    question with their name taken out (what is searched for)."""

    asked: str
    names: list[str]
    topic: str


def speaker_question(question: str, table: SpeakerTable) -> SpeakerQuestion | None:
    """The person a "what did X say" question asks about, if the sources quote them; else None."""
    for shape in _SHAPES:
        found = shape.match(question)
        if found is None:
            continue
        asked = found.group("name").strip()
        names = table.match(asked, names_only=True)
        if names:
            topic = question[: found.start("name")] + " " + question[found.end("name") :]
            return SpeakerQuestion(asked, names, " ".join(topic.split()))
    return None


def without_names(question: str, names: Iterable[str]) -> str:
    """The question with every mention of these speakers (full name, or its last word) taken out,
    so what is searched for is the topic: their own quotes rarely hold their name."""
    words = {w for n in names for w in (n, n.split()[-1] if n.split() else n)}
    text = question
    for word in sorted(words, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(word)}(?:[’']s)?(?!\w)", " ", text, flags=re.IGNORECASE)
    return " ".join(text.split())


# The words of a question about a person that ask rather than say what about ("What else has X
# said recently?"): a question of only these asks for the person's quotes in general.
_FRAME = re.compile(
    r"\b(?:what|which|how|else|has|have|had|did|does|do|is|are|was|were|would|will|could|ever|anything|something"
    r"|really|actually|also|just|recently|lately|so|far|and|but|the|a|an|any|all|me|show|give|find|list|you"
    r"|say|said|says|saying|tell|told|think|thought|claim|claimed|argue|argued|write|wrote|mean|meant|warn|warned"
    r"|add|added|state|stated|comment|commented|mention|mentioned|note|noted|talk|talked|speak|spoke|describe"
    r"|described|explain|explained|put|quotes?|quotations?|statements?|comments?|words|views?|position|opinion"
    r"|take|point|argument|from|by|of|about|on|regarding|concerning|in|to|he|she|they|them|him|her|it|this|that)\b",
    re.IGNORECASE,
)


def topic_words(question: str) -> str:
    """What a question about a person (their name taken out) asks about: its words other than the
    asking ones ("What else did say about Mexico's decision?" -> "Mexico's decision"); empty when it
    asks for their quotes in general. Searched for instead of the whole question: words like
    "anything" that no source holds would count against every quote."""
    return " ".join(w for w in _FRAME.sub(" ", question).split() if any(ch.isalnum() for ch in w))


def speakers_matching(people: Sequence[SpeakerInfo], typed: str) -> list[SpeakerInfo]:
    """For autocomplete: the people one of whose words starts with what is typed (all, when nothing is)."""
    prefix = "".join(name_words(typed))
    if not prefix:
        return list(people)
    return [p for p in people if any(w.startswith(prefix) for w in (*name_words(p.name), "".join(name_words(p.name))))]
