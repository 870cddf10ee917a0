"""Hostile files, made at run time and small on disk (sparse files, streams, tiny bombs): what a
bulk run must survive with a record for each and the rest of its batch read as before.

    write(folder)  # the files below, into folder; returns {name: what it is}

The end-to-end test (``tests/test_hostile.py``) runs gouji over them beside good reports, and
the benchmark (``python -m gouji_eval.benchmark --only hostile``) times that run and measures
its peak memory (every process of the run together).
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

MIB = 1 << 20


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF file of ``objects`` (object 1 the catalog), its cross-reference table exact."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def huge_page_pdf() -> bytes:
    """One blank page of 200 × 200 inches: as a scan, 28,800² pixels at 144 dpi."""
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] >>",
        ]
    )


def many_pages_pdf(pages: int = 20_000) -> bytes:
    """``pages`` blank pages (no text layer: each one a page to OCR)."""
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(pages))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
            *[page] * pages,
        ]
    )


def many_frames_tiff(frames: int = 3_000) -> bytes:
    """A TIFF of ``frames`` small blank frames."""
    from PIL import Image

    blank = Image.new("1", (64, 64), 1)
    out = io.BytesIO()
    blank.save(out, format="TIFF", save_all=True, append_images=[blank] * (frames - 1))
    return out.getvalue()


def span_bomb_html(cells: int = 200, span: int = 1_000, rows: int = 20) -> bytes:
    """A small table whose cells each span ``span`` rows and columns."""
    cell = f'<td rowspan="{span}" colspan="{span}">1</td>' * cells
    body = f"<tr>{cell}</tr>" * rows
    return f"<html><body><p>2023年政府信息公开工作年度报告</p><table>{body}</table></body></html>".encode()


def many_rows_html(rows: int = 100_000) -> bytes:
    """One table of ``rows`` rows."""
    body = "".join(f"<tr><td>第{i}行</td><td>{i}</td><td>0</td></tr>" for i in range(rows))
    return f"<html><body><table>{body}</table></body></html>".encode()


def _zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of members already deflated: (name, raw deflate data, crc32, inflated size)."""
    out = io.BytesIO()
    central = []
    for name, data, crc, size in members:
        offset = out.tell()
        head = struct.pack("<HHHHHIIIHH", 20, 0, 8, 0, 0x21, crc, len(data), size, len(name), 0)
        out.write(b"PK\x03\x04" + head + name.encode() + data)
        entry = struct.pack(
            "<HHHHHHIIIHHHHHII", 20, 20, 0, 8, 0, 0x21, crc, len(data), size, len(name), 0, 0, 0,
            0, 0, offset,
        )  # fmt: skip
        central.append(b"PK\x01\x02" + entry + name.encode())
    start = out.tell()
    out.writelines(central)
    size = out.tell() - start
    count = len(members)
    out.write(b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, count, count, size, start, 0))
    return out.getvalue()


def _deflated(name: str, data: bytes) -> tuple[str, bytes, int, int]:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return name, packer.compress(data) + packer.flush(), zlib.crc32(data), len(data)


def inflating_docx(inflated: int = 1 << 30) -> bytes:
    """A Word document whose body inflates to ``inflated`` bytes (about a thousandth of that
    on disk): one paragraph of one letter repeated, its deflate stream one block repeated."""
    import docx

    template = io.BytesIO()
    docx.Document().save(template)
    import zipfile

    with zipfile.ZipFile(template) as package:
        parts = {name: package.read(name) for name in package.namelist()}
    head, tail = parts.pop("word/document.xml").split(b"<w:body>", 1)
    opening = head + b"<w:body><w:p><w:r><w:t>"
    closing = b"</w:t></w:r></w:p>" + tail.split(b"<w:sectPr", 1)[0] + b"</w:body></w:document>"
    chunk = b"a" * MIB
    count = max(1, (inflated - len(opening) - len(closing)) // MIB)
    # A block after a full flush refers to nothing before it: repeated, it stays valid.
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = packer.compress(opening) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    last = packer.compress(closing) + packer.flush()
    crc = zlib.crc32(opening)
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(closing, crc)
    size = len(opening) + count * MIB + len(closing)
    body = ("word/document.xml", first + block * count + last, crc, size)
    return _zip([_deflated(name, data) for name, data in parts.items()] + [body])


def write(folder: Path, *, inflated: int = 1 << 30) -> dict[str, str]:
    """The hostile files, into ``folder``; {file name: what it is}."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {
        "huge_page.pdf": (huge_page_pdf(), "一页 200 × 200 英寸的空白 PDF"),
        "pages_20000.pdf": (many_pages_pdf(), "两万页的空白 PDF"),
        "frames_3000.tif": (many_frames_tiff(), "三千帧的 TIFF"),
        "span_bomb.html": (span_bomb_html(), "单元格跨一千行一千列的 HTML 表格"),
        "rows_100000.html": (many_rows_html(), "十万行的 HTML 表格"),
        "inflating.docx": (inflating_docx(inflated), f"解压后 {inflated // MIB} MiB 的 DOCX"),
    }
    for name, (data, _) in made.items():
        (folder / name).write_bytes(data)
    what = {name: text for name, (_, text) in made.items()}
    os.mkfifo(folder / "pipe.txt")
    what["pipe.txt"] = "命名管道"
    (folder / "zero.txt").symlink_to("/dev/zero")
    what["zero.txt"] = "指向 /dev/zero 的链接"
    with (folder / "sparse_30g.pdf").open("wb") as sparse:
        sparse.truncate(30 << 30)
    what["sparse_30g.pdf"] = "30 GiB 的稀疏文件"
    return what
