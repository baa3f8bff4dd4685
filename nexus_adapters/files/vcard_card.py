"""One vCard turned into the cells of a contact row: name, phone, email, tags, notes.

- name: ``FN``; else ``N`` as "given additional family".
- phone: the first ``TEL`` typed as a mobile (``cell``), the most preferred first among those;
  else the most preferred (``pref``) one; else the first. A messaging product wants the
  number WhatsApp can reach, so a mobile beats a preferred landline.
- email: the most preferred ``EMAIL``, else the first.
- tags: every ``CATEGORIES`` value except Google's system groups ``myContacts`` and
  ``starred``, joined with ",".
- notes: the ``NOTE`` values, one per line.

Only the best candidate of each is kept, so a card's memory does not grow with its lines.
"""

from __future__ import annotations

from nexus_adapters.files.vcard_properties import (
    LEAST_PREFERRED,
    Property,
    split_escaped,
    unescape,
)

VCARD_HEADERS = ("name", "phone", "email", "tags", "notes")

MOBILE_TYPES = frozenset({"cell", "mobile"})
SYSTEM_CATEGORIES = frozenset({"mycontacts", "starred"})
MAX_TAGS = 100
MAX_NOTES_CHARS = 64 * 1024

_URI_SCHEMES = ("tel:", "mailto:")

# Lower sorts first: (not a mobile, preference).
Rank = tuple[int, int]


class Card:
    """The properties of one card, reduced as they arrive to what its row needs."""

    def __init__(self) -> None:
        self._formatted_name = ""
        self._structured_name = ""
        self._phone: tuple[Rank, str] | None = None
        self._email: tuple[Rank, str] | None = None
        self._tags: dict[str, str] = {}
        self._notes: list[str] = []
        self._notes_size = 0

    def add(self, prop: Property) -> None:
        if prop.name == "FN" and not self._formatted_name:
            self._formatted_name = unescape(prop.text).strip()
        elif prop.name == "N" and not self._structured_name:
            self._structured_name = _structured_name(prop.text)
        elif prop.name == "TEL":
            mobile = not MOBILE_TYPES.isdisjoint(prop.types)
            self._phone = _better(self._phone, (int(not mobile), _preference(prop)), prop)
        elif prop.name == "EMAIL":
            self._email = _better(self._email, (0, _preference(prop)), prop)
        elif prop.name == "CATEGORIES":
            self._add_tags(prop.text)
        elif prop.name == "NOTE":
            self._add_note(unescape(prop.text).strip())

    def cells(self) -> tuple[str, ...]:
        return (
            self._formatted_name or self._structured_name,
            self._phone[1] if self._phone else "",
            self._email[1] if self._email else "",
            ",".join(self._tags.values()),
            "\n".join(self._notes),
        )

    def _add_tags(self, text: str) -> None:
        for raw in split_escaped(text, ","):
            tag = unescape(raw).strip()
            key = tag.casefold()
            if tag and key not in SYSTEM_CATEGORIES and len(self._tags) < MAX_TAGS:
                self._tags.setdefault(key, tag)

    def _add_note(self, note: str) -> None:
        if note and self._notes_size < MAX_NOTES_CHARS:
            self._notes.append(note)
            self._notes_size += len(note)


def _structured_name(text: str) -> str:
    """``N`` (family;given;additional;prefixes;suffixes) as "given additional family"."""
    components = [*split_escaped(text, ";"), "", "", ""]
    family, given, additional = components[:3]
    words = (
        unescape(value).strip()
        for component in (given, additional, family)
        for value in split_escaped(component, ",")  # vCard 3.0: several values per component
    )
    return " ".join(word for word in words if word)


def _preference(prop: Property) -> int:
    return prop.pref if prop.pref is not None else LEAST_PREFERRED + 1


def _better(best: tuple[Rank, str] | None, rank: Rank, prop: Property) -> tuple[Rank, str] | None:
    """The better of ``best`` and ``prop``'s value; on a tie, the earlier one."""
    value = unescape(prop.text).strip()
    if value[:7].lower().startswith(_URI_SCHEMES):  # vCard 4.0 "TEL;VALUE=uri:tel:+34…"
        value = value.partition(":")[2].strip()
    if not value or (best is not None and best[0] <= rank):
        return best
    return rank, value
