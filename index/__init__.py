"""OnRecord's library: sources in, verbatim and attributed answers out. Never imports discord.

from index import IndexSettings, Library
library = Library(IndexSettings())
library.ensure_index()
answer = library.ask("What do the cartels need to make fentanyl?")
"""

from .errors import (
    BuildError,
    BuildInProgressError,
    CorruptIndexError,
    LibraryError,
    NoIndexError,
    QuestionError,
    SourceError,
)
from .library import Library, LibraryStatus
from .models import Answer, BuildReport, Excerpt, QuoteMatch, Skipped, SourceInfo, SpeakerInfo, WhoSaid
from .settings import IndexSettings

__all__ = [
    "Answer",
    "BuildError",
    "BuildInProgressError",
    "BuildReport",
    "CorruptIndexError",
    "Excerpt",
    "IndexSettings",
    "Library",
    "LibraryError",
    "LibraryStatus",
    "NoIndexError",
    "QuestionError",
    "QuoteMatch",
    "Skipped",
    "SourceError",
    "SourceInfo",
    "SpeakerInfo",
    "WhoSaid",
]
