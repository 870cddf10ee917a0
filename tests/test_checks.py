"""勾稽 checks: a broken identity is a finding; the printed number is kept as printed."""

from gouji.checking.checks import check_identities
from gouji.identities import IDENTITIES
from gouji.running.pipeline import extract_file
from gouji_eval.generate import generate

from conftest import shared_path


def test_wrong_printed_total_is_reported_and_kept(extract_text):
    report = generate(3, layout="tab_rows", variants=(), inject_error=True)
    error = report.gold["source_inconsistencies"][0]
    record = extract_text(report.text, "report.txt")
    key = error["key"]
    assert record["fields"][key] == error["printed"]  # never repaired
    assert record["field_status"][key] == "review"
    broken = [f for f in record["findings"] if key in f["keys"]]
    assert broken and broken[0]["rule"] == ("s3.row_total" if key.startswith("s3") else "s4.total")
    assert f"总计为 {error['printed']}" in broken[0]["message"]
    assert all(record["field_status"][k] == "review" for f in broken for k in f["keys"])


def test_row_total_message_spells_out_the_sum():
    values = {k: 0 for i in IDENTITIES for k in i.left + i.right}
    values |= {"s3.granted.natural_person": 5, "s3.granted.commercial": 2, "s3.granted.total": 8}
    findings = check_identities(values, set(values))
    row = next(f for f in findings if f.rule == "s3.row_total")
    assert row.message.startswith("（一）予以公开：自然人 5 + 商业企业 2 + 科研机构 0")
    assert row.message.endswith("= 7，但总计为 8")
    assert {f.rule for f in findings} == {"s3.row_total", "s3.results_total"}


def _zeros() -> dict:
    return {k: 0 for i in IDENTITIES for k in i.left + i.right}


def test_breaks_one_cell_explains_name_that_cell_alone():
    """A cell in a row's and a column's identity, both broken by it alone and both implying
    the same count for it: the other cells of those identities hold in theirs."""
    values = _zeros() | {"s3.new_received.natural_person": 1}
    findings = check_identities(values, set(values))
    assert [(f.rule, f.keys) for f in findings] == [
        ("s3.row_total", ["s3.new_received.natural_person"]),
        ("s3.balance", ["s3.new_received.natural_person"]),
    ]
    assert findings[0].message.endswith(
        "；2 处勾稽关系都只差在本年新收政府信息公开申请数量·自然人这一格"
    )


def test_breaks_with_a_cell_no_identity_clears_name_every_cell():
    # One cell explains both breaks, but another cell of theirs stands in no identity that
    # was judged (carried_over's row has an unread cell): nothing clears it.
    values = _zeros() | {"s3.new_received.natural_person": 1}
    known = set(values) - {"s3.carried_over.commercial"}
    assert [len(f.keys) for f in check_identities(values, known)] == [7, 4]


def test_kewei_2024_blank_total_is_the_one_cell_at_fault():
    """Its 结转下年度 row prints 1 in 自然人 and a blank 总计: the row and the total column's
    balance both break, both only there; every other cell of theirs is accepted."""
    record = extract_file(shared_path("realdocs", "kewei_2024.md"))
    broken = [f for f in record["findings"] if f["rule"] in ("s3.row_total", "s3.balance")]
    assert [f["keys"] for f in broken] == [["s3.carried_forward.total"]] * 2
    assert record["fields"]["s3.carried_forward.total"] is None  # never repaired
    assert record["field_status"]["s3.carried_forward.total"] == "review"
    for key in ("s3.carried_forward.natural_person", "s3.new_received.total",
                "s3.carried_over.total", "s3.total_processed.total"):  # fmt: skip
        assert record["field_status"][key] == "accepted", key


def test_identities_with_unknown_cells_are_not_judged():
    values = {k: 1 for i in IDENTITIES for k in i.left + i.right}
    known = set(values) - {"s3.granted.commercial"}
    assert all("s3.granted.commercial" not in f.keys for f in check_identities(values, known))


def test_hongze_2023_publisher_error_in_part_four_is_reported():
    record = extract_file(shared_path("realdocs", "hongze_2023.pdfplumber.txt"))
    s4 = [f for f in record["findings"] if f["rule"] == "s4.total"]
    assert [f["message"] for f in s4] == [
        "行政复议：结果维持 10 + 结果纠正 1 + 其他结果 0 + 尚未审结 0 = 11，但总计为 0",
        "行政诉讼·复议后起诉：结果维持 5 + 结果纠正 0 + 其他结果 0 + 尚未审结 0 = 5，但总计为 0",
    ]
    assert record["fields"]["s4.review.total"] == 0
    assert [len(f["keys"]) for f in s4] == [5, 5]  # one broken identity: any cell may be wrong


def test_prose_that_contradicts_the_table_is_reported():
    record = extract_file(shared_path("realdocs", "hongze_2024.pdfplumber.txt"))
    claims = [f for f in record["findings"] if f["rule"] == "claims.applications"]
    assert len(claims) == 1
    assert "受理政府信息公开申请17件" in claims[0]["message"] and "95 件" in claims[0]["message"]
    assert claims[0]["keys"] == ["s3.new_received.total"]


def test_prose_figures_are_compared_in_the_table_unit():
    from gouji.checking.checks import check_claims
    from gouji.model import Claim

    claims = [
        Claim("行政事业性收费", 1200, "元", "exact", "收取行政事业性收费1200元", (0, 1)),
        Claim("制发行政规范性文件", 3, "件", "exact", "制发行政规范性文件3件", (0, 1)),
        Claim("行政复议", 2, "件", "exact", "行政复议2件", (0, 1)),
        Claim("行政复议", 9, "件", "about", "行政复议约9件", (0, 1)),
    ]
    values = {"s2.fees": 0.12, "s2.normative.issued": 4, "s4.review.total": 2}
    findings = check_claims(claims, values, set(values))
    assert [(f.rule, f.keys) for f in findings] == [("claims.normative", ["s2.normative.issued"])]
    assert (
        findings[0].message == "正文称「制发行政规范性文件3件」，但表二行政规范性文件本年制发 4 件"
    )


def test_the_column_identities_say_which_column_and_what_each_side_adds_to():
    values = _zeros() | {"s3.granted.natural_person": 1, "s3.granted.total": 1}
    assert [(f.rule, f.message) for f in check_identities(values, set(values))] == [
        ("s3.results_total", "自然人列：办理结果各项之和为 1，但（七）总计为 0"),
        ("s3.results_total", "总计列：办理结果各项之和为 1，但（七）总计为 0"),
    ]
    values = _zeros() | {
        "s3.carried_over.commercial": 2,
        "s3.carried_over.total": 2,
        "s3.total_processed.commercial": None,  # printed blank: 0 in a sum, 空 in a message
    }
    assert [f.message for f in check_identities(values, set(values))] == [
        "商业企业列：本年新收 0 + 上年结转 2 = 2，但办理结果总计 空 + 结转下年度 0 = 0",
        "总计列：本年新收 0 + 上年结转 2 = 2，但办理结果总计 0 + 结转下年度 0 = 0",
    ]


def test_a_doubtful_ocr_digit_stands_only_where_an_identity_holds_through_it():
    from gouji.checking.checks import check_confidence

    values = _zeros() | {"s3.granted.natural_person": 1, "s3.granted.commercial": 2,
                         "s3.granted.total": 3, "s3.total_processed.natural_person": 1,
                         "s3.total_processed.commercial": 2, "s3.total_processed.total": 3,
                         "s3.new_received.natural_person": 1, "s3.new_received.commercial": 2,
                         "s3.new_received.total": 3, "s3.rejected_duplicate.natural_person": 26,
                         "s3.rejected_duplicate.total": 26, "s2.licensing": 4}  # fmt: skip
    values["s3.total_processed.natural_person"] += 26
    values["s3.total_processed.total"] += 26
    values["s3.new_received.natural_person"] += 26
    values["s3.new_received.total"] += 26
    confidence = {"s3.granted.natural_person": 0.5, "s2.licensing": 0.6, "s4.review.total": 0.99,
                  "s3.rejected_duplicate.natural_person": 0.96}  # fmt: skip
    found = check_confidence(confidence, values, set(values))
    # Part 二 has no identity: its doubtful 4 waits; the 1 its row's sum (1 + 2 = 3) holds
    # through stands; a confident read needs none.
    assert [(f.rule, f.keys, f.message) for f in found] == [
        ("ocr.low_confidence", ["s2.licensing"],
         "行政许可：OCR 识读置信度 0.60，且没有成立的勾稽关系可以印证，请对照原图核对"),
    ]  # fmt: skip
    # Its column's identities do not hold without it: the 26, alone in its row, is then held
    # only by its row's total, the same two digits printed again, which vouches for nothing.
    known = set(values) - {f"s3.{row}.natural_person" for row in ("granted", "other_other")}
    found = check_confidence(confidence, values, known)
    assert "s3.rejected_duplicate.natural_person" in {k for f in found for k in f.keys}
