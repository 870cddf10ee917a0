"""reader: labels anchor the values; a row is placed only with the right number of cells
beside its label, or in template order between fixed points when the counts agree; a row it
cannot place is never guessed."""

from gouji.inputs import crawl
from gouji.inputs.text import normalise
from gouji.reading import reader, sections
from gouji.template import S3_OTHER_SUBROWS, S3_ROWS

from conftest import CRAWL_HEADER

TAB_HEADER = "二、主动公开政府信息情况\n第二十条第（一）项\n信息内容\t本年制发件数\t本年废止件数\t现行有效件数\n"


def test_pipe_cells_ending_in_pipe_with_lone_pipe_blanks(extract_text):
    cells = ["规章 |", "2 |", "|", "5 |", "行政规范性文件 |", "3 |", "1 |", "12 |"]
    text = "某县2023年政府信息公开工作年度报告\n" + TAB_HEADER + "\n".join(cells) + "\n"
    record = extract_text(text)
    assert record["fields"]["s2.rules.issued"] == 2
    assert record["fields"]["s2.rules.repealed"] is None
    assert record["fields"]["s2.rules.in_force"] == 5
    assert record["field_status"]["s2.rules.repealed"] == "accepted"
    assert record["fields"]["s2.normative.in_force"] == 12


def test_dropped_empty_cells_are_never_guessed(extract_text):
    # Pattern 7: one cell per line with empty cells dropped; 规章 has one number for three cells.
    text = (
        "某县2023年政府信息公开工作年度报告\n二、主动公开政府信息情况\n第二十条第(一)项\n"
        "规章\n0\n行政规范性文件\n4\n1\n9\n第二十条第(五)项\n行政许可\n512\n"
    )
    record = extract_text(text)
    assert [record["fields"][f"s2.rules.{c}"] for c in ("issued", "repealed", "in_force")] == [
        None,
        None,
        None,
    ]
    assert {record["field_status"][f"s2.rules.{c}"] for c in ("issued", "repealed")} == {"review"}
    assert any(f["rule"] == "s2.row_cells" for f in record["findings"])
    assert record["fields"]["s2.normative.in_force"] == 9
    assert record["fields"]["s2.licensing"] == 512


PDF_ROWS = [
    "某区2023年政府信息公开工作年度报告",
    "三、收到和处理政府信息公开申请情况",
    "一、本年新收政府信息公开申请数量 21 0 0 0 0 0 21",
    "二、上年结转政府信息公开申请数量 0 0 0 0 0 0 0",
    "（一）予以公开 3 0 0 0 0 0 3",
    "（二）部分公开（区分处理的，只计这一情 形，不",
    "4 0 0 0 0 0 4",
    "计其他情形）",
    "1 0 0 0 0 0 1",
    "1.属于国家秘密",
    "2.其他法律行政止公开 0 0 0 0 0 0 0",
]


def test_pdf_values_printed_away_from_their_label_go_to_review(extract_text):
    # PDF text where a label wrapped and its numbers landed on a line of their own; with
    # fewer than three labelled rows it is read one cell at a time.
    record = extract_text("\n".join([*PDF_ROWS[:3], *PDF_ROWS[5:]]))
    assert record["fields"]["s3.new_received.natural_person"] == 21
    assert record["field_status"]["s3.new_received.natural_person"] == "accepted"
    for row in ("partly_granted", "denied_state_secret"):
        assert record["field_status"][f"s3.{row}.natural_person"] == "review"
    assert record["fields"]["s3.denied_law_prohibited.total"] == 0  # typo label still read


def test_unlabelled_rows_take_their_places_in_template_order(extract_text):
    record = extract_text("\n".join(PDF_ROWS))
    fields, status = record["fields"], record["field_status"]
    assert [
        fields[f"s3.{r}.total"] for r in ("granted", "partly_granted", "denied_state_secret")
    ] == [3, 4, 1]
    # Both missing rows' labels stand between the labelled rows around them: trusted.
    assert (
        status["s3.partly_granted.total"]
        == status["s3.denied_state_secret.natural_person"]
        == "accepted"
    )


def test_alignment_without_the_labels_in_the_gap_goes_to_review(extract_text):
    rows = [r for r in PDF_ROWS if r not in ("1.属于国家秘密",)]
    record = extract_text("\n".join(rows))
    assert record["fields"]["s3.denied_state_secret.total"] == 1
    assert record["field_status"]["s3.denied_state_secret.total"] == "review"
    assert any(f["rule"] == "s3.row_order" for f in record["findings"])


def test_alignment_never_guesses_when_the_counts_differ(extract_text):
    rows = [*PDF_ROWS[:8], *PDF_ROWS[9:]]  # one unlabelled number row lost
    record = extract_text("\n".join(rows))
    assert record["fields"]["s3.partly_granted.total"] is None
    assert record["fields"]["s3.denied_state_secret.total"] is None
    assert any("无法对应" in f["message"] for f in record["findings"])


def _read(text: str) -> reader.ReaderResult:
    """The reader's result for a page, its view made as extraction makes it."""
    view = crawl.read(normalise(text)[0]).view
    return reader.read(view, sections.find(view))


def test_a_row_printed_twice_is_placed_nowhere_and_a_missing_table_is_said():
    view = (
        "某县2023年政府信息公开工作年度报告\n"
        + TAB_HEADER
        + ("规章\t2\t0\t5\n行政规范性文件\t3\t1\t3\n规章\t1\t1\t1\n")
    )
    result = _read(view)
    values = {k: (c.value, c.certain) for k, c in result.candidates.items()}
    assert [values[f"s2.normative.{c}"] for c in ("issued", "repealed", "in_force")] == [
        (3, True), (1, True), (3, True)
    ]  # fmt: skip
    assert values["s2.rules.issued"] == (None, False)
    # The cells printed after each row's label: where another witness's values must stand.
    assert {k: [c.text for c in v] for k, v in result.row_cells.items()} == {
        "rules": ["2", "0", "5"],
        "normative": ["3", "1", "3"],
    }
    found = {f.rule: f for f in reversed(result.findings)}  # the first of each rule
    assert found["s2.row_duplicate"].message == "「规章」一行在表中出现了不止一次"
    assert found["s2.row_missing"].keys == ["s2.licensing"]
    assert found["s3.table_missing"].message == "未找到第三部分（依申请公开）的表格"
    assert len(found["s4.table_missing"].keys) == 15


def _collapsed(cells: str) -> str:
    """Part 三 as a crawl prints it, the （六） sub-rows as one collapsed row."""
    body = ""
    for row in S3_ROWS:
        if row.name == S3_OTHER_SUBROWS[0]:
            body += "（六）其他处理" + cells
        elif row.name not in S3_OTHER_SUBROWS:
            body += row.label + "0000000"
    return (
        CRAWL_HEADER + "三、收到和处理政府信息公开申请情况申请人情况自然人法人或其他组织总计" + body
    )


def test_a_collapsed_other_row_of_zeros_gives_each_sub_row_zero():
    result = _read(_collapsed("0000000"))
    keys = [f"s3.{name}.total" for name in S3_OTHER_SUBROWS]
    assert [(result.candidates[k].value, result.candidates[k].certain) for k in keys] == [
        (0, True)
    ] * 3
    assert "（六）其他处理印为合并的一行且全为 0，三个子项均记为 0" in result.notes


def test_a_collapsed_other_row_several_cuts_fit_waits_without_an_internal_error(extract_text):
    # 1 | 10 | 0 | … | 11 or 11 | 0 | … | 11: the collapsed row has no field of its own, so
    # no identity can weigh its readings; its sub-rows wait for a person.
    record = extract_text(_collapsed("110000011"))
    assert record["status"] == "ok", record["error"]
    collapsed = [f for f in record["findings"] if f["rule"] == "s3.collapsed_other"]
    assert [f["message"] for f in collapsed] == [
        "（六）其他处理只印了合并的一行（空、空、空、空、空、空、空），无法拆分到三个子项"
    ]
    assert all(record["field_status"][f"s3.{n}.total"] == "review" for n in S3_OTHER_SUBROWS)
    assert not any(k.startswith("s3.other_collapsed.") for k in record["candidates"])
