"""File → text with offsets: decode a report file into a ``SourceText``, and find the report
files named or held in folders (``iter_documents``)."""

from __future__ import annotations

import codecs
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import charset_normalizer

from . import docxtext, htmltext, ocr, pdftext, render
from .errors import (
    BinaryInput,
    EmptyInput,
    InputError,
    InputTooLarge,
    NoTextLayer,
    UndecodableInput,
    UnsupportedFormat,
)
from .limits import Limits
from .text import SourceText

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".text"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml", ".mhtml"})
WORD_SUFFIXES = frozenset({".docx", ".doc"})
REPORT_SUFFIXES = (
    TEXT_SUFFIXES | HTML_SUFFIXES | WORD_SUFFIXES | ocr.IMAGE_SUFFIXES | frozenset({".pdf"})
)

# Encodings charset-normalizer names for Chinese text; GB2312 and GBK files are decoded as
# GB18030, their superset, so a character outside GB2312 does not fail the whole file.
_CHINESE = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "gb18030": "gb18030",
    "big5": "big5",
    "big5hkscs": "big5hkscs",
    "hz": "hz",
}


@dataclass
class Loaded:
    path: str
    sha256: str
    source: SourceText
    page_starts: list[int] | None = None  # PDFs: where each page begins in the raw text
    ocr: ocr.OcrText | None = None  # scans: each raw character's box and confidence
    notes: list[str] = field(default_factory=list)  # what reading the file did (OCR'd pages)


def decode(data: bytes) -> str:
    """Bytes to text: BOMs honoured, UTF-8 first, else the encoding charset-normalizer finds."""
    if not data.strip():
        raise EmptyInput("文件为空")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UndecodableInput(f"文件标为 UTF-8 但第 {exc.start} 字节无法解码") from None
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise UndecodableInput("文件标为 UTF-16 但无法解码") from None
    if b"\x00" in data[:65536]:
        raise BinaryInput("二进制文件，不是文本（含 NUL 字节）")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise UndecodableInput("无法识别文件编码")
    encoding = _CHINESE.get(best.encoding.replace("-", "").lower(), best.encoding)
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise UndecodableInput(f"按 {encoding} 解码失败") from None


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")


def _looks_binary(text: str) -> bool:
    sample = text[:20000]
    return len(_CONTROL.findall(sample)) > max(8, len(sample) // 50)


def sha256_of(path: Path) -> str | None:
    """The file's content hash, or None when it cannot be read (its record says why)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def load(
    path: str | Path, limits: Limits | None = None, scans: ocr.OcrSettings | None = None
) -> Loaded:
    """Read one report file. Raises an ``InputError`` with a one-line reason. Scans (PDFs
    without a text layer, images) are read by OCR unless ``scans.mode`` is ``off``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in REPORT_SUFFIXES:
        raise UnsupportedFormat(f"不支持的文件类型 {suffix or '（无扩展名）'}")
    size = path.stat().st_size
    limits = limits or Limits()
    if size > limits.bytes:
        raise InputTooLarge(
            f"文件过大：{size / 1048576:.1f} MB，上限 {limits.bytes / 1048576:.0f} MB"
        )
    data = path.read_bytes()
    if not data.strip():
        raise EmptyInput("文件为空")
    sha256 = hashlib.sha256(data).hexdigest()
    scans = scans or ocr.OcrSettings()
    if suffix in ocr.IMAGE_SUFFIXES:
        if scans.mode == "off":
            raise NoTextLayer("图片没有文字层，需要 OCR（已用 --ocr off 关闭）")
        return _scanned(path, sha256, scans, limits)
    if suffix == ".pdf":
        if not data.startswith(b"%PDF"):
            raise UndecodableInput("不是有效的 PDF 文件")
        return _pdf(path, sha256, scans, limits)
    if suffix in WORD_SUFFIXES:
        text = docxtext.read_docx(path) if suffix == ".docx" else docxtext.read_doc(path)
        return Loaded(str(path), sha256, SourceText.from_text(text))
    text = decode(data)
    if _looks_binary(text):
        raise BinaryInput("文件内容不是文本（控制字符过多）")
    if suffix in HTML_SUFFIXES:
        rendered, offsets = htmltext.render(text)
        return Loaded(str(path), sha256, SourceText.from_rendered(text, rendered, offsets))
    return Loaded(str(path), sha256, SourceText.from_text(text))


def _scanned(path: Path, sha256: str, scans: ocr.OcrSettings, limits: Limits) -> Loaded:
    try:
        text = ocr.read(path, sha256, scans, limits)
    except InputError:
        raise
    except Exception as exc:  # the image libraries raise many types for a damaged file
        raise UndecodableInput(f"无法读取扫描件（{type(exc).__name__}）") from None
    return Loaded(str(path), sha256, SourceText.from_text(text.raw), text.page_starts, text)


_UNUSABLE = {
    "none": "没有文字层，已按扫描件 OCR 识读",
    "invisible": "的文字层不可见（扫描件下的旧 OCR 结果），已重新 OCR 识读",
    "garbage": "的文字层是乱码（没有中文），已改用 OCR 识读",
}


def _pages_named(numbers: list[int]) -> str:
    return "第 " + "、".join(map(str, numbers)) + " 页"


def _pdf(path: Path, sha256: str, scans: ocr.OcrSettings, limits: Limits) -> Loaded:
    """A PDF read page by page: its text layer where it has a usable one, OCR where not."""
    render.check(path, limits, pages=())  # the page count, before reading any page
    try:
        pages = pdftext.read_pages(path)
    except Exception as exc:  # pdfminer raises many types for a damaged file
        raise UndecodableInput(f"无法解析 PDF（{type(exc).__name__}）") from None
    unusable = [n for n, page in enumerate(pages, start=1) if page.unusable]
    if len(unusable) == len(pages) and all(p.unusable == "none" for p in pages):
        if scans.mode == "off":
            raise NoTextLayer(
                f"PDF 没有文字层（{len(pages)} 页几乎没有可提取的文字，可能是扫描件），"
                "需要先做 OCR（已用 --ocr off 关闭）"
            )
        return _scanned(path, sha256, scans, limits)
    notes: list[str] = []
    read: dict[int, ocr.OcrText] = {}
    pages_read = 0
    if unusable and scans.mode == "off":
        notes.append(f"{_pages_named(unusable)}没有可用的文字层，未做 OCR（已用 --ocr off 关闭）")
        unusable = [n for n in unusable if pages[n - 1].unusable != "none"]
    elif unusable:
        try:
            lines, pages_read = ocr.read_lines(path, sha256, scans, unusable, limits)
        except InputError:
            raise
        except Exception as exc:  # the image libraries raise many types for a damaged file
            raise UndecodableInput(f"无法读取扫描页（{type(exc).__name__}）") from None
        read = {n: ocr.layout([lines[n]]) for n in unusable}
        for reason, why in _UNUSABLE.items():
            named = [n for n in unusable if pages[n - 1].unusable == reason]
            if named:
                notes.append(f"{_pages_named(named)}{why}")
    return _joined(path, sha256, pages, read, pages_read, notes)


def _joined(path, sha256, pages, read, pages_read, notes) -> Loaded:
    """The pages' texts joined by newlines: text layers as pdfplumber gives them, OCR'd
    pages as their lines; each OCR'd character keeps its box and confidence."""
    raw: list[str] = []
    rendered: list[tuple[str, int]] = []
    boxes: list = []
    confidence: list = []
    page_starts: list[int] = []
    base = 0
    for number, page in enumerate(pages, start=1):
        page_starts.append(base)
        scanned = read.get(number)
        text = scanned.raw if scanned is not None else page.raw
        if scanned is not None:
            rendered.extend((ch, base + i) for i, ch in enumerate(text))
            rendered.append(("\n", base + len(text)))
            boxes.extend(scanned.boxes)
            confidence.extend(scanned.confidence)
        else:
            rendered.extend((ch, base + offset) for ch, offset in page.rendered)
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
    if read:
        scan = ocr.OcrText(whole, page_starts, boxes, confidence, len(pages), pages_read)
    return Loaded(str(path), sha256, source, page_starts, scan, notes)


def iter_documents(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files as named, and report files found in folders (recursively, in sorted order)."""
    for path in map(Path, paths):
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    candidate = Path(root) / name
                    if candidate.suffix.lower() in REPORT_SUFFIXES:
                        yield candidate
        else:
            yield path
