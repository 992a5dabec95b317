"""What kind of document a file is, judged by its content: a caller's file name or SrcType can be
wrong, and LibreOffice would happily "convert" any bytes as plain text."""

import zipfile
from pathlib import Path
from typing import Literal

from ..exceptions import MediaflowError

DocumentKind = Literal["pdf", "text", "spreadsheet", "presentation"]

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# OOXML: the folder of the main part
OOXML_PARTS: dict[str, DocumentKind] = {"word/": "text", "xl/": "spreadsheet", "ppt/": "presentation"}
# ODF: the `mimetype` member, which may carry a suffix (-template, -master)
ODF_TYPES: dict[str, DocumentKind] = {
    "application/vnd.oasis.opendocument.text": "text",
    "application/vnd.oasis.opendocument.spreadsheet": "spreadsheet",
    "application/vnd.oasis.opendocument.presentation": "presentation",
}
# Legacy binary formats all share the OLE2 container; only the name tells them apart cheaply.
SPREADSHEET_SUFFIXES = {".xls", ".xlt", ".xlsx", ".xlsm", ".et", ".ods"}
PRESENTATION_SUFFIXES = {".ppt", ".pps", ".pot", ".pptx", ".ppsx", ".dps", ".odp"}


class DocumentError(MediaflowError):
    """The input is not a document this service previews, or it is corrupt or locked."""

    code = "InvalidDocument"


def _not_a_document(label: str) -> DocumentError:
    return DocumentError(f"{label} is not a document this service previews "
                         "(PDF, Word, Excel, PowerPoint, OpenDocument)")


def document_kind(path: Path, name: str | None = None) -> DocumentKind:
    """The kind of the document at `path`; `name` (the object's key) only tells legacy
    .doc/.xls/.ppt files apart. DocumentError for anything else."""
    label = repr(name or path.name)
    with path.open("rb") as file:
        head = file.read(1024)
    if not head:
        raise DocumentError(f"{label} is empty")
    if b"%PDF-" in head:
        return "pdf"
    if head.startswith(OLE2_MAGIC):
        suffix = Path(name or path.name).suffix.lower()
        if suffix in SPREADSHEET_SUFFIXES:
            return "spreadsheet"
        return "presentation" if suffix in PRESENTATION_SUFFIXES else "text"
    if head.startswith(b"PK\x03\x04"):
        kind = _zip_kind(path)
        if kind:
            return kind
    raise _not_a_document(label)


def _zip_kind(path: Path) -> DocumentKind | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "[Content_Types].xml" in names:
                for folder, kind in OOXML_PARTS.items():
                    if any(member.startswith(folder) for member in names):
                        return kind
            if "mimetype" in names:
                with archive.open("mimetype") as member:
                    mimetype = member.read(100).decode("ascii", "replace").strip()
                for prefix, kind in ODF_TYPES.items():
                    if mimetype == prefix or mimetype.startswith(prefix + "-"):
                        return kind
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, ValueError):
        return None  # a broken archive is reported as "not a document"
    return None
