"""Placeholders: a campaign's text (message, subject, template parameters) filled per recipient.

The contract's six placeholders are recognised exactly as written, lower-case and without
spaces: ``{nombre}`` and ``{name}`` (the name), ``{first_name}`` (its first word),
``{telefono}`` and ``{phone}`` (E.164) and ``{email}``. A value the recipient lacks renders as
empty. Everything else is text and is left exactly as written: unknown names (``{apellido}``),
other spellings (``{Nombre}``, ``{ nombre }``), lone or doubled braces. There is no escape
syntax: ``{{nombre}}`` renders as ``{Ana}``, since its inner ``{nombre}`` is a placeholder and
the outer braces are text. Values are inserted once and never read again as placeholders, so a
name written ``{email}`` stays ``{email}``. Rendering never raises, whatever the text.

A text is parsed once into literal pieces and placeholders (cached), then each recipient costs
one ``join``: a campaign renders the same few texts for tens of thousands of recipients.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, Protocol, cast

Placeholder = Literal["nombre", "name", "first_name", "telefono", "phone", "email"]
PLACEHOLDERS: tuple[Placeholder, ...] = (
    "nombre",
    "name",
    "first_name",
    "telefono",
    "phone",
    "email",
)

_KNOWN = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
# Something that looks meant as a placeholder: one word in braces, maybe padded with spaces.
_LOOKS_LIKE = re.compile(r"\{\s*\w+\s*\}")


class Recipient(Protocol):
    """What placeholders are filled from: a stored ``Contact``, a ``ContactDraft`` (a preview's
    sample) or a delivery's own snapshot of name and address all qualify."""

    @property
    def name(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def email(self) -> str | None: ...


def _name(recipient: Recipient) -> str:
    return recipient.name or ""


def _first_name(recipient: Recipient) -> str:
    words = (recipient.name or "").split(None, 1)
    return words[0] if words else ""


def _phone(recipient: Recipient) -> str:
    return recipient.phone or ""


def _email(recipient: Recipient) -> str:
    return recipient.email or ""


_VALUE_OF: dict[str, Callable[[Recipient], str]] = {
    "nombre": _name,
    "name": _name,
    "first_name": _first_name,
    "telefono": _phone,
    "phone": _phone,
    "email": _email,
}


@dataclass(frozen=True, slots=True)
class MessageTemplate:
    """A text split into literal pieces around its placeholders.

    ``literals`` has one piece more than ``fields``: the text is ``literals[0]``, then each
    field followed by the next literal.
    """

    text: str
    literals: tuple[str, ...]
    fields: tuple[Placeholder, ...]

    @property
    def placeholders(self) -> frozenset[Placeholder]:
        """The distinct placeholders the text uses."""
        return frozenset(self.fields)

    def render(self, recipient: Recipient) -> str:
        """The text with each placeholder replaced by the recipient's value."""
        if not self.fields:
            return self.text
        literals = self.literals
        out = [literals[0]]
        for index, field in enumerate(self.fields, 1):
            out.append(_VALUE_OF[field](recipient))
            out.append(literals[index])
        return "".join(out)


@lru_cache(maxsize=256)
def compile_template(text: str) -> MessageTemplate:
    """``text`` parsed into literal pieces and placeholders (remembered for the next call)."""
    pieces = _KNOWN.split(text)  # literal, name, literal, name, ..., literal
    return MessageTemplate(
        text=text,
        literals=tuple(pieces[0::2]),
        fields=cast(tuple[Placeholder, ...], tuple(pieces[1::2])),
    )


def render(template: str, recipient: Recipient) -> str:
    """``template`` filled for ``recipient``; see the module's docstring for the rules."""
    return compile_template(template).render(recipient)


def placeholders_in(template: str) -> frozenset[Placeholder]:
    """The distinct known placeholders ``template`` uses (e.g. to build a preview)."""
    return compile_template(template).placeholders


def unknown_placeholders(template: str) -> tuple[str, ...]:
    """Brace texts that look like placeholders but are none (``{apellido}``, ``{Nombre}``,
    ``{ nombre }``, ``{teléfono}``), as written, each once in order of appearance.

    They render as written; a preview may warn about them (likely typos).
    """
    found: dict[str, None] = {}
    for match in _LOOKS_LIKE.finditer(template):
        written = match.group()
        if not _KNOWN.fullmatch(written):
            found[written] = None
    return tuple(found)
