"""Text analysis shared by the build and the search: what is indexed for a text, and what is known about it.

The lexical tokenizer (`lexical_tokenizer`) and the words it sees (`word_ids`, `content_stems`); what a
passage embeds (`passage_text`); per-sentence facts stored as columns in a generation: the kinds of answer
it holds (`answer_kinds`, `sentence_kind`: `DATE`, `NUMBER`, `NOT_PROSE` bits), the names it holds
(`name_signature` of `name_bit` bits) and a fingerprint of its normalised text (`fingerprint`). The build
computes them once per sentence (`index.store`); `index.search` computes the same for a question.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from .models import Document, Sentence, normalised


def passage_text(title: str, text: str) -> str:
    """What is embedded and BM25-indexed for a chunk: its document's title, then its text."""
    return f"{title}\n{text}"


# What a sentence can answer: bit 1 a date (a year, a month, a century), bit 2 a number; bit 4 marks a
# sentence that is not prose (a heading, a list label, a table row, a fragment): context, never an excerpt.
DATE, NUMBER, NOT_PROSE = 1, 2, 4
_DATE = re.compile(
    r"\b(?:1\d{3}|20\d{2})s?\b|\b(?:January|February|March|April|May|June|July|August|September|October|"
    r"November|December)\b|\bcentur(?:y|ies)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|dozen|half)\b",
    re.IGNORECASE,
)


def answer_kinds(text: str) -> int:
    """The kinds of answer a sentence holds, as `DATE` | `NUMBER` bits."""
    return (DATE if _DATE.search(text) else 0) | (NUMBER if _NUMBER.search(text) else 0)


def sentence_kind(doc: Document, sentence: Sentence) -> int:
    """`answer_kinds` of the sentence, with `NOT_PROSE` when it lies in one of the document's labels or
    is a fragment: under four words with no sentence end ("Related coverage", "Key findings")."""
    text = doc.text[sentence.start : sentence.end]
    kind = answer_kinds(text)
    in_label = any(start <= sentence.start and sentence.end <= end for start, end in doc.labels)
    fragment = len(text.split()) < 4 and not _SENTENCE_END.search(text)
    return kind | NOT_PROSE if in_label or fragment else kind


_SENTENCE_END = re.compile(r"[.!?…][\"”’)\]]*$")
_NAME_WORD = re.compile(r"(?<![\w’'])[A-Z][\w’'.&-]*")


def name_bit(word: str) -> int:
    """The bit of a 64-bit signature that stands for a word (case-folded, possessive dropped)."""
    key = word.casefold().removesuffix("’s").removesuffix("'s").strip(".-’'")
    return 1 << (hashlib.blake2b(key.encode("utf-8"), digest_size=1).digest()[0] % 64)


def name_signature(text: str) -> int:
    """The capitalised words of a sentence but its first (the names it holds, roughly), as a 64-bit
    signature of `name_bit` bits, signed to fit an int64 column. A question asking "which team?"
    wants a sentence holding a name the question does not: `search` compares the bits."""
    bits = 0
    for match in _NAME_WORD.finditer(text):
        if match.start() > 0:
            bits |= name_bit(match.group())
    return bits - (1 << 64) if bits >= 1 << 63 else bits


def fingerprint(text: str) -> int:
    """A 64-bit hash of a text's normalised form (`normalised`), as a signed integer."""
    digest = hashlib.blake2b(normalised(text).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def word_ids(tokenizer: Any, text: str) -> list[int]:
    """The lexical index's ids of a text's words, in order; words it has never seen are left out."""
    ids = tokenizer.tokenize([text], update_vocab=False, return_as="ids", show_progress=False)[0]
    return [int(i) for i in ids if i != 0]  # 0 is the empty token bm25s maps unknown words to


def content_stems(tokenizer: Any, text: str) -> frozenset[str]:
    """A text's distinct words other than stop words, stemmed as the lexical index stems them."""
    words = tokenizer.splitter(text.lower())
    return frozenset(tokenizer.stemmer(w) if tokenizer.stemmer else w for w in words if w not in tokenizer.stopwords)


def lexical_tokenizer() -> Any:
    """The BM25 tokenizer: lower-case words, English stop words removed, Snowball-stemmed."""
    import bm25s
    import Stemmer

    # It logs every index build at DEBUG, and importing it sets its logger to DEBUG: quieten it after.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s.tokenization.Tokenizer(stopwords="en", stemmer=Stemmer.Stemmer("english"))
