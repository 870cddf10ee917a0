"""Claims from the prose: counts, amounts and rates with qualifiers; not dates or numbers of
documents."""

from gouji.inputs.text import SourceText
from gouji.reading.claims import cn_number, find_claims


def claims_of(text: str) -> list[tuple]:
    source = SourceText.from_text(text)
    return [(c.value, c.unit, c.qualifier) for c in find_claims(source, [(0, len(source.view))])]


def test_numbers_with_units_and_qualifiers():
    text = "全年发布信息1240条，访问量达10万余次，政策解读约30篇，粉丝总量近45.9万人，占比超八成。"
    assert claims_of(text) == [
        (1240, "条", "exact"),
        (100000, "次", "at_least"),
        (30, "篇", "about"),
        (459000, "人", "about"),
        (80, "%", "at_least"),
    ]


def test_a_number_broken_by_a_line_wrap_is_one_number():
    assert claims_of("全年发布政策解读2\n7篇，\n另有3条。") == [
        (27, "篇", "exact"),
        (3, "条", "exact"),
    ]


def test_chinese_numerals():
    assert cn_number("十二") == 12 and cn_number("一百二十") == 120 and cn_number("两千") == 2000
    assert claims_of("召开新闻发布会十二场，公开文件一件。") == [
        (12, "场", "exact"),
        (1, "件", "exact"),
    ]


def test_not_claims():
    text = (
        "按照国办公开办函〔2021〕30号要求，统计期限自2023年1月1日起至2023年12月31日止，"
        "联系电话0517-87222589，第6版，浏览次数:10240，持续推进进一步统一，办成一件事。"
    )
    assert claims_of(text) == []


def test_spans_index_the_raw_text_even_with_fullwidth_digits():
    raw = "全年主动公开信息１２４０条。"
    source = SourceText.from_text(raw)
    (claim,) = find_claims(source, [(0, len(source.view))])
    assert claim.value == 1240
    assert raw[claim.span[0] : claim.span[1]] == claim.quote == "全年主动公开信息１２４０条"
