"""User-facing errors: each carries a one-line message that the CLI and API show as is."""


class QAError(Exception):
    """Base of every error caused by input or state the user can fix."""


class ModelError(QAError):
    """The embedding model cannot be provisioned, loaded or does not match the index."""


class IndexStateError(QAError):
    """The index is missing, unreadable, busy, or built by another model."""


class UnavailableError(IndexStateError):
    """The server the index lives on (PostgreSQL) cannot be reached now: nothing the client did; retry later."""


class CorpusError(QAError):
    """The corpus folder or one of its files cannot be read."""


class InputError(QAError):
    """A request or argument is malformed."""


class NotFoundError(QAError):
    """The named article does not exist."""


class ConflictError(QAError):
    """The write would overwrite or contradict another article: an id held by another file or record."""


class StorageError(QAError):
    """The corpus folder or the index could not be written (a full disk, permissions); nothing was changed."""


class BusyError(QAError):
    """The service cannot take this request now (starting, or answering as many as it may): retry later."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after
