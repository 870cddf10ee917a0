"""cells: one tokenizer for every layout — tabs, pipes, cell-per-line, PDF text, values
glued to labels — with empty and blank cells told apart, and page footers dropped."""

from gouji.reading.cells import Cell, classify_number, tokenize


def test_page_footer_inside_a_table_is_not_a_value(extract_text):
    text = (
        "某区2024年政府信息公开工作年度报告\n四、政府信息公开行政复议、行政诉讼情况\n"
        "结果 结果 其他 尚未 总\n维持 纠正 结果 审结 计\n2 1 0 0 3 0 0\n- 3 -\n0 0 0 1 0 0 0 1\n"
        "五、存在的主要问题及改进情况\n"
    )
    record = extract_text(text)
    assert [record["fields"][f"s4.review.{c}"] for c in ("upheld", "corrected", "total")] == [
        2,
        1,
        3,
    ]
    assert record["fields"]["s4.suit_after_review.total"] == 1
    assert record["field_status"]["s4.suit_after_review.total"] == "accepted"


def test_glued_digits_are_a_flag_on_the_cell_not_a_message():
    view = "行政许可\t007\t3\n行政处罚\t12(含修订3件)\t05(其中2件)"
    lines = tokenize(view, 0, len(view))
    numbers = [c for line in lines for c in line if c.kind == "number"]
    assert [(c.text, c.value, c.glued) for c in numbers] == [
        ("007", 7, True),
        ("3", 3, False),
        ("12(含修订3件)", 12, False),
        ("05(其中2件)", 5, True),
    ]
    assert numbers[0].note == "「007」以 0 开头，可能是几个单元格粘连"
    assert numbers[2].note == "单元格内有附注「12(含修订3件)」"


def _cells(view: str) -> list[list[tuple]]:
    return [
        [(c.kind, c.text, c.start, c.end, c.line) for c in line]
        for line in tokenize(view, 0, len(view))
    ]


def test_tabs_and_pipes_separate_cells_and_an_empty_cell_stands_between_two():
    assert _cells("规章\t2\t\t5\n| 3 | | 4 |\n") == [
        [("text", "规章", 0, 2, 0), ("number", "2", 3, 4, 0), ("empty", "", 5, 5, 0),
         ("number", "5", 6, 7, 0)],
        [("number", "3", 10, 11, 1), ("empty", "", 13, 13, 1), ("number", "4", 16, 17, 1)],
    ]  # fmt: skip


def test_a_lone_pipe_is_an_empty_cell_only_after_cells_ending_in_a_pipe():
    trailing = "规章 |\n2 |\n|\n5 |\n"
    assert [[c[0] for c in line] for line in _cells(trailing)] == [
        ["text"], ["number"], ["empty"], ["number"]
    ]  # fmt: skip
    alternating = "2\n|\n3\n"
    assert [[c[0] for c in line] for line in _cells(alternating)] == [["number"], ["number"]]


def test_blanks_dates_ordinals_and_column_names():
    view = "（四）无法提供 无 —\n2024年 第6版 数据1\n"
    assert _cells(view) == [
        [("text", "（四）无法提供", 0, 7, 0), ("blank", "无", 8, 9, 0), ("blank", "—", 10, 11, 0)],
        [("text", "2024年 第6版 数据1", 12, 25, 1)],
    ]


def test_footers_and_markdown_rules_are_no_cells_and_no_lines():
    view = "第 3 页\n|---|---|\n- 3 -\n1,234 12.5 5件\n"
    assert [[(c.text, c.value, c.line) for c in line] for line in tokenize(view, 0, len(view))] == [
        [("1,234", 1234, 0), ("12.5", 12.5, 0), ("5件", 5, 0)]
    ]


def test_numbers_their_notes_and_what_is_not_one():
    assert classify_number("1,234") == (1234, None, False)
    assert classify_number("12.5") == (12.5, None, False)
    assert classify_number("5件") == (5, "单元格内有附注「5件」", False)
    assert classify_number("007") == (7, "「007」以 0 开头，可能是几个单元格粘连", True)
    assert classify_number("约5") is None


def test_a_line_seen_again_gives_new_cells_at_its_own_place():
    view = "（一）予以公开\t3\t0\n（一）予以公开\t3\t0\n"
    first, second = tokenize(view, 0, len(view))
    assert [(c.start, c.line) for c in first] == [(0, 0), (8, 0), (10, 0)]
    assert [(c.start, c.line) for c in second] == [(12, 1), (20, 1), (22, 1)]
    first[1].value = 99  # a cell belongs to its document alone
    assert tokenize(view, 0, len(view))[0][1].value == 3
    assert all(isinstance(c, Cell) for c in first + second)


def test_a_crawled_page_on_one_long_line_is_not_kept_in_the_caches():
    from gouji.reading import cells

    line = "一、本年新收政府信息公开申请数量640020470" * 20
    kept = cells._line_shape.cache_info().currsize, cells._piece_shape.cache_info().currsize
    numbers = [c.text for c in tokenize(line, 0, len(line))[0] if c.kind == "number"]
    assert numbers == ["640020470"] * 20
    assert (
        cells._line_shape.cache_info().currsize,
        cells._piece_shape.cache_info().currsize,
    ) == kept
