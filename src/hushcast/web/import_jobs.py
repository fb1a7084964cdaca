"""Running a subscribers CSV import in the background, in batches, so that the page can
show its progress. Jobs live in this process's memory (the dashboard is served by one
process per host; a restart forgets unfinished imports, whose finished batches stay).
Each job belongs to an organisation and a bot: another organisation never finds it."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from hushcast.contacts import service as contacts_service
from hushcast.contacts.service import TokenItem
from hushcast.core.db import Database
from hushcast.core.errors import ApiError
from hushcast.core.retry import run_transaction
from hushcast.web.csv_import import Prepared, Rejected, Table

BATCH = 500
KEEP_S = 3600
MAX_JOBS = 50


@dataclass
class Job:
    job_id: str
    org_id: int
    app_uuid: str
    table: Table
    filename: str
    created: float = field(default_factory=time.monotonic)
    total: int = 0
    processed: int = 0
    started: bool = False
    done: bool = False
    failed: str | None = None
    counts: dict[str, int] = field(
        default_factory=lambda: {
            "contactsCreated": 0,
            "tokensAdded": 0,
            "tokensMoved": 0,
            "tokensReactivated": 0,
            "tokensUnchanged": 0,
        }
    )
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return 100 if self.done else int(self.processed * 100 / self.total) if self.total else 0


_jobs: dict[str, Job] = {}
_lock = threading.Lock()


def _purge(now: float) -> None:
    for key in [k for k, j in _jobs.items() if now - j.created > KEEP_S]:
        del _jobs[key]
    while len(_jobs) >= MAX_JOBS:
        oldest = min(_jobs.values(), key=lambda j: j.created)
        del _jobs[oldest.job_id]


def new_job(org_id: int, app_uuid: str, table: Table, filename: str) -> Job:
    with _lock:
        _purge(time.monotonic())
        job = Job(secrets.token_urlsafe(12), org_id, app_uuid, table, filename)
        _jobs[job.job_id] = job
        return job


def find(job_id: str, org_id: int, app_uuid: str) -> Job | None:
    with _lock:
        job = _jobs.get(job_id)
    if job is None or job.org_id != org_id or job.app_uuid != app_uuid:
        return None
    return job


def start(job: Job, db: Database, app_id: int, prepared: Prepared) -> bool:
    """Starts the job once; False when it was started already."""
    with _lock:
        if job.started:
            return False
        job.started = True
    job.total = len(prepared.items) + len(prepared.rejected)
    job.rejected = list(prepared.rejected)
    job.processed = len(prepared.rejected)
    thread = threading.Thread(
        target=_run, args=(job, db, app_id, prepared.items), daemon=True, name="csv-import"
    )
    thread.start()
    return True


def _apply(db: Database, org_id: int, app_id: int, items: list[TokenItem]) -> Any:
    def tx(conn: Connection) -> Any:
        return contacts_service.register_tokens(conn, org_id, app_id, items)

    return run_transaction(db, tx)


def _add(job: Job, result: Any) -> None:
    for key in job.counts:
        job.counts[key] += int(getattr(result, key))


def _run(job: Job, db: Database, app_id: int, items: list[tuple[int, TokenItem]]) -> None:
    try:
        for start_at in range(0, len(items), BATCH):
            batch = items[start_at : start_at + BATCH]
            try:
                _add(job, _apply(db, job.org_id, app_id, [it for _, it in batch]))
            except ApiError:
                # One row conflicts with another (e.g. an identifier of another contact):
                # apply the batch row by row so that only the bad rows are rejected.
                for line, item in batch:
                    try:
                        _add(job, _apply(db, job.org_id, app_id, [item]))
                    except ApiError as exc:
                        job.rejected.append(Rejected(line, exc.detail.replace("tokens[0].", "")))
            job.processed += len(batch)
    except Exception as exc:  # noqa: BLE001 - shown on the page instead of lost in a thread
        job.failed = f"The import stopped: {type(exc).__name__}"
    finally:
        job.rejected.sort(key=lambda r: r.line)
        job.done = True
