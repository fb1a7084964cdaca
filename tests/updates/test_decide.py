"""What one update asks for (pure decisions), the dialog guard's arithmetic, the relay's
backoff, and deep-link payloads."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from hushcast.updates import decide, links
from hushcast.updates.decide import (
    Deactivate,
    Dialog,
    Migrate,
    Options,
    Reactivate,
    RegisterGroup,
    Start,
)

GUARD = Options(dialog_guard=True)
PLAIN = Options()


def private_message(text: str, chat_id: int = 42, **sender: Any) -> dict[str, Any]:
    return {
        "update_id": 1,
        "message": {
            "message_id": 5,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Ann", **sender},
            "chat": {"id": chat_id, "type": "private"},
            "date": 0,
            "text": text,
        },
    }


def member(chat: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    return {
        "update_id": 2,
        "my_chat_member": {
            "chat": chat,
            "from": {"id": 1},
            "date": 0,
            "old_chat_member": {"status": old, "user": {"id": 9}},
            "new_chat_member": {"status": new, "user": {"id": 9}},
        },
    }


def test_start_registers_with_the_users_names_and_no_dialog() -> None:
    update = private_message("/start", last_name="Lee", username="ann", language_code="uk")
    assert decide.decide(update, GUARD) == [
        Start("42", None, first_name="Ann", last_name="Lee", username="ann", language="uk")
    ]


def test_start_with_a_payload_and_with_the_bots_name() -> None:
    assert decide.decide(private_message("/start abc_-1"), PLAIN)[0] == Start(
        "42", "abc_-1", first_name="Ann"
    )
    assert decide.decide(private_message("/start@shop_bot xyz"), PLAIN)[0] == Start(
        "42", "xyz", first_name="Ann"
    )
    # Not a start: another command, or /start inside a text.
    assert decide.decide(private_message("/startle"), PLAIN) == []
    assert decide.decide(private_message("say /start"), PLAIN) == []


def test_a_message_is_a_dialog_only_when_the_guard_is_on() -> None:
    assert decide.decide(private_message("hello"), GUARD) == [Dialog("42")]
    assert decide.decide(private_message("hello"), PLAIN) == []
    edited = {"update_id": 3, "edited_message": private_message("x")["message"]}
    assert decide.decide(edited, GUARD) == [Dialog("42")]


def test_group_messages_are_no_dialog() -> None:
    update = private_message("hello", chat_id=-100)
    update["message"]["chat"]["type"] = "supergroup"
    assert decide.decide(update, GUARD) == []


def test_a_button_press_is_a_dialog() -> None:
    update = {
        "update_id": 4,
        "callback_query": {
            "id": "1",
            "from": {"id": 42},
            "message": {"message_id": 1, "chat": {"id": 42, "type": "private"}},
            "data": "x",
        },
    }
    assert decide.decide(update, GUARD) == [Dialog("42")]
    # An inline-mode button has no message: the user's id is the private chat.
    del update["callback_query"]["message"]
    assert decide.decide(update, GUARD) == [Dialog("42")]
    assert decide.decide(update, PLAIN) == []


def test_blocked_and_unblocked() -> None:
    chat = {"id": 42, "type": "private"}
    assert decide.decide(member(chat, "member", "kicked"), PLAIN) == [
        Deactivate("42", decide.BLOCKED_REASON)
    ]
    assert decide.decide(member(chat, "kicked", "member"), PLAIN) == [Reactivate("42")]


def test_groups_only_with_register_groups() -> None:
    chat = {"id": -100123, "type": "supergroup", "title": "Fans"}
    added = member(chat, "left", "member")
    removed = member(chat, "administrator", "left")
    assert decide.decide(added, PLAIN) == []
    assert decide.decide(removed, PLAIN) == []
    groups = Options(register_groups=True)
    assert decide.decide(added, groups) == [RegisterGroup("-100123", "Fans")]
    assert decide.decide(removed, groups) == [Deactivate("-100123", decide.REMOVED_REASON)]


def test_group_migration() -> None:
    update = {
        "update_id": 5,
        "message": {
            "message_id": 1,
            "chat": {"id": -123, "type": "group"},
            "date": 0,
            "migrate_to_chat_id": -100123,
        },
    }
    assert decide.decide(update, PLAIN) == [Migrate("-123", "-100123")]


def test_garbage_decides_nothing() -> None:
    for update in (
        None,
        [],
        {},
        {"message": "x"},
        {"message": {"chat": {"id": True}}},
        {"my_chat_member": {"chat": {"id": 1, "type": "private"}}},
    ):
        assert decide.decide(update, GUARD) == []


def test_guard_slides_but_never_shortens() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0)
    assert decide.guard_until(None, now, 1800) == now + timedelta(seconds=1800)
    # An earlier guard mute (or a shorter API mute) is extended.
    shorter = now + timedelta(seconds=600)
    assert decide.guard_until(shorter, now, 1800) == now + timedelta(seconds=1800)
    # A longer one stays.
    assert decide.guard_until(now + timedelta(days=1), now, 1800) is None
    assert decide.guard_until(now + timedelta(seconds=1800), now, 1800) is None


def test_relay_backoff_grows_and_is_bounded() -> None:
    delays = [decide.relay_delay(n) for n in range(1, decide.RELAY_MAX_ATTEMPTS + 1)]
    assert delays == sorted(delays)
    assert delays[0] == 1 and max(delays) == 900


NOW = datetime(2026, 1, 1, 12, 0, 0)


def test_link_payload_round_trip_and_shape() -> None:
    payload = links.make_payload("s3cret", 7, 12345, NOW + timedelta(hours=1))
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", payload)
    assert links.read_payload(("s3cret",), 7, payload, NOW) == (12345, False)
    # Signed with the previous secret during a rotation.
    assert links.read_payload(("new", "s3cret"), 7, payload, NOW) == (12345, False)
    once = links.make_payload("s3cret", 7, 12345, NOW + timedelta(hours=1), single_use=True)
    assert links.read_payload(("s3cret",), 7, once, NOW) == (12345, True)


def test_link_payload_refusals() -> None:
    payload = links.make_payload("s3cret", 7, 12345, NOW + timedelta(hours=1))
    assert links.read_payload(("s3cret",), 8, payload, NOW) is None  # another bot
    assert links.read_payload(("other",), 7, payload, NOW) is None  # forged
    assert links.read_payload(("s3cret",), 7, payload, NOW + timedelta(hours=2)) is None
    tampered = ("A" if payload[0] != "A" else "B") + payload[1:]
    assert links.read_payload(("s3cret",), 7, tampered, NOW) is None
    assert links.read_payload(("s3cret",), 7, "short", NOW) is None
    assert links.read_payload(("s3cret",), 7, "!" * links.PAYLOAD_LENGTH, NOW) is None


def test_names_are_made_storable() -> None:
    update = private_message("/start", last_name="L\x00ee", username="\ud800x")
    update["message"]["from"]["first_name"] = "A" * 300
    (start,) = decide.decide(update, PLAIN)
    assert isinstance(start, Start)
    assert start.first_name == "A" * 200 and start.last_name == "Lee"
    assert start.username == "?x"
