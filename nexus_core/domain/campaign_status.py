"""The campaign status machine: which action moves a campaign from which status to which.

The contract (API.md, "Campaigns") reads::

    draft → scheduled → active → completed;  draft → active;  active ⇄ paused;
    draft|scheduled|active|paused → cancelled;  active → failed;
    completed → active only through /retry-failed when failed deliveries exist.
    Any other change, repeating the current state included, answers 409.

It is followed literally. In particular ``schedule`` on a ``scheduled`` campaign is refused
like any other repetition: a scheduled campaign is re-scheduled by writing its ``scheduled_at``
(schedule edits are allowed while ``scheduled``), never by scheduling it again. Likewise only an
``active`` campaign can fail or complete: a paused one sends nothing, so neither happens to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from nexus_core.errors import Conflict

CampaignStatus = Literal[
    "draft", "scheduled", "active", "paused", "completed", "cancelled", "failed"
]
CAMPAIGN_STATUSES: tuple[CampaignStatus, ...] = (
    "draft",
    "scheduled",
    "active",
    "paused",
    "completed",
    "cancelled",
    "failed",
)

# ``send``, ``schedule``, ``pause``, ``resume``, ``cancel`` and ``retry_failed`` are the user's
# (the ``/send`` … ``/retry-failed`` endpoints); ``fail`` (the channel refused the credentials)
# and ``complete`` (no delivery is pending any more) are the dispatcher's.
CampaignAction = Literal[
    "send", "schedule", "pause", "resume", "cancel", "fail", "complete", "retry_failed"
]
CAMPAIGN_ACTIONS: tuple[CampaignAction, ...] = (
    "send",
    "schedule",
    "pause",
    "resume",
    "cancel",
    "fail",
    "complete",
    "retry_failed",
)

# Every legal move: (current status, action) → next status. Whatever is not here is refused.
_MOVES: Mapping[tuple[CampaignStatus, CampaignAction], CampaignStatus] = MappingProxyType(
    {
        ("draft", "send"): "active",
        ("scheduled", "send"): "active",  # /send on a scheduled campaign sends it now
        ("draft", "schedule"): "scheduled",
        ("active", "pause"): "paused",
        ("paused", "resume"): "active",
        ("draft", "cancel"): "cancelled",
        ("scheduled", "cancel"): "cancelled",
        ("active", "cancel"): "cancelled",
        ("paused", "cancel"): "cancelled",
        ("active", "fail"): "failed",
        ("active", "complete"): "completed",
        ("completed", "retry_failed"): "active",  # only with failed deliveries: see below
    }
)

# Name, content, audience and schedule change only before sending starts.
EDITABLE_STATUSES: frozenset[CampaignStatus] = frozenset({"draft", "scheduled"})
# A campaign that is sending cannot be deleted (pause or cancel it first).
UNDELETABLE_STATUSES: frozenset[CampaignStatus] = frozenset({"active"})


def next_status(
    current: CampaignStatus, action: CampaignAction, *, has_failed_deliveries: bool = False
) -> CampaignStatus:
    """The status ``action`` moves a ``current`` campaign to.

    Raises ``Conflict("campaign.invalid_transition", status=…, action=…)`` for any move the
    contract does not list (repeating the current state included), and
    ``Conflict("campaign.no_failed_deliveries", …)`` for ``retry_failed`` on a completed
    campaign none of whose deliveries failed.
    """
    target = _MOVES.get((current, action))
    if target is None:
        raise Conflict("campaign.invalid_transition", status=current, action=action)
    if action == "retry_failed" and not has_failed_deliveries:
        raise Conflict("campaign.no_failed_deliveries", status=current, action=action)
    return target


def allowed_actions(
    current: CampaignStatus, *, has_failed_deliveries: bool = False
) -> tuple[CampaignAction, ...]:
    """The actions ``next_status`` accepts from ``current``, in ``CAMPAIGN_ACTIONS`` order."""
    return tuple(
        action
        for action in CAMPAIGN_ACTIONS
        if (current, action) in _MOVES and (action != "retry_failed" or has_failed_deliveries)
    )


def is_editable(status: CampaignStatus) -> bool:
    """Whether name, content, audience and schedule may change (``draft`` or ``scheduled``)."""
    return status in EDITABLE_STATUSES


def ensure_editable(status: CampaignStatus) -> None:
    """Raise ``Conflict("campaign.not_editable", status=…)`` unless ``is_editable(status)``."""
    if not is_editable(status):
        raise Conflict("campaign.not_editable", status=status)


def is_deletable(status: CampaignStatus) -> bool:
    """Whether the campaign may be deleted: any status but ``active``."""
    return status not in UNDELETABLE_STATUSES


def ensure_deletable(status: CampaignStatus) -> None:
    """Raise ``Conflict("campaign.not_deletable", status=…)`` unless ``is_deletable(status)``."""
    if not is_deletable(status):
        raise Conflict("campaign.not_deletable", status=status)
