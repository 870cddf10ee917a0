"""sections: where parts 二, 三 and 四 stand, which template the report follows, and whether
a text without tables is a report at all."""

import random

import pytest

from gouji.reading import sections


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


REPORT = (
    "某县2023年政府信息公开工作年度报告\n"
    "目录：一、总体情况 二、主动公开政府信息情况 三、收到和处理政府信息公开申请情况\n"
    "一、总体情况\n全年公开信息。\n二、主动公开政府信息情况\n第二十条第（一）项\n"
    "规章\t0\t0\t0\n行政规范性文件\t1\t0\t1\n三、收到和处理政府信息公开申请情况\n"
    "一、本年新收政府信息公开申请数量\t1\t0\t0\t0\t0\t0\t1\n"
    "二、上年结转政府信息公开申请数量\t0\t0\t0\t0\t0\t0\t0\n（一）予以公开\t1\t0\t0\t0\t0\t0\t1\n"
    "（七）总计\t1\t0\t0\t0\t0\t0\t1\n四、结转下年度继续办理\t0\t0\t0\t0\t0\t0\t0\n"
    "四、政府信息公开行政复议、行政诉讼情况\n结果维持 结果纠正 其他结果 尚未审结 总计\n"
    "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n五、存在的主要问题及改进情况\n无。\n"
)


def test_each_part_runs_from_its_heading_to_the_next_and_the_contents_list_is_no_heading():
    found = sections.find(REPORT)
    assert found.template == "2021"
    assert sorted(found.headings) == ["s1", "s2", "s3", "s4", "s5"]
    texts = {part: REPORT[a:b] for part, (a, b) in found.regions.items()}
    # Part 二's table begins at 第二十条; the contents list names the heading without a table.
    assert texts["s2"].startswith("第二十条第（一）项\n规章") and texts["s2"].endswith("三、")
    assert texts["s3"].startswith("收到和处理政府信息公开申请情况\n一、本年新收")
    assert texts["s4"].startswith("政府信息公开行政复议、行政诉讼情况\n结果维持")
    assert texts["s4"].endswith("0 0 0\n五、")
    assert found.prose_spans(len(REPORT))[0] == (0, found.regions["s2"][0])


def test_the_2019_template_is_told_by_its_part_two_headers():
    text = REPORT.replace(
        "第二十条第（一）项\n", "第二十条第（一）项\n信息内容\t本年新制作数量\t本年新公开数量\n"
    )
    assert sections.find(text).template == "pre2021"
    assert sections.find("某县2023年政府信息公开工作年度报告\n全年公开信息。").template == "unknown"


def test_a_text_without_tables_is_a_report_only_when_it_names_itself_and_has_a_part_heading():
    report = "某县2023年政府信息公开工作年度报告\n一、总体情况\n全年公开信息。"
    assert sections.looks_like_report(report, sections.find(report))
    news = "本报讯：某县发布《2023年政府信息公开工作年度报告》。"
    assert not sections.looks_like_report(news, sections.find(news))


def test_the_headings_found_by_their_word_are_those_the_pattern_finds_everywhere():
    words = ["因", "政府信息公开", "申请", "行政", "法", "复议", "、", "诉讼", "行政诉讼", "的",
             "情况", "工作", "存在的主要问题", "主要问题", "问题", "及", "和", "改进", "整改",
             "其他需要报告的事项", "需要说明的其他事项", "其他需要说明的事项", " ", "\n", "提起",
             "其他", "事项", "需要说明的", "x"]  # fmt: skip
    rng = random.Random(7)
    found = 0
    for _ in range(600):
        text = "".join(rng.choice(words) for _ in range(rng.randint(1, 200)))
        for part in ("s4", "s5", "s6"):
            expected = [m.span() for m in sections.HEADINGS[part].finditer(text)]
            assert [m.span() for m in sections._headings(part, text)] == expected, text
            found += len(expected)
    assert found > 5000
