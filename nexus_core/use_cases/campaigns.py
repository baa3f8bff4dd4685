"""A user's campaigns: the list, one campaign read, created, changed or deleted, the counts.

Status changes (send, schedule, pause, …) are not here: a write never changes the status.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from nexus_core.domain.campaign_status import (
    CAMPAIGN_STATUSES,
    CampaignStatus,
    ensure_deletable,
    ensure_editable,
)
from nexus_core.domain.campaigns import (
    Campaign,
    apply_campaign_changes,
    revised,
    validate_campaign,
)
from nexus_core.domain.contact_queries import PageRequest, collect_page_request
from nexus_core.domain.identifiers import could_exist
from nexus_core.domain.pagination import Page
from nexus_core.errors import Collector, NotFound, ValidationFailed
from nexus_core.ports import UnitOfWork
from nexus_core.use_cases.context import Ports

_CONTACT_IDS_FIELD = "audience.contact_ids"


def _not_found() -> NotFound:
    return NotFound("campaign.not_found")


@dataclass(frozen=True, slots=True)
class CampaignStats:
    """How many campaigns the user has (in all and by status) and the sums of their
    delivery counters."""

    total_campaigns: int
    by_status: Mapping[CampaignStatus, int]
    total_recipients: int
    sent: int
    delivered: int
    opened: int
    failed: int


def _status_filter(params: Mapping[str, str]) -> CampaignStatus | None:
    raw = params.get("status")
    if raw is None or not raw.strip():
        return None
    status = raw.strip().lower()
    for known in CAMPAIGN_STATUSES:
        if known == status:
            return known
    raise ValidationFailed.single("", "campaign.status_invalid", allowed=CAMPAIGN_STATUSES)


def _list_query(params: Mapping[str, str]) -> tuple[PageRequest, CampaignStatus | None]:
    errors = Collector()
    pages = collect_page_request(params, errors)
    status = errors.check("status", lambda: _status_filter(params))
    errors.raise_if_any()
    return pages, status


def list_campaigns(ports: Ports, user_id: int, params: Mapping[str, str]) -> Page[Campaign]:
    """One page of the user's campaigns, newest first (``page``, ``per_page`` as for the
    contacts; ``status`` keeps one status, blank for any); every bad parameter is a field
    error."""
    pages, status = _list_query(params)
    with ports.uow() as uow:
        campaigns, total = uow.campaigns.page(user_id, status, pages.page, pages.per_page)
    return Page(campaigns, total, pages.page, pages.per_page)


def get_campaign(ports: Ports, user_id: int, campaign_id: int) -> Campaign:
    if not could_exist(campaign_id):
        raise _not_found()
    with ports.uow() as uow:
        campaign = uow.campaigns.get(user_id, campaign_id)
    if campaign is None:
        raise _not_found()
    return campaign


def _missing_contacts(uow: UnitOfWork, user_id: int, ids: Collection[int]) -> list[int]:
    """Those of ``ids`` that name no contact of the user, in the order given."""
    owned = uow.contacts.owned_ids(user_id, ids)
    return [contact_id for contact_id in ids if contact_id not in owned]


def _check_contacts(uow: UnitOfWork, user_id: int, ids: Collection[int]) -> None:
    """Refuse (400, under ``audience.contact_ids``) ids that are not the user's contacts."""
    if not ids:
        return
    missing = _missing_contacts(uow, user_id, ids)
    if missing:
        raise ValidationFailed.single(
            _CONTACT_IDS_FIELD, "campaign.contact_not_found", id=missing[0], count=len(missing)
        )


def create_campaign(ports: Ports, user_id: int, body: Mapping[str, object]) -> Campaign:
    """A new ``draft`` from the writable fields of ``body`` (others, ``status`` included, are
    ignored); every bad field is reported at once, and ``audience.contact_ids`` (or a top-level
    ``contact_ids``) must name the user's own contacts."""
    now = ports.clock()
    draft = validate_campaign(body, now=now)
    with ports.uow(write=True) as uow:
        _check_contacts(uow, user_id, draft.audience.contact_ids)
        campaign = uow.campaigns.add(user_id, draft, now)
        uow.commit()
    return campaign


def update_campaign(
    ports: Ports, user_id: int, campaign_id: int, changes: Mapping[str, object]
) -> Campaign:
    """Apply a partial write; all or nothing. A write that changes nothing stores nothing and
    is accepted whatever the status; a change is refused (409) unless the campaign is
    ``draft`` or ``scheduled``. Only the contact ids the write adds are checked: an id
    already in the audience whose contact was deleted since does not block other edits."""
    if not could_exist(campaign_id):
        raise _not_found()
    with ports.uow(write=True) as uow:
        current = uow.campaigns.get_for_update(user_id, campaign_id)
        if current is None:
            raise _not_found()
        now = ports.clock()
        draft = apply_campaign_changes(current.draft, changes, now=now)
        if draft == current.draft:
            return current
        ensure_editable(current.status)
        before = set(current.audience.contact_ids)
        added = [i for i in draft.audience.contact_ids if i not in before]
        _check_contacts(uow, user_id, added)
        updated = revised(current, draft, now)
        uow.campaigns.save(updated)
        uow.commit()
    return updated


def delete_campaign(ports: Ports, user_id: int, campaign_id: int) -> None:
    """Remove the campaign; refused (409) while it is ``active``."""
    if not could_exist(campaign_id):
        raise _not_found()
    with ports.uow(write=True) as uow:
        current = uow.campaigns.get_for_update(user_id, campaign_id)
        if current is None:
            raise _not_found()
        ensure_deletable(current.status)
        uow.campaigns.delete(user_id, campaign_id)
        uow.commit()


def campaign_stats(ports: Ports, user_id: int) -> CampaignStats:
    with ports.uow() as uow:
        by_status = uow.campaigns.count_by_status(user_id)
        totals = uow.campaigns.counter_totals(user_id)
    return CampaignStats(
        total_campaigns=sum(by_status.values()),
        by_status=by_status,
        total_recipients=totals["total_recipients"],
        sent=totals["sent_count"],
        delivered=totals["delivered_count"],
        opened=totals["opened_count"],
        failed=totals["failed_count"],
    )
