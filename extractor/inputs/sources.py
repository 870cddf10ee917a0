"""File → text with offsets: ``load`` reads one report file with the reader its format names
(``formats``, the one table of input formats); which files a run reads, and their hashes, is
``discover``'s. The readers of plain text (``read_text``: encodings, bad bytes, control
characters) and of PDFs and scans (``read_pdf``, ``read_image``: the text layer, else OCR) are
here; HTML's is ``htmltext.read``, Word's ``docxtext.read_docx``/``read_doc``."""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import charset_normalizer

from ..errors import (
    BinaryInput,
    EmptyInput,
    NoTextLayer,
    UndecodableInput,
)
from ..limits import Limits
from . import formats, ocr, pdfpages
from .formats import Loaded, Reading
from .text import CONTROL, SourceText

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
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# A byte no encoding explains is kept as a lone surrogate by ``surrogateescape``; real text
# never holds one.
_ESCAPED = re.compile("[\udc80-\udcff]")
# In every ASCII-compatible encoding a report comes in (UTF-8, GB18030, Big5) a control byte
# is a control character, so the test for binary content runs on the bytes before decoding.
_CONTROL_BYTES = bytes(b for b in range(128) if CONTROL.match(chr(b)))


def _refuse_binary(controls: int, size: int) -> None:
    """One rule over the whole file: control characters past one in fifty (and more than
    eight) make it binary; fewer are damage in a text, which is read with them blanked."""
    if controls > max(8, size // 50):
        raise BinaryInput(f"二进制文件，不是文本（{controls} 个控制字符）")


def _decode(data: bytes, encoding: str) -> tuple[str, int] | None:
    """``data`` in ``encoding``, each byte that does not decode kept as a lone surrogate, and
    how many there are; None when the encoding is unknown or more than a few bytes (one in
    2,000, at least eight) break."""
    try:
        return data.decode(encoding), 0
    except LookupError:
        return None
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode(encoding, "surrogateescape")
        bad = len(_ESCAPED.findall(text))
    except UnicodeDecodeError:  # a wide encoding's error, which surrogateescape cannot carry
        text = data.decode(encoding, "replace")
        bad = text.count("\ufffd")
    return (text, bad) if bad <= max(8, len(data) // 2000) else None


def _detected(data: bytes) -> str | None:
    """The encoding charset-normalizer finds, by Python's name for it."""
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        return None
    name = best.encoding.replace("-", "").replace("_", "").lower()
    return codecs.lookup(_CHINESE.get(name, best.encoding)).name


def _candidates(data: bytes) -> Iterator[str | None]:
    yield "utf-8"  # first: a GB18030 report breaks it at nearly every Chinese character
    yield _detected(data)
    yield "gb18030"  # the reports' own, which detection gives up on when a byte breaks it


def _guess(data: bytes) -> tuple[str, int, str]:
    """Text without a BOM, the number of bytes that decode in no encoding, and the encoding:
    the first that decodes it whole; else, if a few bytes break every one, the encoding the
    rest of the file is written in."""
    tries: dict[str, tuple[str, int]] = {}
    for encoding in _candidates(data):
        if encoding and encoding not in tries and (decoded := _decode(data, encoding)):
            if decoded[1] == 0:
                return (*decoded, encoding)
            tries[encoding] = decoded
    if not tries:
        raise UndecodableInput("无法识别文件编码")
    encoding = min(tries, key=lambda e: tries[e][1])
    # The encoding that breaks least may only be a compatible one (Big5 text reads as
    # GB18030): the bytes that remain once the broken ones are cut say which it is.
    rest = _ESCAPED.sub("", tries[encoding][0]).encode(encoding, "replace")
    found = _detected(rest)
    if found and found != encoding and (decoded := _decode(data, found)):
        return (*decoded, found)
    return (*tries[encoding], encoding)


def decode(data: bytes) -> tuple[str, list[str]]:
    """Bytes to text, and notes on what was mended: BOMs honoured, UTF-8 first, else the
    encoding charset-normalizer finds; a few bytes that decode in no encoding become U+FFFD
    (a note says how many) rather than losing the report; a binary file is refused. Control
    characters stay in the text (``SourceText`` blanks them, offsets unchanged; a note says
    so)."""
    if not data.strip():
        raise EmptyInput("文件为空")
    bom = next(((b, e) for b, e in _BOMS if data.startswith(b)), None)
    if bom is None:
        _refuse_binary(len(data) - len(data.translate(None, _CONTROL_BYTES)), len(data))
        text, bad, encoding = _guess(data)
    else:
        encoding = bom[1]
        decoded = _decode(data[len(bom[0]) :], encoding)
        if decoded is None:
            raise UndecodableInput(f"文件标为 {encoding.upper()} 但无法解码")
        text, bad = decoded
        _refuse_binary(len(CONTROL.findall(text)), len(text))
    notes = []
    if bad:
        text = _ESCAPED.sub("\ufffd", text)
        first = text.index("\ufffd")
        notes.append(
            f"文件有 {bad} 个字节无法按 {encoding.upper()} 解码，已换成 �（第一处在第 {first} 个字符），其余照常读取"
        )
    blanked = sum(1 for ch in CONTROL.findall(text) if ch not in "\x0b\x0c")
    if blanked:
        notes.append(f"文件有 {blanked} 个控制字符（如 NUL），已按空格读取，位置不变")
    return text, notes


def load(
    path: str | Path,
    limits: Limits | None = None,
    scans: ocr.OcrSettings | None = None,
    sha256: str | None = None,
) -> Loaded:
    """Read one report file with its format's reader. Raises an ``InputError`` with a
    one-line reason. Scans (PDFs without a text layer, images) are read by OCR unless
    ``scans.mode`` is ``off``. ``sha256``: the content's hash when the caller has it (a run
    hashes each file once)."""
    path = Path(path)
    fmt = formats.of(path)
    limits = limits or Limits()
    limits.check_bytes(path.stat().st_size)
    data = path.read_bytes()
    if not data.strip():
        raise EmptyInput("文件为空")
    sha256 = sha256 or hashlib.sha256(data).hexdigest()
    return fmt.reader()(Reading(path, data, sha256, fmt, limits, scans or ocr.OcrSettings()))


def read_text(reading: Reading) -> Loaded:
    """Plain text and Markdown."""
    text, notes = decode(reading.data)
    return reading.loaded(SourceText.from_text(text), notes=notes)


def read_pdf(reading: Reading) -> Loaded:
    """A PDF read page by page (``pdfpages``): the text layer where a page has a usable one,
    OCR where it has none or one not to be trusted."""
    if not reading.data.startswith(b"%PDF"):
        raise UndecodableInput("不是有效的 PDF 文件")
    pdf = pdfpages.read(reading.path, reading.sha256, reading.scans, reading.limits)
    return reading.loaded(pdf.source, pdf.page_starts, pdf.ocr, pdf.notes)


def read_image(reading: Reading) -> Loaded:
    """A scanned page (or pages: a multi-frame TIFF), read by OCR."""
    if reading.scans.mode == "off":
        raise NoTextLayer("图片没有文字层，需要 OCR（已用 --ocr off 关闭）")
    return _scanned(reading)


def _scanned(reading: Reading) -> Loaded:
    text = pdfpages.scanned(reading.path, reading.sha256, reading.scans, reading.limits)
    return reading.loaded(SourceText.from_text(text.raw), text.page_starts, text)
