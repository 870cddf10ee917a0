"""One test per layout of real reports, on generated reports whose values are not all zero,
and hand-written snippets of the trickiest patterns of ../shared/LAYOUTS.md."""

import pytest

from gouji.template import FIELD_KEYS
from gouji_eval.generate import LAYOUTS, generate
from gouji_eval.score import same


def _nonzero_report(layout: str, variants=()):
    for seed in range(1, 200):
        report = generate(seed, layout=layout, variants=variants, inject_error=False)
        if sum(1 for v in report.gold["fields"].values() if v) >= 8:
            return report
    raise AssertionError("no report with enough non-zero figures")


@pytest.mark.parametrize("layout", [layout for layout in LAYOUTS if layout != "crawl"])
def test_layout_reads_every_field(layout, extract_text):
    report = _nonzero_report(layout)
    record = extract_text(report.text, report.name + report.suffix)
    assert record["status"] == "ok"
    wrong = [k for k in FIELD_KEYS if not same(record["fields"][k], report.gold["fields"][k])]
    assert wrong == []
    assert set(record["field_status"].values()) == {"accepted"}


@pytest.mark.parametrize("variants", [("fullwidth",), ("traditional",), ("blanks",)])
@pytest.mark.parametrize("layout", ["tab_rows", "pdf_text", "html", "cell_tab"])
def test_variants_keep_values_and_blanks_stay_null(layout, variants, extract_text):
    report = _nonzero_report(layout, variants)
    record = extract_text(report.text, report.name + report.suffix)
    accepted = [k for k, s in record["field_status"].items() if s == "accepted"]
    wrong = [k for k in accepted if not same(record["fields"][k], report.gold["fields"][k])]
    assert wrong == []
    assert len(accepted) >= 180
    if "blanks" in variants:
        blanks = [k for k, v in report.gold["fields"].items() if v is None]
        assert blanks and all(record["fields"][k] is None for k in blanks)


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


def test_generated_set_covers_every_layout_and_variant():
    from gouji_eval.generate import VARIANTS
    from gouji_eval.sets import GENERATED_COUNT, GENERATED_SEED

    reports = [
        generate(GENERATED_SEED + i, layout=LAYOUTS[i % len(LAYOUTS)])
        for i in range(GENERATED_COUNT)
    ]
    assert {r.layout for r in reports} == set(LAYOUTS)
    assert {v for r in reports for v in r.variants} == set(VARIANTS)
    assert (
        0.05 <= sum(bool(r.gold["source_inconsistencies"]) for r in reports) / len(reports) <= 0.15
    )
    qualifiers = {c["qualifier"] for r in reports for c in r.gold["claims"]}
    assert qualifiers == {"exact", "at_least", "about"}


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


def test_run_together_digits_are_cut_only_where_the_sums_allow_one_reading(extract_text):
    text = (
        "某局2023年政府信息公开工作年度报告 三、收到和处理政府信息公开申请情况"
        "一、本年新收政府信息公开申请数量640020470二、上年结转政府信息公开申请数量1100002"
    )
    record = extract_text(text)
    fields, status = record["fields"], record["field_status"]
    # 64 | 0 | 0 | 2 | 0 | 4 | 70 is the one cut into seven cells that adds up, but with a
    # blank dropped 6 | 40 | 0 | 20 | 4 | 空 | 70 adds up too: no column identity is printed
    # here to tell them apart, so the row waits with both.
    assert fields["s3.new_received.natural_person"] is None
    options = record["candidates"]["s3.new_received.natural_person"]
    assert {6, 64} <= {o["value"] for o in options}
    assert status["s3.new_received.total"] == "review"
    cut = next(
        f
        for f in record["findings"]
        if f["rule"] == "s3.run_together" and "640020470" in f["message"]
    )
    assert "64、0、0、2、0、4、70" in cut["message"] and "6、40、0、20、4" in cut["message"]
    # 1100002 has no other reading at all.
    assert [fields[f"s3.carried_over.{c}"] for c in ("natural_person", "commercial", "total")] == [
        1,
        1,
        2,
    ]


def test_several_cuts_leave_the_row_null_with_the_options(extract_text):
    text = (
        "某局2023年政府信息公开工作年度报告 三、收到和处理政府信息公开申请情况"
        "一、本年新收政府信息公开申请数量110000011"  # 1|10|0|0|0|0|11 or 11|0|0|0|0|0|11
    )
    record = extract_text(text)
    assert record["fields"]["s3.new_received.natural_person"] is None
    options = record["candidates"]["s3.new_received.natural_person"]
    assert sorted(o["value"] for o in options) == [1, 11]
    assert record["field_status"]["s3.new_received.total"] == "review"
    assert any("有多种拆分" in f["message"] for f in record["findings"])


def test_flattened_page_text_reads_as_its_html_twin():
    from gouji.pipeline import extract_file

    from conftest import shared_path

    text = extract_file(shared_path("realcorpus", "pt_2023_czj_1.txt"))
    html = extract_file(shared_path("realcorpus", "pt_2023_czj_1.html"))
    assert text["fields"] == html["fields"]
    both = [k for k, s in text["field_status"].items() if s == "accepted"]
    assert both and all(html["field_status"][k] == "accepted" for k in both)


def test_prose_before_the_part_two_table_is_not_a_row(extract_text):
    text = (
        "某局2022年政府信息公开工作年度报告\n二、主动公开政府信息情况\n"
        "2022年主动公开政府信息121条，涵盖政策及规范性文件类8条、规划计划类2条。\n"
        "第二十条第（一）项\n信息内容\t本年制发件数\t本年废止件数\t现行有效件数\n"
        "规章\t0\t0\t0\n行政规范性文件\t5\t0\t5\n"
    )
    record = extract_text(text)
    assert [record["fields"][f"s2.normative.{c}"] for c in ("issued", "repealed", "in_force")] == [
        5,
        0,
        5,
    ]
    assert record["field_status"]["s2.normative.issued"] == "accepted"


@pytest.mark.parametrize(
    "heading",
    [
        "四、政府信息公开行政复议、行政诉讼情况",
        "四、因政府信息公开申请行政复议、提起行政诉讼的情况",
        "四、政府信息公开行政法复议、行政诉讼情况",
    ],
)
def test_part_four_heading_variants(heading, extract_text):
    text = f"某区2024年政府信息公开工作年度报告\n{heading}\n结果维持 结果纠正 其他结果 尚未审结 总计\n2 1 0 0 3 0 0 0 0 0 1 0 0 0 1\n"
    record = extract_text(text)
    assert [record["fields"][f"s4.review.{c}"] for c in ("upheld", "corrected", "total")] == [
        2,
        1,
        3,
    ]
