"""How fast held recipients come back when their mutes end (issue 17's scale row).

    .venv/bin/python bench/release_held.py [--url postgresql://postgres@127.0.0.1:5432/postgres]
        [--rows 100000]

Creates a throw-away database (PostgreSQL: a new database on the server; SQLite: a temp
file), one bot with ``rows`` HELD rows of one hold broadcast (plus as many delivered rows
of another broadcast, so the indexes are not on an empty table), then measures:

- ``unmute``: ``holds.release`` for every chat, in 1,000-chat transactions (the bulk
  unmute API's limit), as the unmute path runs it;
- ``expiry``: the same rows parked again with a past ``available_at`` (timed mutes that
  ended), then the first ``holds.release_due`` sweep (what precedes the next claim: the
  time until the first released rows are claimable), and all sweeps until none is left.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import timedelta

from sqlalchemy import insert, select, text, update

from hushcast.bots.models import apps
from hushcast.broadcasts.models import broadcasts
from hushcast.core.db import create_database
from hushcast.core.migrate import upgrade
from hushcast.core.timeutil import utcnow
from hushcast.delivery import holds
from hushcast.delivery import status as st
from hushcast.delivery.models import deliveries
from hushcast.messages.models import messages
from hushcast.orgs.models import organizations


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="")
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    admin = None
    if args.url.startswith("postgresql"):
        from sqlalchemy import create_engine

        admin = create_engine(
            args.url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
        )
        name = f"hushcast_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = args.url.rsplit("/", 1)[0] + "/" + name
    else:
        name = ""
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    db = create_database(url, null_pool=True)
    upgrade(db)
    try:
        run(db, args.rows)
    finally:
        db.dispose()
        if admin is not None:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run(db, n: int) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    with db.transaction() as conn:
        org = conn.execute(
            insert(organizations).values(name="bench", created_at=now).returning(organizations.c.id)
        ).scalar_one()
        app = conn.execute(
            insert(apps)
            .values(
                uuid=str(uuid.uuid4()),
                organization_id=org,
                bot_token="1:x",
                bot_id=1,
                bot_username="b",
                paid_broadcast=False,
                messages_per_second=30.0,
                private_chat_per_second=1.0,
                group_per_minute=20.0,
                paid_messages_per_second=1000.0,
                created_at=now,
            )
            .returning(apps.c.id)
        ).scalar_one()
        msg = conn.execute(
            insert(messages)
            .values(organization_id=org, name="m", text="t", created_at=now, updated_at=now)
            .returning(messages.c.id)
        ).scalar_one()
        bids = [
            conn.execute(
                insert(broadcasts)
                .values(
                    organization_id=org,
                    app_id=app,
                    message_id=msg,
                    start_date=now,
                    status=st.B_RUNNING,
                    created_at=now,
                    mute_policy="hold",
                    hold_until=now + timedelta(days=1),
                )
                .returning(broadcasts.c.id)
            ).scalar_one()
            for _ in range(2)
        ]
        for status, bid in ((st.DELIVERED, bids[0]), (st.HELD, bids[1])):
            for start in range(0, n, 10_000):
                conn.execute(
                    insert(deliveries),
                    [
                        {
                            "organization_id": org,
                            "app_id": app,
                            "broadcast_id": bid,
                            "message_id": msg,
                            "kind": st.KIND_BROADCAST,
                            "priority": st.PRIORITY_BROADCAST,
                            "token": str(1_000_000 + i),
                            "status": status,
                            "attempts": 0,
                            "available_at": now + timedelta(days=1),
                            "created_at": now,
                            "finished_at": now if status == st.DELIVERED else None,
                        }
                        for i in range(start, min(n, start + 10_000))
                    ],
                )
    tokens = [str(1_000_000 + i) for i in range(n)]
    t0 = time.perf_counter()
    released = 0
    for i in range(0, n, 1000):
        with db.transaction() as conn:
            released += holds.release(conn, app, tokens[i : i + 1000])
    unmute = time.perf_counter() - t0
    print(
        f"{db.engine.dialect.name}: unmute path released {released:,} held rows in "
        f"{unmute:.2f} s ({n // 1000} transactions of 1,000 chats; the first in "
        f"{unmute / (n / 1000) * 1000:.0f} ms on average)"
    )

    with db.transaction() as conn:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.broadcast_id == bids[1])
            .values(status=st.HELD, available_at=utcnow() - timedelta(seconds=1))
        )
    t0 = time.perf_counter()
    with db.transaction() as conn:
        first = holds.release_due(conn, app, utcnow())
    first_s = time.perf_counter() - t0
    total = first
    while True:
        with db.transaction() as conn:
            got = holds.release_due(conn, app, utcnow())
        if not got:
            break
        total += got
    all_s = time.perf_counter() - t0
    with db.read() as conn:
        left = conn.execute(
            select(deliveries.c.id).where(deliveries.c.status == st.HELD).limit(1)
        ).first()
    assert left is None and total == n
    print(
        f"{db.engine.dialect.name}: expiry: first sweep made {first:,} rows claimable in "
        f"{first_s * 1000:.0f} ms; all {total:,} in {all_s:.2f} s"
    )


if __name__ == "__main__":
    main()
