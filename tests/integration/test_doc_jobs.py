"""Document preview jobs through the library's steps in-process (plan -> page units in parallel ->
record -> finish) on the template's stack in moto: real PDFs and office documents, real rendering,
LibreOffice where it is installed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import boto3
import pikepdf
import pytest
from mediaflow.control import submit
from mediaflow.control.jobs import get_job
from mediaflow.models import Job
from mediaflow.persistence.storage import WORK_PREFIX
from mediaflow.pipeline import doc_jobs
from PIL import Image
from sample_docs import (
    MARK,
    MARK_TOP,
    PAGE_H,
    PAGE_W,
    blank_pdf,
    make_docx,
    make_pdf,
    make_xlsx,
    mark_left,
)
from support import serve_bucket
from test_media_jobs import run

pytestmark = pytest.mark.integration
BUCKET = "doc-jobs"
needs_soffice = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")


@pytest.fixture
def bucket(stack) -> str:
    serve_bucket(BUCKET)
    return BUCKET


def put(path: Path, key: str) -> str:
    boto3.client("s3").upload_file(str(path), BUCKET, key)
    return key


def doc_job(key: str, output: str, **params: Any) -> Job:
    body = {"Tag": "DocProcess", "Input": {"Object": key},
            "Operation": {"DocProcess": {k: str(v) for k, v in params.items()}, "Output": {"Object": output}}}
    job = submit.create_jobs(BUCKET, body, output_bucket=BUCKET, queue_url=os.environ["DOC_QUEUE_URL"], feature="doc")[0]
    run(job.JobId)
    return get_job(job.JobId)


def fetch(key: str, folder: Path) -> Path:
    target = folder / key.replace("/", "_")
    boto3.client("s3").download_file(BUCKET, key, str(target))
    return target


def keys(prefix: str) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def test_selected_pages_render_in_parallel_units_with_their_markers(bucket, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(doc_jobs, "PAGES_PER_UNIT", 2)  # 3 pages -> 2 units
    key = put(make_pdf(tmp_path / "five.pdf", 5), "in/five.pdf")
    job = doc_job(key, "out/five/p-${Number}-of-${Page}.png", TgtType="png", PageRanges="2-3,5", ImageDpi=144)

    assert (job.State, job.Code, job.JobId[0]) == ("Success", "Success", "d"), job.Message
    result = job.Operation.DocProcessResult
    assert (result["TotalPageCount"], result["SuccPageCount"], result["FailPageCount"]) == (5, 3, 0)
    expected = ["out/five/p-1-of-2.png", "out/five/p-2-of-3.png", "out/five/p-3-of-5.png"]
    assert [(p["PageNo"], p["TgtUri"]) for p in result["PageInfo"]] == list(zip([2, 3, 5], expected))
    assert keys("out/five/") == expected
    scale = 144 / 72
    for page, name in zip([2, 3, 5], expected):
        image = Image.open(fetch(name, tmp_path)).convert("L")
        assert abs(image.width - PAGE_W * scale) <= 1 and abs(image.height - PAGE_H * scale) <= 1
        center = ((mark_left(page) + MARK / 2) * scale, (MARK_TOP + MARK / 2) * scale)
        assert image.getpixel(center) < 60, f"no marker of page {page} at {center}"
        elsewhere = ((mark_left(page % 5 + 1) + MARK / 2) * scale, center[1])
        assert image.getpixel(elsewhere) > 200


def test_pdf_target_holds_the_selected_pages(bucket, tmp_path) -> None:
    key = put(make_pdf(tmp_path / "five.pdf", 5), "in/five.pdf")
    job = doc_job(key, "out/${InputName}-part.pdf", TgtType="pdf", StartPage=2, EndPage=4)
    assert job.State == "Success", job.Message
    with pikepdf.open(fetch("out/five-part.pdf", tmp_path)) as pdf:
        assert len(pdf.pages) == 3
    assert job.Operation.DocProcessResult["SuccPageCount"] == 3


@needs_soffice
def test_office_documents_convert_then_render_and_leave_no_work(bucket, tmp_path) -> None:
    key = put(make_docx(tmp_path / "letter.docx", 2), "in/letter.docx")
    job = doc_job(key, "out/letter/${Page}.jpg", TgtType="jpg", Quality=80)
    assert job.State == "Success", job.Message
    assert keys("out/letter/") == ["out/letter/1.jpg", "out/letter/2.jpg"]
    image = Image.open(fetch("out/letter/1.jpg", tmp_path)).convert("L")
    assert image.getextrema()[0] < 100  # ink: the page's text
    assert keys(WORK_PREFIX) == []  # the converted PDF is gone once the job ended

    sheets = put(make_xlsx(tmp_path / "book.xlsx", [3, 5, 2]), "in/book.xlsx")
    job = doc_job(sheets, "out/book/${SheetID}/${Number}.png", TgtType="png")
    assert job.State == "Success", job.Message
    assert keys("out/book/") == [f"out/book/{n}/1.png" for n in (1, 2, 3)]
    assert job.Operation.DocProcessResult["TotalSheetCount"] == 3
    assert all(p["X-SheetPics"] == 1 for p in job.Operation.DocProcessResult["PageInfo"])


def test_documents_that_cannot_be_previewed_fail_with_the_reason(bucket, tmp_path) -> None:
    locked = tmp_path / "locked.pdf"
    with pikepdf.open(make_pdf(tmp_path / "plain.pdf", 2)) as pdf:
        pdf.save(locked, encryption=pikepdf.Encryption(owner="owner-secret", user="user-secret"))
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(make_pdf(tmp_path / "whole.pdf", 3).read_bytes()[:180])
    notes = tmp_path / "notes.txt"
    notes.write_text("a text file, not a document\n" * 20)
    cases = {
        "locked.pdf": (locked, {}, "InvalidDocument", "DocPassword"),
        "truncated.pdf": (truncated, {}, "InvalidDocument", "PDF"),
        "notes.docx": (notes, {}, "InvalidDocument", "not a document"),
        "bomb.pdf": (blank_pdf(tmp_path / "bomb.pdf", 501, (200, 200)), {}, "InvalidInput.LimitExceeded", "500"),
        "huge.pdf": (blank_pdf(tmp_path / "huge.pdf", 1, (14400, 14400)), {"ImageDpi": 300}, "InvalidInput.LimitExceeded", "pixels"),
    }
    for name, (path, params, code, words) in cases.items():
        job = doc_job(put(path, f"in/{name}"), "out/bad/${Page}.png", TgtType="png", **params)
        assert (job.State, job.Code) == ("Failed", code), (name, job.Code, job.Message)
        assert words in job.Message, (name, job.Message)
    assert keys("out/bad/") == [] and keys(WORK_PREFIX) == []

    job = doc_job(put(locked, "in/locked.pdf"), "out/unlocked/${Page}.png", TgtType="png", DocPassword="user-secret")
    assert job.State == "Success" and keys("out/unlocked/") == ["out/unlocked/1.png", "out/unlocked/2.png"]


def test_office_documents_are_refused_by_a_stack_without_a_converter(bucket, tmp_path, monkeypatch) -> None:
    # CONVERT_FUNCTION is "" where the stack was deployed with no ConverterImageUri (as on AWS by default)
    monkeypatch.setenv("CONVERT_FUNCTION", "")
    job = doc_job(put(make_docx(tmp_path / "letter.docx", 1), "in/letter.docx"), "out/none/${Page}.png", TgtType="png")
    assert (job.State, job.Code) == ("Failed", "InvalidDocument"), job.Message
    assert "ConverterImageUri" in job.Message and "make converter-image" in job.Message
    assert keys("out/none/") == [] and keys(WORK_PREFIX) == []

    pdf = doc_job(put(make_pdf(tmp_path / "plain.pdf", 1), "in/plain.pdf"), "out/pdf/${Page}.png", TgtType="png")
    assert pdf.State == "Success", pdf.Message  # PDFs need no converter
