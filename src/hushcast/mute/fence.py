"""A mute answers only when no send checked before it can still reach the chat.

The worker checks each group of rows (the mute included) in one read and sends the
group the moment the read answers; a check is trusted for ``WORKER_CHECK_WINDOW_S``
after it answered, later sends are checked again (delivery/sender.py). So a mute
committed just after a check read the chat as unmuted may still see that send reach
Telegram after the mute's commit: up to the window, plus the read itself, the dispatch
and the way to Telegram. Answering at once, the mute would return while such a send
is on its way (the benchmark saw 5 to 17 of 200 chats muted mid-broadcast reached
15-36 ms after the answer).

While a worker holds the bot's lease (it is sending for the bot), the answer waits out
that span: the check window plus ``SEND_MARGIN_S``. A bot no worker sends for answers
at once, so mutes outside broadcasts (and the mute benchmark's latency) pay nothing.
"""

from __future__ import annotations

from sqlalchemy import Connection

from hushcast.core.config import Settings
from hushcast.core.timeutil import utcnow
from hushcast.delivery import lease_repository

# The check's read, the dispatch of its group and the request's way to Telegram.
SEND_MARGIN_S = 0.05


def fence_s(settings: Settings) -> float:
    """How long a mute of a bot being sent for waits before it answers."""
    if settings.mute_fence_s is not None:
        return max(0.0, settings.mute_fence_s)
    return settings.worker_check_window_s + SEND_MARGIN_S


def wait_after_mute(
    conn: Connection,
    settings: Settings,
    *,
    app_id: int | None = None,
    org_id: int | None = None,
    app_uuid: str | None = None,
) -> float:
    """Seconds the answer to a mute written in ``conn`` waits once committed: the fence
    while a worker holds the bot's lease (by id, or the organisation's app by uuid),
    otherwise none."""
    sending = lease_repository.is_sending(
        conn, utcnow(), app_id=app_id, org_id=org_id, app_uuid=app_uuid
    )
    return wait_if(settings, sending)


def wait_if(settings: Settings, sending: bool) -> float:
    """The wait after a mute that found out itself whether a worker holds the bot's lease
    (the API's mute reads it in its own statement, mute/repository.py)."""
    return fence_s(settings) if sending else 0.0
