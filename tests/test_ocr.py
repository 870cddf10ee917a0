"""Scans read by OCR: the real PDFs rendered at run time as image-only PDFs (``gouji_eval.scans``:
clean, tilted, blurred, JPEG, noisy, sealed, photocopied, at 150, 200 and 300 dpi), read
offline, checked against the same gold as their text layer."""

from __future__ import annotations

import functools
import json
import sys

import pytest
from click.testing import CliRunner

from gouji.checking import checks
from gouji.cli import cli
from gouji.inputs import grid, ocr, pages, render
from gouji.running.pipeline import extract_file
from gouji.running.settings import Settings
from gouji_eval import scans as scanning
from gouji_eval import sets

from conftest import SCANNED, gold, scan_of, shared_path

needs_engine = pytest.mark.skipif(not ocr.available(), reason=f"OCR 引擎不可用：{ocr.INSTALL}")
PLAN = [
    (stem, recipe, dpi)
    for stem, wanted in zip(SCANNED, scanning.sample(len(SCANNED)), strict=True)
    for recipe, dpi in wanted
]
# The share of what the text layer has accepted that a scan must have accepted too: where a
# seal covers a table or a photocopier greyed the page, less. (The text layer leaves a
# publisher's error in review, 10 fields of 洪泽 2023: no scan can do better.)
FLOOR = {"sealed": 0.85, "photocopy": 0.85}


@functools.cache
def _printed(stem: str) -> int:
    """How many fields the report's text layer has accepted."""
    record = extract_file(shared_path("realdocs", f"{stem}.pdf"))
    return sum(s == "accepted" for s in record["field_status"].values())


@needs_engine
@pytest.mark.parametrize(("stem", "recipe", "dpi"), PLAN)
def test_a_scan_is_read_with_every_accepted_value_right(scans, stem, recipe, dpi):
    record = extract_file(scans[stem, recipe, dpi])
    assert record["status"] == "ok", record["error"]
    expected = gold(stem)
    accepted = [k for k, s in record["field_status"].items() if s == "accepted"]
    wrong = [(k, record["fields"][k], expected["fields"][k]) for k in accepted]
    assert [w for w in wrong if w[1] != w[2]] == []
    assert len(accepted) >= FLOOR.get(recipe, 0.95) * _printed(stem)
    assert record["meta"] == {"agency": expected["meta.agency"], "year": expected["meta.year"]}
    assert record["ocr"]["pages"] == len(record["page_starts"])
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
    path = scans[PLAN[7]]
    first = extract_file(path)

    def no_engine(*args, **kwargs):
        raise AssertionError("the engine ran on a cached page")

    monkeypatch.setattr(ocr, "read_page", no_engine)
    again = extract_file(path)
    assert again["ocr"]["pages_read"] == 0
    assert again["fields"] == first["fields"] and again["field_status"] == first["field_status"]


@needs_engine
def test_a_planted_or_damaged_cache_entry_is_not_trusted(scans, tmp_path, monkeypatch):
    """A cache file holds its own key: one copied under another page's name, or cut short,
    is read again, never served."""
    settings = Settings(scans=ocr.OcrSettings(cache_dir=tmp_path))
    path = scans[PLAN[1]]
    first = extract_file(path, settings)
    files = sorted(tmp_path.rglob("*.json"))
    assert len(files) == first["ocr"]["pages"] == 5
    page = {json.loads(f.read_text(encoding="utf-8"))["key"]: f for f in files}
    one, two = (page[ocr._cache_key(first["sha256"], n)] for n in (1, 3))
    two.write_bytes(one.read_bytes())  # page 1's words planted as page 3's
    files[-1].write_text(files[-1].read_text(encoding="utf-8")[:50], encoding="utf-8")
    again = extract_file(path, settings)
    damaged = {two, files[-1]}
    assert again["ocr"]["pages_read"] == len(damaged)
    assert again["fields"] == first["fields"]


@needs_engine
def test_a_value_maps_to_its_box_on_the_scanned_page(scans):
    """The box of 三（一）予以公开·总计 on a scan is where the text layer puts it."""
    text_layer = extract_file(shared_path("realdocs", "hongze_2023.pdf"))
    scanned = extract_file(scans[PLAN[0]])
    page, box = pages.span_box(scanned, "s3.granted.total")
    printed_page, printed = pages.span_box(text_layer, "s3.granted.total")
    assert page == printed_page == 3
    assert all(abs(a - b) < 6 for a, b in zip(box, printed, strict=True))
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
    assert checks.check_confidence({"s2.licensing": 0.99}, values, known) == []


@needs_engine
def test_an_image_file_is_read_at_its_own_resolution_with_a_progress_line(tmp_path, capsys):
    image = render.page_image(shared_path("realdocs", "huaian_2024.pdf"), 4, dpi=150).image
    path = tmp_path / "page4.jpg"
    image.rotate(-0.7, fillcolor=(255, 255, 255)).save(path, quality=60, dpi=(150, 150))
    record = extract_file(path, Settings(scans=ocr.OcrSettings(progress=True)))
    assert record["status"] == "ok"
    assert capsys.readouterr().err.startswith("OCR page4.jpg 第 1/1 页：")
    expected = gold("huaian_2024")["fields"]
    accepted = [k for k, s in record["field_status"].items() if s == "accepted"]
    assert len(accepted) > 40
    assert all(record["fields"][k] == expected[k] for k in accepted)
    assert record["fields"]["s3.new_received.total"] == 3119
    # The box is in the image's pixels: where the text layer puts the value, at 150 dpi.
    page, box = pages.span_box(record, "s3.new_received.total")
    printed = pages.span_box(
        extract_file(shared_path("realdocs", "huaian_2024.pdf")), "s3.new_received.total"
    )
    assert page == 1 and printed[0] == 4
    assert all(abs(a - b * 150 / 72) < 15 for a, b in zip(box, printed[1], strict=True))


def test_a_table_is_found_from_its_rules_with_its_merged_cells():
    """Page 4 of 淮安 2024, drawn at 150 dpi and turned 1.2°: part 三's grid, its merged
    header and row-label cells, the page straightened from its rules."""
    drawn = render.page_image(shared_path("realdocs", "huaian_2024.pdf"), 4, dpi=150)
    tilted = drawn.image.rotate(1.2, fillcolor=(255, 255, 255), resample=3)
    import numpy as np

    page = grid.prepare(np.asarray(tilted), 150)
    assert abs(page.angle + 1.2) < 0.1
    table = grid.tables(page, 150)[-1]
    assert (table.rows, table.columns) == (16, 10)
    spans = {(c.row, c.column): (c.rows, c.columns) for c in table.cells}
    assert spans[0, 0] == (3, 3)  # the note on the table's identities
    assert spans[0, 3] == (1, 7)  # 申请人情况
    assert spans[5, 0] == (11, 1)  # 三、本年度办理结果, down the page's edge
    assert spans[3, 0] == (1, 3)  # 一、本年新收…, across the label columns
    assert sum(c.rows * c.columns for c in table.cells) == 16 * 10


@needs_engine
def test_a_seal_s_strokes_that_jpeg_left_grey_are_removed_and_the_print_under_it_kept(tmp_path):
    """淮安 2024's table pages scanned at 150 dpi with seals, against the same pages scanned
    clean: JPEG took most of the colour of the seals' thin strokes, yet after clean-up less ink
    is left where the clean page has paper (the brightest channel alone left 412 pixels of it
    on these two pages), every pixel of the print's strokes is still ink, and the 0s the
    strokes cross in part 三's 其他 column read as 0 (the brightest channel alone: 8 and 9)."""
    import cv2
    import numpy as np

    source = shared_path("realdocs", "huaian_2024.pdf")
    sealed = scanning.make_scan(source, tmp_path / "sealed.pdf", "sealed", 150)
    clean = scanning.make_scan(source, tmp_path / "clean.pdf", "clean", 150)
    left, print_kept = 0, []
    for number in (4, 5):
        s, c = (render.page_image(path, number) for path in (sealed, clean))
        s, c = grid.prepare(s.pixels(), s.dpi).gray, grid.prepare(c.pixels(), c.dpi).gray
        near_print = cv2.erode(c, np.ones((5, 5), np.uint8)) < 200
        left += int(((s < grid.INK) & ~near_print).sum())
        print_kept.append(float((s[c < 100] < grid.INK).mean()))
    assert left < 300
    assert print_kept == [1.0, 1.0]
    drawn = render.page_image(sealed, 5)
    rows = {
        line.words[2].text: line.words[3:]
        for line in ocr.read_page(drawn.pixels(), drawn.dpi)
        if line.separator == "\t" and len(line.words) == 10
    }
    for label, printed in (
        ("2. 重复申请", "25 0 0 0 0 0 25"),
        ("4. 无正当理由大量反复申请", "0 " * 7),
    ):
        assert [w.text for w in rows[label]] == printed.split()
        assert min(w.confidence for w in rows[label]) >= 0.9


def test_a_box_on_the_straightened_page_maps_back_to_the_scan():
    """A page turned straight by 1.3°: a point found on it lies, on the page as scanned,
    where the scan printed it (the review app outlines the value there)."""
    import cv2
    import numpy as np

    height, width = 1000, 800
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), 1.3, 1.0)
    x, y = turn @ np.array([100.0, 200.0, 1.0])  # where the scan's (100, 200) went
    page = grid.Page(np.zeros((height, width), np.uint8), None, 1.3, 2, None, None)
    assert page.to_original((x, y, x, y)) == pytest.approx((100, 200, 100, 200))


@needs_engine
def test_a_number_cell_is_read_as_a_number():
    """A lone 0 the recogniser reads as ``。`` and a 1 it reads as ``I`` are decoded again
    with only what a number cell can hold, at the confidence the page gave them."""
    recogniser = ocr.engine().recogniser
    import numpy as np

    steps = np.zeros((4, len(recogniser.characters)), np.float32)
    dot, zero = recogniser.characters.index("。"), recogniser.characters.index("0")
    steps[:, 0] = 1.0
    steps[1, :] = 0
    steps[1, dot], steps[1, zero] = 0.7, 0.2
    assert recogniser.decode(steps) == ("。", (0.7,))
    assert recogniser.decode(steps, numbers=True) == ("0", (0.2,))
    assert ocr._is_number_text("。") and ocr._is_number_text("I") and ocr._is_number_text("3O")
    assert not ocr._is_number_text("其他") and not ocr._is_number_text("1件")


@needs_engine
def test_gouji_extract_reads_a_scan_and_refuses_it_with_ocr_off(scans, tmp_path):
    path = scans[PLAN[3]]
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
    record = extract_file(scans[PLAN[0]], off)
    assert record["status"] == "failed"
    assert record["error"].startswith("input.no_text_layer: PDF 没有文字层")
    assert "--ocr off" in record["error"]


def test_a_missing_engine_says_how_to_install_it(scans, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "rapidocr", None)  # import fails
    ocr.engine.cache_clear()
    try:
        empty_cache = Settings(scans=ocr.OcrSettings(cache_dir=tmp_path))
        record = extract_file(scans[PLAN[0]], empty_cache)
    finally:
        ocr.engine.cache_clear()
    assert record["status"] == "failed"
    assert record["error"] == (
        "input.ocr_missing: 未安装 OCR 引擎 rapidocr，请先运行：python3 -m pip install rapidocr onnxruntime"
    )


@needs_engine
def test_the_engine_reads_from_its_wheel_and_downloads_nothing(monkeypatch):
    """The models are the wheel's own files; any attempt to fetch one fails the test."""
    import requests

    def no_network(*args, **kwargs):
        raise AssertionError("the engine tried to download a model")

    monkeypatch.setattr(requests, "get", no_network)
    ocr.engine.cache_clear()
    try:
        engine = ocr.engine()
    finally:
        ocr.engine.cache_clear()
    assert all((ocr.model_dir() / name).is_file() for name in ocr.MODELS)
    assert engine.name == "rapidocr:" + ":".join(ocr.MODELS)


@needs_engine
def test_scanned_set_holds_its_baseline(tmp_path):
    result = CliRunner().invoke(
        cli, ["eval", "--set", "scanned", "--artifact", str(tmp_path / "run.json")]
    )
    assert result.exit_code == 0, result.output
    pdfs = [item for item in sets.items("real") if item.layout == "pdf"]
    assert f"scanned：{len(pdfs) * len(scanning.RECIPES)} 份，失败 0 份" in result.output
    assert "与基线相比没有变差" in result.output


@needs_engine
def test_gouji_cluster_reads_a_scan_with_extract_s_code(scans, tmp_path, monkeypatch):
    """The cluster's workers read a scan by OCR as ``gouji extract`` does: the same record,
    and extract, on the same page cache afterwards, does no OCR."""
    pytest.importorskip("ray", reason="the cluster extra (gouji[cluster]) is not installed")
    monkeypatch.setenv("RAY_ADDRESS", "")  # a local instance, never a real cluster
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "scan.pdf").write_bytes(scan_of(scans, "huaian_2024", "sealed").read_bytes())
    cache = ["--ocr-cache", str(tmp_path / "ocr"), "--quiet"]
    clustered, extracted = tmp_path / "cluster.jsonl", tmp_path / "extract.jsonl"
    db = f"sqlite:///{tmp_path / 'store.db'}"
    command = ["cluster", str(folder), "-o", str(clustered), "--db", db, "--workers", "1", *cache]
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["extract", str(folder), "-o", str(extracted), *cache])
    assert result.exit_code == 0, result.output
    (by_cluster,) = (json.loads(line) for line in clustered.read_text("utf-8").splitlines())
    (by_extract,) = (json.loads(line) for line in extracted.read_text("utf-8").splitlines())
    assert by_cluster["ocr"]["pages_read"] == 6 and by_extract["ocr"]["pages_read"] == 0
    by_cluster["ocr"]["pages_read"] = 0
    assert by_cluster == by_extract
    expected = gold("huaian_2024")["fields"]
    assert sum(by_cluster["fields"][k] == v for k, v in expected.items()) >= 190
