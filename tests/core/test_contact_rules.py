"""Contacts: every field rule, all problems at once, partial writes, tags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain.contacts import (
    CONTACT_FIELDS,
    NOTES_MAX,
    TAG_MAX_LENGTH,
    TAGS_MAX,
    ContactDraft,
    apply_contact_changes,
    normalise_tags,
    split_tag_cell,
    validate_contact,
)
from nexus_core.errors import ValidationFailed

ANA = ContactDraft(
    name="Ana Pérez",
    phone="+34600111222",
    email="ana@example.com",
    status="activo",
    tags=("cliente", "vip"),
    notes="Llamar por la tarde",
    opted_out=False,
)

T = TypeVar("T")


def outcome(run: Callable[[], T]) -> T | ValidationFailed:
    """What ``run`` returns, or the ``ValidationFailed`` it raises (any other error escapes)."""
    try:
        return run()
    except ValidationFailed as failure:
        return failure


def errors_of(caught: pytest.ExceptionInfo[ValidationFailed]) -> list[tuple[str, str]]:
    return [(error.field, error.code) for error in caught.value.errors]


def contact(**fields: Any) -> ContactDraft:
    return validate_contact(**{"name": "Ana", "phone": "600111222", **fields}, default_country="ES")


def refused(**fields: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        validate_contact(**fields, default_country="ES")
    return errors_of(caught)


# --- a new contact ------------------------------------------------------------------------


def test_a_full_contact_is_normalised() -> None:
    draft = validate_contact(
        name="  Ana Pérez ",
        phone="600 111 222",
        email="  Ana@Example.COM ",
        status="inactivo",
        tags=[" VIP", "Cliente", "vip", "  "],
        notes="  Llamar por la tarde \n",
        opted_out=True,
        default_country="ES",
    )
    assert draft == ContactDraft(
        name="Ana Pérez",
        phone="+34600111222",
        email="ana@example.com",
        status="inactivo",
        tags=("vip", "cliente"),
        notes="Llamar por la tarde",
        opted_out=True,
    )


def test_defaults() -> None:
    draft = validate_contact(name="Ana", email="ana@example.com", default_country="ES")
    assert draft == ContactDraft("Ana", None, "ana@example.com", "activo", (), None, False)


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("600 111 222", "ES", "+34600111222"),
        ("0034600111222", "ES", "+34600111222"),
        ("0034 600 111 222", "US", "+34600111222"),
        ("+34 600-111-222", "FR", "+34600111222"),
        ("(600) 111.222", "ES", "+34600111222"),
        ("600.111.222", "ES", "+34600111222"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("(201) 555-0123", "US", "+12015550123"),
    ],
)
def test_phones_are_read_with_the_users_country(raw: str, country: str, expected: str) -> None:
    draft = validate_contact(name="Ana", phone=raw, default_country=country)
    assert draft.phone == expected


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_a_blank_phone_or_email_is_none(blank: str | None) -> None:
    assert contact(email=blank).email is None
    assert contact(phone=blank, email="a@b.es").phone is None


def test_one_of_phone_or_email_is_enough() -> None:
    assert contact().email is None
    assert validate_contact(name="Ana", email="a@b.es", default_country="ES").phone is None


@pytest.mark.parametrize(
    "fields",
    [{}, {"phone": None, "email": None}, {"phone": " ", "email": ""}],
)
def test_phone_or_email_is_required(fields: dict[str, Any]) -> None:
    assert refused(name="Ana", **fields) == [("phone", "contact.phone_or_email_required")]


def test_a_bad_phone_is_reported_for_itself_not_as_missing() -> None:
    assert refused(name="Ana", phone="123") == [("phone", "phone.invalid")]
    assert refused(name="Ana", email="nope") == [("email", "email.invalid")]


@pytest.mark.parametrize(
    ("name", "code"),
    [(None, "field.required"), ("", "field.required"), ("  \t", "field.required")],
)
def test_name_is_required(name: str | None, code: str) -> None:
    assert refused(name=name, phone="600111222") == [("name", code)]


def test_name_length() -> None:
    assert contact(name="n" * 200).name == "n" * 200
    assert contact(name=" " + "n" * 200 + " ").name == "n" * 200  # trimmed before counting
    assert refused(name="n" * 201, phone="600111222") == [("name", "field.too_long")]


def test_email_rules() -> None:
    assert contact(email=" Ana.Garcia@Mail.ES ").email == "ana.garcia@mail.es"
    local = "a" * (254 - len("@example.com"))
    assert contact(email=f"{local}@example.com").email == f"{local}@example.com"
    assert refused(name="Ana", email=f"a{local}@example.com") == [("email", "field.too_long")]
    assert refused(name="Ana", email="ana@") == [("email", "email.invalid")]


def test_notes_length() -> None:
    assert contact(notes="n" * NOTES_MAX).notes == "n" * NOTES_MAX
    assert contact(notes="   ").notes is None
    assert refused(name="Ana", phone="600111222", notes="n" * (NOTES_MAX + 1)) == [
        ("notes", "field.too_long")
    ]


def test_status() -> None:
    assert contact(status="inactivo").status == "inactivo"
    for bad in ["Activo", "active", "", " activo"]:
        assert refused(name="Ana", phone="600111222", status=bad) == [
            ("status", "contact.status_invalid")
        ]
    assert refused(name="Ana", phone="600111222", status=None) == [("status", "field.required")]


def test_tag_rules() -> None:
    assert contact(tags=["a"] * 50 + ["B", " b "]).tags == ("a", "b")
    assert len(contact(tags=[f"t{i}" for i in range(TAGS_MAX)]).tags) == TAGS_MAX
    assert contact(tags=["x" * TAG_MAX_LENGTH]).tags == ("x" * TAG_MAX_LENGTH,)
    assert refused(name="Ana", phone="600111222", tags=[f"t{i}" for i in range(21)]) == [
        ("tags", "contact.too_many_tags")
    ]
    assert refused(name="Ana", phone="600111222", tags=["x" * 41]) == [
        ("tags", "contact.tag_too_long")
    ]
    assert refused(name="Ana", phone="600111222", tags=["a;b"]) == [
        ("tags", "contact.tag_separator")
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", 7),
        ("phone", 600111222),
        ("email", ["ana@example.com"]),
        ("status", True),
        ("tags", "vip,cliente"),
        ("tags", ["vip", 3]),
        ("tags", {"vip": True}),
        ("notes", {"text": "hola"}),
        ("opted_out", "true"),
        ("opted_out", 1),
    ],
)
def test_wrong_json_types(field: str, value: object) -> None:
    fields: dict[str, Any] = {"name": "Ana", "email": "ana@example.com", field: value}
    assert refused(**fields) == [(field, "field.wrong_type")]


def test_control_characters_are_refused() -> None:
    assert refused(name="An\x00a", phone="600111222\x07", notes="ok\tok\n") == [
        ("name", "field.invalid_characters"),
        ("phone", "field.invalid_characters"),
    ]


def test_every_bad_field_is_reported_at_once() -> None:
    assert refused(
        name="",
        phone="12",
        email="x@",
        status="vip",
        tags=["t" * 41],
        notes="n" * 5001,
        opted_out=None,
    ) == [
        ("name", "field.required"),
        ("phone", "phone.invalid"),
        ("email", "email.invalid"),
        ("status", "contact.status_invalid"),
        ("tags", "contact.tag_too_long"),
        ("notes", "field.too_long"),
        ("opted_out", "field.required"),
    ]


# --- partial writes -----------------------------------------------------------------------


def changed(changes: dict[str, object], current: ContactDraft = ANA) -> ContactDraft:
    return apply_contact_changes(current, changes, "ES")


def refused_change(changes: dict[str, object], current: ContactDraft = ANA) -> list[Any]:
    with pytest.raises(ValidationFailed) as caught:
        apply_contact_changes(current, changes, "ES")
    return errors_of(caught)


def test_absent_fields_keep_their_values() -> None:
    assert changed({}) == ANA
    assert changed({"name": " Eva "}) == ContactDraft(
        "Eva", ANA.phone, ANA.email, ANA.status, ANA.tags, ANA.notes, ANA.opted_out
    )


def test_each_field_can_be_written() -> None:
    draft = changed(
        {
            "phone": "+44 20 7946 0018",
            "email": "EVA@example.com",
            "status": "inactivo",
            "tags": ["Nuevo"],
            "notes": " otra nota ",
            "opted_out": True,
        }
    )
    assert draft == ContactDraft(
        "Ana Pérez", "+442079460018", "eva@example.com", "inactivo", ("nuevo",), "otra nota", True
    )


def test_a_national_phone_is_read_with_the_given_country() -> None:
    assert apply_contact_changes(ANA, {"phone": "06 12 34 56 78"}, "FR").phone == "+33612345678"


@pytest.mark.parametrize("blank", [None, "", "  "])
def test_null_or_blank_clears_optional_fields(blank: str | None) -> None:
    assert changed({"phone": blank}).phone is None
    assert changed({"email": blank}).email is None
    assert changed({"notes": blank}).notes is None


def test_clearing_both_phone_and_email_is_refused() -> None:
    assert refused_change({"phone": None, "email": None}) == [
        ("phone", "contact.phone_or_email_required")
    ]
    only_email = changed({"phone": None})
    assert refused_change({"email": None}, only_email) == [
        ("email", "contact.phone_or_email_required")
    ]
    assert changed({"phone": None, "email": "eva@example.com"}, only_email).phone is None


@pytest.mark.parametrize("field", ["name", "status", "tags", "opted_out"])
def test_null_is_refused_where_a_value_is_required(field: str) -> None:
    assert refused_change({field: None}) == [(field, "field.required")]


def test_read_only_and_unknown_keys_are_ignored() -> None:
    assert (
        changed(
            {
                "id": 99,
                "user_id": 2,
                "source": "import",
                "created_at": "2020-01-01T00:00:00Z",
                "last_message": None,
                "whatever": [1, 2],
            }
        )
        == ANA
    )
    assert set(CONTACT_FIELDS) == {
        "name",
        "phone",
        "email",
        "status",
        "tags",
        "notes",
        "opted_out",
    }


def test_every_bad_change_is_reported_at_once_and_nothing_changes() -> None:
    assert refused_change(
        {"name": 3, "phone": "12", "tags": "vip", "status": "on", "opted_out": "no"}
    ) == [
        ("name", "field.wrong_type"),
        ("phone", "phone.invalid"),
        ("status", "contact.status_invalid"),
        ("tags", "field.wrong_type"),
        ("opted_out", "field.wrong_type"),
    ]


# --- tags ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("vip", ("vip",)),
        ("vip, cliente;Madrid | 2024", ("vip", "cliente", "Madrid", "2024")),
        (" ,;| ", ()),
        ("", ()),
        ("a,,b", ("a", "b")),
    ],
)
def test_split_tag_cell(cell: str, expected: tuple[str, ...]) -> None:
    assert split_tag_cell(cell) == expected


def test_normalise_tags_keeps_first_seen_order() -> None:
    assert normalise_tags(["  Zeta", "alfa", "ZETA ", "", "Ñandú"]) == ("zeta", "alfa", "ñandú")


def test_normalise_tags_counts_distinct_tags() -> None:
    assert normalise_tags([f"t{i % 20}" for i in range(200)]) == tuple(f"t{i}" for i in range(20))


# --- properties ---------------------------------------------------------------------------


@st.composite
def spanish_mobile_spellings(draw: st.DrawFn) -> tuple[str, list[str]]:
    """(a Spanish mobile number's E.164 form, several ways a person writes it)."""
    prefix = draw(st.sampled_from(["6", "71", "72", "73", "74"]))
    digits = prefix + draw(
        st.text("0123456789", min_size=9 - len(prefix), max_size=9 - len(prefix))
    )
    a, b, c = digits[:3], digits[3:6], digits[6:]
    spellings = [
        f"{a} {b} {c}",
        f"+34 {a}-{b}-{c}",
        f"0034{digits}",
        f"({a}) {b}.{c}",
        f"+34.{a}.{b}.{c}",
        f"  0034 ({a}) {b} {c}\t",
        f"+34{digits}",
    ]
    return "+34" + digits, spellings


@given(spanish_mobile_spellings())
def test_spellings_of_one_number_give_one_e164(number: tuple[str, list[str]]) -> None:
    expected, spellings = number
    phones = {contact(phone=spelling).phone for spelling in spellings}
    assert phones == {expected}


_REGIONS = st.sampled_from(["ES", "FR", "GB", "US", "MX", "AR", "DE", "XX", ""])


@given(st.text(alphabet="0123456789 +-.()", max_size=20), _REGIONS, _REGIONS)
def test_phone_normalisation_is_idempotent(raw: str, country: str, other: str) -> None:
    try:
        phone = validate_contact(name="A", phone=raw, default_country=country).phone
    except ValidationFailed:
        return
    if phone is None:
        return
    assert phone.startswith("+")
    assert phone[1:].isdigit()
    again = validate_contact(name="A", phone=phone, default_country=other).phone
    assert again == phone


_JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=60)
)
_JSON = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@given(
    st.text(),
    st.one_of(st.text(), st.text(alphabet="0123456789 +-.()", max_size=20)),
    st.text(),
    st.text(max_size=12),
    st.lists(st.text(max_size=45), max_size=25),
    st.text(),
    st.sampled_from(["ES", "FR", "US", "XX", ""]),
)
def test_validate_contact_never_raises_anything_but_validation_failed(
    name: str, phone: str, email: str, status: str, tags: list[str], notes: str, country: str
) -> None:
    draft = outcome(
        lambda: validate_contact(
            name=name,
            phone=phone,
            email=email,
            status=status,
            tags=tags,
            notes=notes,
            opted_out=False,
            default_country=country,
        )
    )
    if isinstance(draft, ValidationFailed):
        assert draft.errors
        return
    assert draft.name == draft.name.strip()
    assert 1 <= len(draft.name) <= 200
    assert draft.phone is not None or draft.email is not None
    assert draft.status in ("activo", "inactivo")
    assert len(draft.tags) <= TAGS_MAX


@given(st.dictionaries(st.sampled_from([*sorted(CONTACT_FIELDS), "id"]), _JSON, max_size=8))
def test_partial_writes_never_raise_anything_but_validation_failed(
    changes: dict[str, object],
) -> None:
    draft = outcome(lambda: apply_contact_changes(ANA, changes, "ES"))
    if isinstance(draft, ValidationFailed):
        assert draft.errors
        return
    assert draft.phone is not None or draft.email is not None
    for field in CONTACT_FIELDS - changes.keys():
        assert getattr(draft, field) == getattr(ANA, field)


_TAGS = st.lists(
    st.one_of(st.text(max_size=45), st.sampled_from(["VIP", " vip ", "Ñandú", "İstanbul", ""])),
    max_size=30,
)


@given(_TAGS)
def test_tag_normalisation_is_idempotent_and_bounded(values: list[str]) -> None:
    tags = outcome(lambda: normalise_tags(values))
    if isinstance(tags, ValidationFailed):
        assert [error.field for error in tags.errors] == ["tags"]
        return
    assert normalise_tags(tags) == tags
    assert len(tags) <= TAGS_MAX
    assert len(set(tags)) == len(tags)
    for tag in tags:
        assert tag
        assert len(tag) <= TAG_MAX_LENGTH
        assert tag == tag.strip().lower()


@given(st.text(max_size=200))
def test_a_tag_cell_splits_into_tags_that_normalise_once(cell: str) -> None:
    pieces = split_tag_cell(cell)
    assert all(piece and piece == piece.strip() for piece in pieces)
    assert not any(sep in piece for piece in pieces for sep in ",;|")
    try:
        tags = normalise_tags(pieces)
    except ValidationFailed:
        return
    assert split_tag_cell(";".join(tags)) == tags  # an export's cell imports back the same
