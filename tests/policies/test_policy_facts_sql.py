"""When the pre-send check reads the pipeline's facts (SQLite and PostgreSQL): only when
something could apply, and then whatever level set it."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from hushcast.broadcasts.models import broadcasts
from hushcast.core.db import Database
from hushcast.core.timeutil import utcnow
from hushcast.delivery import policy_facts
from hushcast.delivery import status as st
from hushcast.delivery.models import deliveries
from tests.support.broadcasts import add_delivery, add_message, app_id

QUIET = {"quietHours": {"start": "22:00", "end": "08:00"}}


def _row(client: TestClient, db: Database, app_uuid: str, **fields: Any) -> int:
    mid = add_message(db)
    r = client.post("/v1/broadcast", json={"messageId": mid, "appId": app_uuid, **fields})
    bid = int(r.json()["broadcastId"])
    with db.transaction() as conn:
        conn.execute(update(broadcasts).where(broadcasts.c.id == bid).values(status=st.B_RUNNING))
    return add_delivery(
        db, app_uuid=app_uuid, message_id=mid, token="5", status=st.SENDING, broadcast_id=bid
    )


def _facts(db: Database, app_uuid: str, rid: int) -> Any:
    with db.read() as conn:
        return policy_facts.gather(conn, app_id(db, app_uuid), [(rid, "5")], utcnow()).get(rid)


def test_no_policy_anywhere_reads_no_facts(client: TestClient, db: Database, app_uuid: str) -> None:
    rid = _row(client, db, app_uuid)
    assert _facts(db, app_uuid, rid) is None


def test_each_level_alone_makes_the_facts_read(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    rid = _row(client, db, app_uuid)
    # A contact's own quiet hours, with nothing set for the bot or the organisation.
    contact = client.post("/v1/contact", json={"email": "n@x.io"}).json()["id"]
    assert client.put(f"/v1/contact/{contact}/quiet-hours", json=QUIET).status_code == 200
    assert _facts(db, app_uuid, rid) is not None
    client.delete(f"/v1/contact/{contact}/quiet-hours")
    assert _facts(db, app_uuid, rid) is None
    # The bot's quiet hours; an empty window turns them off again.
    client.put(f"/v1/apps/{app_uuid}/policies", json=QUIET)
    assert _facts(db, app_uuid, rid) is not None
    client.put(
        f"/v1/apps/{app_uuid}/policies", json={"quietHours": {"start": "00:00", "end": "00:00"}}
    )
    assert _facts(db, app_uuid, rid) is None
    # The organisation's cap.
    client.put("/v1/policies", json={"frequencyCap": {"count": 2, "periodSeconds": 3600}})
    facts = _facts(db, app_uuid, rid)
    assert facts is not None and facts.cap == 2
    client.put("/v1/policies", json={})
    # A running hold broadcast of the bot.
    held = _row(client, db, app_uuid, mutePolicy="hold")
    facts = _facts(db, app_uuid, held)
    assert facts is not None and facts.mute_policy == "hold"


def test_the_cap_count_leaves_out_the_rows_the_sender_counts(
    client: TestClient, db: Database, app_uuid: str
) -> None:
    """Rows the sender counts itself (sent, outcome unwritten when it looked:
    delivery/caps.py) are left out of the database's count, so none counts twice."""
    client.put(
        f"/v1/apps/{app_uuid}/policies", json={"frequencyCap": {"count": 5, "periodSeconds": 3600}}
    )
    rid = _row(client, db, app_uuid)
    earlier = [_row(client, db, app_uuid) for _ in range(2)]
    with db.transaction() as conn:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(earlier))
            .values(status=st.DELIVERED, finished_at=utcnow())
        )

    def sent(counted: list[int]) -> int:
        with db.read() as conn:
            facts = policy_facts.gather(conn, app_id(db, app_uuid), [(rid, "5")], utcnow(), counted)
        return facts[rid].sent_in_period

    assert sent([]) == 2
    assert sent([earlier[0]]) == 1
    assert sent(earlier) == 0
    assert sent([rid, 999_999]) == 2  # rows not delivered change nothing
