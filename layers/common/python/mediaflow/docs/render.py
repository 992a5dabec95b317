"""PDF pages to images (or to a smaller PDF) with PDFium, within limits checked before any
page is drawn, so that a hostile document is refused while the job is planned."""

import math
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ..exceptions import InvalidInputError, LimitExceededError
from .detect import DocumentError
from .params import DocParams

MAX_PAGES = 500  # a longer document is refused as a whole
MAX_PAGE_PIXELS = 40_000_000  # one page's image; 120 MB as RGB, twice that while it is encoded
MAX_SIDE = 20_000  # pixels, either side
WHITE = (255, 255, 255, 255)


@dataclass(frozen=True)
class PdfInfo:
    page_count: int
    sizes: tuple[tuple[float, float], ...]  # (width, height) in points of pages 1..n, as displayed

    def pixel_size(self, page: int, scale: float) -> tuple[int, int]:
        """The image size of 1-based `page` at `scale`, rounded up as PDFium does."""
        width, height = self.sizes[page - 1]
        return math.ceil(width * scale), math.ceil(height * scale)


def _open(path: Path, password: str | None) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(str(path), password=password)
    except pdfium.PdfiumError as error:
        if error.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise DocumentError("the PDF is encrypted: DocPassword is wrong" if password
                                else "the PDF is encrypted: DocPassword is required") from None
        if error.err_code == pdfium_c.FPDF_ERR_SECURITY:
            raise DocumentError("the PDF is protected by an unsupported security handler") from None
        if error.err_code == pdfium_c.FPDF_ERR_FILE:
            raise DocumentError("the PDF could not be opened") from None
        raise DocumentError("the PDF is corrupt or truncated and cannot be read") from None


def _info(pdf: pdfium.PdfDocument) -> PdfInfo:
    count = len(pdf)
    if count > MAX_PAGES:
        raise LimitExceededError(f"the document has {count} pages, more than the limit of {MAX_PAGES}")
    if count == 0:
        raise DocumentError("the PDF has no pages")
    try:
        return PdfInfo(count, tuple(pdf.get_page_size(index) for index in range(count)))
    except pdfium.PdfiumError:
        raise DocumentError("the PDF is corrupt: the size of a page cannot be read") from None


def open_pdf(path: Path, password: str | None = None) -> PdfInfo:
    """The page count and page sizes of a PDF. DocumentError if it is encrypted (without the right
    password) or unreadable; LimitExceededError if it has more than MAX_PAGES pages."""
    with closing(_open(path, password)) as pdf:
        return _info(pdf)


def check_pages(info: PdfInfo, pages: list[int], scale: float) -> None:
    """LimitExceededError if any selected page would be too large an image at `scale`."""
    for page in pages:
        if not 1 <= page <= info.page_count:
            raise InvalidInputError(f"page {page} is not in the document of {info.page_count} page(s)")
        width, height = info.pixel_size(page, scale)
        if width * height > MAX_PAGE_PIXELS or max(width, height) > MAX_SIDE:
            raise LimitExceededError(
                f"page {page} would be a {width}x{height} px image at this ImageDpi and Zoom, over the "
                f"limit of {MAX_PAGE_PIXELS} pixels and {MAX_SIDE} px a side"
            )
        if min(width, height) < 1:
            raise DocumentError(f"page {page} has no area to render")


def render_pages(path: Path, pages: list[int], params: DocParams, target_dir: Path,
                 password: str | None = None, progress: Callable[[float], None] | None = None) -> list[Path]:
    """Each of `pages` (1-based) as target_dir/page-<n>.<jpg|png>, on white, in the order given;
    `progress(fraction)` after each page."""
    ext = "png" if params.TgtType == "png" else "jpg"
    scale = params.scale
    target_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with closing(_open(path, password)) as pdf:
        check_pages(_info(pdf), pages, scale)  # again: the file may not be the one planned
        for number in pages:
            target = target_dir / f"page-{number}.{ext}"
            try:
                _render_one(pdf, number, scale, target, params.Quality)
            except pdfium.PdfiumError:
                raise DocumentError(f"page {number} of the PDF is corrupt and cannot be rendered") from None
            written.append(target)
            if progress:
                progress(len(written) / len(pages))
    return written


def _render_one(pdf: pdfium.PdfDocument, number: int, scale: float, target: Path, quality: int) -> None:
    # The page and its bitmap are freed as soon as the image is written: a few full-size pages
    # held at once would exhaust a Lambda's memory.
    with closing(pdf[number - 1]) as page, closing(
        page.render(scale=scale, fill_color=WHITE, rev_byteorder=True)
    ) as bitmap, bitmap.to_pil() as image:
        if target.suffix == ".png":
            # level 1: much faster than the default 6, and no larger on rendered text pages
            image.save(target, "PNG", compress_level=1)
        else:
            image.save(target, "JPEG", quality=quality)


def extract_pdf(path: Path, pages: list[int], target: Path, password: str | None = None) -> Path:
    """A new PDF at `target` of just `pages` (1-based), in the order given, without encryption."""
    with closing(_open(path, password)) as source:
        info = _info(source)
        for page in pages:
            if not 1 <= page <= info.page_count:
                raise InvalidInputError(f"page {page} is not in the document of {info.page_count} page(s)")
        with closing(pdfium.PdfDocument.new()) as result:
            result.import_pages(source, pages=[page - 1 for page in pages])
            target.parent.mkdir(parents=True, exist_ok=True)
            result.save(target)
    return target
