"""Planning a batch of imported rows against a user's contacts (``plan_import``)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain.contact_import_plan import batch_keys, plan_import
from nexus_core.domain.contact_imports import ImportedRow, ImportTally, OnDuplicate
from nexus_core.domain.contact_records import Contact
from nexus_core.domain.contacts import ContactDraft

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def row(
    number: int, name: str, phone: str | None, email: str | None, **fields: object
) -> ImportedRow:
    given = {"name", *fields} | {
        key for key, value in (("phone", phone), ("email", email)) if value
    }
    return ImportedRow(number, ContactDraft(name, phone, email, **fields), frozenset(given))  # type: ignore[arg-type]


def stored(
    contact_id: int, name: str, phone: str | None, email: str | None, **fields: object
) -> Contact:
    draft = ContactDraft(name, phone, email, **fields)  # type: ignore[arg-type]
    return Contact(
        id=contact_id,
        user_id=1,
        name=draft.name,
        phone=draft.phone,
        email=draft.email,
        status=draft.status,
        tags=draft.tags,
        notes=draft.notes,
        opted_out=draft.opted_out,
        source="manual",
        created_at=NOW,
        updated_at=NOW,
        last_message=None,
    )


ANA = stored(1, "Ana", "+34600000001", "ana@example.com", tags=("vip",), opted_out=True)
BEA = stored(2, "Bea", "+34600000002", "bea@example.com")


def test_batch_keys() -> None:
    rows = [row(2, "A", "+34600000001", None), row(3, "B", None, "b@example.com")]
    assert batch_keys(rows) == ({"+34600000001"}, {"b@example.com"})


def test_rows_leading_nowhere_create_contacts_in_order() -> None:
    rows = [row(2, "Uno", "+34611000001", None), row(3, "Dos", None, "dos@example.com")]
    plan = plan_import(rows, [ANA], "skip")
    assert plan.settlements == ("imported", "imported")
    assert [draft.name for draft in plan.created] == ["Uno", "Dos"]
    assert plan.changed == ()


def test_skip_leaves_existing_contacts_alone() -> None:
    rows = [row(2, "Por teléfono", ANA.phone, None), row(3, "Por correo", None, BEA.email)]
    plan = plan_import(rows, [ANA, BEA], "skip")
    assert plan.settlements == ("duplicate", "duplicate")
    assert (plan.created, plan.changed) == ((), ())


def test_update_merges_and_lists_only_real_changes() -> None:
    rows = [
        row(2, "Ana Nueva", ANA.phone, None, tags=("cliente",), opted_out=False),
        row(3, "Bea", BEA.phone, None),  # changes nothing
    ]
    plan = plan_import(rows, [ANA, BEA], "update")
    assert plan.settlements == ("updated", "updated")
    ((contact, fields),) = plan.changed
    assert contact == ANA
    assert fields == ContactDraft(
        "Ana Nueva", ANA.phone, ANA.email, tags=("vip", "cliente"), opted_out=True
    )


def test_a_phone_or_email_is_never_taken_from_another_contact() -> None:
    plan = plan_import([row(2, "Ana", ANA.phone, BEA.email, notes="x")], [ANA, BEA], "update")
    ((contact, fields),) = plan.changed
    assert (contact.id, fields.email) == (ANA.id, ANA.email)


def test_the_phone_leads_before_the_email() -> None:
    plan = plan_import([row(2, "¿Quién?", BEA.phone, ANA.email)], [ANA, BEA], "update")
    ((contact, _),) = plan.changed
    assert contact.id == BEA.id


def test_later_rows_update_contacts_earlier_rows_created() -> None:
    rows = [
        row(2, "Nuevo", "+34611000001", None, tags=("a",)),
        row(3, "Nuevo bis", "+34611000001", "nuevo@example.com", tags=("b",)),
        row(4, "Nuevo ter", None, "nuevo@example.com", notes="n"),
    ]
    plan = plan_import(rows, [], "update")
    assert plan.settlements == ("imported", "updated", "updated")
    assert plan.created == (
        ContactDraft("Nuevo ter", "+34611000001", "nuevo@example.com", tags=("a", "b"), notes="n"),
    )


def test_under_skip_a_skipped_rows_keys_still_lead_to_its_contact() -> None:
    """As ``ImportTally`` sees it: row 4 repeats row 3, which repeated row 2."""
    rows = [
        row(2, "Nuevo", "+34611000001", None),
        row(3, "Nuevo bis", "+34611000001", "nuevo@example.com"),
        row(4, "Nuevo ter", None, "nuevo@example.com"),
    ]
    plan = plan_import(rows, [], "skip")
    assert plan.settlements == ("imported", "duplicate", "duplicate")
    assert [draft.name for draft in plan.created] == ["Nuevo"]


PHONES = st.sampled_from(["+34600000001", "+34600000002", "+34600000003"])
EMAILS = st.sampled_from(["a@example.com", "b@example.com", "c@example.com"])
ROWS = st.lists(
    st.tuples(st.none() | PHONES, st.none() | EMAILS).filter(lambda keys: keys != (None, None)),
    max_size=12,
)


@given(keys=ROWS, on_duplicate=st.sampled_from(["skip", "update"]))
def test_the_plan_and_the_tally_agree(
    keys: list[tuple[str | None, str | None]], on_duplicate: OnDuplicate
) -> None:
    """Into an empty address book, the tally's ``new`` rows are the plan's ``imported`` ones,
    and the counts cover every row once."""
    rows = [row(n + 2, f"R{n}", phone, email) for n, (phone, email) in enumerate(keys)]
    tally = ImportTally(on_duplicate)
    passed = [(r, tally.observe(r)) for r in rows]
    passed = [(r, fate) for r, fate in passed if fate in ("new", "update")]
    plan = plan_import([r for r, _ in passed], [], on_duplicate)
    for (_, fate), settlement in zip(passed, plan.settlements, strict=True):
        assert (fate == "new") == (settlement == "imported")
        if fate == "new":
            tally.settle(exists=False)
    counts = tally.counts()
    assert counts.imported == len(plan.created)
    assert counts.imported + counts.updated + counts.duplicate == counts.total_rows == len(rows)
