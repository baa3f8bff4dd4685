"""Importing contacts: which column is which, what a row says, and how the rows are counted.

Turning a file into rows is the readers' business (``contact_files``), and whether a row's
contact already exists in the database is the repository's. Everything between is decided here.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from nexus_core.domain.contact_files import FileType, SourceRow, UnreadableFile
from nexus_core.domain.contacts import (
    TAGS_MAX,
    ContactDraft,
    ContactFields,
    ContactStatus,
    normalise_tags,
    split_tag_cell,
    validate_contact,
)
from nexus_core.domain.import_history import ImportCounts
from nexus_core.errors import Collector, FieldError, ValidationFailed

MAX_ROW_ERRORS = 100

OnDuplicate = Literal["skip", "update"]
ON_DUPLICATE_CHOICES: tuple[OnDuplicate, ...] = ("skip", "update")

ColumnField = Literal["name", "phone", "email", "tags", "notes", "status", "opted_out"]
COLUMN_FIELDS: tuple[ColumnField, ...] = (
    "name",
    "phone",
    "email",
    "status",
    "tags",
    "notes",
    "opted_out",
)

# Header spellings, as ``fold`` leaves them (lower case, no accents, `_`/`-`/`.` as spaces).
_HEADERS: dict[str, ColumnField] = {
    **dict.fromkeys(["nombre", "name", "nombre completo", "full name"], "name"),
    **dict.fromkeys(
        [
            "telefono",
            "telefono movil",
            "tel",
            "celular",
            "movil",
            "whatsapp",
            "phone",
            "phone number",
            "mobile",
        ],
        "phone",
    ),
    **dict.fromkeys(
        ["correo", "correo electronico", "email", "e mail", "mail", "email address"], "email"
    ),
    **dict.fromkeys(["etiquetas", "etiqueta", "tags", "tag"], "tags"),
    **dict.fromkeys(["notas", "nota", "notes", "note"], "notes"),
    **dict.fromkeys(["estado", "status"], "status"),
    **dict.fromkeys(["opted out", "baja"], "opted_out"),
}
_STATUS_WORDS: dict[str, ContactStatus] = {
    "activo": "activo",
    "active": "activo",
    "inactivo": "inactivo",
    "inactive": "inactivo",
}
_YES = frozenset({"true", "verdadero", "si", "yes", "1"})
_NO = frozenset({"false", "falso", "no", "0"})
# What an export puts a `'` before, so that a spreadsheet shows it instead of running it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# An export also puts a `'` before a value that starts with one, so that removing the guard
# on import never eats a `'` that belongs to the value (``'=x`` exports as ``''=x``).
GUARDED_STARTS = (*FORMULA_STARTS, "'")
_SEPARATORS = re.compile(r"[\s_.\-]+")


def fold(text: str) -> str:
    """How a file's headers and words compare: no byte order mark, case or accents, and runs
    of spaces, ``_``, ``-`` or ``.`` read as one space (``E-Mail`` → ``e mail``)."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\ufeff", "").casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SEPARATORS.sub(" ", bare).strip()


def clean_cell(cell: str) -> str:
    """A cell trimmed, without the `'` an export puts before a would-be formula (or before a
    value starting with `'`): ``'+34600111222`` → ``+34600111222``, ``''x`` → ``'x``."""
    text = cell.strip()
    if text.startswith("'") and text[1:].startswith(GUARDED_STARTS):
        return text[1:]
    return text


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """The index of the column holding each field, or None when the file has none."""

    name: int | None = None
    phone: int | None = None
    email: int | None = None
    tags: int | None = None
    notes: int | None = None
    status: int | None = None
    opted_out: int | None = None
    # (field, index) of every field, in ``COLUMN_FIELDS`` order: what each row is read by.
    _positions: tuple[tuple[ColumnField, int | None], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        positions = tuple((name, getattr(self, name)) for name in COLUMN_FIELDS)
        object.__setattr__(self, "_positions", positions)

    def cells(self, cells: tuple[str, ...]) -> dict[ColumnField, str]:
        """Every field's cleaned cell in a row (``""`` where the file has no such column)."""
        return {name: _cell_at(cells, index) for name, index in self._positions}


def _cell_at(cells: tuple[str, ...], index: int | None) -> str:
    if index is None or index >= len(cells):
        return ""
    return clean_cell(cells[index])


def map_headers(headers: tuple[str, ...], file_type: FileType | None = None) -> ColumnMap:
    """Which column is which, from Spanish or English headers in any case or accents; the
    first column of a field wins. Raises ``UnreadableFile`` when no column names a contact."""
    found: dict[str, int] = {}
    for index, header in enumerate(headers):
        column = _HEADERS.get(fold(header))
        if column is not None and column not in found:
            found[column] = index
    if not found.keys() & {"name", "phone", "email"}:
        raise UnreadableFile("import.no_columns", file_type)
    return ColumnMap(**found)


def parse_on_duplicate(value: object) -> OnDuplicate:
    """The ``on_duplicate`` form field: ``skip`` (also when absent or blank) or ``update``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "skip"
    if not isinstance(value, str) or value.strip().lower() not in ON_DUPLICATE_CHOICES:
        raise ValidationFailed.single(
            "on_duplicate", "import.on_duplicate_invalid", allowed=ON_DUPLICATE_CHOICES
        )
    return cast(OnDuplicate, value.strip().lower())


def parse_extra_tags(value: str | None) -> tuple[str, ...]:
    """The ``tags`` form field: tags added to every imported contact."""
    return () if value is None else normalise_tags(split_tag_cell(value))


@dataclass(frozen=True, slots=True)
class BlankRow:
    """A row with nothing in it: skipped, and not counted."""

    row: int


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A row that is no valid contact.

    ``code`` names a message that reads on its own next to the row number (``phone.invalid``,
    ``import.name_required``); ``errors`` holds every broken rule, by field.
    """

    row: int
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    errors: tuple[FieldError, ...] = ()


@dataclass(frozen=True, slots=True)
class ImportedRow:
    """A valid row. ``given`` names the fields whose cell was not blank: only those overwrite
    an existing contact under ``update`` (a blank status is read as ``activo`` and a blank
    opt-out as false, but neither overwrites)."""

    row: int
    contact: ContactDraft
    given: frozenset[str]


RowOutcome = ImportedRow | RowProblem | BlankRow

# Rules whose generic message needs the field's name to make sense next to a row number.
_ROW_CODES: dict[tuple[str, str], str] = {
    ("name", "field.required"): "import.name_required",
    ("name", "field.too_long"): "import.name_too_long",
    ("email", "field.too_long"): "import.email_too_long",
    ("notes", "field.too_long"): "import.notes_too_long",
}
_STANDALONE_FIELD_CODES = frozenset({"field.invalid_characters"})


def _row_problem(row: int, errors: list[FieldError]) -> RowProblem:
    order: dict[str, int] = {name: index for index, name in enumerate(COLUMN_FIELDS)}
    ordered = sorted(errors, key=lambda error: order.get(error.field, len(order)))
    first = ordered[0]
    code = _ROW_CODES.get((first.field, first.code), first.code)
    if code.startswith("field.") and code not in _STANDALONE_FIELD_CODES:
        code = "import.row_invalid"
    return RowProblem(row, code, first.params, tuple(ordered))


# Status, opt-out and tag cells repeat down a file (a handful of words and tag sets), so what
# a short one reads as is remembered, in one cache for the three; a cell that breaks its rule
# raises again, as nothing raised is remembered. Long cells are read afresh: the cache would
# otherwise keep a hostile file's megabyte cells alive.
_REMEMBERED_CELLS = 4096
_REMEMBERED_CELL_CHARS = 200


def _status_cell(cell: str) -> ContactStatus:
    if not cell:
        return "activo"
    status = _STATUS_WORDS.get(fold(cell))
    if status is None:
        raise ValidationFailed.single("status", "contact.status_invalid")
    return status


def _opted_out_cell(cell: str) -> bool:
    word = fold(cell)
    if not word or word in _NO:
        return False
    if word in _YES:
        return True
    raise ValidationFailed.single("opted_out", "import.opted_out_invalid")


def _tags_cell(cell: str, extra_tags: tuple[str, ...]) -> tuple[str, ...]:
    return normalise_tags((*split_tag_cell(cell), *extra_tags))


@functools.lru_cache(maxsize=_REMEMBERED_CELLS)
def _remembered(read: Callable[..., Any], cell: str, *context: Any) -> Any:
    return read(cell, *context)


def _read_cell(read: Callable[..., Any], cell: str, *context: Any) -> Any:
    """``read(cell, *context)``, remembered when the cell is short."""
    if len(cell) > _REMEMBERED_CELL_CHARS:
        return read(cell, *context)
    return _remembered(read, cell, *context)


def read_row(
    row: SourceRow,
    columns: ColumnMap,
    default_country: str,
    extra_tags: tuple[str, ...] = (),
) -> RowOutcome:
    """What one data row says: a contact, a problem (with every broken rule), or nothing.

    ``extra_tags`` (already normalised) are added to the row's own tags.
    """
    if not any(cell.strip() for cell in row.cells):
        return BlankRow(row.number)
    cells = columns.cells(row.cells)
    errors = Collector()
    status = errors.apply("status", _read_cell, _status_cell, cells["status"])
    opted_out = errors.apply("opted_out", _read_cell, _opted_out_cell, cells["opted_out"])
    tags = errors.apply("tags", _read_cell, _tags_cell, cells["tags"], extra_tags)
    problems = list(errors.errors)
    try:
        contact = validate_contact(
            name=cells["name"],
            phone=cells["phone"],
            email=cells["email"],
            status=status or "activo",
            tags=tags or (),
            notes=cells["notes"],
            opted_out=bool(opted_out),
            default_country=default_country,
        )
    except ValidationFailed as failure:
        problems.extend(failure.errors)
    if problems:
        return _row_problem(row.number, problems)
    given = frozenset(name for name, cell in cells.items() if cell)
    return ImportedRow(row.number, contact, given)


def merge_update(current: ContactFields, row: ImportedRow) -> ContactDraft:
    """An existing contact after an ``update`` row: the row's non-blank cells overwrite, and
    its tags are added to the contact's (those past ``TAGS_MAX`` are left out).

    An import can record an opt-out but never undo one: a contact who asked not to be
    messaged stays so, whatever an old spreadsheet says (only the contact's own edit clears it).
    """
    new = row.contact

    def pick(name: str) -> Any:
        return getattr(new if name in row.given else current, name)

    tags = tuple(dict.fromkeys((*current.tags, *new.tags)))[:TAGS_MAX]
    return ContactDraft(
        name=new.name,
        phone=pick("phone"),
        email=pick("email"),
        status=pick("status"),
        tags=tags,
        notes=pick("notes"),
        opted_out=current.opted_out or new.opted_out,
    )


RowFate = Literal["blank", "invalid", "new", "duplicate", "update"]
Settlement = Literal["imported", "updated", "duplicate"]


class ImportTally:
    """Counts an import's rows, and decides within the file which rows repeat earlier ones.

    ``observe`` every row in file order. A valid row sharing a phone or an email with an
    earlier valid row repeats it: a ``duplicate`` under ``skip`` (the first row wins), an
    ``update`` of that contact under ``update``. Any other valid row is ``new``: whether its
    contact already exists is for the database to say, so it waits until ``settle`` is told.
    Once no row waits, ``imported + updated + duplicate + invalid == total_rows``.
    """

    def __init__(self, on_duplicate: OnDuplicate) -> None:
        self.on_duplicate: OnDuplicate = on_duplicate
        self.total_rows = 0
        self.imported = 0
        self.updated = 0
        self.duplicate = 0
        self.invalid = 0
        self.pending = 0
        self._errors: list[RowProblem] = []
        self._phones: set[str] = set()
        self._emails: set[str] = set()

    @property
    def errors(self) -> tuple[RowProblem, ...]:
        """The first ``MAX_ROW_ERRORS`` bad rows, in file order."""
        return tuple(self._errors)

    def counts(self) -> ImportCounts:
        """The figures so far, as the import's record keeps them."""
        return ImportCounts(
            self.total_rows, self.imported, self.updated, self.duplicate, self.invalid
        )

    def observe(self, outcome: RowOutcome) -> RowFate:
        if isinstance(outcome, BlankRow):
            return "blank"
        self.total_rows += 1
        if isinstance(outcome, RowProblem):
            self.invalid += 1
            if len(self._errors) < MAX_ROW_ERRORS:
                self._errors.append(outcome)
            return "invalid"
        phone, email = outcome.contact.phone, outcome.contact.email
        repeat = (phone is not None and phone in self._phones) or (
            email is not None and email in self._emails
        )
        if phone is not None:
            self._phones.add(phone)
        if email is not None:
            self._emails.add(email)
        if not repeat:
            self.pending += 1
            return "new"
        if self.on_duplicate == "update":
            self.updated += 1
            return "update"
        self.duplicate += 1
        return "duplicate"

    def settle(self, *, exists: bool) -> Settlement:
        """Count one ``new`` row, once the database has said whether its contact exists."""
        if self.pending == 0:
            raise ValueError("no new row is waiting to be settled")
        self.pending -= 1
        if not exists:
            self.imported += 1
            return "imported"
        if self.on_duplicate == "update":
            self.updated += 1
            return "updated"
        self.duplicate += 1
        return "duplicate"
