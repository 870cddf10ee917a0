"""Word documents: merged cells laid out as before, and the bounds checked before the work —
inflation by the zip's declared sizes and by the bytes really inflated, cells before layout."""

import io
import struct
import zipfile

import docx
import pytest

from gouji.inputs import docxtext
from gouji.limits import MIB, Limits
from gouji.running.pipeline import extract_file
from gouji.running.settings import Settings

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="word/document.xml" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/officeDocument"/></Relationships>'
    ),
}


def _docx(body: str, **members: bytes) -> bytes:
    """A minimal Word package with ``body`` as its document's body, and other members."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name, text in PARTS.items():
            package.writestr(name, text)
        package.writestr(
            "word/document.xml", f'<w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>'
        )
        for name, data in members.items():
            package.writestr(name.replace("__", "/"), data)
    return out.getvalue()


def _cell(text: str, props: str = "") -> str:
    return f"<w:tc><w:tcPr>{props}</w:tcPr><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:tc>"


def _table(rows: list[list[str]]) -> str:
    return "<w:tbl>" + "".join(f"<w:tr>{''.join(r)}</w:tr>" for r in rows) + "</w:tbl>"


def _read(tmp_path, data: bytes, limits: Limits | None = None) -> dict:
    path = tmp_path / "report.docx"
    path.write_bytes(data)
    return extract_file(path, Settings(limits=limits or Limits()))


def test_merged_cells_are_written_once_in_their_first_position(tmp_path):
    document = docx.Document()
    document.add_paragraph("标题")
    table = document.add_table(rows=3, cols=3)
    for r in range(3):
        for c in range(3):
            table.cell(r, c).text = "ABCDEFGHI"[3 * r + c]
    table.cell(0, 0).merge(table.cell(1, 0))
    table.cell(2, 1).merge(table.cell(2, 2))
    table.cell(0, 1).add_paragraph("b2")
    document.add_paragraph("尾")
    document.save(tmp_path / "m.docx")
    text = docxtext._text(tmp_path / "m.docx", Limits())
    assert text == "标题\nA D\tB b2\tC\n\tE\tF\nG\tH I\t\n尾"


def test_parts_that_declare_more_than_the_bound_are_refused_before_inflating(tmp_path, monkeypatch):
    def never(*_):
        raise AssertionError("python-docx opened the package")

    monkeypatch.setattr(docxtext.docx, "Document", never)
    data = _docx("<w:p/>", word__media__pad_bin=b"\0" * (2 * MIB))
    assert len(data) < 10_000  # a tiny bomb: 2 MiB of zeros
    record = _read(tmp_path, data, Limits(inflated_bytes=MIB))
    assert record["error"] == (
        "input.too_large_inflated: Word 文档各部分申报的解压后大小超过上限 1 MB"
    )


def _lie_about_sizes(data: bytes, member: str, size: int) -> bytes:
    """The package with ``member``'s uncompressed size declared as ``size``, in its local
    header and in the central directory (the CRC left as it is)."""
    out = bytearray(data)
    name = member.encode()
    for signature, at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := out.find(signature, start)) >= 0:
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if out[name_at : name_at + len(name)] == name:
                out[start + at : start + at + 4] = struct.pack("<I", size)
            start += 4
    return bytes(out)


def test_parts_that_lie_about_their_size_are_counted_as_they_inflate(tmp_path, monkeypatch):
    data = _lie_about_sizes(
        _docx("<w:p/>", word__media__pad_bin=b"\0" * (2 * MIB)), "word/media/pad_bin", 100
    )
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        assert sum(m.file_size for m in package.infolist()) < MIB  # the directory says small
    record = _read(tmp_path, data, Limits(inflated_bytes=MIB))
    assert record["error"] == (
        "input.too_large_inflated: Word 文档实际解压后（大于其申报的大小）超过上限 1 MB"
    )


def test_a_package_within_the_bound_is_read(tmp_path):
    body = "<w:p><w:r><w:t>正文</w:t></w:r></w:p>" + _table([[_cell("甲"), _cell("1")]])
    loaded = docxtext._text
    path = tmp_path / "ok.docx"
    path.write_bytes(_docx(body, word__media__pad_bin=b"\0" * MIB))
    assert loaded(path, Limits(inflated_bytes=2 * MIB)) == "正文\n甲\t1"


def test_wide_spans_are_refused_before_any_row_is_laid_out(tmp_path, monkeypatch):
    def never(*_):
        raise AssertionError("a row was laid out")

    monkeypatch.setattr(docxtext, "_table_lines", never)
    wide = _cell("x", '<w:gridSpan w:val="100000"/>')
    record = _read(tmp_path, _docx(_table([[wide, wide], [wide, wide]])))
    assert record["error"] == (
        "input.too_many_cells: 表格单元格超过上限 200000 个（合并单元格按所占格数计）"
    )


def test_a_negative_or_broken_span_cannot_hide_cells(tmp_path):
    negative = _cell("x", '<w:gridSpan w:val="-1000000"/>')
    wide = _cell("y", '<w:gridSpan w:val="300"/>')
    record = _read(tmp_path, _docx(_table([[negative, wide]])), Limits(cells=300))
    assert record["error"].startswith("input.too_many_cells: ")
    broken = _cell("z", '<w:gridSpan w:val="many"/>')
    record = _read(tmp_path, _docx(_table([[broken]])))
    assert record["error"] == "input.encoding: Word 文档无法解析（ValueError）"


@pytest.mark.parametrize("rows", [2000])
def test_a_long_vertical_merge_reads_each_row_once(tmp_path, rows):
    # python-docx's own row.cells walks up a vertical merge row by row (quadratic).
    first = _cell("合并", '<w:vMerge w:val="restart"/>')
    rest = _cell("", "<w:vMerge/>")
    table = _table([[first, _cell("0")]] + [[rest, _cell(str(i))] for i in range(1, rows)])
    path = tmp_path / "long.docx"
    path.write_bytes(_docx(table))
    lines = docxtext._text(path, Limits()).split("\n")
    assert lines[0] == "合并\t0" and lines[-1] == f"\t{rows - 1}" and len(lines) == rows
