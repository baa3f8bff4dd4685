"""Counting requests against a limit, in the database so that it holds across processes."""

from __future__ import annotations

from nexus_core.domain.rate_limits import Limit
from nexus_core.errors import TooManyAttempts
from nexus_core.use_cases.context import Ports


def throttle(ports: Ports, limit: Limit, *keys: str, code: str | None = None) -> None:
    """Count one request for each of ``keys`` (in one transaction); over ``limit`` on any of
    them is ``TooManyAttempts`` (with ``code`` if given), retrying when all allow it again."""
    if not limit.enabled:
        return
    now = ports.clock()
    with ports.uow(write=True) as uow:
        counted = [uow.rate_counters.hit(key, now, limit.window) for key in keys]
        uow.commit()
    over = [count for count in counted if count.count > limit.max_events]
    if over:
        raise TooManyAttempts(max(count.retry_after(now, limit) for count in over), code)
