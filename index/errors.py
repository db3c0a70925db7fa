"""The one error type of the index layer; every message is fit to show to a user."""


class LibraryError(Exception):
    """Base class. ``str(error)`` is a complete sentence a user can act on."""


class QuestionError(LibraryError):
    """The question cannot be answered as asked (empty, too long, nothing searchable)."""


class NoIndexError(LibraryError):
    """No usable index exists yet at the configured place."""


class CorruptIndexError(LibraryError):
    """An index generation on disk is damaged or does not match the configured model."""


class BuildError(LibraryError):
    """A rebuild could not complete; the last good index keeps serving."""


class BuildInProgressError(BuildError):
    """Another rebuild holds the lock."""


class SourceError(LibraryError):
    """A source file could not be accepted (type, size, name, content)."""


class SourceExistsError(SourceError):
    """An upload has the name of a source already there; saving it again with ``replace`` replaces it."""
