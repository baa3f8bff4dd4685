"""Deliveries in and out of ``deliveries`` rows, and a campaign's recipients as SQL.

``recipients`` is ``audience.recipients`` written as the conditions of a query over
``contacts``: the snapshot and the preview both use it, so the rule lives in one place here
as it does in the core.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, false, or_, select

from nexus_adapters.sql.repositories.contact_rows import tag_pattern
from nexus_adapters.sql.repositories.json_rows import json_rows
from nexus_adapters.sql.tables import contacts
from nexus_core.domain.campaigns import Campaign
from nexus_core.domain.deliveries import Delivery

# The JSON parameter carrying the audience's contact ids, as ``[{"id": 7}, …]``.
_IDS = "audience_contact_ids"


@dataclass(frozen=True, slots=True)
class Recipients:
    """Which ``contacts`` rows are a campaign's recipients: ``where`` their conditions,
    ``parameters`` what to execute them with, ``address`` the column the channel reaches."""

    where: tuple[ColumnElement[bool], ...]
    parameters: dict[str, Any]
    address: ColumnElement[str | None]


def recipients(campaign: Campaign, dialect_name: str) -> Recipients:
    """The campaign owner's contacts that its audience selects (all of them; or those
    carrying any of its tags, whole tags as stored; or listed in its ids) and that its channel
    can reach (``activo``, not opted out, with an address for the channel)."""
    c = contacts.c
    address = c.phone if campaign.channel == "whatsapp" else c.email
    where: list[ColumnElement[bool]] = [
        c.user_id == campaign.user_id,
        c.status == "activo",
        c.opted_out == false(),
        address.is_not(None),
        address != "",
    ]
    parameters: dict[str, Any] = {}
    audience = campaign.audience
    if not audience.all_contacts:
        members = [c.tags.contains(tag_pattern(tag), autoescape=True) for tag in audience.tags]
        if audience.contact_ids:
            ids = json_rows(dialect_name, _IDS, [("id", Integer())])
            members.append(c.id.in_(select(ids.c.id)))
            parameters[_IDS] = [{"id": contact_id} for contact_id in audience.contact_ids]
        # No tag and no id: nobody (``or_`` of nothing but ``false`` is ``false``).
        where.append(or_(false(), *members))
    return Recipients(tuple(where), parameters, address)


def delivery_from_row(m: Mapping[Any, Any]) -> Delivery:
    return Delivery(
        id=m["id"],
        campaign_id=m["campaign_id"],
        user_id=m["user_id"],
        contact_id=m["contact_id"],
        to=m["address"],
        name=m["name"],
        status=m["status"],
        error=m["error"],
        attempts=m["attempts"],
        provider_message_id=m["provider_message_id"],
        next_attempt_at=m["next_attempt_at"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )
