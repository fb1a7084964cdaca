"""The subscribers CSV import: upload, preview with column mapping, progress, summary."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request, UploadFile
from fastapi.responses import Response

from hushcast.bots import service as bots_service
from hushcast.bots.schemas import AppOut
from hushcast.core.deps import get_db
from hushcast.core.errors import NotFound
from hushcast.web import csv_import, import_jobs
from hushcast.web.session_service import UISession
from hushcast.web.ui import (
    CsrfSession,
    SessionDep,
    app_or_404,
    org_of,
    redirect,
    render,
    router,
)

TARGET_LABELS = (
    ("", "Ignore"),
    ("token", "Chat id (token)"),
    ("externalCustomerId", "externalCustomerId"),
    ("phone", "Phone"),
    ("email", "Email"),
)


def _app(request: Request, session: UISession, app_uuid: str) -> tuple[int, AppOut]:
    with get_db(request).read() as conn:
        row = app_or_404(conn, org_of(session), app_uuid)
        app = bots_service.get_app(conn, org_of(session), row.uuid)
    return int(row.id), app


def _job(session: UISession, app_uuid: str, job_id: str) -> import_jobs.Job:
    job = import_jobs.find(job_id[:40], org_of(session), app_uuid)
    if job is None:
        raise NotFound("This import is unknown or expired: upload the file again")
    return job


@router.get("/apps/{app_uuid}/import")
def import_page(request: Request, session: SessionDep, app_uuid: str) -> Response:
    _, app = _app(request, session, app_uuid)
    return render(request, session, "import_upload.html", app=app, error=None)


@router.post("/apps/{app_uuid}/import")
async def upload(
    request: Request, session: CsrfSession, app_uuid: str, file: UploadFile | None = None
) -> Response:
    _, app = _app(request, session, app_uuid)
    error = None
    filename = (file.filename or "")[:200] if file is not None else ""
    if file is None or not filename:
        error = "Choose a CSV file"
    else:
        data = await file.read(csv_import.MAX_BYTES + 1)
        try:
            table = csv_import.read_table(data)
        except csv_import.CsvError as exc:
            error = str(exc)
    if error:
        return render(request, session, "import_upload.html", status_code=400, app=app, error=error)
    job = import_jobs.new_job(org_of(session), app.appUuid, table, filename)
    return redirect(f"/ui/apps/{app.appUuid}/import/{job.job_id}")


def _preview(
    request: Request,
    session: UISession,
    app: AppOut,
    job: import_jobs.Job,
    mapping: list[str],
    error: str | None = None,
) -> Response:
    return render(
        request,
        session,
        "import_preview.html",
        status_code=400 if error else 200,
        app=app,
        job=job,
        preview=job.table.rows[: csv_import.PREVIEW_ROWS],
        mapping=mapping,
        targets=TARGET_LABELS,
        error=error,
    )


@router.get("/apps/{app_uuid}/import/{job_id}")
def import_job_page(request: Request, session: SessionDep, app_uuid: str, job_id: str) -> Response:
    _, app = _app(request, session, app_uuid)
    job = _job(session, app.appUuid, job_id)
    if job.started:
        return render(request, session, "import_progress.html", app=app, job=job)
    return _preview(request, session, app, job, csv_import.guess_mapping(job.table))


@router.post("/apps/{app_uuid}/import/{job_id}")
def start_import(
    request: Request,
    session: CsrfSession,
    app_uuid: str,
    job_id: str,
    column: Annotated[list[str] | None, Form(max_length=200)] = None,
) -> Response:
    app_id, app = _app(request, session, app_uuid)
    job = _job(session, app.appUuid, job_id)
    mapping = list(column or [])
    try:
        csv_import.check_mapping(mapping, len(job.table.header))
    except csv_import.CsvError as exc:
        shown = (
            mapping
            if len(mapping) == len(job.table.header)
            else csv_import.guess_mapping(job.table)
        )
        return _preview(request, session, app, job, shown, str(exc))
    prepared = csv_import.prepare(job.table, mapping)
    import_jobs.start(job, get_db(request), app_id, prepared)
    return redirect(f"/ui/apps/{app.appUuid}/import/{job.job_id}")


@router.get("/apps/{app_uuid}/import/{job_id}/progress")
def import_progress(request: Request, session: SessionDep, app_uuid: str, job_id: str) -> Response:
    _, app = _app(request, session, app_uuid)
    job = _job(session, app.appUuid, job_id)
    return render(request, session, "_import_progress.html", app=app, job=job)
