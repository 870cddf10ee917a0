"""Word documents to text: paragraphs as lines, tables as tab-separated rows of their cells.

A merged cell is written once, in its first grid position, as HTML's rowspan/colspan are.
``.doc`` files are converted to ``.docx`` with LibreOffice when it is installed.

A ``.docx`` is a zip: before python-docx inflates anything, the members' declared sizes must
fit ``limits.inflated_bytes``, and since a zip's directory can lie, each member is then
inflated once while its bytes are counted, stopping as soon as the bound is passed. A
table's cells (a horizontal span counted for every column it covers) are counted against
``limits.cells`` before any row is laid out, and rows are laid out from the XML in one pass.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
import zipfile
import zlib
from pathlib import Path

import docx
from docx.text.paragraph import Paragraph

from ..errors import TooLargeInflated, UndecodableInput, UnsupportedFormat
from ..limits import MIB, Limits
from .formats import Loaded, Reading
from .text import SourceText

_CHUNK = 1 << 16
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature … file name length, extra field length


def _too_large(limit: int, how: str) -> TooLargeInflated:
    return TooLargeInflated(f"Word 文档{how}超过上限 {limit / MIB:.0f} MB")


def _inflated(archive: zipfile.ZipFile, member: zipfile.ZipInfo, budget: int) -> int:
    """The bytes ``member`` inflates to, counted as they come and not past ``budget``: a
    deflated member is inflated from its raw data, whatever size the directory declares."""
    if member.compress_type != zipfile.ZIP_DEFLATED:
        total = 0
        with archive.open(member) as stream:  # zipfile stops at the declared size
            while chunk := stream.read(_CHUNK):
                total += len(chunk)
                if total > budget:
                    break
        return total
    raw = archive.fp
    raw.seek(member.header_offset)
    signature, name, extra = _LOCAL_HEADER.unpack(raw.read(_LOCAL_HEADER.size))
    if signature != b"PK\x03\x04":
        raise zipfile.BadZipFile("bad local file header")
    raw.seek(member.header_offset + _LOCAL_HEADER.size + name + extra)
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    total, left = 0, member.compress_size
    while left > 0 and not inflater.eof and total <= budget:
        data = raw.read(min(_CHUNK, left))
        if not data:
            break
        left -= len(data)
        while total <= budget:  # at most a chunk at a time, however much the data holds
            out = inflater.decompress(data, _CHUNK)
            total += len(out)
            data = inflater.unconsumed_tail
            if not data and len(out) < _CHUNK:
                break
    return total


def _check_inflation(path: Path, limit: int) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if sum(m.file_size for m in members) > limit:
                raise _too_large(limit, "各部分申报的解压后大小")
            total = 0
            for member in members:
                total += _inflated(archive, member, limit - total)
                if total > limit:
                    raise _too_large(limit, "实际解压后（大于其申报的大小）")
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, struct.error) as exc:
        raise UndecodableInput(f"无法打开 Word 文档（{type(exc).__name__}）") from None


def _span(tc) -> int:
    return max(1, tc.grid_span)


def _table_lines(table, parent) -> list[str]:
    """A table's rows as tab-separated cells: a horizontal span's text in its first column,
    a vertical span's in its first row, the positions they cover blank."""
    lines: list[str] = []
    for tr in table.tr_lst:
        cells: list[str] = []
        for tc in tr.tc_lst:
            span = _span(tc)
            if tc.vMerge == "continue" and lines:
                cells += [""] * span  # the rest of a cell merged down from the row above
                continue
            paragraphs = (Paragraph(p, parent).text.strip() for p in tc.p_lst)
            cells.append(" ".join(t for t in paragraphs if t).replace("\t", " "))
            cells += [""] * (span - 1)
        lines.append("\t".join(cells))
    return lines


def _text(path: Path, limits: Limits) -> str:
    _check_inflation(path, limits.inflated_bytes)
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises several types for a damaged package
        raise UndecodableInput(f"无法打开 Word 文档（{type(exc).__name__}）") from None
    body = [(child.tag.rsplit("}", 1)[-1], child) for child in document.element.body]
    lines: list[str] = []
    try:
        tables = [child for tag, child in body if tag == "tbl"]
        limits.check_cells(sum(_span(tc) for t in tables for tr in t.tr_lst for tc in tr.tc_lst))
        for tag, child in body:
            if tag == "p":
                lines.append(Paragraph(child, document).text)
            elif tag == "tbl":
                lines.extend(_table_lines(child, document))
    except ValueError as exc:  # an attribute python-docx cannot parse (a span of "x")
        raise UndecodableInput(f"Word 文档无法解析（{type(exc).__name__}）") from None
    return "\n".join(lines)


def read_docx(reading: Reading) -> Loaded:
    return reading.loaded(SourceText.from_text(_text(reading.path, reading.limits)))


def read_doc(reading: Reading) -> Loaded:
    """A legacy ``.doc``, through LibreOffice's converter."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        raise UnsupportedFormat(
            "读取 .doc 需要 LibreOffice（soffice），本机未安装；可先另存为 .docx"
        )
    with tempfile.TemporaryDirectory(prefix="gouji-doc-") as folder:
        try:
            subprocess.run(
                [
                    office,
                    "--headless",
                    "--convert-to",
                    "docx",
                    "--outdir",
                    folder,
                    str(reading.path),
                ],
                capture_output=True,
                timeout=min(180, reading.limits.seconds),
                check=True,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            raise UndecodableInput(f"LibreOffice 转换 .doc 失败（{type(exc).__name__}）") from None
        converted = Path(folder) / (reading.path.stem + ".docx")
        if not converted.exists():
            raise UndecodableInput("LibreOffice 没有产出 .docx")
        return reading.loaded(SourceText.from_text(_text(converted, reading.limits)))
