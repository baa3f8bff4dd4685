"""Audiences: membership is a union, eligibility depends on the contact and the channel."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain.audience import (
    CHANNELS,
    Audience,
    Channel,
    address_for,
    is_eligible,
    recipients,
    selects,
)
from nexus_core.domain.contact_records import Contact
from nexus_core.domain.contacts import ContactDraft, ContactStatus

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def contact(
    contact_id: int = 1,
    *,
    phone: str | None = "+34600000001",
    email: str | None = "ana@example.com",
    status: ContactStatus = "activo",
    tags: tuple[str, ...] = (),
    opted_out: bool = False,
) -> Contact:
    return Contact(
        id=contact_id,
        user_id=1,
        name=f"Contacto {contact_id}",
        phone=phone,
        email=email,
        status=status,
        tags=tags,
        notes=None,
        opted_out=opted_out,
        source="manual",
        created_at=NOW,
        updated_at=NOW,
        last_message=None,
    )


# --- the audience itself ------------------------------------------------------------------


def test_an_audience_with_nothing_chosen_is_empty() -> None:
    assert Audience().is_empty
    assert Audience(all_contacts=False, tags=(), contact_ids=()).is_empty
    assert not Audience(all_contacts=True).is_empty
    assert not Audience(tags=("vip",)).is_empty
    assert not Audience(contact_ids=(7,)).is_empty


def test_an_empty_audience_selects_nobody() -> None:
    assert not selects(Audience(), contact(tags=("vip",)))


# --- membership ---------------------------------------------------------------------------


def test_all_contacts_selects_everyone() -> None:
    assert selects(Audience(all_contacts=True), contact(9, tags=()))


def test_tags_select_contacts_carrying_any_of_them() -> None:
    audience = Audience(tags=("vip", "cliente"))
    assert selects(audience, contact(tags=("vip",)))
    assert selects(audience, contact(tags=("otro", "cliente")))
    assert not selects(audience, contact(tags=("otro",)))
    assert not selects(audience, contact(tags=()))


def test_tags_match_whole() -> None:
    assert not selects(Audience(tags=("vip",)), contact(tags=("vip-gold",)))
    assert not selects(Audience(tags=("vip-gold",)), contact(tags=("vip",)))


def test_ids_select_those_contacts() -> None:
    audience = Audience(contact_ids=(7, 9))
    assert selects(audience, contact(7))
    assert selects(audience, contact(9))
    assert not selects(audience, contact(8))


def test_the_audience_is_the_union_of_its_parts() -> None:
    audience = Audience(tags=("vip",), contact_ids=(7, 9))
    chosen = [
        c.id for c in (contact(5, tags=("vip",)), contact(7), contact(8)) if selects(audience, c)
    ]
    assert chosen == [5, 7]


# --- eligibility --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "phone", "email", "expected"),
    [
        ("whatsapp", "+34600000001", None, "+34600000001"),
        ("whatsapp", None, "a@example.com", None),
        ("whatsapp", "", "a@example.com", None),
        ("email", "+34600000001", None, None),
        ("email", None, "a@example.com", "a@example.com"),
        ("email", "+34600000001", "", None),
    ],
)
def test_each_channel_has_its_address(
    channel: Channel, phone: str | None, email: str | None, expected: str | None
) -> None:
    someone = contact(phone=phone, email=email)
    assert address_for(someone, channel) == expected
    assert is_eligible(someone, channel) is (expected is not None)


@pytest.mark.parametrize("channel", CHANNELS)
def test_only_active_contacts_not_opted_out_are_eligible(channel: Channel) -> None:
    assert is_eligible(contact(), channel)
    assert not is_eligible(contact(status="inactivo"), channel)
    assert not is_eligible(contact(opted_out=True), channel)


def test_eligibility_needs_only_the_writable_fields() -> None:
    draft = ContactDraft(name="Ana", phone=None, email="ana@example.com")
    assert is_eligible(draft, "email")
    assert not is_eligible(draft, "whatsapp")


# --- recipients ---------------------------------------------------------------------------


def test_recipients_are_selected_and_eligible_in_the_order_given() -> None:
    contacts = [
        contact(1, tags=("vip",)),
        contact(2, tags=("vip",), opted_out=True),
        contact(3, tags=("vip",), phone=None),
        contact(4, status="inactivo"),
        contact(5),
        contact(6, tags=("otro",)),
        contact(7, tags=("vip",)),
    ]
    audience = Audience(tags=("vip",), contact_ids=(4, 5, 7))
    assert [c.id for c in recipients(audience, "whatsapp", contacts)] == [1, 5, 7]
    assert [c.id for c in recipients(audience, "email", contacts)] == [1, 3, 5, 7]


def test_recipients_are_read_lazily() -> None:
    def endless() -> Iterator[Contact]:
        number = 0
        while True:
            number += 1
            yield contact(number)

    chosen = recipients(Audience(all_contacts=True), "whatsapp", endless())
    assert next(chosen).id == 1
    assert next(chosen).id == 2


_TAGS = st.sampled_from(["vip", "cliente", "nuevo", "vip-gold"])
_CONTACTS = st.builds(
    contact,
    st.integers(1, 30),
    phone=st.sampled_from([None, "+34600000001"]),
    email=st.sampled_from([None, "a@example.com"]),
    status=st.sampled_from(["activo", "inactivo"]),
    tags=st.lists(_TAGS, max_size=3, unique=True).map(tuple),
    opted_out=st.booleans(),
)
_AUDIENCES = st.builds(
    Audience,
    all_contacts=st.booleans(),
    tags=st.lists(_TAGS, max_size=3, unique=True).map(tuple),
    contact_ids=st.lists(st.integers(1, 30), max_size=5, unique=True).map(tuple),
)


@given(_AUDIENCES, _CONTACTS)
def test_membership_is_the_union_of_the_three_parts(audience: Audience, someone: Contact) -> None:
    parts = (
        Audience(all_contacts=audience.all_contacts),
        Audience(tags=audience.tags),
        Audience(contact_ids=audience.contact_ids),
    )
    assert selects(audience, someone) == any(selects(part, someone) for part in parts)
    if audience.is_empty:
        assert not selects(audience, someone)


@given(_AUDIENCES, st.sampled_from(CHANNELS), st.lists(_CONTACTS, max_size=20))
def test_recipients_are_exactly_the_selected_eligible_contacts(
    audience: Audience, channel: Channel, contacts: list[Contact]
) -> None:
    expected = [c for c in contacts if selects(audience, c) and is_eligible(c, channel)]
    assert list(recipients(audience, channel, contacts)) == expected
    for chosen in expected:
        assert chosen.status == "activo"
        assert not chosen.opted_out
        assert address_for(chosen, channel)


@dataclass(frozen=True, slots=True)
class CampaignsOwnAudience:
    """Another value with the three parts, as a campaign may hold its audience."""

    all_contacts: bool
    tags: tuple[str, ...]
    contact_ids: tuple[int, ...]


def test_any_value_with_the_three_parts_is_an_audience() -> None:
    audience = CampaignsOwnAudience(all_contacts=False, tags=("vip",), contact_ids=(3,))
    contacts = [contact(1, tags=("vip",)), contact(2), contact(3)]
    assert selects(audience, contacts[0])
    assert [c.id for c in recipients(audience, "email", contacts)] == [1, 3]
