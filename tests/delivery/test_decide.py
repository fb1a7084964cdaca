"""The delivery rules, each alone: pure functions, no database, no HTTP, no clock."""

from __future__ import annotations

from datetime import datetime

import pytest

from hushcast.delivery import decide
from hushcast.delivery import status as st
from hushcast.delivery.decide import Action, PreSendState
from hushcast.delivery.job import Job, clean_text, outcome
from hushcast.telegram.client import SendResult

V1 = datetime(2026, 1, 1)


def job(token: str = "42", broadcast_id: int | None = 7, attempts: int = 0, **kw: object) -> Job:
    return Job(
        id=1,
        kind="broadcast" if broadcast_id else "smartsend",
        token=token,
        contact_id=None,
        message_id=3,
        json_param=None,
        broadcast_id=broadcast_id,
        attempts=attempts,
        **kw,  # type: ignore[arg-type]
    )


def state(**kw: object) -> PreSendState:
    base: dict[str, object] = {
        "broadcast_status": st.B_RUNNING,
        "muted_until": None,
        "token_active": True,
        "message_version": V1,
    }
    base.update(kw)
    return PreSendState(**base)  # type: ignore[arg-type]


# -- before the send -----------------------------------------------------------


def test_running_broadcast_row_is_sent() -> None:
    assert decide.before_send(job(), state()).action is Action.SEND


def test_muted_chat_is_skipped_as_muted() -> None:
    d = decide.before_send(job(), state(muted_until=datetime(9999, 1, 1)))
    assert (d.action, d.status, d.error_type, d.error_name) == (
        Action.FINISH,
        st.UNAVAILABLE,
        st.OTHER_ERRORS,
        st.CHANNEL_WAS_MUTED,
    )


def test_an_inactive_token_wins_over_a_mute() -> None:
    # The pipeline's order (docs/policies.md): token active, then mute.
    d = decide.before_send(job(), state(muted_until=datetime(9999, 1, 1), token_active=False))
    assert d.error_name == st.TOKEN_INACTIVE


def test_inactive_token_is_skipped() -> None:
    d = decide.before_send(job(), state(token_active=False))
    assert (d.status, d.error_name) == (st.UNAVAILABLE, st.TOKEN_INACTIVE)


def test_unknown_token_is_still_sent() -> None:
    # A migrated group's new chat id may have no token row of its own yet.
    assert decide.before_send(job(), state(token_active=None)).action is Action.SEND


def test_paused_broadcast_goes_back_to_the_queue() -> None:
    d = decide.before_send(job(), state(broadcast_status=st.B_PAUSED))
    assert d.action is Action.REQUEUE


def test_cancelled_broadcast_row_is_cancelled() -> None:
    d = decide.before_send(job(), state(broadcast_status=st.B_CANCELLED))
    assert (d.action, d.status) == (Action.FINISH, st.CANCELLED)


def test_vanished_row_is_dropped() -> None:
    assert decide.before_send(job(), None).action is Action.DROP


def test_deleted_message_is_a_template_error() -> None:
    d = decide.before_send(job(), state(message_version=None))
    assert (d.status, d.error_name) == (st.ERROR, st.TEMPLATE_ERROR)


def test_transactional_rows_ignore_mute_token_and_broadcast() -> None:
    s = state(broadcast_status=None, muted_until=datetime(9999, 1, 1), token_active=False)
    assert decide.before_send(job(broadcast_id=None), s).action is Action.SEND


def test_group_moved_to_a_chat_the_broadcast_already_reaches() -> None:
    j = job(token="-1005", stored_token="-5")
    d = decide.before_send(j, state(duplicate=True))
    assert (d.action, d.status, d.keep_stored_token) == (Action.FINISH, st.UNAVAILABLE, True)


# -- after the send --------------------------------------------------------------


def test_ok_is_delivered_with_telegrams_message_id() -> None:
    d = decide.after_send(job(), SendResult(ok=True, message_id=99), 5)
    assert (d.action, d.status, d.message_id) == (Action.FINISH, st.DELIVERED, 99)


def test_429_pauses_the_bot_for_retry_after() -> None:
    d = decide.after_send(job(), SendResult(ok=False, error_code=429, retry_after=17), 5)
    assert (d.action, d.delay) == (Action.PAUSE_BOT, 17.0)


def test_429_without_retry_after_pauses_one_second() -> None:
    d = decide.after_send(job(), SendResult(ok=False, error_code=429), 5)
    assert d.delay == 1.0


def test_migration_is_followed_to_the_new_chat() -> None:
    r = SendResult(ok=False, error_code=400, migrate_to_chat_id=-1005)
    d = decide.after_send(job(token="-5"), r, 5)
    assert (d.action, d.chat_id) == (Action.MIGRATE, "-1005")


def test_a_third_migration_is_an_error_not_a_loop() -> None:
    r = SendResult(ok=False, error_code=400, migrate_to_chat_id=-1005, description="migrated")
    d = decide.after_send(job(migrations=2), r, 5)
    assert (d.action, d.error_name) == (Action.FINISH, st.BOT_SEND_ERROR)


@pytest.mark.parametrize(
    "result",
    [SendResult(ok=False, error_code=502), SendResult(ok=False, transport_error="TimeoutError")],
)
def test_5xx_and_timeouts_retry_with_growing_backoff(result: SendResult) -> None:
    first = decide.after_send(job(attempts=0), result, 5)
    second = decide.after_send(job(attempts=1), result, 5)
    assert (first.action, first.attempts, first.delay) == (Action.RETRY, 1, 0.5)
    assert (second.action, second.attempts, second.delay) == (Action.RETRY, 2, 1.0)


def test_last_attempt_fails_as_send_failed() -> None:
    d = decide.after_send(job(attempts=4), SendResult(ok=False, error_code=500), 5)
    assert (d.action, d.error_name, d.attempts) == (Action.FINISH, st.SEND_FAILED, 5)


def test_backoff_is_capped() -> None:
    assert decide.backoff(30) == decide.MAX_BACKOFF_S


def test_blocked_bot_fails_and_deactivates_the_token() -> None:
    r = SendResult(ok=False, error_code=403, description="Forbidden: bot was blocked by the user")
    d = decide.after_send(job(), r, 5)
    assert (d.error_name, d.deactivate, d.description) == (
        st.BOT_SEND_ERROR,
        True,
        "Forbidden: bot was blocked by the user",
    )


def test_other_400_fails_without_deactivating() -> None:
    r = SendResult(ok=False, error_code=400, description="Bad Request: chat not found")
    d = decide.after_send(job(), r, 5)
    assert (d.error_name, d.deactivate) == (st.BOT_SEND_ERROR, False)


# -- outcomes store clean text -------------------------------------------------------


def test_descriptions_are_cleaned_for_any_database() -> None:
    dirty = "bad\x00byte \ud800 lone" + "x" * 2000
    cleaned = clean_text(dirty)
    assert cleaned is not None
    assert "\x00" not in cleaned and "\ud800" not in cleaned
    assert len(cleaned) <= 500
    cleaned.encode("utf-8")  # storable


def test_outcome_keeps_newlines_and_cleans_the_description() -> None:
    o = outcome(job(), st.ERROR, V1, description="line1\nline2\x00")
    assert o["b_description"] == "line1\nline2\ufffd"
    assert o["b_finished_at"] == V1
    assert outcome(job(), st.IN_QUEUE, V1)["b_finished_at"] is None
