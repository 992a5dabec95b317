"""Document preview: parameters, detection, LibreOffice conversion, PDF rendering and its limits.

The PDFs are written by hand (a black square per page at a page-dependent place), the office
files are minimal zips built here; LibreOffice itself runs only in the tests marked for it."""

import math
import os
import shutil
from pathlib import Path

import pikepdf
import pytest
from mediaflow.control.templates import build_operation
from mediaflow.docs import (
    MAX_PAGES,
    DocParams,
    DocumentError,
    check_pages,
    document_kind,
    extract_pdf,
    open_pdf,
    parse_doc_params,
    render_pages,
    sheet_count,
    to_pdf,
)
from mediaflow.docs import render as render_module
from mediaflow.exceptions import InvalidInputError, LimitExceededError, MediaflowError
from PIL import Image
from pydantic import ValidationError
from sample_docs import (
    MARK,
    MARK_TOP,
    PAGE_H,
    PAGE_W,
    blank_pdf,
    make_docx,
    make_ods,
    make_pdf,
    make_xlsx,
    mark_left,
    ooxml_types,
    write_zip,
)

pytestmark = pytest.mark.unit

needs_soffice = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")

def darkness_at(image: Image.Image, x: float, y: float) -> int:
    return 255 - image.convert("L").getpixel((int(x), int(y)))


@pytest.fixture(scope="module")
def pdf5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pdf(tmp_path_factory.mktemp("docs") / "five.pdf", 5)


@pytest.fixture(scope="module")
def encrypted_pdf(pdf5: Path) -> Path:
    target = pdf5.with_name("locked.pdf")
    with pikepdf.open(pdf5) as pdf:
        pdf.save(target, encryption=pikepdf.Encryption(owner="owner-secret", user="s3cret"))
    return target


# ------------------------------------------------------------------ parameters
def test_params_defaults_and_xml_strings() -> None:
    p = DocParams.model_validate({"TgtType": "PNG", "StartPage": "2", "EndPage": None, "Zoom": "50",
                                  "ImageDpi": "150", "Quality": " ", "DocPassword": " a b "})
    assert (p.TgtType, p.StartPage, p.EndPage, p.Zoom, p.ImageDpi, p.Quality) == ("png", 2, -1, 50, 150, 100)
    assert p.DocPassword == " a b "  # kept as sent
    assert "a b" not in repr(p)
    assert p.scale == pytest.approx(150 / 72 * 0.5)
    assert DocParams().scale == pytest.approx(96 / 72)
    assert DocParams(TgtType="html").extension == "jpg"  # unrecognised: jpg, as CI documents
    assert DocParams(TgtType="pdf").extension == "pdf"


@pytest.mark.parametrize("data", [
    {"Zoom": "5"}, {"Zoom": "300"}, {"ImageDpi": "72"}, {"ImageDpi": "601"}, {"Quality": "0"},
    {"StartPage": "0"}, {"EndPage": "0"}, {"StartPage": "3", "EndPage": "2"}, {"PageRanges": "1,,2"},
    {"PageRanges": "4-2"}, {"PageRanges": "0"}, {"PageRanges": "a-b"}, {"PicPagination": "1"},
])
def test_params_refused(data: dict) -> None:
    with pytest.raises(ValidationError):
        DocParams.model_validate(data)
    with pytest.raises(InvalidInputError):
        parse_doc_params(data)


def test_parse_doc_params_messages() -> None:
    with pytest.raises(InvalidInputError, match="PicPagination.*not supported"):
        parse_doc_params({"PicPagination": "1"})
    with pytest.raises(InvalidInputError, match=r"PageRanges '1,x' is not a list of pages like '1,2-4,7'"):
        parse_doc_params({"PageRanges": "1,x"})
    assert parse_doc_params(None) == DocParams()


def test_page_selection() -> None:
    assert DocParams().pages(5) == [1, 2, 3, 4, 5]
    assert DocParams(StartPage=2, EndPage=4).pages(5) == [2, 3, 4]
    assert DocParams(StartPage=4, EndPage=9).pages(5) == [4, 5]  # past the end: dropped
    assert DocParams(PageRanges="1,3-4").pages(5) == [1, 3, 4]
    assert DocParams(PageRanges=" 7, 2-3 ,3,1", StartPage=5).pages(5) == [1, 2, 3]  # PageRanges wins
    assert DocParams(PageRanges="4-1000000000").pages(5) == [4, 5]
    with pytest.raises(InvalidInputError, match=r"StartPage 6 to EndPage -1 selects no page: .* 5 page"):
        DocParams(StartPage=6).pages(5)
    with pytest.raises(InvalidInputError, match=r"PageRanges '7-9' selects no page: .* 5 page"):
        DocParams(PageRanges="7-9").pages(5)


# ------------------------------------------------------------------ detection
def test_document_kind(tmp_path: Path, pdf5: Path) -> None:
    assert document_kind(pdf5) == "pdf"
    assert document_kind(make_docx(tmp_path / "a.bin", 1)) == "text"  # content, not the name
    assert document_kind(make_xlsx(tmp_path / "b.docx", [1])) == "spreadsheet"
    pptx = write_zip(tmp_path / "c.pptx", {"[Content_Types].xml": ooxml_types(), "ppt/presentation.xml": "<p/>"})
    assert document_kind(pptx) == "presentation"
    odt = write_zip(tmp_path / "d.odt", {"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": "<x/>"})
    assert document_kind(odt) == "text"
    odp = write_zip(tmp_path / "e", {"mimetype": "application/vnd.oasis.opendocument.presentation"})
    assert document_kind(odp) == "presentation"
    assert document_kind(make_ods(tmp_path / "f.ods", 2)) == "spreadsheet"
    ole = tmp_path / "g"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    assert document_kind(ole) == "text"
    assert document_kind(ole, name="in/report.XLS") == "spreadsheet"
    assert document_kind(ole, name="deck.ppt") == "presentation"
    # a PDF may start after some junk, within the first KiB
    late = tmp_path / "late.pdf"
    late.write_bytes(b"\0" * 100 + pdf5.read_bytes())
    assert document_kind(late) == "pdf"


@pytest.mark.parametrize("content", [os.urandom(4096), b"just some text\n" * 20, b"PK\x03\x04broken zip",
                                     b"\x89PNG\r\n\x1a\n" + bytes(100)])
def test_document_kind_refuses_other_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.docx"
    path.write_bytes(content)
    with pytest.raises(DocumentError, match="not a document this service previews") as caught:
        document_kind(path)
    assert caught.value.code == "InvalidDocument"


def test_document_kind_refuses_other_zips_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="not a document"):
        document_kind(write_zip(tmp_path / "a.zip", {"readme.txt": "hi"}))
    empty = tmp_path / "empty.pdf"
    empty.touch()
    with pytest.raises(DocumentError, match="empty"):
        document_kind(empty)


def test_sheet_count_without_libreoffice(tmp_path: Path) -> None:
    assert sheet_count(make_xlsx(tmp_path / "a.xlsx", [1, 2, 3, 4])) == 4
    assert sheet_count(make_ods(tmp_path / "a.ods", 3)) == 3
    with pytest.raises(DocumentError):
        sheet_count(make_docx(tmp_path / "a.docx", 1))


# ------------------------------------------------------------------ rendering
@pytest.mark.parametrize("tgt", ["jpg", "png"])
@pytest.mark.parametrize(("dpi", "zoom"), [(96, 100), (150, 50)])
def test_render_pages_puts_each_marker_in_place(pdf5: Path, tmp_path: Path, tgt: str, dpi: int, zoom: int) -> None:
    params = DocParams(TgtType=tgt, ImageDpi=dpi, Zoom=zoom)
    scale = dpi / 72 * zoom / 100
    images = render_pages(pdf5, params.pages(5), params, tmp_path / "out")
    assert [p.name for p in images] == [f"page-{n}.{tgt}" for n in range(1, 6)]
    for number, path in enumerate(images, start=1):
        with Image.open(path) as image:
            assert image.format == ("PNG" if tgt == "png" else "JPEG")
            assert abs(image.width - PAGE_W * scale) <= 1 and abs(image.height - PAGE_H * scale) <= 1
            center_y = (MARK_TOP + MARK / 2) * scale
            for other in range(1, 6):
                darkness = darkness_at(image, (mark_left(other) + MARK / 2) * scale, center_y)
                if other == number:
                    assert darkness > 200, f"no marker on page {number}"
                else:
                    assert darkness < 30, f"page {number} has ink where page {other}'s marker goes"
            assert darkness_at(image, 5, 5) < 30  # white background


def test_render_selected_pages_in_order_and_quality(pdf5: Path, tmp_path: Path) -> None:
    params = DocParams(PageRanges="4,2", Quality=20)
    reported: list[float] = []
    images = render_pages(pdf5, params.pages(5), params, tmp_path, progress=reported.append)
    assert [p.name for p in images] == ["page-2.jpg", "page-4.jpg"] and reported == [0.5, 1.0]
    best = render_pages(pdf5, [2], DocParams(), tmp_path / "best")[0]
    assert images[0].stat().st_size < best.stat().st_size


def test_open_pdf_and_extract(pdf5: Path, tmp_path: Path) -> None:
    info = open_pdf(pdf5)
    assert info.page_count == 5 and info.sizes[0] == pytest.approx((PAGE_W, PAGE_H))
    assert info.pixel_size(1, 96 / 72) == (400, 267)
    part = extract_pdf(pdf5, DocParams(PageRanges="1,3-4").pages(5), tmp_path / "part.pdf")
    assert open_pdf(part).page_count == 3
    # page 2 of the extract is page 3 of the source: its marker moved with it
    image = Image.open(render_pages(part, [2], DocParams(), tmp_path / "img")[0])
    assert darkness_at(image, (mark_left(3) + MARK / 2) * 96 / 72, (MARK_TOP + MARK / 2) * 96 / 72) > 200
    with pytest.raises(InvalidInputError):
        extract_pdf(pdf5, [6], tmp_path / "none.pdf")


# ------------------------------------------------------------------ hostile or broken input
def test_encrypted_pdf(encrypted_pdf: Path, tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="the PDF is encrypted: DocPassword is required"):
        open_pdf(encrypted_pdf)
    with pytest.raises(DocumentError, match="DocPassword is wrong"):
        open_pdf(encrypted_pdf, "guess")
    with pytest.raises(DocumentError, match="DocPassword is required"):
        render_pages(encrypted_pdf, [1], DocParams(), tmp_path)
    assert open_pdf(encrypted_pdf, "s3cret").page_count == 5
    assert len(render_pages(encrypted_pdf, [1, 5], DocParams(), tmp_path, password="s3cret")) == 2
    part = extract_pdf(encrypted_pdf, [2], tmp_path / "open.pdf", password="s3cret")
    assert open_pdf(part).page_count == 1  # the extract needs no password


def test_corrupt_pdf(pdf5: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(pdf5.read_bytes()[:40])  # the header and a bit of the first object
    with pytest.raises(DocumentError, match="corrupt"):
        open_pdf(broken)
    noise = tmp_path / "noise.pdf"
    noise.write_bytes(os.urandom(5000))
    with pytest.raises(DocumentError, match="corrupt") as caught:
        render_pages(noise, [1], DocParams(), tmp_path / "out")
    assert caught.value.code == "InvalidDocument"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_too_many_pages_refused_before_rendering(tmp_path: Path) -> None:
    many = blank_pdf(tmp_path / "many.pdf", MAX_PAGES + 1, (50, 50))
    with pytest.raises(LimitExceededError, match=f"{MAX_PAGES + 1} pages, more than the limit of {MAX_PAGES}"):
        open_pdf(many)
    with pytest.raises(LimitExceededError):
        render_pages(many, [1], DocParams(), tmp_path / "out")
    assert not any((tmp_path / "out").iterdir())
    assert open_pdf(blank_pdf(tmp_path / "enough.pdf", MAX_PAGES, (50, 50))).page_count == MAX_PAGES


def test_huge_page_refused_before_rendering(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    huge = blank_pdf(tmp_path / "huge.pdf", 2, (14400, 14400))
    info = open_pdf(huge)
    with pytest.raises(LimitExceededError, match=r"page 1 would be a 19200x19200 px image .* 40000000 pixels"):
        check_pages(info, [1, 2], DocParams().scale)
    check_pages(info, [1], DocParams(Zoom=10).scale)  # 1920x1920 at a tenth

    def no_rendering(*args: object, **kwargs: object) -> None:
        raise AssertionError("a page was rendered")

    monkeypatch.setattr(render_module, "_render_one", no_rendering)
    with pytest.raises(LimitExceededError, match="page 1"):
        render_pages(huge, [1], DocParams(), tmp_path / "out")
    # a long strip: few pixels, but too long a side
    strip = blank_pdf(tmp_path / "strip.pdf", 1, (14400, 10))
    with pytest.raises(LimitExceededError, match="20000 px a side"):
        check_pages(open_pdf(strip), [1], DocParams(ImageDpi=150).scale)


# ------------------------------------------------------------------ LibreOffice
def test_missing_libreoffice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOFFICE_PATH", str(tmp_path / "no-soffice"))
    with pytest.raises(MediaflowError, match="need LibreOffice"):
        to_pdf(make_docx(tmp_path / "a.docx", 1), tmp_path, kind="text")
    assert to_pdf(tmp_path / "a.pdf", tmp_path, kind="pdf") == tmp_path / "a.pdf"  # nothing to convert


def test_conversion_timeout_ends_libreoffice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "soffice"
    fake.write_text(f"#!/bin/sh\necho $$ > {tmp_path}/pid\nexec sleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SOFFICE_PATH", str(fake))
    with pytest.raises(DocumentError, match="within 1 s"):
        to_pdf(make_docx(tmp_path / "a.docx", 1), tmp_path, kind="text", timeout=1)
    pid = int((tmp_path / "pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped


@pytest.fixture(scope="module")
def office_pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 2-page docx and a 3-sheet xlsx (the second sheet several printed pages long), converted once."""
    folder = tmp_path_factory.mktemp("office")
    docx = make_docx(folder / "letter.docx", 2)
    xlsx = make_xlsx(folder / "book.xlsx", [3, 200, 1])
    return {"docx": to_pdf(docx, folder / "w1", kind="text"),
            "xlsx": to_pdf(xlsx, folder / "w2", kind="spreadsheet"), "xlsx_source": xlsx}


@needs_soffice
def test_docx_to_png(office_pdfs: dict[str, Path], tmp_path: Path) -> None:
    info = open_pdf(office_pdfs["docx"])
    assert info.page_count == 2
    params = DocParams(TgtType="png")
    images = render_pages(office_pdfs["docx"], params.pages(info.page_count), params, tmp_path)
    assert [p.name for p in images] == ["page-1.png", "page-2.png"]
    for path in images:
        with Image.open(path) as image:
            width, height = info.sizes[0]
            assert image.size == (math.ceil(width * params.scale), math.ceil(height * params.scale))
            dark = sum(image.convert("L").point(lambda v: 255 if v < 128 else 0).histogram()[255:])
            assert dark > 100, f"{path.name} has no text on it"


@needs_soffice
def test_xlsx_one_page_per_sheet(office_pdfs: dict[str, Path]) -> None:
    assert sheet_count(office_pdfs["xlsx_source"]) == 3
    info = open_pdf(office_pdfs["xlsx"])
    assert info.page_count == 3
    assert info.sizes[1][1] > 2 * info.sizes[0][1]  # the long sheet is one tall page


@needs_soffice
def test_libreoffice_failure_gives_its_reason(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(DocumentError, match="LibreOffice could not convert the document: .*could not be loaded"):
        to_pdf(broken, tmp_path, kind="spreadsheet")


def test_doc_operations_name_each_page() -> None:
    operation = build_operation("DocProcess", {"DocProcess": {"TgtType": "png", "PageRanges": "1-3"},
                                               "Output": {"Object": "preview/${InputName}-${page}.png"}},
                                default_bucket="out", default_region="us-east-1")
    assert operation.DocProcess.pages(10) == [1, 2, 3]
    with pytest.raises(InvalidInputError, match=r"\$\{Number\} or \$\{Page\}"):
        build_operation("DocProcess", {"DocProcess": {"TgtType": "jpg"}, "Output": {"Object": "preview/all.jpg"}},
                        default_bucket="out", default_region="us-east-1")
    pdf = build_operation("DocProcess", {"DocProcess": {"TgtType": "pdf"}, "Output": {"Object": "preview/all.pdf"}},
                          default_bucket="out", default_region="us-east-1")  # one file: no page variable needed
    assert pdf.DocProcess.extension == "pdf"
    with pytest.raises(InvalidInputError, match="PageRanges"):
        build_operation("DocProcess", {"DocProcess": {"PageRanges": "3-1"}, "Output": {"Object": "p-${Page}.jpg"}},
                        default_bucket="out", default_region="us-east-1")
