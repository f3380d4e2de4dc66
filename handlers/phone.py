"""Numbers for SMS: an Indonesian mobile number (handlers/phone_numbers.py reads every way people
write one), and the number shown back as people read it."""

from __future__ import annotations

from handlers.phone_numbers import NotAPhoneNumber, normalise_phone


def indonesian_mobile(text: str) -> str:
    """'+628…'; ValueError for anything else: SMS goes to Indonesian mobiles only (a foreign
    number costs many times more, and a landline cannot receive it)."""
    try:
        phone = normalise_phone(text)
    except NotAPhoneNumber as exc:
        raise ValueError(str(exc)) from exc
    if not phone.startswith("+628"):
        raise ValueError(f"not an Indonesian mobile number: {text!r}")
    return phone


def shown(phone: str) -> str:
    """+6281234567890 as people read it: 0812-3456-7890."""
    national = "0" + phone.removeprefix("+62")
    return "-".join(national[i : i + 4] for i in range(0, len(national), 4))
