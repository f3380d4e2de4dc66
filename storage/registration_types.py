"""What the registration repositories hold and say: limits, domain errors, and the dataclasses
they return (storage/registrations.py and the modules beside it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.errors import StorageError

GENDERS = ("female", "male", "unsaid")
AGE_BANDS = ("u18", "18_35", "36_55", "55p")
QUESTIONS = ("gender", "age_band", "village")
# What a typed code may contain: every code ever given, including those of the wider alphabet of
# 0003 (new ones use storage/checkin_codes.py's narrower one, a subset of this).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6  # as storage/checkin_codes.py makes them
# Check-in opens this long before the start, so people arriving early are not turned away.
CHECKIN_EARLY = timedelta(hours=1)
MAX_NAME_CHARS = 80
MAX_VILLAGE_CHARS = 60


# --- domain errors -------------------------------------------------------------------------


class RegistrationError(StorageError):
    """Base of the refusals a resident can be told about."""


class EventCancelled(RegistrationError):
    pass


class RegistrationClosed(RegistrationError):
    """Not open for registration (yet, or any more); `opens_at` is set when it opens later."""

    def __init__(self, opens_at: datetime | None = None) -> None:
        super().__init__("registration closed" if opens_at is None else f"opens at {opens_at}")
        self.opens_at = opens_at


class EventFull(RegistrationError):
    """No seat left and the waitlist is full or disabled."""


class AlreadyRegistered(RegistrationError):
    def __init__(self, existing: Registration) -> None:
        super().__init__(f"already registered: {existing.id}")
        self.existing = existing


class ProxyLimitReached(RegistrationError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} people registered on others' behalf per event")
        self.limit = limit


class AlreadyCancelled(RegistrationError):
    def __init__(self, registration: Registration) -> None:
        super().__init__(f"registration {registration.id} is already cancelled")
        self.registration = registration


class CancelClosed(RegistrationError):
    """The event has started or ended: there is nothing left to cancel."""


class WrongCode(RegistrationError):
    pass


class CheckInClosed(RegistrationError):
    def __init__(self, opens_at: datetime, closes_at: datetime) -> None:
        super().__init__(f"check-in is open from {opens_at} to {closes_at}")
        self.opens_at = opens_at
        self.closes_at = closes_at


class NotRegistered(RegistrationError):
    """Marking someone present who is not on this resident's list for the event."""


# --- what the repository returns ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Registration:
    id: int
    event_id: int
    resident_id: int | None
    is_proxy: bool
    name: str | None
    gender: str | None
    age_band: str | None
    village: str | None
    status: str  # confirmed | waitlisted | cancelled | walk_in
    position: int | None  # place on the waitlist (1 = next), None when not waitlisted
    attended_at: datetime | None
    created_at: datetime
    cancelled_at: datetime | None
    event_title: str
    event_starts_at: datetime
    event_ends_at: datetime
    event_status: str


@dataclass(frozen=True, slots=True)
class Answers:
    """Optional answers; None: not asked or skipped."""

    gender: str | None = None
    age_band: str | None = None
    village: str | None = None


@dataclass(frozen=True, slots=True)
class Remembered:
    """What a resident answered last time; '' means they skipped that question."""

    gender: str | None
    age_band: str | None
    village: str | None


@dataclass(frozen=True, slots=True)
class Cancellation:
    cancelled: Registration
    promoted: Registration | None


@dataclass(frozen=True, slots=True)
class CheckIn:
    event_id: int
    event_title: str
    registration: Registration
    walk_in: bool  # came without registering
    already: bool  # had checked in before
    proxies: tuple[Registration, ...]  # people this resident registered, to mark from here
    # Was on the waiting list: now counted as registered (with a seat if one was free).
    from_waitlist: bool = False


@dataclass(frozen=True, slots=True)
class Counts:
    capacity: int | None
    confirmed: int
    waitlisted: int
    cancelled: int
    attended: int
    walk_ins: int


@dataclass(frozen=True, slots=True)
class EventOverview:
    """What a librarian needs at the door: the code and the numbers."""

    event_id: int
    slug: str
    title: str
    starts_at: datetime
    status: str
    checkin_code: str
    counts: Counts


@dataclass(frozen=True, slots=True)
class LifecycleResult:
    event_id: int
    status: str
    notified: int  # outbox rows written for registrants
