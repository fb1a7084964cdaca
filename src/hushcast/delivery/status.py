"""The one outcome vocabulary, used by the worker, the reports and the dashboard.

| status      | error_type    | error_name        | meaning                                         |
|-------------|---------------|-------------------|-------------------------------------------------|
| IN_QUEUE    |               |                   | waiting to be sent (or to be retried)            |
| WAITING     |               |                   | waiting for a time: its local time, or the end of its quiet hours (``available_at``) |
| HELD        |               |                   | held while its chat is muted (``mutePolicy: hold``) until the mute ends or ``available_at`` |
| SENDING     |               |                   | claimed by a worker, request to Telegram pending |
| DELIVERED   |               |                   | Telegram accepted the message                    |
| CLICKED     |               |                   | delivered, and the recipient clicked a link      |
| UNAVAILABLE | Other errors  | CHANNEL_WAS_MUTED | broadcast skipped: the chat was muted            |
| UNAVAILABLE | Other errors  | TOKEN_INACTIVE    | skipped: the token was deactivated (blocked bot) |
| UNAVAILABLE | Other errors  | QUIET_HOURS       | broadcast skipped: inside the chat's quiet hours |
| UNAVAILABLE | Other errors  | FREQUENCY_CAP     | broadcast skipped: the chat reached its cap      |
| ERROR       | Errors        | BOT_SEND_ERROR    | Telegram refused it (description: its own text)  |
| ERROR       | Errors        | SEND_FAILED       | no answer after all retries (5xx, timeouts)      |
| ERROR       | Errors        | TEMPLATE_ERROR    | personalisation failed for this recipient        |
| CANCELLED   |               |                   | broadcast cancelled before this one was sent     |
"""

IN_QUEUE = "IN_QUEUE"
SENDING = "SENDING"
DELIVERED = "DELIVERED"
CLICKED = "CLICKED"
UNAVAILABLE = "UNAVAILABLE"
ERROR = "ERROR"
CANCELLED = "CANCELLED"
# Parked rows: not claimable; ``available_at`` is when they are looked at again (a
# sweep moves them back to IN_QUEUE through a partial index, so waiting costs nothing).
WAITING = "WAITING"
HELD = "HELD"

FINAL_STATUSES = (DELIVERED, CLICKED, UNAVAILABLE, ERROR, CANCELLED)
PARKED_STATUSES = (WAITING, HELD)
PENDING_STATUSES = (IN_QUEUE, SENDING, WAITING, HELD)

OTHER_ERRORS = "Other errors"
ERRORS = "Errors"

CHANNEL_WAS_MUTED = "CHANNEL_WAS_MUTED"
TOKEN_INACTIVE = "TOKEN_INACTIVE"
BOT_SEND_ERROR = "BOT_SEND_ERROR"
SEND_FAILED = "SEND_FAILED"
TEMPLATE_ERROR = "TEMPLATE_ERROR"
QUIET_HOURS = "QUIET_HOURS"
FREQUENCY_CAP = "FREQUENCY_CAP"

KIND_BROADCAST = "broadcast"
KIND_SMARTSEND = "smartsend"
KIND_TEST = "test"

PRIORITY_TRANSACTIONAL = 0
PRIORITY_BROADCAST = 1

# Broadcast statuses.
B_SCHEDULED = "SCHEDULED"
B_RUNNING = "RUNNING"
B_PAUSED = "PAUSED"
B_FINISHED = "FINISHED"
B_CANCELLED = "CANCELLED"


def public_status(status: str, error_name: str | None) -> str:
    """A row's status as the message status API and single reports show it (Yespo's set)."""
    if status in PENDING_STATUSES:
        return IN_QUEUE
    if status == ERROR:
        return BOT_SEND_ERROR if error_name == BOT_SEND_ERROR else ERROR
    return status
