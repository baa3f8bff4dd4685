"""Which of our languages a client prefers, from its ``Accept-Language`` header."""

from __future__ import annotations

from functools import lru_cache

SUPPORTED = ("es", "en")
DEFAULT = "es"


@lru_cache(maxsize=256)
def preferred_language(accept_language: str | None) -> str:
    """``es`` unless the header prefers English (``en``, ``en-GB``…) over Spanish."""
    if not accept_language:
        return DEFAULT
    best, best_q = DEFAULT, -1.0
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in SUPPORTED:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        # Strictly greater: on a tie the earlier entry wins, as the header lists them in order.
        if quality > best_q and quality > 0:
            best, best_q = primary, quality
    return best
