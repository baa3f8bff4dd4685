"""Contact imports: headers, rows, the update merge and how rows are counted."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain.contact_files import SourceRow, UnreadableFile
from nexus_core.domain.contact_imports import (
    MAX_ROW_ERRORS,
    BlankRow,
    ColumnMap,
    ImportedRow,
    ImportTally,
    OnDuplicate,
    RowOutcome,
    RowProblem,
    clean_cell,
    map_headers,
    merge_update,
    parse_extra_tags,
    parse_on_duplicate,
    read_row,
)
from nexus_core.domain.contacts import TAGS_MAX, ContactDraft
from nexus_core.errors import ValidationFailed

EXPORT_HEADER = ("name", "phone", "email", "status", "tags", "notes", "opted_out", "created_at")
EXPORT = map_headers(EXPORT_HEADER)


def read(*cells: str, columns: ColumnMap = EXPORT, extra: tuple[str, ...] = ()) -> RowOutcome:
    return read_row(SourceRow(5, cells), columns, "ES", extra)


def contact_of(*cells: str, columns: ColumnMap = EXPORT) -> ContactDraft:
    outcome = read(*cells, columns=columns)
    assert isinstance(outcome, ImportedRow), outcome
    return outcome.contact


def problem_of(*cells: str, extra: tuple[str, ...] = ()) -> RowProblem:
    outcome = read(*cells, extra=extra)
    assert isinstance(outcome, RowProblem), outcome
    return outcome


# --- headers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("nombre", "name"),
        ("Name", "name"),
        ("  NOMBRE ", "name"),
        ("\ufeffnombre", "name"),
        ("teléfono", "phone"),
        ("Telefono", "phone"),
        ("TELÉFONO", "phone"),
        ("celular", "phone"),
        ("Móvil", "phone"),
        ("movil", "phone"),
        ("WhatsApp", "phone"),
        ("phone", "phone"),
        ("correo", "email"),
        ("Email", "email"),
        ("E-mail", "email"),
        ("Correo electrónico", "email"),
        ("correo_electronico", "email"),
        ("etiquetas", "tags"),
        ("Tags", "tags"),
        ("notas", "notes"),
        ("Notes", "notes"),
        ("estado", "status"),
        ("Status", "status"),
        ("opted_out", "opted_out"),
        ("Opted out", "opted_out"),
        ("baja", "opted_out"),
    ],
)
def test_headers_in_spanish_or_english(header: str, field: str) -> None:
    # a header that is not a contact's own column needs one beside it to make a readable file
    other = "x" if field in ("name", "phone", "email") else "email"
    assert getattr(map_headers((other, header)), field) == 1


def test_the_first_column_of_a_field_wins_and_others_are_ignored() -> None:
    columns = map_headers(("Móvil", "Nombre", "WhatsApp", "Apellidos", "teléfono", "name"))
    assert columns == ColumnMap(name=1, phone=0)


def test_the_export_header_maps_every_field() -> None:
    assert ColumnMap(0, 1, 2, tags=4, notes=5, status=3, opted_out=6) == EXPORT


@pytest.mark.parametrize(
    "headers",
    [(), ("",), ("apellidos", "ciudad"), ("etiquetas", "notas", "estado", "baja")],
)
def test_no_name_phone_or_email_column_is_an_unreadable_file(headers: tuple[str, ...]) -> None:
    with pytest.raises(UnreadableFile) as caught:
        map_headers(headers, "excel")
    assert caught.value.code == "import.no_columns"
    assert caught.value.file_type == "excel"


@given(st.lists(st.text(max_size=20), max_size=10))
def test_any_header_maps_or_is_unreadable(headers: list[str]) -> None:
    try:
        columns, code = map_headers(tuple(headers)), None
    except UnreadableFile as failure:
        columns, code = ColumnMap(), failure.code
    if code is not None:
        assert code == "import.no_columns"
        return
    indexes = [i for i in (columns.name, columns.phone, columns.email) if i is not None]
    assert indexes
    assert all(0 <= i < len(headers) for i in indexes)


# --- cells and rows -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("'+34600111222", "+34600111222"),
        ("'=SUM(A1:A3)", "=SUM(A1:A3)"),
        ("'-5", "-5"),
        ("'@ana", "@ana"),
        ("  'ana' ", "'ana'"),  # an apostrophe that neutralises nothing is data
        ("'Tis", "'Tis"),
        ("'", "'"),
        ("  Ana  ", "Ana"),
        ("", ""),
    ],
)
def test_cells_are_trimmed_and_lose_the_exports_formula_guard(cell: str, expected: str) -> None:
    assert clean_cell(cell) == expected


def test_a_full_row() -> None:
    outcome = read(
        " Ana Pérez ",
        "600 111 222",
        "ANA@example.com",
        "inactivo",
        "VIP; cliente|madrid,vip",
        "Llamar por la tarde",
        "sí",
        "2026-01-01T00:00:00Z",
    )
    assert outcome == ImportedRow(
        5,
        ContactDraft(
            name="Ana Pérez",
            phone="+34600111222",
            email="ana@example.com",
            status="inactivo",
            tags=("vip", "cliente", "madrid"),
            notes="Llamar por la tarde",
            opted_out=True,
        ),
        frozenset({"name", "phone", "email", "status", "tags", "notes", "opted_out"}),
    )


def test_an_exported_row_reads_back_as_the_same_contact() -> None:
    draft = contact_of(
        "'=Ana", "'+34600111222", "ana@example.com", "inactivo", "cliente;vip", "", "true", "x"
    )
    assert draft == ContactDraft(
        "=Ana", "+34600111222", "ana@example.com", "inactivo", ("cliente", "vip"), None, True
    )


def test_a_short_row_has_blank_missing_cells() -> None:
    outcome = read("Ana", "600111222")
    assert isinstance(outcome, ImportedRow)
    assert outcome.contact == ContactDraft("Ana", "+34600111222", None)
    assert outcome.given == {"name", "phone"}


def test_national_numbers_are_read_with_the_users_country() -> None:
    outcome = read_row(SourceRow(2, ("Zoé", "06 12 34 56 78")), EXPORT, "FR")
    assert isinstance(outcome, ImportedRow)
    assert outcome.contact.phone == "+33612345678"


@pytest.mark.parametrize("cells", [(), ("",), ("", " ", "\t"), ("",) * 12])
def test_blank_rows_are_reported_as_blank(cells: tuple[str, ...]) -> None:
    assert read(*cells) == BlankRow(5)


def test_a_row_with_only_unmapped_cells_is_not_blank() -> None:
    assert problem_of("", "", "", "", "", "", "", "2026-01-01").code == "import.name_required"


@pytest.mark.parametrize(
    ("cell", "status"),
    [
        ("", "activo"),
        ("activo", "activo"),
        ("Activo", "activo"),
        (" INACTIVO ", "inactivo"),
        ("active", "activo"),
        ("Inactive", "inactivo"),
    ],
)
def test_status_cells(cell: str, status: str) -> None:
    assert contact_of("Ana", "600111222", "", cell).status == status


@pytest.mark.parametrize(
    ("cell", "opted_out"),
    [
        ("", False),
        ("false", False),
        ("FALSE", False),
        ("no", False),
        ("No", False),
        ("0", False),
        ("falso", False),
        ("true", True),
        ("TRUE", True),
        ("sí", True),
        ("Sí", True),
        ("si", True),
        ("SI", True),
        ("yes", True),
        ("1", True),
        ("verdadero", True),
    ],
)
def test_opted_out_cells(cell: str, opted_out: bool) -> None:
    assert contact_of("Ana", "600111222", "", "", "", "", cell).opted_out is opted_out


def test_a_baja_column_is_read_as_opted_out() -> None:
    columns = map_headers(("Nombre", "Móvil", "Baja"))
    assert contact_of("Ana", "600111222", "Sí", columns=columns).opted_out is True


def test_extra_tags_are_added_to_every_row() -> None:
    outcome = read("Ana", "600111222", "", "", "VIP", extra=("feria-2026", "vip"))
    assert isinstance(outcome, ImportedRow)
    assert outcome.contact.tags == ("vip", "feria-2026")


@pytest.mark.parametrize(
    ("cells", "code", "params"),
    [
        (("", "600111222"), "import.name_required", {}),
        (("n" * 201, "600111222"), "import.name_too_long", {"max": 200}),
        (("Ana", "123"), "phone.invalid", {}),
        (("Ana", "", "ana@"), "email.invalid", {}),
        (("Ana", "", "a" * 250 + "@x.es"), "import.email_too_long", {"max": 254}),
        (("Ana",), "contact.phone_or_email_required", {}),
        (("Ana", "", "", "", "", "Solo notas"), "contact.phone_or_email_required", {}),
        (("Ana", "600111222", "", "vip"), "contact.status_invalid", {}),
        (("Ana", "600111222", "", "", "t" * 41), "contact.tag_too_long", {"max": 40}),
        (("Ana", "600111222", "", "", "", "n" * 5001), "import.notes_too_long", {"max": 5000}),
        (("Ana", "600111222", "", "", "", "", "quizá"), "import.opted_out_invalid", {}),
        (("An\x00a", "600111222"), "field.invalid_characters", {}),
    ],
)
def test_row_problems_carry_a_message_that_reads_on_its_own(
    cells: tuple[str, ...], code: str, params: dict[str, object]
) -> None:
    problem = problem_of(*cells)
    assert (problem.row, problem.code, dict(problem.params)) == (5, code, params)


def test_too_many_tags_with_the_extra_ones_is_a_problem() -> None:
    own = ",".join(f"t{i}" for i in range(TAGS_MAX - 1))
    assert isinstance(read("Ana", "600111222", "", "", own, extra=("x",)), ImportedRow)
    problem = problem_of("Ana", "600111222", "", "", own, extra=("x", "y"))
    assert problem.code == "contact.too_many_tags"


def test_a_row_problem_lists_every_broken_rule_in_field_order() -> None:
    problem = problem_of("", "123", "nope", "x", "", "", "maybe")
    assert problem.code == "import.name_required"
    assert [(e.field, e.code) for e in problem.errors] == [
        ("name", "field.required"),
        ("phone", "phone.invalid"),
        ("email", "email.invalid"),
        ("status", "contact.status_invalid"),
        ("opted_out", "import.opted_out_invalid"),
    ]


_CELL = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["600111222", "'+34600111222", "a@b.es", "Sí", "inactivo", "a;b|c", ""]),
)


@given(st.lists(_CELL, max_size=9), st.sampled_from(["ES", "US", "XX", ""]))
def test_any_row_is_a_contact_a_problem_or_blank(cells: list[str], country: str) -> None:
    outcome = read_row(SourceRow(9, tuple(cells)), EXPORT, country, ("import",))
    assert outcome.row == 9
    if isinstance(outcome, RowProblem):
        assert outcome.errors
        assert not outcome.code.startswith("field.") or outcome.code == "field.invalid_characters"
    elif isinstance(outcome, ImportedRow):
        assert outcome.contact.phone is not None or outcome.contact.email is not None
        assert "import" in outcome.contact.tags
    else:
        assert not any(cell.strip() for cell in cells)


_REPEATED_CELL = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["Sí", "no", "inactivo", "Activo", "vip; Cliente", "quizá", "t" * 41]),
    st.integers(min_value=190, max_value=400).map(lambda size: "," * size + "VIP"),
)


@given(_REPEATED_CELL, _REPEATED_CELL, _REPEATED_CELL)
def test_a_row_reads_the_same_every_time_its_cells_repeat(
    status: str, tags: str, opted_out: str
) -> None:
    """Repeated status, tag and opt-out cells are remembered (short ones only): the second
    reading of a row, problems included, is the first one's."""
    cells = ("Ana", "600111222", "", status, tags, "", opted_out)
    assert read(*cells, extra=("feria",)) == read(*cells, extra=("feria",))


def test_a_long_cell_reads_as_a_short_one() -> None:
    outcome = read("Ana", "600111222", "", "", "," * 300 + " VIP ;;")
    assert isinstance(outcome, ImportedRow)
    assert outcome.contact.tags == ("vip",)


# --- form fields --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, "skip"), ("", "skip"), ("skip", "skip"), ("update", "update"), (" Update ", "update")],
)
def test_on_duplicate(raw: str | None, expected: str) -> None:
    assert parse_on_duplicate(raw) == expected


@pytest.mark.parametrize("raw", ["overwrite", "true", 1])
def test_unknown_on_duplicate_is_refused(raw: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_on_duplicate(raw)
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("on_duplicate", "import.on_duplicate_invalid")
    ]


def test_extra_tags() -> None:
    assert parse_extra_tags(None) == ()
    assert parse_extra_tags(" Feria, VIP;feria ") == ("feria", "vip")
    with pytest.raises(ValidationFailed):
        parse_extra_tags(",".join(f"t{i}" for i in range(21)))


# --- the update merge ---------------------------------------------------------------------

STORED = ContactDraft(
    name="Ana",
    phone="+34600111222",
    email="ana@example.com",
    status="inactivo",
    tags=("cliente",),
    notes="Nota antigua",
    opted_out=True,
)


def row_of(*cells: str) -> ImportedRow:
    outcome = read(*cells)
    assert isinstance(outcome, ImportedRow), outcome
    return outcome


def test_blank_cells_keep_what_the_contact_has() -> None:
    merged = merge_update(STORED, row_of("Ana María", "600111222"))
    assert merged == ContactDraft(
        "Ana María",
        "+34600111222",
        "ana@example.com",
        "inactivo",
        ("cliente",),
        "Nota antigua",
        True,
    )


def test_non_blank_cells_overwrite_and_tags_are_added() -> None:
    merged = merge_update(
        STORED,
        row_of("Ana", "", "ANA@example.com", "activo", "VIP,cliente", "Nota nueva", "no"),
    )
    assert merged == ContactDraft(
        "Ana", "+34600111222", "ana@example.com", "activo", ("cliente", "vip"), "Nota nueva", True
    )


def test_an_import_records_an_opt_out_but_never_undoes_one() -> None:
    subscribed = ContactDraft("Ana", "+34600111222", None)
    assert merge_update(subscribed, row_of("Ana", "600111222", "", "", "", "", "sí")).opted_out
    assert merge_update(STORED, row_of("Ana", "600111222", "", "", "", "", "false")).opted_out


def test_added_tags_stop_at_the_maximum() -> None:
    full = ContactDraft("Ana", "+34600111222", None, tags=tuple(f"t{i}" for i in range(19)))
    merged = merge_update(full, row_of("Ana", "600111222", "", "", "a,b,t0,c"))
    assert merged.tags == (*full.tags, "a")


# --- counting -----------------------------------------------------------------------------


def valid(row: int, phone: str | None = None, email: str | None = None) -> ImportedRow:
    return ImportedRow(row, ContactDraft("X", phone, email), frozenset({"name"}))


def bad(row: int) -> RowProblem:
    return RowProblem(row, "phone.invalid")


def fates(tally: ImportTally, outcomes: Sequence[RowOutcome]) -> list[str]:
    return [tally.observe(outcome) for outcome in outcomes]


ROWS: list[RowOutcome] = [
    valid(2, phone="+34600000001"),
    valid(3, email="b@x.es"),
    BlankRow(4),
    valid(5, phone="+34600000001", email="c@x.es"),  # repeats row 2 by phone
    bad(6),
    valid(7, phone="+34600000009", email="c@x.es"),  # repeats row 5 by email
    valid(8, email="b@x.es"),  # repeats row 3
    valid(9, phone="+34600000002"),
]


def test_under_skip_the_first_row_of_a_phone_or_email_wins() -> None:
    tally = ImportTally("skip")
    assert fates(tally, ROWS) == [
        "new",
        "new",
        "blank",
        "duplicate",
        "invalid",
        "duplicate",
        "duplicate",
        "new",
    ]
    assert tally.pending == 3
    assert [tally.settle(exists=exists) for exists in (False, True, False)] == [
        "imported",
        "duplicate",
        "imported",
    ]
    assert (tally.imported, tally.updated, tally.duplicate, tally.invalid) == (2, 0, 4, 1)
    assert tally.total_rows == 7
    assert [problem.row for problem in tally.errors] == [6]


def test_under_update_later_rows_update_the_earlier_contact() -> None:
    tally = ImportTally("update")
    assert fates(tally, ROWS) == [
        "new",
        "new",
        "blank",
        "update",
        "invalid",
        "update",
        "update",
        "new",
    ]
    assert [tally.settle(exists=exists) for exists in (False, True, False)] == [
        "imported",
        "updated",
        "imported",
    ]
    assert (tally.imported, tally.updated, tally.duplicate, tally.invalid) == (2, 4, 0, 1)


def test_an_invalid_row_claims_no_phone_or_email() -> None:
    tally = ImportTally("skip")
    tally.observe(RowProblem(2, "contact.status_invalid"))
    assert tally.observe(valid(3, phone="+34600000001")) == "new"


def test_only_the_first_row_errors_are_kept() -> None:
    tally = ImportTally("skip")
    fates(tally, [bad(row) for row in range(2, 2 + MAX_ROW_ERRORS + 50)])
    assert tally.invalid == MAX_ROW_ERRORS + 50
    assert [problem.row for problem in tally.errors] == list(range(2, 2 + MAX_ROW_ERRORS))


def test_settling_without_a_new_row_is_a_bug() -> None:
    tally = ImportTally("skip")
    tally.observe(valid(2, phone="+34600000001"))
    tally.settle(exists=False)
    with pytest.raises(ValueError, match="settle"):
        tally.settle(exists=False)


_PHONES = st.sampled_from([None, "+34600000001", "+34600000002", "+34600000003"])
_EMAILS = st.sampled_from([None, "a@x.es", "b@x.es", "c@x.es"])


@st.composite
def imports(draw: st.DrawFn) -> tuple[OnDuplicate, list[RowOutcome], set[str | None]]:
    """(policy, the rows of a file in order, the phones and emails already in the database)."""
    outcomes: list[RowOutcome] = []
    for row in range(2, 2 + draw(st.integers(0, 150))):
        kind = draw(st.sampled_from(["valid", "valid", "valid", "invalid", "blank"]))
        if kind == "blank":
            outcomes.append(BlankRow(row))
        elif kind == "invalid":
            outcomes.append(bad(row))
        else:
            phone, email = draw(_PHONES), draw(_EMAILS)
            outcomes.append(valid(row, phone, email or (None if phone else "d@x.es")))
    stored = draw(st.sets(st.one_of(_PHONES, _EMAILS)))
    return draw(st.sampled_from(["skip", "update"])), outcomes, stored - {None}


@given(imports(), st.integers(1, 20))
def test_every_counted_row_is_counted_once(
    case: tuple[OnDuplicate, list[RowOutcome], set[str | None]], batch: int
) -> None:
    policy, outcomes, stored = case
    tally = ImportTally(policy)
    waiting: list[ImportedRow] = []
    existing = 0

    def settle_waiting() -> None:
        nonlocal existing
        for row in waiting:
            exists = bool({row.contact.phone, row.contact.email} & stored)
            existing += exists
            tally.settle(exists=exists)
        waiting.clear()

    seen: set[str | None] = set()
    repeats = 0
    for outcome in outcomes:
        fate = tally.observe(outcome)
        if isinstance(outcome, ImportedRow):
            keys = {outcome.contact.phone, outcome.contact.email} - {None}
            repeat = bool(keys & seen)
            seen |= keys
            repeats += repeat
            assert fate == ("new" if not repeat else "duplicate" if policy == "skip" else "update")
            if fate == "new":
                waiting.append(outcome)
        if len(waiting) >= batch:  # the database is asked about a batch of new rows at a time
            settle_waiting()
        counted = tally.imported + tally.updated + tally.duplicate + tally.invalid + tally.pending
        assert counted == tally.total_rows
    settle_waiting()

    non_blank = [o for o in outcomes if not isinstance(o, BlankRow)]
    problems = [o for o in non_blank if isinstance(o, RowProblem)]
    firsts = len(non_blank) - len(problems) - repeats
    assert tally.pending == 0
    assert tally.total_rows == len(non_blank)
    assert tally.imported + tally.updated + tally.duplicate + tally.invalid == tally.total_rows
    assert tally.invalid == len(problems)
    assert tally.errors == tuple(problems[:MAX_ROW_ERRORS])
    assert tally.imported == firsts - existing
    if policy == "skip":
        assert (tally.duplicate, tally.updated) == (repeats + existing, 0)
    else:
        assert (tally.updated, tally.duplicate) == (repeats + existing, 0)
