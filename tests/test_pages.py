"""Page evidence: a value's span mapped to its page and box, and the page drawn with it."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from gouji.inputs import ocr, pages, render
from gouji.running.pipeline import extract_file

from conftest import scan_of, shared_path


def test_text_layer_span_maps_to_the_cell_on_its_page():
    record = extract_file(shared_path("realdocs", "hongze_2023.pdf"))
    # 三（一）予以公开, 总计 column: page 3, the last column of the table (x ≈ 496–503 pt).
    page, box = pages.span_box(record, "s3.granted.total")
    assert page == 3
    assert 480 < box[0] < box[2] < 520 and 500 < box[1] < box[3] < 560
    # 行政许可 550 stands on page 2; a three-digit value gives a wider box than one digit.
    page, (x0, _, x1, _) = pages.span_box(record, "s2.licensing")
    assert page == 2 and x1 - x0 > 10
    assert record["fields"]["s2.licensing"] == 550
    # A span that does not exist has no box.
    assert pages.span_box({**record, "spans": {}}, "s2.licensing") is None


def test_page_png_outlines_the_box_in_red():
    path = shared_path("realdocs", "hongze_2023.pdf")
    record = extract_file(path)
    page, box = pages.span_box(record, "s3.granted.total")
    image = Image.open(io.BytesIO(pages.page_png(path, page, box)))
    assert image.format == "PNG" and image.size == (1190, 1684)  # A4 at 2 × 72 dpi
    # The outline runs just outside the box: red there, not on a plain page without it.
    x, y = round(box[0] * 2) - 3, round(box[1] + box[3])
    assert image.getpixel((x, y))[:3] == (220, 30, 30)
    plain = Image.open(io.BytesIO(pages.page_png(path, page)))
    assert plain.getpixel((x, y))[:3] != (220, 30, 30)


def test_documents_without_pages_have_no_box(extract_text):
    record = extract_text(shared_path("realdocs", "kewei_2024.md").read_text(encoding="utf-8"))
    assert record["page_starts"] is None
    assert all(pages.span_box(record, key) is None for key in record["fields"])


def _mixed(tmp_path, text_pdf, scan, scanned_pages: list[int]):
    """A PDF whose pages come from the text PDF, except ``scanned_pages`` (1-based), taken
    from its scan: part text layer, part image."""
    import pypdfium2

    out = pypdfium2.PdfDocument.new()
    text, image = pypdfium2.PdfDocument(str(text_pdf)), pypdfium2.PdfDocument(str(scan))
    for number in range(1, len(text) + 1):
        source = image if number in scanned_pages else text
        out.import_pages(source, [number - 1])
    path = tmp_path / "mixed.pdf"
    out.save(str(path))
    for pdf in (out, text, image):
        pdf.close()
    return path


@pytest.mark.skipif(not ocr.available(), reason="OCR 引擎不可用")
def test_a_mixed_pdf_is_read_page_by_page(tmp_path, scans):
    """Pages 1–3 of 洪泽 2023 with their text layer, pages 4–5 scanned: each read its way,
    every value right, and the record says which pages were OCR'd."""
    text_pdf = shared_path("realdocs", "hongze_2023.pdf")
    path = _mixed(tmp_path, text_pdf, scan_of(scans, "hongze_2023", "clean"), [4, 5])
    record = extract_file(path)
    printed = extract_file(text_pdf)
    assert record["status"] == "ok"
    assert "第 4、5 页没有文字层，已按扫描件 OCR 识读" in record["notes"]
    assert record["ocr"]["pages"] == 5 and record["ocr"]["pages_read"] == 2
    assert record["fields"] == printed["fields"]
    # Part 三 stands on the text layer (no OCR confidence); part 四 was read on page 4.
    assert "s3.granted.total" not in record["ocr"]["confidence"]
    assert record["ocr"]["boxes"]["s4.review.upheld"][0] == 4
    assert pages.span_box(record, "s3.granted.total")[0] == 3


def _image_pdf_with_text_layer(tmp_path, scan, words: str, invisible: bool):
    """Page 4 of a scan as a PDF page whose text layer is ``words`` (drawn invisible, as a
    scanner's OCR layer, or visible)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    image = render.page_image(scan, 4).image
    png = tmp_path / "page.png"
    image.save(png)
    path = tmp_path / "layered.pdf"
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas.Canvas(str(path), pagesize=(595, 842))
    pdf.drawImage(str(png), 0, 0, 595, 842)
    text = pdf.beginText(60, 700)
    text.setFont("STSong-Light", 11)
    text.setTextRenderMode(3 if invisible else 0)
    for line in words.splitlines():
        text.textLine(line)
    pdf.drawText(text)
    pdf.save()
    return path


@pytest.mark.skipif(not ocr.available(), reason="OCR 引擎不可用")
@pytest.mark.parametrize(
    ("words", "invisible", "note"),
    [
        (
            "三、收到和处理政府信息公开申请情况\n一、本年新收政府信息公开申请数量 3 0 0 1",
            True,
            "不可见",
        ),
        ("l1ll 0O0 lIl1 ABCD efgh ijkl mnop qrst uvwx\n" * 3, False, "乱码"),
    ],
)
def test_a_bad_text_layer_is_read_again_by_ocr(tmp_path, scans, words, invisible, note):
    """An invisible OCR layer under a scanned page, and a visible layer of letters without
    Chinese, are not read: the page's image is."""
    path = _image_pdf_with_text_layer(
        tmp_path, scan_of(scans, "huaian_2024", "clean"), words, invisible
    )
    record = extract_file(path)
    assert record["status"] == "ok"
    assert any(note in n and "OCR" in n for n in record["notes"])
    assert record["fields"]["s3.new_received.total"] == 3119
    assert record["ocr"]["confidence"]["s3.new_received.total"] > 0.9
