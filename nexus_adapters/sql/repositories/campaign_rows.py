"""Campaigns in and out of ``campaigns`` rows.

The audience's lists and the WhatsApp template are stored as JSON text (see ``tables``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from nexus_adapters.sql.tables import CAMPAIGN_COUNTERS
from nexus_core.domain.audience import Audience
from nexus_core.domain.campaigns import Campaign, CampaignDraft, WhatsAppTemplate


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _template_json(template: WhatsAppTemplate | None) -> str | None:
    if template is None:
        return None
    return _json(
        {
            "name": template.name,
            "language": template.language,
            "body_params": list(template.body_params),
        }
    )


def stored_template(stored: str | None) -> WhatsAppTemplate | None:
    if stored is None:
        return None
    fields = json.loads(stored)
    return WhatsAppTemplate(fields["name"], fields["language"], tuple(fields["body_params"]))


def draft_values(draft: CampaignDraft) -> dict[str, Any]:
    """The columns a campaign's writable fields are stored in."""
    return {
        "name": draft.name,
        "channel": draft.channel,
        "subject": draft.subject,
        "message": draft.message,
        "media_url": draft.media_url,
        "media_type": draft.media_type,
        "audience_all_contacts": draft.audience.all_contacts,
        "audience_tags": _json(draft.audience.tags),
        "audience_contact_ids": _json(draft.audience.contact_ids),
        "whatsapp_template": _template_json(draft.whatsapp_template),
        "scheduled_at": draft.scheduled_at,
    }


def saved_values(campaign: Campaign) -> dict[str, Any]:
    """Every column ``save`` writes: all but ``id``, ``user_id`` and ``created_at``."""
    return {
        **draft_values(campaign.draft),
        "status": campaign.status,
        "sent_at": campaign.sent_at,
        "completed_at": campaign.completed_at,
        **{counter: getattr(campaign, counter) for counter in CAMPAIGN_COUNTERS},
        "updated_at": campaign.updated_at,
    }


def campaign_from_row(m: Mapping[Any, Any]) -> Campaign:
    return Campaign(
        id=m["id"],
        user_id=m["user_id"],
        name=m["name"],
        channel=m["channel"],
        subject=m["subject"],
        message=m["message"],
        media_url=m["media_url"],
        media_type=m["media_type"],
        audience=Audience(
            all_contacts=m["audience_all_contacts"],
            tags=tuple(json.loads(m["audience_tags"])),
            contact_ids=tuple(json.loads(m["audience_contact_ids"])),
        ),
        whatsapp_template=stored_template(m["whatsapp_template"]),
        status=m["status"],
        scheduled_at=m["scheduled_at"],
        sent_at=m["sent_at"],
        completed_at=m["completed_at"],
        **{counter: m[counter] for counter in CAMPAIGN_COUNTERS},
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )
