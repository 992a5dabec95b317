"""Document preview: what a file is, office formats to PDF with LibreOffice, PDF pages to images."""

from .convert import SPREADSHEET_FILTER, sheet_count, soffice_path, to_pdf
from .detect import DocumentError, DocumentKind, document_kind
from .params import DocParams, parse_doc_params
# Rendering needs pypdfium2 and pillow, which only Plan and Unit carry (the engines layer): its names
# are loaded on first use, so every other function imports this package without them.
_RENDER = {"MAX_PAGE_PIXELS", "MAX_PAGES", "MAX_SIDE", "PdfInfo", "check_pages", "extract_pdf", "open_pdf",
           "render_pages"}


def __getattr__(name: str) -> object:
    if name in _RENDER:
        from . import render

        return getattr(render, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MAX_PAGES",
    "MAX_PAGE_PIXELS",
    "MAX_SIDE",
    "SPREADSHEET_FILTER",
    "DocParams",
    "DocumentError",
    "DocumentKind",
    "PdfInfo",
    "check_pages",
    "document_kind",
    "extract_pdf",
    "open_pdf",
    "parse_doc_params",
    "render_pages",
    "sheet_count",
    "soffice_path",
    "to_pdf",
]
