"""Office documents to PDF with LibreOffice, run headless, one process per conversion."""

import os
import shutil
import signal
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import IO

from ..exceptions import MediaflowError
from .detect import DocumentError

# Each sheet as one page of its own size, so that page n of the PDF is sheet n (SheetId).
# The JSON filter options need LibreOffice 7.4 or later.
SPREADSHEET_FILTER = 'pdf:calc_pdf_Export:{"SinglePageSheets":{"type":"boolean","value":"true"}}'
_SHEET = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}sheet"
_ODF_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}table"
_ODF_SPREADSHEET = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}spreadsheet"


def soffice_path() -> str:
    """The LibreOffice binary: $SOFFICE_PATH, else `soffice` on PATH."""
    found = os.environ.get("SOFFICE_PATH") or shutil.which("soffice")
    if not found or not Path(found).exists():
        raise MediaflowError("office documents need LibreOffice to be converted, and no soffice binary "
                             "was found (set SOFFICE_PATH or put soffice on PATH)")
    return found


def to_pdf(source: Path, workdir: Path, *, kind: str, timeout: float = 240) -> Path:
    """Convert `source` (of docs.detect's `kind`) into a PDF under `workdir`, which also holds
    LibreOffice's profile. A PDF is returned as it is. DocumentError if LibreOffice fails."""
    if kind == "pdf":
        return source
    workdir = workdir.resolve()
    outdir = workdir / "pdf"
    outdir.mkdir(parents=True, exist_ok=True)
    result = outdir / f"{source.stem}.pdf"
    result.unlink(missing_ok=True)  # an earlier run's file must not pass for this one's
    target = SPREADSHEET_FILTER if kind == "spreadsheet" else "pdf"
    cmd = [soffice_path(), "--headless", "--norestore", "--nolockcheck",
           f"-env:UserInstallation={(workdir / 'lo-profile').as_uri()}",
           "--convert-to", target, "--outdir", str(outdir), str(source.resolve())]
    # HOME too points at the work folder: LibreOffice writes there, and Lambda's home is read-only.
    env = {**os.environ, "HOME": str(workdir)}
    # soffice starts soffice.bin as a child; its own session lets a timeout end both.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise DocumentError(f"LibreOffice did not convert the document within {timeout:.0f} s") from None
    if proc.returncode != 0 or not result.is_file() or result.stat().st_size == 0:
        reason = _reason(out + err) or f"exit status {proc.returncode}, no PDF written"
        raise DocumentError(f"LibreOffice could not convert the document: {reason}")
    return result


def _reason(output: bytes) -> str:
    """LibreOffice's own error lines, without its noise about Java."""
    lines = output.decode("utf-8", "replace").splitlines()
    errors = [line.strip() for line in lines if line.strip().lower().startswith("error")]
    return "; ".join(errors)[:500]


def sheet_count(path: Path) -> int:
    """The number of sheets of an xlsx or ods workbook (hidden ones included);
    DocumentError if it is neither."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" in names:
                with archive.open("xl/workbook.xml") as member:
                    return sum(1 for _, element in ET.iterparse(member) if element.tag == _SHEET)
            if "content.xml" in names:
                with archive.open("content.xml") as member:
                    return _ods_tables(member)
    except (zipfile.BadZipFile, ET.ParseError, OSError, RuntimeError, NotImplementedError) as error:
        raise DocumentError(f"the workbook could not be read: {error}") from None
    raise DocumentError("not an xlsx or ods workbook: its sheets cannot be counted")


def _ods_tables(member: IO[bytes]) -> int:
    # content.xml holds every cell: it is streamed, and each finished element is dropped from its
    # parent. Only the spreadsheet's own tables count, not tables inside shapes or charts.
    count, open_elements = 0, []
    for event, element in ET.iterparse(member, events=("start", "end")):
        if event == "start":
            if element.tag == _ODF_TABLE and open_elements and open_elements[-1].tag == _ODF_SPREADSHEET:
                count += 1
            open_elements.append(element)
        else:
            open_elements.pop()
            if open_elements:
                open_elements[-1].clear()
    return count
