"""Documents made for the tests: PDFs written by hand with a black square per page at a page-dependent
place, and office files as minimal zips (Word, Excel, OpenDocument)."""

import zipfile
from pathlib import Path

import pypdfium2 as pdfium

PAGE_W, PAGE_H = 300, 200  # points
MARK, MARK_TOP = 20, 40  # the marker's side and its distance from the top, in points


def mark_left(page: int) -> int:
    """The marker's x offset on 1-based `page`, in points."""
    return 20 + 30 * (page - 1)


def make_pdf(path: Path, pages: int, size: tuple[float, float] = (PAGE_W, PAGE_H)) -> Path:
    """A PDF of `pages` pages, each with a black square at (mark_left(n), MARK_TOP) from the top left."""
    width, height = size
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [%s] /Count %d >>"
               % (b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(pages)), pages)]
    for number in range(1, pages + 1):
        content = b"0 0 0 rg %d %d %d %d re f" % (mark_left(number), height - MARK_TOP - MARK, MARK, MARK)
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Contents %d 0 R >>"
                       % (width, height, 4 + 2 * (number - 1)))
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    data = bytearray(b"%PDF-1.4\n")
    offsets = []
    for index, body in enumerate(objects, start=1):
        offsets.append(len(data))
        data += b"%d 0 obj\n%s\nendobj\n" % (index, body)
    xref = len(data)
    data += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    data += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    data += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(data))
    return path


def blank_pdf(path: Path, pages: int, size: tuple[float, float]) -> Path:
    with pdfium.PdfDocument.new() as pdf:
        for _ in range(pages):
            pdf.new_page(*size).close()
        pdf.save(path)
    return path


def write_zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            # ODF wants `mimetype` first and stored, as real files have it
            archive.writestr(name, text, zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED)
    return path


def ooxml_types(*overrides: tuple[str, str]) -> str:
    parts = "".join(f'<Override PartName="{part}" ContentType="{ctype}"/>' for part, ctype in overrides)
    return ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>' + parts + "</Types>")


def package_rels(target: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            f'officeDocument/2006/relationships/officeDocument" Target="{target}"/></Relationships>')


W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
S_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def make_docx(path: Path, pages: int) -> Path:
    """A Word document of `pages` pages: a line of text on each, separated by page breaks."""
    paragraphs = []
    for number in range(1, pages + 1):
        brk = '<w:r><w:br w:type="page"/></w:r>' if number > 1 else ""
        paragraphs.append(f"<w:p>{brk}<w:r><w:rPr><w:sz w:val=\"72\"/></w:rPr>"
                          f"<w:t>Page {number} HELLO</w:t></w:r></w:p>")
    document = f'<w:document xmlns:w="{W_NS}"><w:body>{"".join(paragraphs)}</w:body></w:document>'
    main = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    return write_zip(path, {"[Content_Types].xml": ooxml_types(("/word/document.xml", main)),
                            "_rels/.rels": package_rels("word/document.xml"),
                            "word/document.xml": document})


def make_xlsx(path: Path, rows_per_sheet: list[int]) -> Path:
    """A workbook with one sheet per entry, each with that many rows of numbers."""
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    members = {}
    sheets, rels, overrides = [], [], [("/xl/workbook.xml", "application/vnd.openxmlformats-officedocument."
                                                             "spreadsheetml.sheet.main+xml")]
    for index, rows in enumerate(rows_per_sheet, start=1):
        cells = "".join(f'<row r="{r}"><c r="A{r}"><v>{r * index}</v></c></row>' for r in range(1, rows + 1))
        members[f"xl/worksheets/sheet{index}.xml"] = (f'<worksheet xmlns="{S_NS}"><sheetData>{cells}</sheetData>'
                                                      "</worksheet>")
        sheets.append(f'<sheet name="Sheet{index}" sheetId="{index}" r:id="rId{index}"/>')
        rels.append(f'<Relationship Id="rId{index}" Type="{R_NS}/worksheet" Target="worksheets/sheet{index}.xml"/>')
        overrides.append((f"/xl/worksheets/sheet{index}.xml", sheet_type))
    members["xl/workbook.xml"] = (f'<workbook xmlns="{S_NS}" xmlns:r="{R_NS}"><sheets>{"".join(sheets)}'
                                  "</sheets></workbook>")
    members["xl/_rels/workbook.xml.rels"] = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/'
                                             f'2006/relationships">{"".join(rels)}</Relationships>')
    members["[Content_Types].xml"] = ooxml_types(*overrides)
    members["_rels/.rels"] = package_rels("xl/workbook.xml")
    return write_zip(path, members)


def make_ods(path: Path, tables: int) -> Path:
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"')
    body = "".join(f'<table:table table:name="T{i}"><table:table-row><table:table-cell/></table:table-row>'
                   "</table:table>" for i in range(tables))
    content = f"<office:document-content {ns}><office:body><office:spreadsheet>{body}</office:spreadsheet>" \
              "</office:body></office:document-content>"
    return write_zip(path, {"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": content})
