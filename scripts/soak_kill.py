"""Soak test: SIGKILL the worker 20 times during a 10,000-recipient broadcast.

    .venv/bin/python scripts/soak_kill.py                      # SQLite (temp file)
    .venv/bin/python scripts/soak_kill.py --pg postgresql://postgres@127.0.0.1:5432/postgres

Each kill comes at a random moment while a worker subprocess is sending (paid
broadcast at 1,000/s, the fake Telegram server answering after 50 ms); a standby
worker takes over when the dead one's lease runs out. At the end every recipient
must have exactly one DELIVERED row, and the duplicates sent to Telegram must not
exceed the per-kill windows (sends that reached Telegram but were not recorded).
The same loop, smaller, is tests/reliability/test_worker_kill.py.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import uuid
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient  # noqa: E402
from tests.support.reliability import kill_loop  # noqa: E402

from hushcast.app import create_app  # noqa: E402
from hushcast.core.config import Settings  # noqa: E402
from hushcast.core.db import create_database  # noqa: E402
from hushcast.core.migrate import upgrade  # noqa: E402
from hushcast.orgs.service import create_key  # noqa: E402
from hushcast.telegram.testing import FakeTelegramThread  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--pg", help="PostgreSQL admin URL: a scratch database is created there")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(10**6)

    admin = None
    name = f"hushcast_soak_{uuid.uuid4().hex[:8]}"
    if args.pg:
        import psycopg

        admin = psycopg.connect(args.pg, autocommit=True)
        admin.execute(f'CREATE DATABASE "{name}"')
        db_url = args.pg.rpartition("/")[0] + "/" + name
    else:
        db_url = f"sqlite:///{tempfile.mkdtemp(prefix='hushcast-soak-')}/soak.db"
    db = create_database(db_url, pool_size=10)
    upgrade(db)
    with db.transaction() as conn:
        _, key = create_key(conn, "soak")
    try:
        with FakeTelegramThread() as fake:
            settings = Settings(
                database_url=db_url,
                telegram_api_url=str(fake.base_url),
                rate_limit_per_key=100000,
            )
            with TestClient(create_app(settings, db=db)) as http:
                http.headers["Authorization"] = f"Bearer {key}"
                report = kill_loop(
                    http,
                    db,
                    db_url,
                    fake,
                    recipients=args.recipients,
                    kills=args.kills,
                    seed=seed,
                    progress=lambda m: print(m, flush=True),
                )
    finally:
        db.dispose()
        if admin is not None:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(report.summary())
    print(json.dumps({"database": db_url.split(":")[0], **asdict(report)}))


if __name__ == "__main__":
    main()
