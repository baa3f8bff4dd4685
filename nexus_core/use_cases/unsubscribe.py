"""The one-click unsubscribe of campaign emails: the contact a signed link names opts out.

Opting out is ``opted_out = True`` saved through the contacts repository (so every cached page
of the owner's contacts is out of date at once); the dispatcher skips the contact's pending
deliveries when it meets them, and no later campaign reaches it (API.md).
"""

from __future__ import annotations

import dataclasses

from nexus_core.domain.contact_records import revised
from nexus_core.domain.unsubscribe_links import UnsubscribeTokens
from nexus_core.errors import NotFound
from nexus_core.use_cases.context import Ports

LINK_INVALID = "unsubscribe.link_invalid"


def unsubscribe(ports: Ports, tokens: UnsubscribeTokens, token: str) -> bool:
    """Opt out the contact ``token`` names, in one unit of work; whether it was subscribed
    until now (a repeated click changes nothing). A token ``tokens`` did not issue, or one
    naming a contact deleted since, is ``NotFound(LINK_INVALID)`` and changes nothing."""
    target = tokens.read(token)
    if target is None:
        raise NotFound(LINK_INVALID)
    with ports.uow(write=True) as uow:
        contact = uow.contacts.get(target.user_id, target.contact_id)
        if contact is None:
            raise NotFound(LINK_INVALID)
        if contact.opted_out:
            return False
        draft = dataclasses.replace(contact.draft, opted_out=True)
        uow.contacts.save(revised(contact, draft, ports.clock()))
        uow.commit()
    return True
