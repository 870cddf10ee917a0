"""Word documents to text: paragraphs as lines, tables as tab-separated rows of their cells.

A merged cell is written once, in its first grid position, as HTML's rowspan/colspan are.
``.doc`` files are converted to ``.docx`` with LibreOffice when it is installed.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from .errors import UndecodableInput, UnsupportedFormat


def _table_lines(table: Table) -> list[str]:
    lines: list[str] = []
    seen: set = set()  # the cell elements themselves: ids of short-lived proxies get reused
    for row in table.rows:
        cells = []
        for cell in row.cells:
            if cell._tc in seen:
                cells.append("")  # the rest of a merged cell
                continue
            seen.add(cell._tc)
            text = " ".join(p.text.strip() for p in cell.paragraphs if p.text.strip())
            cells.append(text.replace("\t", " "))
        lines.append("\t".join(cells))
    return lines


def read_docx(path: str | Path) -> str:
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises several types for a damaged package
        raise UndecodableInput(f"无法打开 Word 文档（{type(exc).__name__}）") from None
    lines: list[str] = []
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append(Paragraph(child, document).text)
        elif tag == "tbl":
            lines.extend(_table_lines(Table(child, document)))
    return "\n".join(lines)


def read_doc(path: str | Path) -> str:
    """A legacy ``.doc``, through LibreOffice's converter."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        raise UnsupportedFormat(
            "读取 .doc 需要 LibreOffice（soffice），本机未安装；可先另存为 .docx"
        )
    with tempfile.TemporaryDirectory(prefix="gouji-doc-") as folder:
        try:
            subprocess.run(
                [office, "--headless", "--convert-to", "docx", "--outdir", folder, str(path)],
                capture_output=True,
                timeout=180,
                check=True,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            raise UndecodableInput(f"LibreOffice 转换 .doc 失败（{type(exc).__name__}）") from None
        converted = Path(folder) / (Path(path).stem + ".docx")
        if not converted.exists():
            raise UndecodableInput("LibreOffice 没有产出 .docx")
        return read_docx(converted)
