"""The core fits replies to the channel's capabilities, once for every channel: a list longer
than the channel shows is paged with a "more" choice kept in the session, labels are shortened,
and the replies come back with their language and the choices they show."""

from __future__ import annotations

from pathlib import Path

from bot.i18n import Translator
from handlers.dispatch import Dispatcher
from handlers.types import Capabilities, Incoming
from storage import Storage

SMALL = Capabilities(max_choices=4, max_buttons=4, button_label=12, list_label=12, can_edit=False)
T = Translator()


def said(dispatcher: Dispatcher, text: str, caps: Capabilities = SMALL) -> Incoming:
    return Incoming.from_text(channel="test", user_id="9", text=text, capabilities=caps)


async def test_long_menu_is_paged_and_more_shows_the_rest(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "p.db")
    dispatcher = Dispatcher(storage, T)
    try:
        await dispatcher.handle(said(dispatcher, "/start"))
        handled = await dispatcher.handle(said(dispatcher, "/menu"))
        # The main menu has seven choices; this channel shows four: three and "Lainnya".
        assert handled.language == "id"
        labels = [c.label for c in handled.shown]
        assert len(labels) == 4
        assert labels[-1] == T.text("id", "paging.more")
        assert all(len(label) <= 12 for label in labels)
        assert [c.label for c in handled[-1].choices] == labels
        # Typing the number of "Lainnya" shows the second page, from the list in the session.
        second = await dispatcher.handle(said(dispatcher, "4"))
        assert second[0].text == T.text(
            "id", "paging.page", first=4, last=6, total=7, page=2, pages=3
        )
        assert len(second.shown) == 4 and second.shown[-1].label == T.text("id", "paging.more")
        # "Lainnya" again shows the last page, without a "more".
        third = await dispatcher.handle(said(dispatcher, "4"))
        assert T.text("id", "paging.more") not in [c.label for c in third.shown]
        # A number on that page picks that page's choice: 1 is "Bantuan" (help), the seventh.
        help_reply = await dispatcher.handle(said(dispatcher, "1"))
        assert T.text("id", "help.text")[:20] in help_reply[0].text
    finally:
        await storage.close()


async def test_more_from_an_older_list_is_expired(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "p.db")
    dispatcher = Dispatcher(storage, T)
    try:
        await dispatcher.handle(said(dispatcher, "/start"))
        first = await dispatcher.handle(said(dispatcher, "/menu"))
        more = first.shown[-1]
        # Another screen replaced the list since; its "more" no longer means anything.
        await dispatcher.handle(said(dispatcher, "/bahasa"))
        stale = await dispatcher.handle(
            Incoming("test", "9", payload=more.payload, capabilities=SMALL)
        )
        assert stale[0].text.startswith(T.text("id", "common.expired"))
    finally:
        await storage.close()


async def test_unlimited_channel_gets_the_whole_list(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "p.db")
    dispatcher = Dispatcher(storage, T)
    try:
        await dispatcher.handle(Incoming.from_text(channel="test", user_id="8", text="/start"))
        handled = await dispatcher.handle(
            Incoming.from_text(channel="test", user_id="8", text="/menu")
        )
        assert len(handled.shown) == 7  # the main menu, "Cari buku" included
        assert T.text("id", "menu.help") in [c.label for c in handled.shown]
    finally:
        await storage.close()


async def test_topics_before_consent_enter_the_consent_step(tmp_path: Path) -> None:
    # Not paging, but the same door: /langganan before the privacy notice was accepted asks
    # for consent in the onboarding flow, and "iya" typed there is the agreement.
    storage = await Storage.open(tmp_path / "t.db")
    dispatcher = Dispatcher(storage, T)
    try:
        handled = await dispatcher.handle(said(dispatcher, "/langganan"))
        assert handled[0].text.startswith(T.text("id", "topics.need_consent"))
        assert [c.payload for c in handled.shown] == ["consent:yes", "consent:no"]
        agreed = await dispatcher.handle(said(dispatcher, "iya"))
        assert "home:" in "".join(c.payload for c in agreed.shown)  # next: the regency
    finally:
        await storage.close()
