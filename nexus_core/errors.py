"""Domain errors: each carries a stable ``code`` that outer layers map to a status and a message.

The core knows nothing of HTTP statuses or languages; it only says *what* went wrong.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

_NO_PARAMS: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid field: its dotted path and the code of the rule it broke."""

    field: str
    code: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=lambda: _NO_PARAMS)


class DomainError(Exception):
    """Base of every error the core raises on purpose."""

    code: str = "domain.error"

    def __init__(self, code: str | None = None, **params: Any) -> None:
        self.code = code or type(self).code
        self.params: Mapping[str, Any] = params
        super().__init__(self.code)


class ValidationFailed(DomainError):
    """Input broke one or more field rules; nothing was changed."""

    code = "validation.failed"

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__(self.errors[0].code if self.errors else type(self).code)

    @classmethod
    def single(cls, field_name: str, code: str, **params: Any) -> ValidationFailed:
        return cls([FieldError(field_name, code, MappingProxyType(params))])


class NotFound(DomainError):
    """The resource does not exist, or belongs to someone else (indistinguishable on purpose)."""

    code = "resource.not_found"


class Conflict(DomainError):
    """The request clashes with the current state (duplicate, illegal state change)."""

    code = "resource.conflict"


class Unauthenticated(DomainError):
    """No valid session, or wrong credentials at login."""

    code = "auth.not_authenticated"


class Forbidden(DomainError):
    """The caller failed to prove what it claims (a webhook signed with the wrong secret)."""

    code = "auth.forbidden"


class RuleRefused(DomainError):
    """A well-formed request that a business rule refuses (e.g. a wrong current password)."""

    code = "rule.refused"


class TooManyAttempts(DomainError):
    """A rate limit or lockout is in force; ``retry_after`` is in whole seconds."""

    code = "rate.too_many_attempts"

    def __init__(self, retry_after: int, code: str | None = None) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(code, retry_after=self.retry_after)


class Collector:
    """Gathers field errors across a whole input so the user sees every problem at once."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field_name: str, code: str, **params: Any) -> None:
        self.errors.append(FieldError(field_name, code, MappingProxyType(params)))

    def check(self, field_name: str, run: Any) -> Any:
        """Call ``run()``; record its ``ValidationFailed`` under ``field_name``, don't raise."""
        return self.apply(field_name, run)

    def apply(self, field_name: str, rule: Any, *args: Any) -> Any:
        """``rule(*args)``, its ``ValidationFailed`` recorded under ``field_name``, not raised
        (``check`` without a closure to build: the validators' hot loops call this)."""
        try:
            return rule(*args)
        except ValidationFailed as failure:
            for error in failure.errors:
                self.errors.append(FieldError(field_name, error.code, error.params))
            return None

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


class UpstreamFailed(DomainError):
    """A service we depend on (Gemini, the WhatsApp Cloud API) failed to do what was asked."""

    code = "upstream.failed"
