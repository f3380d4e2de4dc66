"""UTC time helpers: the database stores UTC text that sorts in time order."""

from datetime import UTC, datetime

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def to_db(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: store only aware UTC moments")
    return moment.astimezone(UTC).strftime(_FORMAT)


def opt_to_db(moment: datetime | None) -> str | None:
    return None if moment is None else to_db(moment)


def from_db(text: str) -> datetime:
    # fromisoformat reads the trailing Z (3.11+) and is far quicker than strptime.
    return datetime.fromisoformat(text)


def opt_from_db(text: str | None) -> datetime | None:
    return None if text is None else from_db(text)
