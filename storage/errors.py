"""Domain errors raised by the repositories instead of returning None for failure."""


class StorageError(Exception):
    """Base class for every error the storage layer raises on purpose."""


class NotFound(StorageError):
    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"{what} not found: {key!r}")
        self.what = what
        self.key = key


class ConsentRequired(StorageError):
    """Personal data may only be stored for a resident who agreed to the privacy notice."""


class DatabaseBusy(StorageError):
    """The database stayed locked past the busy timeout (another process holds a write)."""
