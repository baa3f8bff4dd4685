"""The AI automation as the API shows it: its status, its switch, its activity, Gemini's
dry runs and campaign drafts."""

from __future__ import annotations

import msgspec

from nexus_core.domain.automation import ActivityStatus, AutomationStatus, BotActivity
from nexus_http.schemas.common import PaginationOut, rfc3339


class AutomationStatusOut(msgspec.Struct):
    enabled: bool
    configured: bool
    replies_today: int
    failures_today: int

    @classmethod
    def of(cls, status: AutomationStatus) -> AutomationStatusOut:
        return cls(
            enabled=status.enabled,
            configured=status.configured,
            replies_today=status.replies_today,
            failures_today=status.failures_today,
        )


class AutomationStatusEnvelope(msgspec.Struct):
    status: AutomationStatusOut


class ToggleIn(msgspec.Struct):
    """``enabled`` sets the switch; without it (or without a body) the switch flips."""

    enabled: bool | None = None


class ToggleOut(msgspec.Struct):
    message: str
    enabled: bool


class ActivityOut(msgspec.Struct):
    """One exchange. ``status``: ``pending`` (being answered), ``sent``, ``failed`` (``error``
    says why: ``gemini_<code>``, ``whatsapp_<code>``, ``unknown_outcome``) or ``skipped``
    (``automation_off``, ``opted_out``, ``window_closed``, ``contact_deleted``)."""

    id: int
    contact_phone: str
    contact_name: str
    message_content: str
    response_content: str | None
    status: ActivityStatus
    error: str | None
    created_at: str | None

    @classmethod
    def of(cls, activity: BotActivity) -> ActivityOut:
        return cls(
            id=activity.id,
            contact_phone=activity.contact_phone,
            contact_name=activity.contact_name,
            message_content=activity.message_content,
            response_content=activity.response_content,
            status=activity.status,
            error=activity.error,
            created_at=rfc3339(activity.created_at),
        )


class ActivityList(msgspec.Struct):
    activities: list[ActivityOut]
    pagination: PaginationOut


class TestResponseIn(msgspec.Struct):
    message: str


class TestResponseOut(msgspec.Struct):
    response: str


class GenerateMessageIn(msgspec.Struct):
    """A brief for a campaign draft: ``prompt`` (1 to 2,000 characters), ``tone`` (free text,
    at most 50), ``channel`` (``whatsapp`` by default, or ``email``)."""

    prompt: str
    tone: str | None = None
    channel: str | None = None


class GeneratedMessageOut(msgspec.Struct):
    message: str
