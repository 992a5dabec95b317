"""Tencent COS CI document preview parameters (<DocProcess> of a DocProcess job), parsed from
`xmltodict` output.

As in media.params, leaves arrive as strings and blank elements mean "not given". Invalid values
raise pydantic's ValidationError (`parse_doc_params` turns it into InvalidInputError); a page
selection that matches no page of the actual document is refused by `pages`.
"""

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..exceptions import InvalidInputError

TARGET_TYPES = ("jpg", "png", "pdf")
# "1,2-4,7": single pages and inclusive ranges, 1-based
_RANGE_ITEM = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def _ranges(text: str) -> list[tuple[int, int]]:
    """The (first, last) pairs of a PageRanges value; ValueError naming the value if malformed."""
    found = []
    for item in text.split(","):
        match = _RANGE_ITEM.match(item)
        first = int(match[1]) if match else 0
        last = int(match[2]) if match and match[2] else first
        if not match or first < 1 or last < first:
            raise ValueError(f"PageRanges {text!r} is not a list of pages like '1,2-4,7' "
                             "(pages count from 1, a range goes upwards)")
        found.append((first, last))
    return found


def _unset(key: str, value: Any) -> bool:
    if isinstance(value, str):
        return value == "" if key == "DocPassword" else not value.strip()
    return value is None


class DocParams(BaseModel):
    """<DocProcess>. Pages are chosen by PageRanges if given, else StartPage..EndPage (see `pages`);
    images are drawn at ImageDpi scaled by Zoom (see `scale`)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, allow_inf_nan=False, str_max_length=2048)

    SrcType: str | None = None  # the caller's word for the input type; the content decides (docs.detect)
    TgtType: Literal["jpg", "png", "pdf"] = "jpg"
    StartPage: int = Field(default=1, ge=1)
    EndPage: int = Field(default=-1, ge=-1)  # -1: to the last page
    SheetId: int = Field(default=0, ge=0)  # 0: all sheets; n: the n-th sheet (one page per sheet)
    # Accepted for compatibility but not applied: the conversion keeps the document's own paper
    # size and orientation, and LibreOffice's defaults for comments and tracked changes.
    PaperDirection: int = 0
    PaperSize: int = Field(default=0, ge=0, le=2)
    Comments: int = Field(default=0, ge=0, le=1)
    ImageParams: str | None = None  # CI image processing of each page: accepted, not applied
    # repr=False keeps the password out of logs that print the parameters
    DocPassword: str | None = Field(default=None, repr=False)
    Quality: int = Field(default=100, ge=1, le=100)
    Zoom: int = Field(default=100, ge=10, le=200)  # percent
    ImageDpi: int = Field(default=96, ge=96, le=600)
    PicPagination: int = Field(default=0, ge=0, le=1)
    PageRanges: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="before")
    @classmethod
    def _drop_blanks(cls, data: Any) -> Any:
        # <EndPage></EndPage> arrives as None and <EndPage> </EndPage> as "": both mean "not given".
        # The password is kept exactly as sent: its spaces may be part of it.
        if not isinstance(data, dict):
            return data
        return {key: (value.strip() if isinstance(value, str) and key != "DocPassword" else value)
                for key, value in data.items() if not _unset(key, value)}

    @field_validator("TgtType", mode="before")
    @classmethod
    def _target(cls, value: Any) -> Any:
        # CI documents jpg as the default for any value it does not recognise.
        text = str(value).strip().lower()
        return "jpg" if text == "jpeg" or text not in TARGET_TYPES else text

    @field_validator("PicPagination")
    @classmethod
    def _one_image_per_page(cls, value: int) -> int:
        if value == 1:
            raise ValueError("PicPagination 1 (all pages joined into one long image) is not supported; "
                             "use 0 for one image per page")
        return value

    @field_validator("PageRanges")
    @classmethod
    def _page_ranges(cls, value: str | None) -> str | None:
        if value is not None:
            _ranges(value)
        return value

    @model_validator(mode="after")
    def _page_order(self) -> "DocParams":
        if self.EndPage == 0 or (self.EndPage != -1 and self.EndPage < self.StartPage):
            raise ValueError(f"EndPage {self.EndPage} must be -1 (the last page) or at least "
                             f"StartPage {self.StartPage}")
        return self

    @property
    def scale(self) -> float:
        """Pixels per PDF point (1/72 in)."""
        return self.ImageDpi / 72 * self.Zoom / 100

    @property
    def extension(self) -> str:
        return self.TgtType

    def pages(self, total: int) -> list[int]:
        """The 1-based pages to render, ascending and without duplicates, from a document of `total`
        pages. Pages past the end are dropped; InvalidInputError if none is left."""
        if self.PageRanges is not None:
            chosen = {page for first, last in _ranges(self.PageRanges)
                      for page in range(first, min(last, total) + 1)}
            asked = f"PageRanges {self.PageRanges!r}"
        else:
            last = total if self.EndPage == -1 else min(self.EndPage, total)
            chosen = set(range(self.StartPage, last + 1))
            asked = f"StartPage {self.StartPage} to EndPage {self.EndPage}"
        if not chosen:
            raise InvalidInputError(f"{asked} selects no page: the document has {total} page(s)")
        return sorted(chosen)


def parse_doc_params(data: Mapping[str, Any] | None) -> DocParams:
    """DocParams from a parsed <DocProcess>; InvalidInputError with the first problem found."""
    try:
        return DocParams.model_validate(dict(data or {}))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        reason = str(first.get("ctx", {}).get("error", first["msg"]))
        raise InvalidInputError(f"DocProcess {where}: {reason}" if where else f"DocProcess: {reason}") from None
