"""What to do with a row: one pure function before the send, one after.

No I/O, no clock, no state: the sender gathers the facts (the row, the pre-send state
of the chat it goes to, Telegram's answer) and applies the decision. Every rule of
delivery that is not pacing lives here, so each can be tested alone
(``tests/delivery/test_decide.py``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from hushcast.delivery import eligibility as el
from hushcast.delivery import status as st
from hushcast.delivery.job import Job
from hushcast.telegram.client import SendResult

MAX_MIGRATIONS = 2
MAX_BACKOFF_S = 60.0


class Action(enum.Enum):
    SEND = "send"  # pre-send checks passed: personalise and send
    REQUEUE = "requeue"  # back to the queue as it was (broadcast paused)
    DROP = "drop"  # the row is gone (its bot or broadcast was deleted)
    FINISH = "finish"  # a final outcome (delivered, skipped, failed)
    RETRY = "retry"  # back to the queue, due after ``delay`` seconds
    PAUSE_BOT = "pause_bot"  # 429: the bot waits ``delay`` seconds; the row goes first
    MIGRATE = "migrate"  # the group moved: send again to ``chat_id``, checked again
    PARK = "park"  # HELD or WAITING (``status``) until ``until``: not claimable meanwhile


@dataclass(frozen=True)
class Decision:
    action: Action
    status: str | None = None
    error_type: str | None = None
    error_name: str | None = None
    description: str | None = None
    message_id: int | None = None
    delay: float = 0.0
    attempts: int | None = None
    chat_id: str | None = None
    # The chat is gone for good: deactivate the token (403 blocked, kicked, ...).
    deactivate: bool = False
    # Record the row with the chat id it was claimed with, not the one it was sent to.
    keep_stored_token: bool = False
    until: datetime | None = None  # PARK: when the row is looked at again


@dataclass(frozen=True)
class PreSendState:
    """What the database says right before a send, for the chat id it goes to."""

    broadcast_status: str | None  # None for a transactional row
    muted_until: datetime | None  # an active mute of that chat id
    token_active: bool | None  # None: no token row for that chat id
    message_version: object | None  # the message's updated_at; None if it was deleted
    # Another row of the same broadcast already goes to that chat id (after a migration).
    duplicate: bool = False
    # The broadcast's policies and the recipient's zone, quiet hours and recent sends;
    # None: Yespo's defaults (skip muted chats, no quiet hours, no cap).
    facts: el.Facts | None = None


SEND = Decision(Action.SEND)
REQUEUE = Decision(Action.REQUEUE)
DROP = Decision(Action.DROP)


def _skip(name: str, description: str, *, keep: bool = False) -> Decision:
    return Decision(
        Action.FINISH,
        status=st.UNAVAILABLE,
        error_type=st.OTHER_ERRORS,
        error_name=name,
        description=description,
        keep_stored_token=keep,
    )


def before_send(job: Job, state: PreSendState | None) -> Decision:
    """The pre-send check of one row, for the chat id it is about to go to."""
    if state is None:
        return DROP
    if job.is_broadcast:
        if state.broadcast_status == st.B_CANCELLED:
            return Decision(Action.FINISH, status=st.CANCELLED)
        if state.broadcast_status != st.B_RUNNING:
            return REQUEUE  # paused (or not running any more): back to the queue
        if state.duplicate:
            return _skip(
                st.TOKEN_INACTIVE,
                f"The group moved to chat {job.token}, which this broadcast already reaches",
                keep=True,
            )
        parked = _eligibility(state)
        if parked is not None:
            return parked
    elif state.facts is not None:
        # A transactional row whose request asked to respect quiet hours.
        parked = _as_decision(el.check_transactional(state.facts))
        if parked is not None:
            return parked
    if state.message_version is None:
        return template_failed("the message was deleted")
    return SEND


def _eligibility(state: PreSendState) -> Decision | None:
    """The eligibility pipeline (delivery/eligibility.py) as a decision; None: send."""
    if state.facts is None:
        # Yespo's behaviour, in the pipeline's order: token, then mute.
        if state.token_active is False:
            return _skip(st.TOKEN_INACTIVE, "The token was deactivated")
        if state.muted_until is not None:
            return _skip(st.CHANNEL_WAS_MUTED, "The chat was muted when the message was due")
        return None
    return _as_decision(
        el.check(state.facts, token_active=state.token_active, muted_until=state.muted_until)
    )


def _as_decision(out: el.Outcome) -> Decision | None:
    if out.verdict is el.Verdict.PASS:
        return None
    if out.verdict is el.Verdict.SKIP:
        return _skip(out.error_name or st.CHANNEL_WAS_MUTED, out.description or "")
    status = st.HELD if out.verdict is el.Verdict.HOLD else st.WAITING
    return Decision(Action.PARK, status=status, until=out.until)


def template_failed(description: str) -> Decision:
    return Decision(
        Action.FINISH,
        status=st.ERROR,
        error_type=st.ERRORS,
        error_name=st.TEMPLATE_ERROR,
        description=description,
    )


def backoff(attempts: int) -> float:
    """Seconds before retry number ``attempts`` (1, 2, ...): 0.5, 1, 2, ... at most 60."""
    return float(min(MAX_BACKOFF_S, 0.5 * (2 ** max(0, attempts - 1))))


def after_send(job: Job, result: SendResult, max_attempts: int) -> Decision:
    """Telegram's answer (or a transport failure) for one row, as a decision."""
    if result.ok:
        return Decision(Action.FINISH, status=st.DELIVERED, message_id=result.message_id)
    if result.is_rate_limited:
        wait = result.retry_after if result.retry_after is not None else 1
        return Decision(Action.PAUSE_BOT, delay=float(wait))
    if result.is_migrated and result.migrate_to_chat_id is not None:
        if job.migrations < MAX_MIGRATIONS:
            return Decision(Action.MIGRATE, chat_id=str(result.migrate_to_chat_id))
        return Decision(
            Action.FINISH,
            status=st.ERROR,
            error_type=st.ERRORS,
            error_name=st.BOT_SEND_ERROR,
            description=result.description or "the group migrated too many times",
        )
    if result.is_retryable:
        attempts = job.attempts + 1
        if attempts >= max_attempts:
            return Decision(
                Action.FINISH,
                status=st.ERROR,
                error_type=st.ERRORS,
                error_name=st.SEND_FAILED,
                description=result.description or result.transport_error or "no answer",
                attempts=attempts,
            )
        return Decision(Action.RETRY, delay=backoff(attempts), attempts=attempts)
    return Decision(
        Action.FINISH,
        status=st.ERROR,
        error_type=st.ERRORS,
        error_name=st.BOT_SEND_ERROR,
        description=result.description or f"error {result.error_code}",
        deactivate=result.is_chat_gone,
    )
