"""Which kind of contact file an upload is: from its content first, then its name's extension."""

from __future__ import annotations

import codecs

from nexus_core.domain.contact_files import FileType, UnreadableFile

# Every XLSX is a ZIP archive: a local file header, or the end record of an empty archive.
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_VCARD_START = b"BEGIN:VCARD"

_BY_EXTENSION: dict[str, FileType] = {
    "csv": "csv",
    "txt": "csv",
    "tsv": "csv",
    "xlsx": "excel",
    "xlsm": "excel",
    "vcf": "vcard",
    "vcard": "vcard",
}


def detect_file_type(filename: str, head: bytes) -> FileType:
    """The type of a file named ``filename`` whose first bytes are ``head``.

    Content wins over the name where it is unambiguous: a ZIP archive can only be a workbook,
    and text starting with ``BEGIN:VCARD`` is a vCard whatever it is called. Otherwise the
    extension decides; an unknown one raises ``UnreadableFile("import.unsupported_type")``.
    """
    if head.startswith(_ZIP_MAGIC):
        return "excel"
    if _starts_a_vcard(head):
        return "vcard"
    file_type = _BY_EXTENSION.get(_extension(filename))
    if file_type is None:
        raise UnreadableFile("import.unsupported_type", None)
    return file_type


def _extension(filename: str) -> str:
    # Browsers on Windows may send a whole path ("C:\fakepath\contactos.csv").
    basename = filename.replace("\\", "/").rsplit("/", 1)[-1].strip().rstrip(".")
    stem, dot, extension = basename.rpartition(".")
    return extension.lower() if dot and stem else ""


def _starts_a_vcard(head: bytes) -> bool:
    text = head.removeprefix(codecs.BOM_UTF8).lstrip()
    return text[: len(_VCARD_START)].upper() == _VCARD_START
