"""structlog: JSON lines in production, readable console output in development."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog


def _json(event: Any, **_options: Any) -> str:
    return msgspec.json.encode(event, enc_hook=str).decode("utf-8")


def configure_logging(production: bool) -> None:
    """Idempotent; called by the composition root, never at import time."""
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if production:
        processors += [
            # Tracebacks as data, without local variables (they may hold secrets).
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            structlog.processors.JSONRenderer(serializer=_json),
        ]
    else:
        processors += [
            structlog.dev.ConsoleRenderer(
                colors=False, exception_formatter=structlog.dev.plain_traceback
            )
        ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=False,
    )
    # The adapters log through the standard library (the dispatcher inside `nexus serve`):
    # their records join the server's own lines.
    ours = logging.getLogger(ADAPTERS_LOGGER)
    if not any(isinstance(handler, _ToStructlog) for handler in ours.handlers):
        ours.addHandler(_ToStructlog())
    ours.setLevel(logging.INFO)
    ours.propagate = False  # once is enough, whatever handlers the root logger has


# The standard-library loggers of the adapters (``nexus.worker``, …).
ADAPTERS_LOGGER = "nexus"


class _ToStructlog(logging.Handler):
    """Hands standard-library records to structlog, rendered like every other line."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            logger = structlog.get_logger(record.name)
            logger.log(record.levelno, record.getMessage(), exc_info=record.exc_info or False)
        except Exception:
            self.handleError(record)


def _level_and_time(_logger: Any, method_name: str, event: Any) -> Any:
    event["level"] = method_name
    event["timestamp"] = datetime.now(UTC).isoformat(timespec="microseconds")[:-6] + "Z"
    return event


def access_logger(production: bool) -> Any:
    """The logger of the one line per request, bound once.

    In production it has a pipeline of its own (level, timestamp, JSON): it runs on every
    request, where the general chain's context merging and exception rendering cost more than
    writing the line (its fields are always plain values). In development it is the general one.
    """
    if not production:
        return structlog.get_logger("nexus.access").bind()
    return structlog.wrap_logger(
        structlog.WriteLogger(sys.stdout),
        processors=[_level_and_time, structlog.processors.JSONRenderer(serializer=_json)],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    ).bind()
