"""What a handler needs from its request: the adapters, the caller, the language, the user.

Also where database work runs: short lookups on the event loop (SQLite) or in the handler
thread pool (PostgreSQL); short writes on the group writer's thread, others in the pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from litestar import Request
from litestar.concurrency import sync_to_thread

from nexus_adapters.bootstrap import Adapters
from nexus_core.errors import Unauthenticated
from nexus_core.ports import UnitOfWork
from nexus_core.use_cases.accounts import CurrentSession, authenticate, keep_session_alive
from nexus_http.language import preferred_language
from nexus_http.messages import translate
from nexus_http.session_cookie import token_of

AnyRequest = Request[Any, Any, Any]
T = TypeVar("T")


def adapters_of(request: AnyRequest) -> Adapters:
    adapters: Adapters = request.app.state.adapters
    return adapters


def language_of(request: AnyRequest) -> str:
    return preferred_language(request.headers.get("accept-language"))


def say(request: AnyRequest, code: str, **params: Any) -> str:
    """The catalogue message ``code`` in the request's language, ``params`` filled in."""
    return translate(code, language_of(request), params)


def client_address(request: AnyRequest) -> str:
    """The caller's address; behind a trusted proxy, the last ``X-Forwarded-For`` hop."""
    if adapters_of(request).settings.trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.client.host if request.client else "unknown"


async def run_lookup(request: AnyRequest, work: Callable[[], T]) -> T:
    """Run a short, read-only piece of database work (a session lookup, a profile read).

    On SQLite it runs inline: an in-process lookup of tens of microseconds costs less than a
    hop to the thread pool, and a handler thread waiting for the GIL behind a busy event loop
    adds milliseconds to every request. On PostgreSQL every statement waits for the network,
    so the work goes to the thread pool (sized with the connection pool). Nothing that
    writes, hashes or may wait for a lock comes through here.
    """
    if adapters_of(request).settings.is_sqlite:
        return work()
    return await sync_to_thread(work)


async def lookup_as_caller(request: AnyRequest, work: Callable[[CurrentSession], T]) -> T:
    """The read of an ``async`` handler for its caller: ``current_session`` and then
    ``run_lookup`` of ``work(current)``, in one hop to the thread pool on PostgreSQL instead
    of two (each hop waits for a thread and then for the interpreter lock behind the busy
    event loop, most of a cached read's latency). A request without a session is a 401
    before ``work`` runs."""
    if adapters_of(request).settings.is_sqlite:
        current = await current_session(request)
        return work(current)

    def identified() -> tuple[CurrentSession, T]:
        current = _identify(request)
        return current, work(current)

    current, result = await sync_to_thread(identified)
    if current.needs_touch:
        await sync_to_thread(keep_session_alive, adapters_of(request).ports, current)
    return result


def _identify(request: AnyRequest) -> CurrentSession:
    current = authenticate(adapters_of(request).ports, token_of(request))
    request.scope["state"]["user_id"] = current.user.id  # for the request log line
    return current


async def run_write(request: AnyRequest, write: Callable[[UnitOfWork], T]) -> T:
    """Commit a short write of the request (``Ports.write``'s kind) without holding a thread:
    it goes to the group writer, which commits it with the writes of other requests, and the
    handler waits on the event loop. Without a group writer it runs in the thread pool."""
    ports = adapters_of(request).ports
    if ports.group_writer is None:
        return await sync_to_thread(ports.write, write)
    return await asyncio.wrap_future(ports.group_writer.submit(write))


async def current_session(request: AnyRequest) -> CurrentSession:
    """The logged-in user of an ``async`` handler's request, or ``Unauthenticated`` (401).

    The lookup only reads; recording use (once a minute at most) goes to the thread pool.
    """
    current = await run_lookup(request, lambda: _identify(request))
    if current.needs_touch:
        await sync_to_thread(keep_session_alive, adapters_of(request).ports, current)
    return current


async def optional_session(request: AnyRequest) -> CurrentSession | None:
    try:
        return await current_session(request)
    except Unauthenticated:
        return None


def current_session_in_thread(request: AnyRequest) -> CurrentSession:
    """``current_session`` for sync handlers, which already run in the thread pool."""
    current = _identify(request)
    if current.needs_touch:
        keep_session_alive(adapters_of(request).ports, current)
    return current


def cookie_lifetime_seconds(request: AnyRequest) -> int:
    return int(adapters_of(request).ports.sessions.absolute.total_seconds())
