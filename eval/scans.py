"""Scans made at run time from PDFs with a text layer: each page rendered to an image (as a
scanner would), optionally blurred, tilted and JPEG-compressed, and saved as an image-only
PDF. Nothing scanned is committed; the same inputs give the same bytes, so the OCR page
cache (keyed by content) serves a second run.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pypdfium2
from PIL import Image, ImageFilter

# The two ways the eval's ``scanned`` set and the tests scan each real PDF.
VARIANTS: dict[str, dict] = {
    "scan_clean": {"dpi": 144},
    "scan_degraded": {"dpi": 144, "blur": 0.8, "tilt": 0.6, "jpeg_quality": 40},
}
# PIL stamps a PDF with the time it was written; a fixed stamp keeps the bytes the same.
_STAMP = time.strptime("2024-01-01", "%Y-%m-%d")


def make_scan(
    source: Path,
    out: Path,
    dpi: int = 144,
    blur: float = 0.0,
    tilt: float = 0.0,
    jpeg_quality: int | None = None,
) -> Path:
    """Write ``source`` as an image-only PDF: pages rendered at ``dpi`` in grey, blurred by
    a Gaussian of radius ``blur`` pixels, turned ``tilt`` degrees, JPEG-compressed at
    ``jpeg_quality`` (else losslessly stored)."""
    pages = []
    pdf = pypdfium2.PdfDocument(str(source))
    try:
        for page in pdf:
            image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            if blur:
                image = image.filter(ImageFilter.GaussianBlur(blur))
            if tilt:
                image = image.rotate(tilt, resample=Image.Resampling.BICUBIC, fillcolor=255)
            if jpeg_quality is not None:
                buffer = io.BytesIO()
                image.save(buffer, format="JPEG", quality=jpeg_quality)
                image = Image.open(buffer)
            pages.append(image)
    finally:
        pdf.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    pages[0].save(
        out,
        format="PDF",
        save_all=True,
        append_images=pages[1:],
        resolution=dpi,
        quality=jpeg_quality or 95,
        creationDate=_STAMP,
        modDate=_STAMP,
    )
    return out


def scan_all(sources: list[Path], folder: Path) -> list[tuple[Path, Path, str]]:
    """Every source in every variant: (source, scan, variant)."""
    made = []
    for source in sources:
        for variant, options in VARIANTS.items():
            scan = folder / f"{source.stem}.{variant}.pdf"
            if not scan.exists():
                make_scan(source, scan, **options)
            made.append((source, scan, variant))
    return made
