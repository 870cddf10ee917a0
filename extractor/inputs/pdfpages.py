"""A PDF read page by page: its text layer where a page has a usable one (``pdftext``), OCR
where it has none, or one not to be trusted (``ocr``); and scans read by OCR.

A page's text layer is not read when it has next to no text (a scan), when it is all drawn
invisible (the OCR a scanner laid under its image: nothing vouches for its digits, so gouji
reads the image itself, with its own confidences), or when it is garbage (letters and no
Chinese, as a font without its character map gives). The record's notes say which pages were
read by OCR and why. The document's text is its pages joined by newlines either way, and an
OCR'd character keeps its box and confidence, so a mixed PDF's values map to their pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, NoTextLayer, UndecodableInput
from ..limits import Limits
from . import ocr, pdftext, render
from .text import SourceText

_WHY = {
    "none": "没有文字层，已按扫描件 OCR 识读",
    "invisible": "的文字层不可见（扫描件下的旧 OCR 结果），已重新 OCR 识读",
    "garbage": "的文字层是乱码（没有中文），已改用 OCR 识读",
}


@dataclass
class PdfRead:
    source: SourceText
    page_starts: list[int]
    ocr: ocr.OcrText | None = None  # when any page was read by OCR
    notes: list[str] = field(default_factory=list)


def scanned(path: Path, sha256: str, scans: ocr.OcrSettings, limits: Limits) -> ocr.OcrText:
    """A scan (an image, or a PDF of images) read by OCR."""
    try:
        return ocr.read(path, sha256, scans, limits)
    except InputError:
        raise
    except Exception as exc:  # the image libraries raise many types for a damaged file
        raise UndecodableInput(f"无法读取扫描件（{type(exc).__name__}）") from None


def _named(numbers: list[int]) -> str:
    return "第 " + "、".join(map(str, numbers)) + " 页"


def read(path: Path, sha256: str, scans: ocr.OcrSettings, limits: Limits) -> PdfRead:
    """Read a PDF, each page its way. Raises an ``InputError`` (too many pages, locked,
    damaged, no text even by OCR, OCR off for a scan)."""
    render.check(path, limits, pages=())  # the page count, before reading any page
    try:
        pages = pdftext.read_pages(path)
    except Exception as exc:  # pdfminer raises many types for a damaged file
        raise UndecodableInput(f"无法解析 PDF（{type(exc).__name__}）") from None
    unusable = [n for n, page in enumerate(pages, start=1) if page.unusable]
    if all(page.unusable == "none" for page in pages):
        if scans.mode == "off":
            raise NoTextLayer(
                f"PDF 没有文字层（{len(pages)} 页几乎没有可提取的文字，可能是扫描件），"
                "需要先做 OCR（已用 --ocr off 关闭）"
            )
        text = scanned(path, sha256, scans, limits)
        return PdfRead(SourceText.from_text(text.raw), text.page_starts, text)
    notes: list[str] = []
    read_by_ocr: dict[int, ocr.OcrText] = {}
    pages_read = 0
    if unusable and scans.mode == "off":
        notes.append(f"{_named(unusable)}没有可用的文字层，未做 OCR（已用 --ocr off 关闭）")
    elif unusable:
        try:
            lines, pages_read = ocr.read_lines(path, sha256, scans, unusable, limits)
        except InputError:
            raise
        except Exception as exc:  # the image libraries raise many types for a damaged file
            raise UndecodableInput(f"无法读取扫描页（{type(exc).__name__}）") from None
        read_by_ocr = {n: ocr.layout([lines[n]]) for n in unusable}
        for reason, why in _WHY.items():
            named = [n for n in unusable if pages[n - 1].unusable == reason]
            if named:
                notes.append(f"{_named(named)}{why}")
    return _joined(pages, read_by_ocr, pages_read, notes)


def _joined(
    pages: list[pdftext.PdfPage], read_by_ocr: dict[int, ocr.OcrText], pages_read: int, notes
) -> PdfRead:
    """The pages' texts joined by newlines: text layers as pdfplumber gives them (the reader
    seeing their ruled tables on their grid), OCR'd pages as their lines."""
    raw: list[str] = []
    rendered: list[tuple[str, int]] = []
    boxes: list = []
    confidence: list = []
    page_starts: list[int] = []
    base = 0
    for number, page in enumerate(pages, start=1):
        page_starts.append(base)
        scan = read_by_ocr.get(number)
        if scan is not None:
            text = scan.raw
            rendered.extend((ch, base + i) for i, ch in enumerate(text))
            rendered.append(("\n", base + len(text)))
            boxes.extend(scan.boxes)
            confidence.extend(scan.confidence)
        else:
            text = "" if page.unusable else page.raw  # unread with --ocr off
            rendered.extend(
                (ch, base + offset) for ch, offset in ([] if page.unusable else page.rendered)
            )
            boxes.extend([None] * len(text))
            confidence.extend([None] * len(text))
        raw.append(text)
        base += len(text) + 1
        boxes.append(None)
        confidence.append(None)
    whole = "\n".join(raw)
    if len("".join(whole.split())) < pdftext.MIN_PAGE_TEXT * len(pages):
        raise NoTextLayer(
            f"PDF 没有文字层（{len(pages)} 页几乎没有可提取的文字，可能是扫描件），需要先做 OCR"
        )
    source = SourceText.from_rendered(
        whole, "".join(c for c, _ in rendered), [o for _, o in rendered]
    )
    scan = None
    if read_by_ocr:
        scan = ocr.OcrText(whole, page_starts, boxes, confidence, len(pages), pages_read)
    return PdfRead(source, page_starts, scan, notes)
