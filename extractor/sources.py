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

from . import docxtext, htmltext, ocr, pdfpages
from .errors import (
    BinaryInput,
    EmptyInput,
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
    text = pdfpages.scanned(path, sha256, scans, limits)
    return Loaded(str(path), sha256, SourceText.from_text(text.raw), text.page_starts, text)


def _pdf(path: Path, sha256: str, scans: ocr.OcrSettings, limits: Limits) -> Loaded:
    read = pdfpages.read(path, sha256, scans, limits)
    return Loaded(str(path), sha256, read.source, read.page_starts, read.ocr, read.notes)


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
