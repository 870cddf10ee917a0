"""File → text with offsets: decode a report file into a ``SourceText`` (which files a run
reads, and their hashes, is ``discover``'s)."""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer

from . import docxtext, htmltext, ocr, pdftext
from .errors import (
    BinaryInput,
    EmptyInput,
    NoTextLayer,
    OcrUnavailable,
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


def load(
    path: str | Path,
    limits: Limits | None = None,
    scans: ocr.OcrSettings | None = None,
    sha256: str | None = None,
) -> Loaded:
    """Read one report file. Raises an ``InputError`` with a one-line reason. Scans (PDFs
    without a text layer, images) are read by OCR unless ``scans.mode`` is ``off``.
    ``sha256``: the content's hash when the caller has it (a run hashes each file once)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in REPORT_SUFFIXES:
        raise UnsupportedFormat(f"不支持的文件类型 {suffix or '（无扩展名）'}")
    (limits or Limits()).check_bytes(path.stat().st_size)
    data = path.read_bytes()
    if not data.strip():
        raise EmptyInput("文件为空")
    sha256 = sha256 or hashlib.sha256(data).hexdigest()
    scans = scans or ocr.OcrSettings()
    if suffix in ocr.IMAGE_SUFFIXES:
        if scans.mode == "off":
            raise NoTextLayer("图片没有文字层，需要 OCR（已用 --ocr off 关闭）")
        return _scanned(path, sha256, scans)
    if suffix == ".pdf":
        if not data.startswith(b"%PDF"):
            raise UndecodableInput("不是有效的 PDF 文件")
        try:
            pdf = pdftext.read(path)
        except NoTextLayer as exc:
            if scans.mode == "off":
                raise NoTextLayer(f"{exc.message}（已用 --ocr off 关闭）") from None
            return _scanned(path, sha256, scans)
        except Exception as exc:  # pdfminer raises many types for a damaged file
            raise UndecodableInput(f"无法解析 PDF（{type(exc).__name__}）") from None
        source = SourceText.from_rendered(pdf.raw, pdf.rendered, pdf.to_raw)
        return Loaded(str(path), sha256, source, pdf.page_starts)
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


def _scanned(path: Path, sha256: str, scans: ocr.OcrSettings) -> Loaded:
    try:
        text = ocr.read(path, sha256, scans)
    except (OcrUnavailable, NoTextLayer):
        raise
    except Exception as exc:  # the image libraries raise many types for a damaged file
        raise UndecodableInput(f"无法读取扫描件（{type(exc).__name__}）") from None
    return Loaded(str(path), sha256, SourceText.from_text(text.raw), text.page_starts, text)
