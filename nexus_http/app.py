"""The composition root: ``create_app(settings=None)`` builds adapters and the Litestar app."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.types import Message, Scope

from nexus_adapters.bootstrap import Adapters, build_adapters
from nexus_adapters.config import Settings
from nexus_adapters.startup_heap import freeze_startup_objects
from nexus_adapters.worker import IN_PROCESS_DISPATCHER_ENV, start_in_process_dispatcher
from nexus_http.controllers.auth import AuthController
from nexus_http.controllers.automation import AutomationController, CampaignDraftController
from nexus_http.controllers.campaign_actions import CampaignActionsController
from nexus_http.controllers.campaigns import CampaignsController
from nexus_http.controllers.contacts import ContactsController
from nexus_http.controllers.conversations import ConversationsController
from nexus_http.controllers.imports import ImportsController
from nexus_http.controllers.operations import OperationsController
from nexus_http.controllers.profile import ProfileController
from nexus_http.controllers.stats import StatsController
from nexus_http.controllers.unsubscribe import UnsubscribeController
from nexus_http.controllers.webhooks import WhatsAppWebhookController
from nexus_http.errors import EXCEPTION_HANDLERS
from nexus_http.logging_setup import access_logger, configure_logging
from nexus_http.middleware.content_type import JsonBodyMiddleware
from nexus_http.middleware.cors import CorsMiddleware
from nexus_http.middleware.csrf import CsrfOriginMiddleware
from nexus_http.middleware.request_log import RequestLogMiddleware

JSON_BODY_LIMIT = 1024 * 1024
API_VERSION = "1.0.0"


async def _security_headers(message: Message, scope: Scope) -> None:
    if message["type"] == "http.response.start":
        message["headers"] = [
            *message.get("headers", ()),
            (b"x-content-type-options", b"nosniff"),
        ]


def create_app(settings: Settings | None = None, adapters: Adapters | None = None) -> Litestar:
    """Build the application. Nothing connects until the first request.

    ``adapters`` lets a caller (tests, embedding programs) share already-built adapters.
    """
    settings = settings or Settings.from_env()
    configure_logging(settings.production)
    adapters = adapters or build_adapters(settings)
    settings = adapters.settings

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        # Handler threads and database connections are one budget: as many threads as
        # connections, so a handler never waits for a connection while holding a thread.
        # Litestar runs sync handlers (and run_blocking) in the loop's default executor.
        executor = ThreadPoolExecutor(settings.db_pool_size, thread_name_prefix="nexus-handler")
        asyncio.get_running_loop().set_default_executor(executor)
        # `nexus serve` on SQLite: one dispatcher across the server processes (worker.py).
        stop_dispatcher = (
            start_in_process_dispatcher(adapters)
            if settings.is_sqlite and os.environ.get(IN_PROCESS_DISPATCHER_ENV) == "1"
            else None
        )
        try:
            yield
        finally:
            if stop_dispatcher is not None:
                await asyncio.to_thread(stop_dispatcher)
            executor.shutdown(wait=False, cancel_futures=True)
            adapters.close()

    app = Litestar(
        route_handlers=[
            AuthController,
            ProfileController,
            ContactsController,
            ImportsController,
            CampaignsController,
            CampaignActionsController,
            OperationsController,
            UnsubscribeController,
            WhatsAppWebhookController,
            ConversationsController,
            AutomationController,
            CampaignDraftController,
            StatsController,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[CsrfOriginMiddleware(settings.cors_origins), JsonBodyMiddleware()],
        compression_config=CompressionConfig(
            backend="gzip", minimum_size=1024, gzip_compress_level=6
        ),
        before_send=[_security_headers],
        request_max_body_size=JSON_BODY_LIMIT,
        openapi_config=OpenAPIConfig(
            title="Nexus Communicator API",
            version=API_VERSION,
            description="REST API of Nexus Communicator. Errors are RFC 9457 problem details "
            "with an `error` member (Spanish by default, English with Accept-Language: en).",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
        ),
        lifespan=[lifespan],
        state=_state(adapters),
        debug=False,
        logging_config=None,  # structlog is configured above; Litestar adds no handlers
    )
    # Outermost layers, so that every request is logged and every answer (404 and 405 included)
    # carries CORS headers for the allowed origins.
    app.asgi_handler = RequestLogMiddleware(
        CorsMiddleware(app.asgi_handler, settings.cors_origins),
        access_logger(settings.production),
    )
    return app


def create_served_app() -> Litestar:
    """The application as each ``nexus serve`` worker process builds it: ``create_app()``,
    then the process's start-up objects kept out of the collector's full passes (see
    ``startup_heap``; not in ``create_app``, which tests call again and again)."""
    app = create_app()
    freeze_startup_objects()
    return app


def _state(adapters: Adapters) -> Any:
    from litestar.datastructures import State

    return State({"adapters": adapters})
