"""The FastAPI application: middleware, error handlers, module routers, lifespan.

Above every module (``core`` is below them and imports none of them): the one place that
puts the modules together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hushcast import __version__
from hushcast.core import metrics_http
from hushcast.core.config import Settings, get_settings
from hushcast.core.db import Database, create_database
from hushcast.core.errors import install_error_handlers, problem
from hushcast.core.migrate import is_up_to_date
from hushcast.delivery.metrics import configure_bot_labels, refresh_queue_depth
from hushcast.orgs.deps import CurrentPrincipal, KeyRateLimiter, reject_unstorable_text

log = logging.getLogger("hushcast")


class PathNormalizer:
    """Serves every route under ``/v1`` and ``/api/v1`` (``/v2`` and ``/api/v2``) and with a
    trailing slash."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            new = path
            if new.startswith(("/api/v1/", "/api/v2/")) or new in ("/api/v1", "/api/v2"):
                new = new[4:]
            if len(new) > 1 and new.endswith("/"):
                new = new.rstrip("/") or "/"
            if new != path:
                scope = dict(scope)
                scope["path"] = new
                scope["raw_path"] = new.encode()
        await self.app(scope, receive, send)


class BodySizeLimit:
    """Answers 413 to bodies larger than the configured limit, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._reject(scope, receive, send)
                    return
        seen = 0
        too_big = False

        async def limited_receive() -> Message:
            nonlocal seen, too_big
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_big = True
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(413, f"Request body larger than {self.max_bytes} bytes")
        await response(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


def api_router() -> APIRouter:
    from hushcast.bots.endpoints import router as bots
    from hushcast.broadcasts.endpoints import router as broadcasts
    from hushcast.contacts.contact_endpoints import router as contact_routes
    from hushcast.contacts.endpoints import router as contacts
    from hushcast.groups.endpoints import router as groups
    from hushcast.messages.endpoints import router as messages
    from hushcast.mute.endpoints import router as mute
    from hushcast.policies.endpoints import router as policies
    from hushcast.reports.endpoints import router as reports
    from hushcast.sending.endpoints import router as sending
    from hushcast.updates.endpoints import router as updates
    from hushcast.webhooks.endpoints import router as webhooks
    from hushcast.yespo.router import router as yespo

    router = APIRouter(prefix="/v1", dependencies=[Depends(reject_unstorable_text)])

    @router.get("/ping", tags=["account"])
    def ping(principal: CurrentPrincipal) -> dict[str, Any]:
        """Checks the API key and does nothing else (also the benchmarks' baseline)."""
        return {"ok": True, "apiKeyId": principal.api_key_id}

    for sub in (
        bots,
        contacts,
        contact_routes,
        mute,
        messages,
        groups,
        broadcasts,
        sending,
        reports,
        webhooks,
        updates,
        policies,
        yespo,
    ):
        router.include_router(sub)
    return router


SECRET_IN_DATABASE_WARNING = (
    "HUSHCAST_SECRET_KEY is not set: the secret that signs dashboard sessions and click "
    "links is kept in plaintext in the database (settings_kv), so whoever can read the "
    "database can forge them. Set HUSHCAST_SECRET_KEY (see docs/security.md)."
)


def _load_secret(db: Database) -> str:
    from hushcast.orgs.service import get_or_create_secret

    with db.transaction() as conn:
        return get_or_create_secret(conn)


def _start_metrics(settings: Settings, db: Database) -> metrics_http.MetricsListener | None:
    """The separate metrics listener when METRICS_BIND is set; a log line when metrics
    are not served at all."""
    if settings.metrics_bind:
        return metrics_http.MetricsListener(
            settings.metrics_bind, settings.metrics_token, lambda: refresh_queue_depth(db)
        ).start()
    if not settings.metrics_token:
        log.info(
            "metrics: not served (set HUSHCAST_METRICS_TOKEN or HUSHCAST_METRICS_BIND to scrape)"
        )
    return None


def verification_secrets(current: str, settings: Settings) -> tuple[str, ...]:
    """The secrets a signature may be made with: the current one first (it signs), then
    the previous one during a rotation."""
    previous = settings.secret_key_previous
    return (current, previous) if previous and previous != current else (current,)


def _install_openapi(app: FastAPI) -> None:
    """Serves the generated document with every route's problem responses documented."""
    from hushcast.core.openapi import document_problems

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        # FastAPI caches the document (and regenerates it when routes change).
        schema = generate()
        if "Problem" not in schema.get("components", {}).get("schemas", {}):
            document_problems(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    run_worker: bool = False,
    run_webhooks: bool = False,
) -> FastAPI:
    """The API. ``run_worker``: the delivery worker in this process too (``hushcast
    serve`` without --no-worker). ``run_webhooks``: the webhook dispatcher in this
    process (``hushcast serve`` unless --no-webhooks): API processes POST the events,
    so that a slow receiver, and the work of building the events' bodies, never take
    time from a worker's sending."""
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from hushcast.telegram.client import HttpTelegramClient

        database = db or create_database(settings.database_url, pool_size=settings.db_pool_size)
        app.state.db = database
        if not settings.secret_key and not database.is_sqlite:
            log.warning(SECRET_IN_DATABASE_WARNING)
        app.state.secret = settings.secret_key or await asyncio.to_thread(_load_secret, database)
        app.state.verify_secrets = verification_secrets(app.state.secret, settings)
        app.state.telegram = HttpTelegramClient(
            settings.telegram_api_url, timeout=settings.telegram_timeout_s
        )
        listener = app.state.metrics_listener = _start_metrics(settings, database)
        worker_task: asyncio.Task[Any] | None = None
        worker = None
        if run_worker:
            from hushcast.delivery.worker import Worker

            worker = Worker(
                database, settings, telegram=app.state.telegram, secret=app.state.secret
            )
            worker_task = asyncio.create_task(worker.run())
        webhooks = None
        if run_webhooks:
            from hushcast.webhooks import dispatcher as webhook_dispatcher

            webhooks = webhook_dispatcher.start(database)
        try:
            yield
        finally:
            if worker is not None and worker_task is not None:
                worker.stop()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker_task
            if webhooks is not None:
                await webhook_dispatcher.stop(webhooks)
            await app.state.telegram.close()
            if listener is not None:
                await asyncio.to_thread(listener.stop)
            if db is None:
                database.dispose()

    app = FastAPI(
        title="Hushcast",
        version=__version__,
        description=(
            "Self-hosted Telegram broadcasts and transactional messages with mute. "
            "Compatible with the Yespo (eSputnik) API: every route is also served "
            "under /api/v1. Authenticate with HTTP Basic (any username, the API key "
            "as password) or a Bearer key."
        ),
        lifespan=lifespan,
        redirect_slashes=False,
        docs_url=None,
    )
    app.state.settings = settings
    configure_bot_labels(settings.metrics_bot_labels)
    _install_openapi(app)
    app.state.key_limiter = KeyRateLimiter(settings.rate_limit_per_key)
    install_error_handlers(app)
    app.include_router(api_router())
    from hushcast.yespo.router import v2_router

    app.include_router(v2_router)
    from hushcast.tracking.endpoints import router as tracking_router

    app.include_router(tracking_router)
    from hushcast.updates.endpoints import receiver as telegram_updates

    app.include_router(telegram_updates)
    from hushcast.web.routes import router as web_router
    from hushcast.web.routes import static_files

    app.include_router(web_router)
    app.mount("/ui/static", static_files(), name="ui-static")
    from hushcast.core.docs_offline import install_docs

    install_docs(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        try:
            with app.state.db.read() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return problem(503, "Database unavailable")
        return JSONResponse({"status": "ok"})

    @app.get("/metrics", include_in_schema=False)
    def metrics_endpoint(request: Request) -> Response:
        """Only with HUSHCAST_METRICS_TOKEN (and no METRICS_BIND): see core/metrics_http."""
        if not metrics_http.served_publicly(settings):
            return problem(404, "Not found")
        if not metrics_http.token_ok(settings.metrics_token, request.headers.get("authorization")):
            response = problem(401, "Metrics need the bearer token (HUSHCAST_METRICS_TOKEN)")
            response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        body = metrics_http.render(lambda: refresh_queue_depth(app.state.db))
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        try:
            if not is_up_to_date(app.state.db):
                return problem(503, "Migrations pending")
        except Exception:
            return problem(503, "Database unavailable")
        return JSONResponse({"status": "ready"})

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(PathNormalizer)
    return app
