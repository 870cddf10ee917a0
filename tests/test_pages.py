"""Page evidence: a value's span mapped to its page and box, and the page drawn with it."""

from __future__ import annotations

import io

from PIL import Image

from gouji import pages
from gouji.pipeline import extract_file

from conftest import shared_path


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
