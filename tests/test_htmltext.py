"""HTML tables: laid out on their exact span grid, in one pass, and refused past the
document's cell bound before any grid is built."""

import pytest

from gouji.errors import TooManyCells
from gouji.inputs import htmltext
from gouji.limits import Limits
from gouji.running.pipeline import extract_file
from gouji.running.settings import Settings


def test_spans_are_laid_out_on_their_grid():
    page = (
        "<p>表</p><table><tr><td rowspan=2>A</td><td>B</td></tr><tr><td>C</td></tr>"
        "<tr><td colspan=2>D</td><td>E</td></tr><tr></tr><tr><td>F</td></tr></table>"
    )
    text, offsets = htmltext.render(page)
    assert text == "表\nA\tB\n\tC\nD\t\tE\nF\n"
    assert page[offsets[text.index("E")]] == "E"


def _span_bomb() -> str:
    """The issue's 94 KB page: cells that each span 200 × 200."""
    cell = '<td rowspan="200" colspan="200">0</td>'
    rows = "".join(f"<tr>{cell * 50}</tr>" for _ in range(49))
    return f"<html><body><p>报告</p><table>{rows}</table></body></html>"


def test_a_span_bomb_is_refused_before_its_grid_is_built(tmp_path, monkeypatch):
    page = _span_bomb()
    assert 90_000 < len(page) < 100_000

    def never(*_):
        raise AssertionError("a grid was built")

    monkeypatch.setattr(htmltext._Renderer, "_emit_grid", never)
    path = tmp_path / "bomb.html"
    path.write_text(page, encoding="utf-8")
    record = extract_file(path)
    assert record["status"] == "failed"
    assert record["error"] == (
        "input.too_many_cells: 表格单元格超过上限 200000 个（合并单元格按所占格数计）"
    )


def test_the_bound_counts_every_table_of_the_document():
    table = "<table>" + "<tr><td>1</td><td>2</td></tr>" * 5 + "</table>"
    assert htmltext.render(table * 2, Limits(cells=20))[0].count("\t") == 10
    with pytest.raises(TooManyCells):
        htmltext.render(table * 3, Limits(cells=20))  # 10 cells each, 30 together
    with pytest.raises(TooManyCells):
        htmltext.render("<table><tr><td colspan=5 rowspan=5>x</td></tr></table>", Limits(cells=24))


def test_a_hundred_thousand_rows_are_refused_by_the_cell_bound_not_left_running(tmp_path):
    # Laid out quadratically, this page ran past five minutes; the bound stops it while it is
    # parsed, and the benchmark prints how long reading it whole takes (`--only tables`).
    rows = "".join(f"<tr><td>行{i}</td><td>{i}</td><td>{2 * i}</td></tr>\n" for i in range(100_000))
    path = tmp_path / "rows.html"
    path.write_text(f"<html><body><table>{rows}</table></body></html>", encoding="utf-8")
    record = extract_file(path, Settings())
    assert record["error"].startswith("input.too_many_cells: ")
