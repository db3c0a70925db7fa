"""OnRecord's library: sources in, verbatim and attributed answers out. Never imports discord.

from index import IndexSettings, Library
library = Library(IndexSettings())
library.ensure_index()
answer = library.ask("What do the cartels need to make fentanyl?")

Several owners of sources (the shared library, each Discord server's own) are `Collections`.
"""

from .collections import SHARED, Collections, guild_collection
from .errors import (
    BuildError,
    BuildInProgressError,
    CorruptIndexError,
    LibraryError,
    NoIndexError,
    QuestionError,
    SourceError,
    SourceExistsError,
)
from .library import Library, LibraryStatus, Quota, Upload
from .models import Answer, BuildReport, Excerpt, QuoteMatch, Skipped, SourceInfo, SpeakerInfo, WhoSaid
from .settings import IndexSettings
from .state import State, StateError

__all__ = [
    "SHARED",
    "Answer",
    "BuildError",
    "BuildInProgressError",
    "BuildReport",
    "Collections",
    "CorruptIndexError",
    "Excerpt",
    "IndexSettings",
    "Library",
    "LibraryError",
    "LibraryStatus",
    "NoIndexError",
    "QuestionError",
    "Quota",
    "QuoteMatch",
    "Skipped",
    "SourceError",
    "SourceExistsError",
    "SourceInfo",
    "SpeakerInfo",
    "State",
    "StateError",
    "Upload",
    "WhoSaid",
    "guild_collection",
]
