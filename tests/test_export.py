"""Exports are safe by default: report text never runs as a spreadsheet formula, control
characters cannot break a workbook, and numbers stay numbers."""

import csv
import json

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from gouji.cli import cli
from gouji.outputs.export import write_table
from gouji_eval.generate import generate

DDE = "=cmd|' /C calc'!A0"
ROW = [DDE, "+1+1", "-2+3", "@SUM(A1)", "\tx", "\ry", "标题\x01\x0b\x1f", "a\udcb1b", -3, 2.5, None]


def test_csv_prefixes_formula_text_and_keeps_numbers(tmp_path):
    path = tmp_path / "t.csv"
    write_table([f"c{i}" for i in range(len(ROW))], [ROW], "csv", path)
    with path.open(encoding="utf-8-sig", newline="") as lines:
        _, row = list(csv.reader(lines))
    assert row == [
        "'" + DDE,
        "'+1+1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "'\ry",
        "标题",
        "a\ufffdb",
        "-3",
        "2.5",
        "",
    ]


def test_xlsx_writes_formula_text_as_text_and_numbers_as_numbers(tmp_path):
    path = tmp_path / "t.xlsx"
    write_table(["=HEADER()", *(f"c{i}" for i in range(1, len(ROW)))], [ROW], "xlsx", path)
    sheet = load_workbook(path).active
    head, row = sheet[1], sheet[2]
    assert head[0].value == "=HEADER()" and head[0].data_type == "s"
    assert [c.value for c in row] == [
        DDE,
        "+1+1",
        "-2+3",
        "@SUM(A1)",
        "\tx",
        "\ry",
        "标题",
        "a\ufffdb",
        -3,
        2.5,
        None,
    ]
    assert all(c.data_type == "s" and c.quotePrefix for c in row[:6])
    assert row[8].data_type == "n" and row[9].data_type == "n"


def _crawled(seed: int, url: str) -> str:
    text = generate(seed, layout="crawl", variants=(), inject_error=False).text
    return text.replace(text.split("原文链接：", 1)[1].split("\n", 1)[0], url, 1)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_crafted_crawl_cannot_run_in_the_panel_or_export(tmp_path, fmt):
    folder = tmp_path / "crawl"
    folder.mkdir()
    (folder / "page.txt").write_text(_crawled(4, DDE), encoding="utf-8")
    (folder / "bad\x01name.txt").write_text(_crawled(6, "https://x.gov.cn/a"), encoding="utf-8")
    records = tmp_path / "out.jsonl"
    runner = CliRunner()
    result = runner.invoke(cli, ["extract", str(folder), "-o", str(records), "-q"])
    assert result.exit_code == 0, result.output
    urls = [json.loads(line)["source"]["url"] for line in records.open(encoding="utf-8")]
    assert DDE in urls

    panel = tmp_path / f"panel.{fmt}"
    result = runner.invoke(cli, ["panel", str(records), "--format", fmt, "-o", str(panel)])
    assert result.exit_code == 0, result.output
    export = tmp_path / f"export.{fmt}"
    result = runner.invoke(cli, ["export", str(records), "--format", fmt, "-o", str(export)])
    assert result.exit_code == 0, result.output
    if fmt == "xlsx":
        sheet = load_workbook(panel).active
        names = [c.value for c in sheet[1]]
        url = [r[names.index("source.url")] for r in sheet.iter_rows(min_row=2)]
        dde = next(c for c in url if c.value == DDE)
        assert dde.data_type == "s" and dde.quotePrefix
        documents = [r[0].value for r in load_workbook(export).active.iter_rows(min_row=2)]
    else:
        with panel.open(encoding="utf-8-sig", newline="") as lines:
            rows = list(csv.DictReader(lines))
        assert "'" + DDE in [r["source.url"] for r in rows]
        with export.open(encoding="utf-8-sig", newline="") as lines:
            documents = [r["document"] for r in csv.DictReader(lines)]
    assert any(d.endswith("badname.txt") for d in documents)  # the control character gone
