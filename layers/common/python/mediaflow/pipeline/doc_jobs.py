"""Document preview jobs: pages of a PDF, or of an office document turned into one, rendered to
images (or copied into a PDF) by task units of up to PAGES_PER_UNIT pages each, in parallel.

Plan checks the whole document before any page is rendered: that it is a document at all, that it
opens (with DocPassword when encrypted), and that its page count and the selected pages' pixel sizes
are within the limits, so a document bomb is refused up front. An office document is converted by
LibreOffice: on AWS in its own container-image function (CONVERT_FUNCTION), elsewhere by the
machine's `soffice`; the PDF goes to the work prefix, where the page units read it.

Output names: ${Number} is the page's place in the selection (from 1) and ${Page} its page number.
A spreadsheet is exported one page per sheet, so page n is sheet n: ${SheetID} is the sheet and
${Number} the picture of that sheet (always 1).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import aws, docs
from ..docs import DocParams, DocumentError, document_kind, to_pdf
from ..models import ObjectRef, UnitSpec
from ..persistence import storage
from .split import work_key

PAGES_PER_UNIT = 20
CONVERT_TIMEOUT = 240
_VARIABLE = re.compile(r"\$\{(number|page|sheetid)\}", re.IGNORECASE)


def page_key(template: str, *, number: int, page: int, sheet: int | None) -> str:
    """The key of one page's image: ${Number}, ${Page} and ${SheetID} filled (any letter case)."""
    values = {"number": 1 if sheet else number, "page": page, "sheetid": sheet or number}
    return _VARIABLE.sub(lambda match: str(values[match.group(1).lower()]), template)


def plan_doc(unit: UnitSpec, source: ObjectRef, local: Path, workdir: Path, work_bucket: str) -> list[UnitSpec]:
    """The page units of the document job `unit`: its document checked, converted if need be, and its
    selected pages shared out."""
    params = DocParams.model_validate(unit.params)
    kind = document_kind(local, name=source.key)
    if kind != "pdf":
        pdf_ref = ObjectRef(bucket=work_bucket, key=work_key(unit.execution_id, unit.job_id, "document.pdf"))
        local = convert(source, local, kind, pdf_ref, workdir)
        source = pdf_ref
    info = docs.open_pdf(local, params.DocPassword)
    sheets = info.page_count if kind == "spreadsheet" else 0  # exported one page per sheet
    if sheets:
        if "${sheetid}" not in unit.output.key.lower() and params.extension != "pdf":
            raise DocumentError("Output.Object: a spreadsheet's must contain ${SheetID} (and ${Number} in its name)")
        if params.SheetId > info.page_count:
            raise DocumentError(f"SheetId {params.SheetId}: the spreadsheet has {info.page_count} sheets")
        pages = [params.SheetId] if params.SheetId else list(range(1, info.page_count + 1))
    else:
        pages = params.pages(info.page_count)
    docs.check_pages(info, pages, params.scale)
    numbered = list(enumerate(pages, start=1))
    size = len(numbered) if params.extension == "pdf" else PAGES_PER_UNIT  # one PDF is made by one unit
    return [unit.model_copy(update={"kind": "doc", "input": source, "pages": numbered[at:at + size], "sheets": sheets})
            for at in range(0, len(numbered), size)]


def expected_outputs(unit: UnitSpec) -> int:
    return 1 if DocParams.model_validate(unit.params).extension == "pdf" else len(unit.pages)


NO_CONVERTER = ("this stack has no document converter, so {kind} documents cannot be previewed (PDFs can): "
                "build and push the converter image with `make converter-image` and deploy with the "
                "ConverterImageUri parameter set to its URI")


def convert(source: ObjectRef, local: Path, kind: str, target: ObjectRef, workdir: Path) -> Path:
    """The office document `local` (from `source`) as a PDF here, also stored at `target`.
    CONVERT_FUNCTION names the converter function; set but empty, the stack was deployed without
    one (no ConverterImageUri) and the document is refused; unset (no stack: tests, the CLI run in
    one process), this machine's `soffice` converts it."""
    function = os.environ.get("CONVERT_FUNCTION")
    if function == "":
        raise DocumentError(NO_CONVERTER.format(kind=kind))
    if function is None:
        pdf = to_pdf(local, workdir, kind=kind, timeout=CONVERT_TIMEOUT)
        storage.upload(pdf, target.bucket, target.key, "application/pdf")
        return pdf
    answer = aws.client("lambda").invoke(FunctionName=function, Payload=json.dumps(
        {"source": source.model_dump(), "kind": kind, "target": target.model_dump()}).encode())
    reply = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError"):
        raise DocumentError(f"the document could not be converted to PDF: {reply.get('errorMessage') if isinstance(reply, dict) else reply}")
    return storage.download(target.bucket, target.key, workdir, name="document")


def convert_object(event: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """The converting function's work: the office document at `source` as a PDF at `target`."""
    source, target = ObjectRef.model_validate(event["source"]), ObjectRef.model_validate(event["target"])
    local = storage.download(source.bucket, source.key, workdir)
    pdf = to_pdf(local, workdir, kind=event["kind"], timeout=CONVERT_TIMEOUT)
    stored = storage.upload(pdf, target.bucket, target.key, "application/pdf")
    return {"bucket": stored.bucket, "key": stored.key, "size": stored.size}


def render(unit: UnitSpec, pdf: Path, workdir: Path,
           progress: Callable[[float], None]) -> tuple[list[tuple[Path, ObjectRef]], dict[str, Any]]:
    """The unit's pages as images (or one PDF), where they go, and the pages' part of DocProcessResult."""
    params = DocParams.model_validate(unit.params)
    total = docs.open_pdf(pdf, params.DocPassword).page_count
    pages = [page for _, page in unit.pages]
    if params.extension == "pdf":
        made = docs.extract_pdf(pdf, pages, workdir / "pages.pdf", password=params.DocPassword)
        return [(made, unit.output)], {"TotalPageCount": total, "pages": [{"PageNo": p, "TgtUri": unit.output.key} for p in pages]}
    images = docs.render_pages(pdf, pages, params, workdir, password=params.DocPassword, progress=progress)
    files, info = [], []
    for (number, page), image in zip(unit.pages, images):
        key = page_key(unit.output.key, number=number, page=page, sheet=page if unit.sheets else None)
        files.append((image, ObjectRef(bucket=unit.output.bucket, key=key)))
        info.append({"PageNo": page, "TgtUri": key, **({"X-SheetPics": 1} if unit.sheets else {})})
    return files, {"TotalPageCount": total, "TotalSheetCount": unit.sheets, "pages": info}


def doc_result(results: list[dict[str, Any]], target_type: str) -> dict[str, Any]:
    """DocProcessResult from the page units' parts."""
    pages = sorted((page for part in results for page in part["pages"]), key=lambda page: page["PageNo"])
    first = results[0] if results else {}
    return {"TotalPageCount": first.get("TotalPageCount", 0), "SuccPageCount": len(pages), "FailPageCount": 0,
            "TotalSheetCount": first.get("TotalSheetCount") or None, "TgtType": target_type, "PageInfo": pages}
