"""A campaign's audience: whom it selects, and who of them can be messaged on its channel.

Two separate questions, so a preview can tell "selected" from "reachable":

- membership (``selects``): the union of every contact (``all_contacts``), the contacts
  carrying *any* of ``tags`` (whole tags, compared as stored: lower-case, so ``vip`` does not
  find ``vip-gold``) and the contacts listed in ``contact_ids``;
- eligibility (``is_eligible``): the contact is ``activo``, not opted out, and has an address
  for the channel (a phone for ``whatsapp``, an email for ``email``).

Recipients are the selected contacts that are eligible (``recipients``), always among the
campaign owner's own contacts: the caller passes only those. This in-memory version is the
reference; the SQL adapter implements the same rule as a query and is tested against it.
Validating an audience written by a client (tags normalised with ``normalise_tags``,
``contact_ids`` belonging to the user) is the campaign's business, not this module's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

from nexus_core.domain.contact_records import Contact
from nexus_core.domain.contacts import ContactFields

Channel = Literal["whatsapp", "email"]
CHANNELS: tuple[Channel, ...] = ("whatsapp", "email")


class AudienceRule(Protocol):
    """Any value naming an audience's three parts: ``Audience``, or a campaign's own."""

    @property
    def all_contacts(self) -> bool: ...
    @property
    def tags(self) -> tuple[str, ...]: ...
    @property
    def contact_ids(self) -> tuple[int, ...]: ...


@dataclass(frozen=True, slots=True)
class Audience:
    """Whom a campaign is for (``tags`` normalised, as contacts store them)."""

    all_contacts: bool = False
    tags: tuple[str, ...] = ()
    contact_ids: tuple[int, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when it selects nobody whatever the contacts: no flag, no tag, no id.

        (A non-empty audience may still resolve to no recipient; sending checks both.)
        """
        return not (self.all_contacts or self.tags or self.contact_ids)


def address_for(contact: ContactFields, channel: Channel) -> str | None:
    """Where ``channel`` reaches the contact: its phone for WhatsApp, its email for email."""
    address = contact.phone if channel == "whatsapp" else contact.email
    return address or None


def is_eligible(contact: ContactFields, channel: Channel) -> bool:
    """May a campaign on ``channel`` message this contact at all?"""
    return (
        contact.status == "activo"
        and not contact.opted_out
        and address_for(contact, channel) is not None
    )


def selects(audience: AudienceRule, contact: Contact) -> bool:
    """Is ``contact`` a member of ``audience`` (whether or not it can be messaged)?"""
    return (
        audience.all_contacts
        or contact.id in audience.contact_ids
        or any(tag in audience.tags for tag in contact.tags)
    )


def recipients(
    audience: AudienceRule, channel: Channel, contacts: Iterable[Contact]
) -> Iterator[Contact]:
    """The owner's ``contacts`` that ``audience`` selects and ``channel`` can reach, lazily
    and in the order given. A contact matching several ways (a tag and its id) counts once."""
    ids = frozenset(audience.contact_ids)
    tags = frozenset(audience.tags)
    for contact in contacts:
        member = audience.all_contacts or contact.id in ids or not tags.isdisjoint(contact.tags)
        if member and is_eligible(contact, channel):
            yield contact
