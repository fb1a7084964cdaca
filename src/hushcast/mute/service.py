"""Mute and unmute: the chat gets no broadcasts until mutedUntil. Never commits.

Checks come in Yespo's documented order: the app checks answer before any body
check (see endpoints), the body checks are here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from hushcast.bots.service import NOT_REGISTERED
from hushcast.core.chat_ids import is_empty, parse_chat_id
from hushcast.core.errors import BadRequest, NotFound
from hushcast.core.ids import ascii_int
from hushcast.core.timeutil import FOREVER, iso, utcnow
from hushcast.delivery import holds
from hushcast.delivery.wakeup import notify_work
from hushcast.mute import repository as repo
from hushcast.mute.metrics import MUTES
from hushcast.mute.schemas import BulkMuteOut, MuteOut, MuteStateOut
from hushcast.webhooks import outbox as webhook_outbox

TOKENS_REQUIRED = "Tokens must be specified"
DURATION_NOT_POSITIVE = "Duration must be positive int"
MIN_DURATION = 5
MAX_DURATION = 31_536_000
DURATION_RANGE = f"Duration must be between {MIN_DURATION} and {MAX_DURATION} seconds"
MAX_BULK = 1000

_MUTED = MUTES.labels("mute")
_UNMUTED = MUTES.labels("unmute")


def parse_tokens(body: dict[str, Any]) -> tuple[list[str], bool]:
    """The tokens named by ``token`` or ``tokens``; and whether the bulk form was used."""
    if "tokens" in body and body["tokens"] is not None:
        raw = body["tokens"]
        if not isinstance(raw, list) or not raw:
            raise BadRequest(TOKENS_REQUIRED)
        if any(_unspecified(t) for t in raw):
            raise BadRequest(TOKENS_REQUIRED)
        if len(raw) > MAX_BULK:
            raise BadRequest(f"At most {MAX_BULK} tokens per request")
        tokens = [parse_chat_id(t, f"tokens[{i}]") for i, t in enumerate(raw)]
        # Keep order, drop repeats (also "0123" after "123"): one outcome per chat.
        return list(dict.fromkeys(tokens)), True
    return [parse_token(body.get("token"))], False


def parse_token(value: Any) -> str:
    """One chat id in canonical form; Yespo's error when it is missing."""
    if _unspecified(value):
        raise BadRequest(TOKENS_REQUIRED)
    return parse_chat_id(value, "token")


def _unspecified(value: Any) -> bool:
    """Yespo's "Tokens must be specified" covers a missing token and one that is not a
    string or a number at all; a string that is no chat id gets the chat-id rule."""
    return is_empty(value) or isinstance(value, bool) or not isinstance(value, str | int)


def parse_duration(body: dict[str, Any]) -> int | None:
    """Seconds, or None for "forever". Java clients may send the number as a string."""
    if "duration" not in body or body["duration"] is None:
        return None
    value = body["duration"]
    seconds: int
    if isinstance(value, bool):
        raise BadRequest(DURATION_NOT_POSITIVE)
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise BadRequest(DURATION_NOT_POSITIVE)
        seconds = int(value)
    elif isinstance(value, str) and (parsed := ascii_int(value, signed=True)) is not None:
        seconds = parsed
    else:
        raise BadRequest(DURATION_NOT_POSITIVE)
    if seconds <= 0:
        raise BadRequest(DURATION_NOT_POSITIVE)
    if not MIN_DURATION <= seconds <= MAX_DURATION:
        raise BadRequest(DURATION_RANGE)
    return seconds


def mute(
    conn: Connection,
    app_id: int,
    tokens: list[str],
    duration: int | None,
    api_key_id: int | None,
    now: datetime | None = None,
    *,
    source: str | None = None,
) -> datetime:
    """Mutes the chats; ``source`` says who when it is not the API (mute/actors.py)."""
    now = now or utcnow()
    until = FOREVER if duration is None else now + timedelta(seconds=duration)
    # A new mute replaces the previous one, shorter or longer; history keeps both.
    repo.apply_mute(conn, app_id, tokens, until, now, api_key_id, source)
    # A replaced mute may end sooner: held rows are looked at again (and held anew
    # until the new end if it is still ahead).
    holds.release(conn, app_id, tokens, now)
    webhook_outbox.record_mutes(
        conn, "muted", tokens, until, api_key_id, now, app_id=app_id, source=source
    )
    _MUTED.inc(len(tokens))
    return until


def mute_app(
    conn: Connection,
    org_id: int,
    app_uuid: str,
    tokens: list[str],
    duration: int | None,
    api_key_id: int | None,
) -> tuple[datetime, bool]:
    """mute() for the organisation's app with this canonical uuid (see
    bots.service.parse_app_uuid), found by the mute's own statements; NotFound, with
    nothing written, as resolve_app when the organisation has no such app. Returns the
    mute's end, and whether a worker sends for the bot now (mute/fence.py)."""
    now = utcnow()
    until = FOREVER if duration is None else now + timedelta(seconds=duration)
    # The mute, its history and the release of held rows (see mute()): one statement
    # on PostgreSQL.
    written = repo.apply_mute_by_uuid(conn, org_id, app_uuid, tokens, until, now, api_key_id)
    if written is None:
        raise NotFound(NOT_REGISTERED)
    if written.released and written.app_id is not None:
        notify_work(conn, written.app_id)
    if written.subscribed:
        webhook_outbox.record_mutes(
            conn, "muted", tokens, until, api_key_id, now, org_id=org_id, app_uuid=app_uuid
        )
    _MUTED.inc(len(tokens))
    return until, written.sending


def unmute(
    conn: Connection,
    app_id: int,
    tokens: list[str],
    api_key_id: int | None,
    *,
    source: str | None = None,
) -> None:
    now = utcnow()
    repo.apply_unmute(conn, app_id, tokens, now, api_key_id, source)
    holds.release(conn, app_id, tokens, now)
    webhook_outbox.record_mutes(
        conn, "unmuted", tokens, None, api_key_id, now, app_id=app_id, source=source
    )
    _UNMUTED.inc(len(tokens))


def state(conn: Connection, app_id: int, token: str) -> MuteStateOut:
    until = repo.current(conn, app_id, [token]).get(token)
    # An expired mute reads as not muted; nothing needs to clean it up.
    if until is not None and until <= utcnow():
        until = None
    return MuteStateOut(token=token, muted=until is not None, mutedUntil=iso(until))


def mute_response(tokens: list[str], bulk: bool, until: datetime | None) -> MuteOut | BulkMuteOut:
    if bulk:
        return BulkMuteOut(tokens=[MuteOut(token=t, mutedUntil=iso(until)) for t in tokens])
    return MuteOut(token=tokens[0], mutedUntil=iso(until))
