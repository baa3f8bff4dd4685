"""Catalogue messages with values filled in, in the request's language."""

from __future__ import annotations

from typing import Any

from litestar import Request

from nexus_http.language import preferred_language
from nexus_http.messages import CATALOGUE, translate

AnyRequest = Request[Any, Any, Any]


def language_of(request: AnyRequest) -> str:
    return preferred_language(request.headers.get("accept-language"))


def say_with(request: AnyRequest, code: str, **params: Any) -> str:
    """The catalogue message ``code`` in the request's language, ``params`` filled in."""
    return translate(code, language_of(request), params)


def stored_message(text: str | None, language: str) -> str | None:
    """A message stored as a catalogue code (an import's error), in ``language``; any other
    text as it is."""
    if text is None or text not in CATALOGUE:
        return text
    return translate(text, language)
