"""What the clients of outside HTTP APIs (the WhatsApp Cloud API, Gemini) share."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import httpx

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=10.0, pool=10.0)


class HttpApiClient:
    """One pooled ``httpx`` client (redirects are not followed: a key or token must never
    travel to another host); ``close()`` it, or use it in a ``with``."""

    def __init__(self, *, timeout: httpx.Timeout | float, max_connections: int) -> None:
        self._client = httpx.Client(
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
