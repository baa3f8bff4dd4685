"""Placeholders: filled per recipient, everything else left as written, never an error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain.contact_records import Contact
from nexus_core.domain.contacts import ContactDraft
from nexus_core.domain.placeholders import (
    PLACEHOLDERS,
    MessageTemplate,
    compile_template,
    placeholders_in,
    render,
    unknown_placeholders,
)

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def contact(
    name: str = "Ana María Pérez",
    phone: str | None = "+34600111222",
    email: str | None = "ana@example.com",
) -> Contact:
    return Contact(
        id=1,
        user_id=1,
        name=name,
        phone=phone,
        email=email,
        status="activo",
        tags=(),
        notes=None,
        opted_out=False,
        source="manual",
        created_at=NOW,
        updated_at=NOW,
        last_message=None,
    )


ANA = contact()

# Any text, with braces, placeholder names and lone surrogates coming up often.
_PIECES = st.sampled_from(["{", "}", "{{", "}}", "nombre", "name", "first_", "_", " ", "email"])
_TEXT = st.lists(
    st.one_of(_PIECES, st.text(st.characters(exclude_categories=()))), max_size=12
).map("".join)
_OPTIONAL_TEXT = st.none() | _TEXT
_CONTACTS = st.builds(contact, name=_TEXT, phone=_OPTIONAL_TEXT, email=_OPTIONAL_TEXT)


def _has_known_placeholder(text: str) -> bool:
    return any(f"{{{name}}}" in text for name in PLACEHOLDERS)


# --- examples -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Hola {nombre}", "Hola Ana María Pérez"),
        ("Hi {name}!", "Hi Ana María Pérez!"),
        ("Hola {first_name},", "Hola Ana,"),
        ("Tel: {telefono} / {phone}", "Tel: +34600111222 / +34600111222"),
        ("Mail: {email}", "Mail: ana@example.com"),
        ("{nombre}{nombre}", "Ana María PérezAna María Pérez"),
        ("{first_name}{email}", "Anaana@example.com"),
        ("", ""),
    ],
)
def test_each_placeholder_is_filled(template: str, expected: str) -> None:
    assert render(template, ANA) == expected


@pytest.mark.parametrize(
    "template",
    [
        "{apellido}",
        "{Nombre}",
        "{NAME}",
        "{ nombre }",
        "{nombre ",
        "{",
        "}",
        "}}",
        "{}",
        "{{}}",
        "{teléfono}",
        '{"json": true}',
        "50% off {0} {name!r} {name:>10} %(nombre)s $nombre",
    ],
)
def test_other_braces_are_left_as_written(template: str) -> None:
    assert render(template, ANA) == template


def test_doubled_braces_are_no_escape() -> None:
    assert render("{{nombre}}", ANA) == "{Ana María Pérez}"
    assert render("{{{email}}}", ANA) == "{{ana@example.com}}"
    assert render("}{nombre}{", ANA) == "}Ana María Pérez{"


def test_missing_values_render_as_empty() -> None:
    nobody = contact(name="", phone=None, email=None)
    assert render("[{nombre}|{first_name}|{telefono}|{phone}|{email}]", nobody) == "[||||]"
    assert render("Hola {first_name}", contact(name="   ")) == "Hola "


def test_first_name_is_the_first_word() -> None:
    assert render("{first_name}", contact(name="  María José García ")) == "María"
    assert render("{first_name}", contact(name="Ana\u00a0Pérez")) == "Ana"
    assert render("{first_name}", contact(name="Ana\tPérez")) == "Ana"
    assert render("{first_name}", contact(name="Cher")) == "Cher"


def test_values_are_never_read_as_placeholders() -> None:
    sly = contact(name="{email} {nombre}", email="x@example.com")
    assert render("Hola {nombre} <{email}>", sly) == "Hola {email} {nombre} <x@example.com>"


def test_any_recipient_with_a_name_phone_and_email_will_do() -> None:
    draft = ContactDraft(name="Bea Ruiz", phone=None, email="bea@example.com")
    assert render("{first_name} {email} {phone}", draft) == "Bea bea@example.com "


def test_a_text_without_placeholders_is_returned_as_is() -> None:
    text = "Ofertas para todos {pronto}"
    assert render(text, ANA) is text


def test_compiling_splits_around_placeholders_and_is_remembered() -> None:
    template = compile_template("Hola {nombre}, tu email es {email}.")
    assert template == MessageTemplate(
        text="Hola {nombre}, tu email es {email}.",
        literals=("Hola ", ", tu email es ", "."),
        fields=("nombre", "email"),
    )
    assert compile_template("Hola {nombre}, tu email es {email}.") is template


def test_placeholders_in_a_text() -> None:
    assert placeholders_in("Hola {nombre} {first_name} {nombre} {apellido}") == {
        "nombre",
        "first_name",
    }
    assert placeholders_in("Sin nada") == frozenset()


def test_unknown_placeholders_are_reported_once_each_as_written() -> None:
    text = "{Nombre} {apellido} {nombre} { email } {apellido} {teléfono} {{phone}} {} {a b}"
    assert unknown_placeholders(text) == ("{Nombre}", "{apellido}", "{ email }", "{teléfono}")
    assert unknown_placeholders("Hola {nombre}") == ()


def test_lone_surrogates_and_control_characters_do_not_break_anything() -> None:
    odd = contact(name="\ud800 X", phone="\x00", email="\udfff")
    assert render("\ud83d{first_name}{phone}{email}\x00", odd) == "\ud83d\ud800\x00\udfff\x00"


# --- properties ---------------------------------------------------------------------------


@given(_TEXT, _CONTACTS)
def test_rendering_never_raises(template: str, recipient: Contact) -> None:
    assert isinstance(render(template, recipient), str)
    assert isinstance(unknown_placeholders(template), tuple)
    assert placeholders_in(template) <= set(PLACEHOLDERS)


@given(_TEXT, _CONTACTS)
def test_text_without_known_placeholders_renders_unchanged(
    template: str, recipient: Contact
) -> None:
    if _has_known_placeholder(template):
        template = template.replace("{", "(")
    assert render(template, recipient) == template
    assert placeholders_in(template) == frozenset()


@given(_TEXT)
def test_compiling_loses_nothing(template: str) -> None:
    compiled = compile_template(template)
    assert len(compiled.literals) == len(compiled.fields) + 1
    rebuilt = compiled.literals[0] + "".join(
        f"{{{field}}}{literal}"
        for field, literal in zip(compiled.fields, compiled.literals[1:], strict=True)
    )
    assert rebuilt == template


@given(
    st.lists(_TEXT.map(lambda text: text.replace("{", "(")), min_size=1, max_size=6),
    st.lists(st.sampled_from(PLACEHOLDERS), max_size=5),
    _CONTACTS,
)
def test_each_placeholder_is_replaced_in_place(
    literals: list[str], fields: list[str], recipient: Contact
) -> None:
    fields = fields[: len(literals) - 1]
    literals = literals[: len(fields) + 1]
    values = {
        "nombre": recipient.name,
        "name": recipient.name,
        "first_name": (recipient.name.split() or [""])[0],
        "telefono": recipient.phone or "",
        "phone": recipient.phone or "",
        "email": recipient.email or "",
    }
    template = literals[0] + "".join(
        f"{{{field}}}{literal}" for field, literal in zip(fields, literals[1:], strict=True)
    )
    expected = literals[0] + "".join(
        values[field] + literal for field, literal in zip(fields, literals[1:], strict=True)
    )
    assert render(template, recipient) == expected
