"""Pages drawn for OCR: each bound of ``Limits`` checked before anything is drawn, locked PDFs
and image bombs given their own codes, and a scan drawn at its own resolution."""

from __future__ import annotations

import struct
import zlib

import pytest

from gouji.inputs import render
from gouji.limits import Limits
from gouji.running.pipeline import extract_file
from gouji.running.settings import Settings
from gouji_eval.scans import make_scan

from conftest import shared_path


def _pdf(pages: list[str]) -> bytes:
    """A PDF of blank pages, each given by its MediaBox, with a correct cross-reference."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{n + 3} 0 R" for n in range(len(pages)))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects += [f"<< /Type /Page /Parent 2 0 R /MediaBox [{box}] >>".encode() for box in pages]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj " % number + body + b" endobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % at for at in offsets)
    out += b"trailer << /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@pytest.fixture
def no_drawing(monkeypatch):
    """Any page drawn fails the test: a bound must refuse the document before."""

    def refuse(*args, **kwargs):
        raise AssertionError("a page was drawn")

    monkeypatch.setattr(render, "page_image", refuse)


def test_one_page_of_200_inches_is_refused_before_it_is_drawn(tmp_path, no_drawing):
    path = tmp_path / "huge.pdf"
    path.write_bytes(_pdf(["0 0 14400 14400"]))
    assert len(path.read_bytes()) < 600
    record = extract_file(path)
    assert record["status"] == "failed"
    assert record["error"].startswith("input.too_many_pixels: 第 1 页绘制后 40000×40000 像素")


def test_fifty_thousand_pages_are_refused_by_their_count(tmp_path, no_drawing):
    path = tmp_path / "pages.pdf"
    path.write_bytes(_pdf(["0 0 612 792"] * 50_000))
    record = extract_file(path)
    assert record["error"] == "input.too_many_pages: 共 50000 页，上限 300 页"


def test_the_document_s_pixels_are_bounded_together(tmp_path, no_drawing):
    path = tmp_path / "many.pdf"
    path.write_bytes(_pdf(["0 0 612 792"] * 40))  # 40 letter pages at 200 dpi: 150 M pixels
    settings = Settings(limits=Limits(document_pixels=100_000_000))
    record = extract_file(path, settings)
    assert record["error"].startswith("input.too_many_pixels: 各页绘制后共超过 100000000 像素")


def test_a_tiff_of_3000_frames_is_refused_by_its_count(tmp_path, no_drawing):
    from PIL import Image

    frames = [Image.new("L", (8, 8), 255) for _ in range(3000)]
    path = tmp_path / "frames.tif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    record = extract_file(path)
    assert record["error"] == "input.too_many_pages: 共 3000 页，上限 300 页"


def _png(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height`` pixels, with (almost) no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [9_000, 40_000])
def test_an_image_bomb_is_refused_by_its_pixels(tmp_path, no_drawing, side):
    """9,000² is past gouji's bound (60 M), 40,000² past Pillow's own bomb check too."""
    path = tmp_path / "bomb.png"
    path.write_bytes(_png(side, side))
    record = extract_file(path)
    assert record["status"] == "failed"
    assert record["error"].startswith("input.too_many_pixels:")


def test_a_locked_pdf_says_so(tmp_path):
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    path = tmp_path / "locked.pdf"
    pdf = canvas.Canvas(str(path), encrypt=pdfencrypt.StandardEncryption("secret", "owner"))
    pdf.drawString(72, 720, "2024 annual report")
    pdf.save()
    record = extract_file(path)
    assert record["error"] == "input.encrypted: PDF 已加密，需要密码才能打开"


def test_a_scan_is_drawn_at_its_own_resolution(tmp_path):
    source = shared_path("realdocs", "hongze_2024.pdf")
    for dpi in (150, 300):
        scan = make_scan(source, tmp_path / f"scan{dpi}.pdf", "clean", dpi)
        drawn = render.page_image(scan, 2)
        assert drawn.dpi == pytest.approx(dpi, abs=0.5)
        assert drawn.image.width == pytest.approx(595 * dpi / 72, abs=2)
    # A page with no image is drawn at 200 dpi; a vision witness may ask for another.
    assert render.page_image(source, 1).dpi == render.NO_IMAGE_DPI
    assert render.page_image(source, 1, dpi=100).image.width == pytest.approx(827, abs=2)
