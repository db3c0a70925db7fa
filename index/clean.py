"""Text that is safe to quote: what every loader's text goes through before it becomes a `Document`.

A quote is ``text[start:end]`` of the stored text, so the stored text must be one that SQLite, the
lexical index, the segmenter and Discord all read as the same string. Characters that break that are
handled here, once, at extraction:

- NUL and the other C0 controls except tab and newline, DEL and the C1 controls: removed (SQLite's
  ``substr`` stops at a NUL, which made every later quote of a document come back empty);
- carriage returns: a CRLF or a lone CR becomes a newline; a vertical tab a newline;
- form feeds (page breaks in text files): a blank line, so they end a paragraph;
- soft hyphens (invisible unless a line breaks there): removed, so "infor\xadmation" is one word;
- stray surrogates (half of a UTF-16 pair, which cannot be encoded as UTF-8) and the noncharacters
  U+FFFE / U+FFFF: the replacement character U+FFFD, so the reader sees that something was lost.

`quotable` is idempotent: cleaning clean text changes nothing, so offsets computed on cleaned pieces
stay right when the whole is cleaned again.
"""

from __future__ import annotations

import re

# Bump when extraction changes what text an unchanged file yields (see build.chunking_settings).
EXTRACTOR_VERSION = 3

_NEWLINES = re.compile(r"\r\n?|\v")
_FORM_FEED = re.compile(r"[ \t]*\f[ \t\f]*")
_REMOVED = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u00ad]")
_REPLACED = re.compile("[\ud800-\udfff\ufffe\uffff]")
_CONTROL_OR_ODD = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\ud800-\udfff\ufffe\uffff]")


def quotable(text: str) -> str:
    """``text`` with control characters, form feeds, soft hyphens and stray surrogates handled."""
    if not _CONTROL_OR_ODD.search(text):
        return text  # the common case: nothing to do, no copies
    text = _NEWLINES.sub("\n", text)
    text = _FORM_FEED.sub("\n\n", text)
    text = _REMOVED.sub("", text)
    return _REPLACED.sub("\ufffd", text)


def is_quotable(text: str) -> bool:
    """Whether ``text`` is already as `quotable` makes it."""
    return not _CONTROL_OR_ODD.search(text)
