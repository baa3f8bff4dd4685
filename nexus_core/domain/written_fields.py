"""The fields a client wrote, each checked by its rule: the one loop behind every validator
that reports all broken rules at once (contacts, campaigns)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from nexus_core.errors import Collector

Context = TypeVar("Context")


def check_written_fields(
    written: Mapping[str, object],
    rules: Mapping[str, Callable[[object, Context], object]],
    clearable: frozenset[str],
    context: Context,
    errors: Collector,
) -> dict[str, Any]:
    """The clean value of each written field that has a rule, in the rules' order (the order
    errors are reported in). ``None`` clears a ``clearable`` field and is ``field.required``
    for the others; a rule is called with the value and ``context``. Broken rules go to
    ``errors``; fields without a rule are left out."""
    clean: dict[str, Any] = {}
    for name, rule in rules.items():
        if name not in written:
            continue
        value = written[name]
        if value is None:
            if name in clearable:
                clean[name] = None
            else:
                errors.add(name, "field.required")
            continue
        clean[name] = errors.apply(name, rule, value, context)
    return clean
