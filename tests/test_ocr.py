"""Scans read by OCR: the real PDFs rendered at run time as image-only PDFs (clean; blurred,
tilted and JPEG-compressed), read offline, checked against the same gold as their text layer."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from gouji import checks, ocr, pages
from gouji.cli import cli
from gouji.pipeline import extract_file
from gouji.settings import Settings
from gouji_eval import sets
from gouji_eval.scans import VARIANTS

from conftest import gold, shared_path

needs_engine = pytest.mark.skipif(not ocr.available(), reason=f"OCR 引擎不可用：{ocr.INSTALL}")
SCANS = [(f"hongze_{y}", v) for y in (2023, 2024) for v in ("scan_clean", "scan_degraded")]


@needs_engine
@pytest.mark.parametrize(("stem", "variant"), SCANS)
def test_a_scan_is_read_with_every_accepted_value_right(scans, stem, variant):
    record = extract_file(scans[stem, variant])
    assert record["status"] == "ok", record["error"]
    expected = gold(stem)
    accepted = [k for k, s in record["field_status"].items() if s == "accepted"]
    wrong = [(k, record["fields"][k], expected["fields"][k]) for k in accepted]
    assert [w for w in wrong if w[1] != w[2]] == []
    assert len(accepted) >= 160  # ≥ 80 % of the 200 fields
    assert record["meta"] == {"agency": expected["meta.agency"], "year": expected["meta.year"]}
    assert record["ocr"]["pages"] == 5
    # Every value the OCR read keeps its confidence; a low one is accepted only where an
    # identity holds through it.
    confidence = record["ocr"]["confidence"]
    assert set(accepted) <= set(confidence)
    named = {k for f in record["findings"] for k in f["keys"]}
    for key in accepted:
        assert key not in named
    if stem == "hongze_2023":
        # The publisher's own error survives the scan: 四's totals printed 0 beside 11 and 5.
        broken = {k for f in record["findings"] if f["rule"] == "s4.total" for k in f["keys"]}
        assert {"s4.review.total", "s4.suit_after_review.total"} <= broken
        assert record["fields"]["s4.review.total"] == 0


@needs_engine
def test_a_rerun_of_the_same_scan_does_no_ocr(scans, monkeypatch):
    path = scans["hongze_2024", "scan_clean"]
    first = extract_file(path)

    def no_engine(*args):
        raise AssertionError("the engine ran on a cached page")

    monkeypatch.setattr(ocr, "_recognise", no_engine)
    again = extract_file(path)
    assert again["ocr"]["pages_read"] == 0
    assert again["fields"] == first["fields"] and again["field_status"] == first["field_status"]


@needs_engine
def test_a_value_maps_to_its_box_on_the_scanned_page(scans):
    """The box of 三（一）予以公开·总计 on the clean scan is where the text layer puts it."""
    text_layer = extract_file(shared_path("realdocs", "hongze_2023.pdf"))
    scanned = extract_file(scans["hongze_2023", "scan_clean"])
    page, box = pages.span_box(scanned, "s3.granted.total")
    printed_page, printed = pages.span_box(text_layer, "s3.granted.total")
    assert page == printed_page == 3
    assert all(abs(a - b) < 4 for a, b in zip(box, printed, strict=True))
    png = pages.page_png(scanned["document"], page, box)
    assert png.startswith(b"\x89PNG")


def test_a_low_confidence_value_needs_an_identity_that_holds_through_it():
    values = dict(gold("hongze_2023")["fields"])
    known = set(values)
    low = {"s3.granted.natural_person": 0.6, "s2.licensing": 0.6}
    found = checks.check_confidence(low, values, known)
    # 予以公开 sits in its row's total and its column's results: both hold, so it stands;
    # 行政许可 is in no identity, so a person checks it against the page.
    assert [f.keys for f in found] == [["s2.licensing"]]
    assert "0.60" in found[0].message
    # A misread digit breaks the row, and then nothing vouches for it.
    values["s3.granted.natural_person"] = 8
    found = checks.check_confidence(low, values, known)
    assert sorted(k for f in found for k in f.keys) == ["s2.licensing", "s3.granted.natural_person"]
    # Read with confidence, it needs nothing.
    assert checks.check_confidence({"s2.licensing": 0.97}, values, known) == []


@needs_engine
def test_an_image_file_is_read_with_a_progress_line(tmp_path, capsys):
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(shared_path("realdocs", "hongze_2023.pdf")))
    image = pdf[2].render(scale=2).to_pil().rotate(-0.5, fillcolor=(255, 255, 255))
    pdf.close()
    path = tmp_path / "page3.jpg"
    image.save(path, quality=60)
    record = extract_file(path, Settings(scans=ocr.OcrSettings(progress=True)))
    assert record["status"] == "ok"
    assert capsys.readouterr().err.startswith("OCR page3.jpg 第 1/1 页：")
    expected = gold("hongze_2023")["fields"]
    accepted = [k for k, s in record["field_status"].items() if s == "accepted"]
    assert len(accepted) > 80
    assert all(record["fields"][k] == expected[k] for k in accepted)
    assert record["fields"]["s3.new_received.total"] == 21
    assert pages.span_box(record, "s3.new_received.total")[0] == 1  # pixels of the one page


@needs_engine
def test_gouji_extract_reads_a_scan_and_refuses_it_with_ocr_off(scans, tmp_path):
    path = scans["hongze_2024", "scan_degraded"]
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["extract", str(path), "-o", str(out), "--ocr", "off"])
    assert result.exit_code == 1
    assert "已用 --ocr off 关闭" in json.loads(out.read_text(encoding="utf-8"))["error"]
    result = CliRunner().invoke(cli, ["extract", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["status"] == "ok" and record["ocr"]["pages"] == 5


def test_ocr_off_refuses_scans(scans):
    off = Settings(scans=ocr.OcrSettings(mode="off"))
    record = extract_file(scans["hongze_2023", "scan_clean"], off)
    assert record["status"] == "failed"
    assert record["error"].startswith("input.no_text_layer: PDF 没有文字层")
    assert "--ocr off" in record["error"]


def test_a_missing_engine_says_how_to_install_it(scans, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # import fails
    ocr._engine.cache_clear()
    try:
        empty_cache = Settings(scans=ocr.OcrSettings(cache_dir=tmp_path))
        record = extract_file(scans["hongze_2023", "scan_clean"], empty_cache)
    finally:
        ocr._engine.cache_clear()
    assert record["status"] == "failed"
    assert record["error"] == (
        "input.ocr_missing: 未安装 OCR 引擎 rapidocr-onnxruntime，"
        "请先运行：python3 -m pip install rapidocr-onnxruntime"
    )


@needs_engine
def test_scanned_set_holds_its_baseline(tmp_path):
    result = CliRunner().invoke(
        cli, ["eval", "--set", "scanned", "--artifact", str(tmp_path / "run.json")]
    )
    assert result.exit_code == 0, result.output
    pdfs = [item for item in sets.items("real") if item.layout == "pdf"]
    assert f"scanned：{len(pdfs) * len(VARIANTS)} 份，失败 0 份" in result.output
    assert "与基线相比没有变差" in result.output


def test_a_second_reading_that_is_no_number_leaves_the_first():
    """A doubtful digit read again in a tight crop: agreeing raises its confidence, another
    number replaces it at the lower confidence, and debris (a tilted ruling line through
    the crop reads as ``#``, two cells as ``o 0``) changes nothing."""
    quad = ((0.0, 0.0), (10.0, 0.0), (10.0, 20.0), (0.0, 20.0))
    first = ocr.Word("0", quad, 0.62)
    assert ocr._second_reading(first, ocr.Word("0", quad, 0.99)).confidence == 0.99
    assert ocr._second_reading(first, ocr.Word("o", quad, 0.97)).confidence == 0.62  # look-alike
    changed = ocr._second_reading(first, ocr.Word("8", quad, 0.95))
    assert (changed.text, changed.confidence) == ("8", 0.62)
    for debris in ("#", "o 0", "。"):
        assert ocr._second_reading(first, ocr.Word(debris, quad, 0.9)) == first
    assert ocr._second_reading(first, None) == first
