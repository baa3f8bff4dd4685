"""What a user does to a campaign besides editing it: send, schedule, pause, resume, cancel,
retry the failed deliveries; and what they look at before and after: the preview and the
deliveries.

Every action is one unit of work that locks the campaign, moves its status through the status
machine (``campaign_status``: anything else is a 409) and writes the counters recounted from
the deliveries, so the flat counters on the campaign always agree with its deliveries.
Sending snapshots the audience into deliveries (the queue the dispatcher works through).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from nexus_core.domain.campaign_status import CampaignAction, next_status
from nexus_core.domain.campaigns import Campaign, check_schedule_time
from nexus_core.domain.contact_queries import collect_page_request
from nexus_core.domain.contact_records import Contact
from nexus_core.domain.deliveries import DELIVERY_STATUSES, Delivery, DeliveryStatus
from nexus_core.domain.identifiers import could_exist
from nexus_core.domain.pagination import Page
from nexus_core.domain.placeholders import render
from nexus_core.domain.users import User
from nexus_core.errors import Collector, NotFound, ValidationFailed
from nexus_core.ports import UnitOfWork
from nexus_core.use_cases.context import Ports

# The error of the deliveries a cancellation skips (API.md).
CANCELLED = "cancelled"


def _not_found() -> NotFound:
    return NotFound("campaign.not_found")


def _locked(uow: UnitOfWork, user_id: int, campaign_id: int) -> Campaign:
    campaign = uow.campaigns.get_for_update(user_id, campaign_id)
    if campaign is None:
        raise _not_found()
    return campaign


def channel_configured(owner: User, campaign: Campaign) -> bool:
    """Whether the owner has the credentials the campaign's channel sends with."""
    creds = owner.credentials
    if campaign.channel == "email":
        return creds.gmail_address is not None and creds.gmail_api_key is not None
    return creds.whatsapp_api_key is not None and bool(creds.whatsapp_phone_number_id)


def _ready_to_send(uow: UnitOfWork, owner: User, campaign: Campaign) -> None:
    """A campaign can only start with its channel's credentials and someone to send to."""
    if not channel_configured(owner, campaign):
        raise ValidationFailed.single("channel", "campaign.channel_not_configured")
    if uow.deliveries.count_recipients(campaign) == 0:
        raise ValidationFailed.single("audience", "campaign.audience_empty")


def _stored(uow: UnitOfWork, campaign: Campaign) -> Campaign:
    """Store ``campaign`` with its counters recounted from its deliveries."""
    counts = uow.deliveries.counts(campaign.id)
    counted = dataclasses.replace(
        campaign,
        total_recipients=counts.total_recipients,
        pending_count=counts.pending_count,
        sent_count=counts.sent_count,
        delivered_count=counts.delivered_count,
        opened_count=counts.opened_count,
        failed_count=counts.failed_count,
        skipped_count=counts.skipped_count,
    )
    uow.campaigns.save(counted)
    return counted


def send_campaign(ports: Ports, owner: User, campaign_id: int) -> Campaign:
    """Start sending now (a ``draft``, or a ``scheduled`` campaign ahead of its time): the
    audience is snapshotted into pending deliveries, and ``total_recipients`` is its size."""
    if not could_exist(campaign_id):
        raise _not_found()
    with ports.uow(write=True) as uow:
        campaign = _locked(uow, owner.id, campaign_id)
        next_status(campaign.status, "send")  # a 409 before anything else is checked
        _ready_to_send(uow, owner, campaign)
        stored = start_sending(uow, campaign, ports.clock())
        uow.commit()
    return stored


def start_sending(uow: UnitOfWork, campaign: Campaign, now: datetime) -> Campaign:
    """Snapshot the audience of ``campaign`` (read with ``get_for_update`` in ``uow``, a
    ``draft`` or ``scheduled`` one) into pending deliveries and store it ``active``, sent
    ``now``, its counters recounted. ``send_campaign`` and the dispatcher (a scheduled
    campaign whose time came) both start campaigns through it; the caller commits."""
    status = next_status(campaign.status, "send")
    uow.deliveries.snapshot(campaign, now)
    started = dataclasses.replace(
        campaign, status=status, sent_at=now, completed_at=None, updated_at=now
    )
    return _stored(uow, started)


def schedule_campaign(
    ports: Ports, owner: User, campaign_id: int, body: Mapping[str, object]
) -> Campaign:
    """Schedule a ``draft`` for ``scheduled_at`` (in the future). The channel and audience
    are checked now, so a user learns at once what would stop it from starting."""
    if not could_exist(campaign_id):
        raise _not_found()
    now = ports.clock()
    errors = Collector()
    when = errors.check(
        "scheduled_at", lambda: check_schedule_time(body.get("scheduled_at"), now=now)
    )
    errors.raise_if_any()
    with ports.uow(write=True) as uow:
        campaign = _locked(uow, owner.id, campaign_id)
        status = next_status(campaign.status, "schedule")
        _ready_to_send(uow, owner, campaign)
        scheduled = dataclasses.replace(campaign, status=status, scheduled_at=when, updated_at=now)
        stored = _stored(uow, scheduled)
        uow.commit()
    return stored


def _simple_action(ports: Ports, owner: User, campaign_id: int, action: CampaignAction) -> Campaign:
    """``pause``, ``resume``, ``cancel`` (what is pending is skipped) or ``retry_failed``
    (the failed deliveries turn pending again)."""
    if not could_exist(campaign_id):
        raise _not_found()
    with ports.uow(write=True) as uow:
        campaign = _locked(uow, owner.id, campaign_id)
        has_failed = campaign.failed_count > 0
        status = next_status(campaign.status, action, has_failed_deliveries=has_failed)
        now = ports.clock()
        completed_at = campaign.completed_at
        if action == "cancel":
            uow.deliveries.skip_pending(campaign.id, CANCELLED, now)
        elif action == "retry_failed":
            uow.deliveries.reset_failed(campaign.id, now)
            completed_at = None
        moved = dataclasses.replace(
            campaign, status=status, completed_at=completed_at, updated_at=now
        )
        stored = _stored(uow, moved)
        uow.commit()
    return stored


def pause_campaign(ports: Ports, owner: User, campaign_id: int) -> Campaign:
    """Stop an ``active`` campaign from sending more (what is in flight finishes)."""
    return _simple_action(ports, owner, campaign_id, "pause")


def resume_campaign(ports: Ports, owner: User, campaign_id: int) -> Campaign:
    """Let a ``paused`` campaign send again."""
    return _simple_action(ports, owner, campaign_id, "resume")


def cancel_campaign(ports: Ports, owner: User, campaign_id: int) -> Campaign:
    """Cancel a campaign not yet finished: what is still pending is skipped (``cancelled``)."""
    return _simple_action(ports, owner, campaign_id, "cancel")


def retry_failed(ports: Ports, owner: User, campaign_id: int) -> Campaign:
    """Send the failed deliveries of a ``completed`` campaign again (they turn pending)."""
    return _simple_action(ports, owner, campaign_id, "retry_failed")


@dataclass(frozen=True, slots=True)
class Preview:
    """The message as the first recipient would read it, that recipient, and how many
    recipients the campaign would have if sent now (its snapshot's size once sent)."""

    message: str
    subject: str | None
    sample_contact: Contact | None
    total_recipients: int


def preview_campaign(ports: Ports, owner: User, campaign_id: int) -> Preview:
    if not could_exist(campaign_id):
        raise _not_found()
    with ports.uow() as uow:
        campaign = uow.campaigns.get(owner.id, campaign_id)
        if campaign is None:
            raise _not_found()
        if campaign.status == "draft" or campaign.status == "scheduled":
            sample = uow.deliveries.preview_recipient(campaign)
            total = uow.deliveries.count_recipients(campaign)
        else:
            sample, total = uow.deliveries.preview_recipient(campaign), campaign.total_recipients
    message = campaign.message if sample is None else render(campaign.message, sample)
    subject = campaign.subject
    if subject is not None and sample is not None:
        subject = render(subject, sample)
    return Preview(message, subject, sample, total)


def _delivery_status(params: Mapping[str, str]) -> DeliveryStatus | None:
    raw = params.get("status", "").strip().lower()
    if not raw:
        return None
    for status in DELIVERY_STATUSES:
        if status == raw:
            return status
    raise ValidationFailed.single("status", "delivery.status_invalid", allowed=DELIVERY_STATUSES)


def list_deliveries(
    ports: Ports, owner: User, campaign_id: int, params: Mapping[str, str]
) -> Page[Delivery]:
    """One page (``page``, ``per_page``) of a campaign's deliveries in ``status`` (any when
    blank), in the order they were queued."""
    errors = Collector()
    request = collect_page_request(params, errors)
    status = errors.check("status", lambda: _delivery_status(params))
    errors.raise_if_any()
    if not could_exist(campaign_id):
        raise _not_found()
    with ports.uow() as uow:
        if uow.campaigns.get(owner.id, campaign_id) is None:
            raise _not_found()
        deliveries, total = uow.deliveries.page(
            owner.id, campaign_id, status, request.page, request.per_page
        )
    return Page(deliveries, total, request.page, request.per_page)
