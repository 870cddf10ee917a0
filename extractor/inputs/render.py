"""Pages as images: a PDF's page or an image file's frame drawn at the scan's own resolution,
after its bounds are checked (``limits.Limits``: pages, one page's pixels, the document's).

A scanned PDF page is drawn at the resolution of the image it holds (a page scanned at
300 dpi is read at 300 dpi, not at a fixed scale), between 100 and 400 dpi; a page with no
image at 200 dpi. An image file is read at its own pixels; its resolution is what it says
(``dpi``), or, when it says nothing plausible, what an A4 page of its width would have.

``page_image`` is the one way gouji draws a page: OCR, the review app's page view and a
vision witness call it. Boxes on a PDF page are in PDF points, on an image in its pixels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import EncryptedInput, TooManyPages, TooManyPixels, UndecodableInput
from ..limits import Limits

NO_IMAGE_DPI = 200.0
DPI_RANGE = (100.0, 400.0)
_A4_INCHES = 8.27


@dataclass
class Drawn:
    """A drawn page: the image, its resolution (pixels an inch) and pixels per page unit."""

    image: object  # PIL.Image.Image, RGB
    dpi: float
    per_unit: float

    def pixels(self):
        import numpy as np

        return np.asarray(self.image)


def is_pdf(path: Path) -> bool:
    return path.suffix.lower() == ".pdf"


def _open_pdf(path: Path):
    import pypdfium2

    try:
        return pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise EncryptedInput("PDF 已加密，需要密码才能打开") from None
        raise UndecodableInput(f"无法解析 PDF（{exc}）") from None


def _open_image(path: Path):
    from PIL import Image

    try:
        return Image.open(path)
    except Image.DecompressionBombError:
        raise TooManyPixels("图片像素过多（疑似解压炸弹）") from None


def page_count(path: Path) -> int:
    """Pages of a PDF, frames of an image."""
    if is_pdf(path):
        pdf = _open_pdf(path)
        try:
            return len(pdf)
        finally:
            pdf.close()
    with _open_image(path) as image:
        return getattr(image, "n_frames", 1)


def _pdf_dpi(page) -> float:
    """The resolution of the largest image a PDF page holds (``NO_IMAGE_DPI`` without one)."""
    import pypdfium2.raw as pdfium_c

    best, dpi = 0.0, NO_IMAGE_DPI
    for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=2):
        left, bottom, right, top = obj.get_bounds()
        width, height = obj.get_px_size()
        area = (right - left) * (top - bottom)
        if area > best and right > left and top > bottom:
            best = area
            dpi = max(width / ((right - left) / 72), height / ((top - bottom) / 72))
    return min(max(dpi, DPI_RANGE[0]), DPI_RANGE[1])


def _image_dpi(image) -> float:
    stated = image.info.get("dpi")
    if stated and DPI_RANGE[0] <= float(stated[0]) <= 1200:
        return float(stated[0])
    return min(max(image.width / _A4_INCHES, DPI_RANGE[0]), 600.0)


def check(path: Path, limits: Limits, pages: Iterable[int] | None = None) -> None:
    """Refuse, before any drawing, a document with more pages than ``limits.pages``, a page
    (of ``pages``, 1-based; default all) that would draw to more than ``limits.page_pixels``,
    or pages that would together draw to more than ``limits.document_pixels``."""
    total = page_count(path)
    if total > limits.pages:
        raise TooManyPages(f"共 {total} 页，上限 {limits.pages} 页")
    wanted = list(pages) if pages is not None else range(1, total + 1)
    document = 0
    for number in wanted:
        width, height = _size(path, number)
        pixels = width * height
        if pixels > limits.page_pixels:
            raise TooManyPixels(
                f"第 {number} 页绘制后 {width}×{height} 像素，上限 {limits.page_pixels} 像素"
            )
        document += pixels
        if document > limits.document_pixels:
            raise TooManyPixels(f"各页绘制后共超过 {limits.document_pixels} 像素的上限")


def _size(path: Path, number: int) -> tuple[int, int]:
    """The pixels page ``number`` would draw to (an image's frame: its own)."""
    if is_pdf(path):
        pdf = _open_pdf(path)
        try:
            page = pdf[number - 1]
            scale = _pdf_dpi(page) / 72
            width, height = page.get_size()
            return round(width * scale), round(height * scale)
        finally:
            pdf.close()
    with _open_image(path) as image:
        image.seek(number - 1)
        return image.width, image.height  # decoded whole, whatever it is drawn at


def _image_scale(image) -> float:
    """Pixels drawn per pixel of an image: a scan finer than 400 dpi is read at 300."""
    dpi = _image_dpi(image)
    return 300 / dpi if dpi > DPI_RANGE[1] else 1.0


def page_image(path: str | Path, number: int, dpi: float | None = None) -> Drawn:
    """Page ``number`` (1-based) of a PDF or image file drawn in RGB, at ``dpi`` or at the
    scan's own resolution. Check the bounds first (``check``)."""
    path = Path(path)
    if is_pdf(path):
        pdf = _open_pdf(path)
        try:
            page = pdf[number - 1]
            dpi = dpi or _pdf_dpi(page)
            image = page.render(scale=dpi / 72).to_pil().convert("RGB")
        finally:
            pdf.close()
        return Drawn(image, dpi, dpi / 72)
    with _open_image(path) as opened:
        opened.seek(number - 1)
        own = _image_dpi(opened)
        scale = (dpi / own) if dpi else _image_scale(opened)
        image = opened.convert("RGB")
    if scale != 1.0:
        image = image.resize((round(image.width * scale), round(image.height * scale)))
    return Drawn(image, own * scale, scale)
