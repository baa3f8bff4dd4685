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
    for position, part in enumerate(accept_language.split(",")):
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
        # Earlier entries win ties, as the header lists preferences in order.
        if quality > best_q and quality > 0 and not (quality == best_q and position):
            best, best_q = primary, quality
    return best
