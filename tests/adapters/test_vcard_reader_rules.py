"""vCard reading rules: versions, folding, encodings, which TEL and EMAIL win, names, tags."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_adapters.files import StreamingContactFileReader
from nexus_adapters.files.vcard_properties import split_escaped, unescape
from nexus_core.domain.contact_files import SourceRow, UnreadableFile

READER = StreamingContactFileReader()
NAME, PHONE, EMAIL, TAGS, NOTES = range(5)


def rows_of(data: bytes) -> list[SourceRow]:
    table = READER.open("contactos.vcf", io.BytesIO(data))
    assert table.headers == ("name", "phone", "email", "tags", "notes")
    return list(table.rows)


def card(*lines: str, version: str = "3.0", charset: str = "utf-8") -> bytes:
    text = "\r\n".join(["BEGIN:VCARD", f"VERSION:{version}", *lines, "END:VCARD", ""])
    return text.encode(charset)


def cells(*lines: str, version: str = "3.0") -> tuple[str, ...]:
    [row] = rows_of(card(*lines, version=version))
    return row.cells


# --- which TEL and EMAIL -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "phone"),
    [
        (["TEL;TYPE=HOME:1", "TEL;TYPE=WORK:2"], "1"),  # nothing preferred: the first
        (["TEL;TYPE=HOME:1", "TEL;TYPE=CELL:2"], "2"),
        (["TEL;TYPE=HOME:1", "TEL;TYPE=cell:2"], "2"),
        (["TEL;TYPE=HOME:1", "TEL;TYPE=CELL,VOICE:2"], "2"),
        (["TEL;TYPE=HOME:1", "item1.TEL;type=VOICE;type=CELL:2"], "2"),
        (["TEL;TYPE=HOME:1", "TEL;TYPE=WORK;TYPE=pref:2"], "2"),
        (["TEL;TYPE=HOME;TYPE=pref:1", "TEL;TYPE=CELL:2"], "2"),  # a mobile beats pref
        (["TEL;TYPE=CELL:1", "TEL;TYPE=CELL;TYPE=pref:2"], "2"),
        (["TEL;TYPE=CELL:1", "TEL;TYPE=CELL:2"], "1"),
        (["TEL:", "TEL;TYPE=HOME:  3  "], "3"),  # an empty TEL is no candidate
    ],
)
def test_the_phone_is_the_first_mobile_else_preferred_else_first_tel(
    lines: list[str], phone: str
) -> None:
    assert cells("FN:Ana", *lines)[PHONE] == phone


@pytest.mark.parametrize(
    ("lines", "phone"),
    [
        (["TEL;HOME:1", "TEL;CELL:2"], "2"),
        (["TEL;HOME:1", "TEL;WORK;PREF:2"], "2"),
        (["TEL;CELL:1", "TEL;PREF;CELL:2"], "2"),
        (["TEL;VOICE:1", "TEL;X-CUSTOM:2"], "1"),
    ],
)
def test_vcard_21_bare_types(lines: list[str], phone: str) -> None:
    assert cells("FN:Ana", *lines, version="2.1")[PHONE] == phone


def test_vcard_40_pref_numbers_and_tel_uris() -> None:
    row = cells(
        "FN:Ana",
        "TEL;VALUE=uri;TYPE=voice:tel:+34-910-000-000",
        'TEL;VALUE=uri;TYPE="voice,cell";PREF=2:tel:+34-600-000-002',
        'TEL;VALUE=uri;TYPE="cell";PREF=1:tel:+34-600-000-001',
        "EMAIL;PREF=3:tres@example.com",
        "EMAIL;PREF=1:uno@example.com",
        "EMAIL:sin@example.com",
        version="4.0",
    )
    assert row[PHONE] == "+34-600-000-001"
    assert row[EMAIL] == "uno@example.com"


@pytest.mark.parametrize(
    ("lines", "email"),
    [
        (["EMAIL;TYPE=INTERNET:a@x.es", "EMAIL;TYPE=INTERNET:b@x.es"], "a@x.es"),
        (["EMAIL;TYPE=INTERNET:a@x.es", "EMAIL;TYPE=INTERNET;TYPE=pref:b@x.es"], "b@x.es"),
        (["EMAIL;TYPE=INTERNET:a@x.es", "EMAIL;TYPE=INTERNET,pref:b@x.es"], "b@x.es"),
        (["EMAIL:a@x.es", "item2.EMAIL;PREF=1:b@x.es"], "b@x.es"),
        (["EMAIL:mailto:a@x.es"], "a@x.es"),
    ],
)
def test_the_email_is_the_preferred_else_first(lines: list[str], email: str) -> None:
    assert cells("FN:Ana", *lines)[EMAIL] == email


def test_vcard_21_preferred_email() -> None:
    row = cells("FN:Ana", "EMAIL;INTERNET:a@x.es", "EMAIL;PREF;INTERNET:b@x.es", version="2.1")
    assert row[EMAIL] == "b@x.es"


# --- names, tags, notes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "name"),
    [
        (["FN:Ana Pérez", "N:Otra;Cosa;;;"], "Ana Pérez"),
        (["N:Pérez García;Ana;María;Dra.;PhD"], "Ana María Pérez García"),
        (["FN:  ", "N:Pérez;Ana;;;"], "Ana Pérez"),
        (["N:Pérez"], "Pérez"),
        (["N:;Ana"], "Ana"),
        (["N:O\\;Neill;Seán;;;"], "Seán O;Neill"),
        (["N:Pérez;Ana,María;;;"], "Ana María Pérez"),  # several given names (3.0)
        (["FN:Pérez\\, Ana"], "Pérez, Ana"),
        (["FN:Ana", "FN:Otra"], "Ana"),
    ],
)
def test_the_name_is_fn_else_given_additional_family(lines: list[str], name: str) -> None:
    assert cells("TEL:1", *lines)[NAME] == name


def test_categories_are_tags_without_google_system_groups() -> None:
    row = cells(
        "FN:Ana",
        "CATEGORIES:myContacts,Clientes, VIP ,STARRED",
        "CATEGORIES:MyContacts,clientes,Ferias\\, 2024,Starred",
    )
    assert row[TAGS] == "Clientes,VIP,Ferias, 2024"


def test_a_card_with_only_system_groups_has_no_tags() -> None:
    assert cells("FN:Ana", "CATEGORIES:myContacts,starred")[TAGS] == ""


def test_notes_are_unescaped_and_joined_by_line() -> None:
    row = cells(
        "FN:Ana",
        "NOTE:Primera\\nlínea\\Nmás\\, y\\; así\\\\ fin",
        "NOTE:Ruta C:\\Users\\ana",
        "NOTE:",
    )
    assert row[NOTES] == "Primera\nlínea\nmás, y; así\\ fin\nRuta C:\\Users\\ana"


def test_escapes() -> None:
    assert split_escaped("a\\,b,c\\\\,d", ",") == ["a\\,b", "c\\\\", "d"]
    assert split_escaped("", ";") == [""]
    assert unescape("a\\,b\\;c\\nd\\\\e\\:f\\x") == "a,b;c\nd\\e:f\\x"


# --- folding, quoted-printable, charsets ---------------------------------------------------


def test_vcard_30_folding_drops_one_space_or_tab() -> None:
    data = card("FN:Ana Pé", " rez", "NOTE:uno ", "\t dos", "TEL:600", " 111", " 222")
    assert rows_of(data)[0].cells == ("Ana Pérez", "600111222", "", "", "uno  dos")


def test_vcard_21_folding_keeps_the_whitespace() -> None:
    data = card("FN:Ana", " Pérez", "TEL;CELL:600", version="2.1")
    assert rows_of(data)[0].cells[:2] == ("Ana Pérez", "600")


def test_a_fold_in_the_middle_of_a_utf8_character_joins_it_back() -> None:
    data = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ana P\xc3\r\n \xa9rez\r\nEND:VCARD\r\n"
    assert rows_of(data)[0].cells[NAME] == "Ana Pérez"


def test_quoted_printable_with_soft_line_breaks_and_charsets() -> None:
    data = card(
        "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=50=C3=A9rez;=41=6E=",
        "=61;;;",
        "TEL;CELL:600",
        "NOTE;QUOTED-PRINTABLE;CHARSET=ISO-8859-1:Cumplea=F1os=0D=0Ama=",
        "=F1ana",
        version="2.1",
    )
    assert rows_of(data)[0].cells == ("Ana Pérez", "600", "", "", "Cumpleaños\r\nmañana")


def test_a_soft_line_break_before_end_vcard_does_not_swallow_it() -> None:
    data = card("FN;ENCODING=QUOTED-PRINTABLE:Ana=", version="2.1") + card("FN:Luis")
    assert [row.cells[NAME] for row in rows_of(data)] == ["Ana", "Luis"]


def test_a_raw_charset_value_is_read_in_its_charset() -> None:
    data = (
        b"BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8:P\xc3\xa9rez;Ana\r\n"
        b"NOTE;CHARSET=ISO-8859-1:Cumplea\xf1os\r\nEND:VCARD\r\n"
    )
    assert rows_of(data)[0].cells == ("Ana Pérez", "", "", "", "Cumpleaños")


@pytest.mark.parametrize("charset", ["NO-EXISTE", "base64", "rot13", "undefined", '"utf-8'])
def test_an_unknown_charset_or_no_text_one_falls_back_to_the_files(charset: str) -> None:
    data = card(f"FN;CHARSET={charset}:Ana Pérez", "TEL:1")
    assert rows_of(data)[0].cells[NAME] == "Ana Pérez"


def test_a_charset_that_cannot_read_the_bytes_never_fails() -> None:
    data = card("FN;CHARSET=UTF-16:Ana Pérez", "TEL:1")  # an odd number of bytes
    assert rows_of(data)[0].cells[PHONE] == "1"


def test_base64_text_values_are_decoded() -> None:
    data = card("FN;ENCODING=b;CHARSET=UTF-8:QW5hIFDDqXJleg==", "TEL:1")
    assert rows_of(data)[0].cells[NAME] == "Ana Pérez"


@pytest.mark.parametrize(
    "data",
    [
        card("FN:Ana Pérez", "TEL:1"),
        b"\xef\xbb\xbf" + card("FN:Ana Pérez", "TEL:1"),
        card("FN:Ana Pérez", "TEL:1", charset="cp1252"),
        card("FN:Ana Pérez", "TEL:1").replace(b"\r\n", b"\n"),
    ],
    ids=["utf-8", "utf-8 with BOM", "windows-1252", "LF line endings"],
)
def test_file_encodings_and_line_endings(data: bytes) -> None:
    assert rows_of(data) == [SourceRow(2, ("Ana Pérez", "1", "", "", ""))]


# --- cards and their numbers ---------------------------------------------------------------


def test_cards_are_numbered_by_ordinal_plus_one_and_empty_ones_skipped() -> None:
    data = (
        b"junk before any card\r\n"
        + card("FN:Ana")
        + card("FN:", "CATEGORIES:myContacts")  # nothing to read: card 2 skipped
        + b"begin:vcard\r\nfn:Luis\r\nend:vcard\r\n"  # names are case-insensitive
        + b"BEGIN:VCARD\r\nFN:Marta\r\n"  # no END: it ends where the next begins
        + card("FN:Rosa")
        + b"BEGIN:VCARD\r\nFN:Sin fin\r\n"  # nor at the end of the file
    )
    assert [(row.number, row.cells[NAME]) for row in rows_of(data)] == [
        (2, "Ana"),
        (4, "Luis"),
        (5, "Marta"),
        (6, "Rosa"),
        (7, "Sin fin"),
    ]


def test_unread_properties_and_huge_photos_are_skipped() -> None:
    photo = "PHOTO;ENCODING=BASE64;TYPE=JPEG:" + "A" * (2 * 1024 * 1024)  # one 2 MiB line
    data = card("FN:Ana", photo, 'X-CUSTOM;FOO="a:b":c', "ADR;TYPE=HOME:;;Calle;;;", "TEL:1")
    assert rows_of(data)[0].cells == ("Ana", "1", "", "", "")


def test_a_file_without_cards_is_empty() -> None:
    with pytest.raises(UnreadableFile) as caught:
        rows_of(b"FN:Ana\r\nEND:VCARD\r\n")
    assert (caught.value.code, caught.value.file_type) == ("import.empty", "vcard")


# --- properties ----------------------------------------------------------------------------

_LINES = st.sampled_from(
    [
        "BEGIN:VCARD",
        "END:VCARD",
        "VERSION:2.1",
        "VERSION:4.0",
        "FN:Ana",
        "N:a;b;c;d;e;f",
        "N;ENCODING=QUOTED-PRINTABLE:=C3=",
        "=A9",
        "TEL;CELL;PREF:1",
        'TEL;TYPE="cell:2',
        "TEL;PREF=x:3",
        "EMAIL;PREF=999999999999999999999:a@b",
        "CATEGORIES:a\\,b,\\",
        "NOTE;CHARSET=zzz;ENCODING=b:@@@",
        " folded",
        "\tfolded",
        "",
        "=",
        ":",
        ";;;",
        "\\",
    ]
)


@settings(max_examples=300)
@given(st.lists(st.one_of(_LINES, st.text(max_size=20)), max_size=30))
def test_any_vcard_like_text_reads_or_is_refused(lines: list[str]) -> None:
    data = ("BEGIN:VCARD\r\n" + "\r\n".join(lines)).encode("utf-8", "surrogatepass")
    refusal = None
    try:
        rows = rows_of(data)
    except UnreadableFile as error:
        refusal = error.code
    if refusal is not None:
        # A NUL character; or a first line folded on into "BEGIN:VCARDfolded".
        assert refusal in {"import.undecodable", "import.empty"}
        return
    numbers = [row.number for row in rows]
    assert numbers == sorted(set(numbers))
    assert all(len(row.cells) == 5 and any(row.cells) for row in rows)
