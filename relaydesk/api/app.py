"""The ASGI application: FastAPI for HTTP, wrapped by Socket.IO for `/widget` and `/console`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import socketio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from relaydesk.accounts.routes import router as auth_router
from relaydesk.accounts.token_routes import router as token_router
from relaydesk.admin import router as admin_router
from relaydesk.admin.audit_page import router as audit_page_router
from relaydesk.agents_console.admin_pages import router as admin_pages_router
from relaydesk.agents_console.events import ConsoleNamespace
from relaydesk.agents_console.inbox import router as inbox_router
from relaydesk.agents_console.pages import router as pages_router
from relaydesk.agents_console.sso_pages import router as sso_router
from relaydesk.analytics.page import router as analytics_page_router
from relaydesk.analytics.routes import router as analytics_router
from relaydesk.api import error_docs
from relaydesk.api.body_limit import BodyLimit
from relaydesk.api.favicon import router as favicon_router
from relaydesk.api.headers import SecurityHeaders
from relaydesk.api.health import router as health_router
from relaydesk.api.timing import ServerTimingMiddleware
from relaydesk.attachments import cleanup as attachments_cleanup
from relaydesk.attachments.routes import router as attachments_router
from relaydesk.audit.routes import router as audit_router
from relaydesk.bot import turn as bot_turn
from relaydesk.bot.routes import router as bot_router
from relaydesk.canned.routes import router as canned_router
from relaydesk.collab.routes import router as collab_router
from relaydesk.conversations import hooks
from relaydesk.core import crypto, gc_policy, realtime, state
from relaydesk.core.config import Settings, get_settings
from relaydesk.core.db import Database
from relaydesk.core.errors import DomainError
from relaydesk.core.state import AppState
from relaydesk.knowledge import search as knowledge_search
from relaydesk.knowledge.routes import router as knowledge_router
from relaydesk.privacy import files as privacy_files
from relaydesk.privacy import service as privacy
from relaydesk.privacy import sockets as privacy_sockets
from relaydesk.privacy.page import router as privacy_page_router
from relaydesk.privacy.routes import router as privacy_router
from relaydesk.routing import connections as routing_connections
from relaydesk.routing import presence as routing_presence
from relaydesk.routing import service as routing
from relaydesk.routing.routes import router as routing_router
from relaydesk.sites.identity_routes import router as identity_router
from relaydesk.sites.routes import router as sites_router
from relaydesk.widget.events import WidgetNamespace
from relaydesk.widget.routes import router as widget_router

log = logging.getLogger(__name__)


class RelaydeskApp(socketio.ASGIApp):  # type: ignore[misc]
    """The Socket.IO ASGI app, keeping handles on its parts for tests and tools."""

    def __init__(self, sio: socketio.AsyncServer, api: FastAPI, app_state: AppState) -> None:
        super().__init__(sio, other_asgi_app=api, socketio_path="socket.io")
        self.sio = sio
        self.api = api
        self.app_state = app_state
        # Outermost, so Socket.IO polling bodies are limited too (engine.io reads them whole).
        self._limited = BodyLimit(SecurityHeaders(super().__call__))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._limited(scope, receive, send)


async def _warm_up_then_freeze(db: Database, settings: Settings, *, freeze: bool) -> None:
    """Build the knowledge indexes, then move everything alive into the garbage
    collector's permanent generation: the model, tokenizer and dictionaries are hundreds
    of MB of long-lived objects, and a full collection scanning them stalls every
    request for hundreds of milliseconds (it set the message-ack p99)."""
    if freeze:
        gc.freeze()
    await knowledge_search.warm_up(db, settings)
    if freeze:
        gc_policy.freeze_long_lived()


def create_app(settings: Settings | None = None) -> RelaydeskApp:
    settings = settings or get_settings()
    # The installed state for these settings (a test's, with its database), else a new one.
    app_state = state.current(settings)
    sio = realtime.create_socket_server(settings)
    sio.register_namespace(WidgetNamespace(realtime.WIDGET, app_state))
    sio.register_namespace(ConsoleNamespace(realtime.CONSOLE, app_state))
    hooks.on_visitor_message(bot_turn.on_visitor_message, wants=bot_turn.wants_turn)
    routing.install()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Off the loop: it walks the data dir (every upload).
        await asyncio.to_thread(
            privacy_files.secure_install, settings.data_dir, settings.effective_database_url
        )
        # The encryption keys, now rather than at the first message: a missing index key
        # or an unreadable key file stops the start, and the key file is made on first start.
        await asyncio.to_thread(crypto.keyring, settings)
        app_state.emitter = realtime.SocketIOEmitter(sio)
        db = app_state.database
        # Presence: renew this node's lease on its console connections; sweep stale ones.
        presence_heartbeat = asyncio.create_task(routing_presence.run_heartbeat(db))
        # Build the knowledge indexes in the background: the first answers need them, but
        # readiness does not wait for embeddings.
        tune_gc = gc_policy.applies(settings.gc_tuning)
        warm_up = asyncio.create_task(_warm_up_then_freeze(db, settings, freeze=tune_gc))
        upload_sweeps = asyncio.create_task(attachments_cleanup.run_sweeps(db))
        purges = asyncio.create_task(privacy.run_purges(db))
        background = [warm_up, upload_sweeps, purges]
        if settings.redis_url:
            background.append(asyncio.create_task(privacy_sockets.listen(sio, settings.redis_url)))
        if tune_gc:
            background.append(asyncio.create_task(gc_policy.run_collections()))
        yield
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await hooks.drain()
        await routing_presence.stop_heartbeat(presence_heartbeat)
        await routing_connections.reset_tracker()
        app_state.emitter = realtime.NullEmitter()
        await db.dispose()

    api = FastAPI(
        title="Relaydesk",
        version="0.1.0",
        lifespan=lifespan,
        description="AI customer service: REST API. Realtime events are documented in "
        "docs/protocol.md.",
    )
    api.state.relaydesk = app_state  # read by the request dependencies (core/deps.py)
    api.add_middleware(ServerTimingMiddleware)

    @api.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else {}
        if "retry_after" in exc.details:
            headers["Retry-After"] = str(exc.details["retry_after"])
        return JSONResponse({"error": exc.to_dict()}, status_code=exc.http_status, headers=headers)

    @api.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors: list[dict[str, Any]] = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()
        ]
        return JSONResponse(
            {
                "error": {
                    "code": "invalid_payload",
                    "message": "the request is not valid",
                    "details": {"errors": errors},
                }
            },
            status_code=422,
        )

    api.include_router(health_router)
    api.include_router(favicon_router)
    api.include_router(analytics_router)
    api.include_router(analytics_page_router)
    api.include_router(auth_router)
    api.include_router(token_router)
    api.include_router(sso_router)
    api.include_router(pages_router)
    api.include_router(admin_pages_router)
    api.include_router(admin_router)
    api.include_router(sites_router)
    api.include_router(canned_router)
    api.include_router(inbox_router)
    api.include_router(collab_router)
    api.include_router(knowledge_router)
    api.include_router(bot_router)
    api.include_router(widget_router)
    api.include_router(routing_router)
    api.include_router(attachments_router)
    api.include_router(identity_router)
    api.include_router(audit_router)
    api.include_router(privacy_router)
    api.include_router(audit_page_router)
    api.include_router(privacy_page_router)
    error_docs.install(api)  # after every router: documents their shared errors
    return RelaydeskApp(sio, api, app_state)
