"""Evidence for a reviewer: where a value stands on its page, and that page as an image.

A record's spans index the document's raw text; for a PDF that text is its pages joined by
newlines and ``page_starts`` says where each begins, so a span maps to a page and, through
the characters' geometry, to a box. Pages are numbered from 1 (as claims' ``page``); boxes
are ``(x0, top, x1, bottom)`` in PDF points, or in pixels for an image file.
"""

from __future__ import annotations

import io
from bisect import bisect_right
from functools import lru_cache
from pathlib import Path

import pdfplumber
from PIL import ImageDraw

from . import ocr, pdftext, render

Box = ocr.Box


def span_box(record: dict, key: str) -> tuple[int, Box] | None:
    """The page (1-based) and the box of the value's characters, or ``None`` when the
    record has no span for ``key`` or the document has no pages (text, HTML, Word)."""
    scan = record.get("ocr")
    where = (scan or {}).get("boxes", {}).get(key)
    if where:  # a value read by OCR carries its box
        return where[0], tuple(where[1:])
    span = (record.get("spans") or {}).get(key)
    starts = record.get("page_starts")
    if not span or not starts or span[1] <= span[0] or not render.is_pdf(Path(record["document"])):
        return None
    page = bisect_right(starts, span[0])
    first = starts[page - 1]
    boxes = _page_boxes(record["document"], page)
    inside = [b for b in boxes[span[0] - first : span[1] - first] if b is not None]
    return (page, ocr.union(inside)) if inside else None


@lru_cache(maxsize=16)
def _page_boxes(path: str, page: int) -> list[Box | None]:
    """Each character's box on one page, by its offset in that page's raw text."""
    with pdfplumber.open(path) as pdf:
        lines, placed = pdftext.page_chars(pdf.pages[page - 1])
    boxes: list[Box | None] = [None] * (sum(len(line["text"]) + 1 for line in lines))
    for offset, char in placed:
        boxes[offset] = (char["x0"], char["top"], char["x1"], char["bottom"])
    return boxes


def page_png(
    path: str | Path, page: int, box: Box | None = None, scale: float | None = None
) -> bytes:
    """Page ``page`` (1-based) of a PDF or image file as PNG bytes, with ``box`` outlined.
    ``scale`` is pixels per PDF point (default 2) or per image pixel (default 1)."""
    path = Path(path)
    if render.is_pdf(path):
        scale = 2.0 if scale is None else scale
        image = render.page_image(path, page, dpi=72 * scale).image
    else:
        scale = 1.0 if scale is None else scale
        drawn = render.page_image(path, page)
        image = drawn.image
        if scale != drawn.per_unit:
            size = (
                round(image.width * scale / drawn.per_unit),
                round(image.height * scale / drawn.per_unit),
            )
            image = image.resize(size)
    if box is not None:
        pad = 2 * scale
        x0, top, x1, bottom = (v * scale for v in box)
        ImageDraw.Draw(image).rectangle(
            (x0 - pad, top - pad, x1 + pad, bottom + pad),
            outline=(220, 30, 30),
            width=max(2, round(1.5 * scale)),
        )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
