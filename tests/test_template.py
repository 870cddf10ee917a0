"""template: the national template's parts, rows, columns and labels, defined once."""

from gouji.template import (
    FIELD_KEYS,
    PARTS,
    S2_ROWS,
    S3_COLLAPSED_OTHER,
    S3_ROWS,
    S4_KEYS,
    S4_ROW,
    label_of,
)


def test_parts_are_the_prefixes_of_the_field_keys():
    assert list(PARTS) == list(dict.fromkeys(k.split(".", 1)[0] for k in FIELD_KEYS))
    s2 = PARTS["s2"]
    assert (s2.heading, s2.label, s2.name) == (
        "二、主动公开政府信息情况",
        "二、主动公开",
        "第二部分（主动公开）",
    )


def test_two_hundred_keys_in_template_order():
    assert len(FIELD_KEYS) == len(set(FIELD_KEYS)) == 200
    assert FIELD_KEYS[:4] == ("s2.rules.issued", "s2.rules.repealed", "s2.rules.in_force",
                              "s2.normative.issued")  # fmt: skip
    assert FIELD_KEYS[-1] == "s4.suit_after_review.total"
    assert [len(r.keys) for r in S2_ROWS] == [3, 3, 1, 1, 1, 1]
    assert len(S3_ROWS) == 25 and all(len(r.keys) == 7 for r in S3_ROWS)
    # Part 四 prints no row labels: its 15 cells are one row.
    assert S4_ROW.keys == S4_KEYS and len(S4_KEYS) == 15


def test_labels_for_people():
    assert label_of("s3.granted.natural_person") == "（一）予以公开·自然人"
    assert label_of("s3.new_received.total") == "本年新收政府信息公开申请数量·总计"
    assert label_of("s2.rules.issued") == "规章·本年制发件数"
    assert label_of("s2.licensing") == "行政许可"
    assert label_of("s4.suit_direct.total") == "行政诉讼·未经复议直接起诉·总计"


def test_the_collapsed_other_row_is_read_but_no_field_of_its_own():
    assert S3_COLLAPSED_OTHER.label == "（六）其他处理"
    assert not set(S3_COLLAPSED_OTHER.keys) & set(FIELD_KEYS)
