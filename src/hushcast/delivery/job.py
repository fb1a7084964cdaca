"""A claimed row on its way to Telegram, and the outcome it ends with.

Outcomes are plain dicts keyed like the parameters of ``repository.record_outcomes``
(``b_id``, ``b_status``, ...): the outbox buffers them and writes them in batches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hushcast.delivery import status as st
from hushcast.messages.render import ContactData

# Stored descriptions are short: Telegram's own texts are, and a traceback or a
# template's error text must never grow the deliveries table (or the report).
MAX_DESCRIPTION = 500

# NUL (PostgreSQL rejects it in text), the other C0 controls but tab/newline, and lone
# surrogates (neither UTF-8 encodable nor storable).
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def clean_text(text: str | None, limit: int = MAX_DESCRIPTION) -> str | None:
    """A description that any backend stores: no NUL, no control characters but tab and
    newline, no lone surrogates, at most ``limit`` characters."""
    if text is None:
        return None
    cleaned = _UNSTORABLE.sub("\ufffd", str(text))
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "\u2026"
    return cleaned


@dataclass
class Job:
    """A claimed row on its way to Telegram.

    ``token`` is the chat id the next request goes to; ``stored_token`` the one in the
    row as claimed. They differ after Telegram moved a group to a supergroup: the row
    is recorded with the new chat id, and every check is made for it.
    """

    id: int
    kind: str
    token: str
    contact_id: int | None
    message_id: int
    json_param: str | None
    broadcast_id: int | None
    attempts: int
    contact: ContactData | None = None
    migrations: int = 0
    stored_token: str = ""
    # The recipient's languageCode: the message's translation in it is sent, if any.
    language: str | None = None

    def __post_init__(self) -> None:
        if not self.stored_token:
            self.stored_token = self.token

    @property
    def is_broadcast(self) -> bool:
        return self.broadcast_id is not None


def outcome(
    job: Job,
    status: str,
    now: datetime,
    *,
    error_type: str | None = None,
    error_name: str | None = None,
    description: str | None = None,
    message_id: int | None = None,
    available_at: datetime | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """The row's new state, as ``repository.record_outcomes`` takes it."""
    final = status in st.FINAL_STATUSES
    return {
        "b_id": job.id,
        "b_status": status,
        "b_error_type": error_type,
        "b_error_name": error_name,
        "b_description": clean_text(description),
        "b_message_id": message_id,
        "b_finished_at": now if final else None,
        "b_attempts": job.attempts,
        "b_available_at": available_at or now,
        "b_token": token if token is not None else job.token,
    }
