"""勾稽 checks: a broken identity is a finding; the printed number is kept as printed."""

from conftest import shared_path
from gouji_eval.generate import generate

from extractor.checks import check_identities
from extractor.pipeline import extract_file
from extractor.template import IDENTITIES


def test_there_are_the_42_identities_of_the_template():
    rules = [i.rule for i in IDENTITIES]
    assert (rules.count("s3.row_total"), rules.count("s3.results_total")) == (25, 7)
    assert (rules.count("s3.balance"), rules.count("s4.total")) == (7, 3)


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


def test_prose_that_contradicts_the_table_is_reported():
    record = extract_file(shared_path("realdocs", "hongze_2024.pdfplumber.txt"))
    claims = [f for f in record["findings"] if f["rule"] == "claims.applications"]
    assert len(claims) == 1
    assert "受理政府信息公开申请17件" in claims[0]["message"] and "95 件" in claims[0]["message"]
    assert claims[0]["keys"] == ["s3.new_received.total"]
