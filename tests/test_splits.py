"""splits: the ways run-together digits can be read as a row's cells (the search, the
readings with dropped blanks, the choosers the identity table gives), and when a reading is
trusted, on crawled snippets."""

from gouji.inputs import crawl, sources
from gouji.reading import reader, sections, splits
from gouji.running.pipeline import extract_file
from gouji.template import FIELD_KEYS, S2_ROWS, S3_COLUMNS, S3_ROWS, S4_KEYS
from gouji_eval import simulate
from gouji_eval.generate import write
from gouji_eval.score import same

from conftest import CRAWL_HEADER


def test_cuts_are_the_ways_digits_split_into_cells_without_leading_zeros():
    assert splits.cuts(["640020470"], 7, limit=4) == [
        [6, 4, 0, 0, 2, 0, 470],
        [6, 4, 0, 0, 20, 4, 70],
        [6, 4, 0, 0, 20, 47, 0],
        [6, 4, 0, 0, 204, 7, 0],
    ]
    # With the row's total as the target, one cut is left.
    assert splits.total_cuts(["640020470"], 7, limit=6) == [[64, 0, 0, 2, 0, 4, 70]]


def test_the_digits_force_a_reading_only_where_no_blank_can_have_been_dropped():
    assert splits.forced(["0000000"], 7) == [0] * 7
    assert splits.forced(["008"], 3) == [0, 0, 8]
    assert splits.forced(["0", "00"], 3) == [0, 0, 0]
    assert splits.forced(["112"], 3) is None  # 11 | 2 with a blank dropped fits too
    assert splits.forced(["0000"], 3) is None  # four cells' digits for three


def test_readings_with_dropped_blanks_are_all_weighed():
    six = splits.blank_readings(["1", "2", "3", "4", "5", "15"], 7, 36)
    assert six == [
        [None, 1, 2, 3, 4, 5, 15],
        [1, None, 2, 3, 4, 5, 15],
        [1, 2, None, 3, 4, 5, 15],
        [1, 2, 3, None, 4, 5, 15],
        [1, 2, 3, 4, None, 5, 15],
        [1, 2, 3, 4, 5, None, 15],
    ]
    # Only zeros: the blank may be anywhere, the total's cell too.
    assert splits.blank_readings(["00"], 3, 36) == [[None, 0, 0], [0, None, 0], [0, 0, None]]
    assert splits.blank_readings(["1", "2", "3", "4", "5", "15"], 7, 5) is None  # too many


def test_the_sums_within_a_row_choose_its_cut():
    row = splits.chooser(S3_ROWS[0].keys)
    assert (row.rules, row.row_total, row.width) == (frozenset({"s3.row_total"}), True, 7)
    assert row.holds([1, 2, 0, 0, 0, 0, 3]) and not row.holds([1, 2, 0, 0, 0, 0, 4])
    four = splits.chooser(S4_KEYS)
    assert (four.rules, four.row_total) == (frozenset({"s4.total"}), False)
    # A finished group must add up; an unfinished one is not judged yet.
    assert four.holds([10, 0, 0, 0, 10, 1]) and not four.holds([100, 0, 0, 1, 0])
    digits = ["1000010", "00000", "00000"]
    assert splits.cuts(digits, 15, limit=4) == [
        [10, 0, 0, 0, 10, *[0] * 10],
        [100, 0, 0, 1, 0, *[0] * 10],
    ]
    assert four.cuts(digits, 4) == [[10, 0, 0, 0, 10, *[0] * 10]]
    assert splits.chooser(S2_ROWS[0].keys) is None  # no identity within part 二's rows


def test_only_part_three_rows_are_weighed_by_sums_beyond_them():
    assert splits.weighed_beyond(S3_ROWS[0].keys)  # the column identities
    assert not splits.weighed_beyond(S4_KEYS)  # part 四 has only its group totals
    assert not splits.weighed_beyond(S2_ROWS[0].keys)


S3_HEAD = "三、收到和处理政府信息公开申请情况申请人情况自然人法人或其他组织总计"


def _s3(rows: dict[str, str]) -> str:
    """Part 三 flattened as a crawl does: each label followed by its digits (rows not named
    hold zeros)."""
    return S3_HEAD + "".join(row.label + rows.get(row.name, "0000000") for row in S3_ROWS)


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


def test_a_cut_its_columns_confirm_is_accepted_and_one_they_break_is_not(extract_text):
    rows = {
        "new_received": "640020470",  # 64 | 0 | 0 | 2 | 0 | 4 | 70, the row total chooses
        "carried_over": "0000000",
        "granted": "600020466",
        "unavailable_not_held": "4000004",
        "total_processed": "640020470",
        "carried_forward": "0000000",
    }
    record = extract_text(CRAWL_HEADER + _s3(rows))
    fields, status = record["fields"], record["field_status"]
    new = [fields[f"s3.new_received.{c}"] for c in S3_COLUMNS]
    assert new == [64, 0, 0, 2, 0, 4, 70]
    assert {status[f"s3.new_received.{c}"] for c in S3_COLUMNS} == {"accepted"}
    assert [fields[f"s3.granted.{c}"] for c in S3_COLUMNS] == [60, 0, 0, 2, 0, 4, 66]
    assert status["s3.granted.natural_person"] == "accepted"
    assert status["s3.total_processed.total"] == "accepted"

    # The report's own figures do not add up in two columns (予以公开 60 | … | 3 | 65 fits its
    # row, not 其他 and 总计): every cut those columns involve waits; rows the digits force
    # (all zeros) stand.
    broken = extract_text(CRAWL_HEADER + _s3({**rows, "granted": "600020365"}))
    status = broken["field_status"]
    assert {status[f"s3.granted.{c}"] for c in S3_COLUMNS} == {"review"}
    assert status["s3.total_processed.other"] == status["s3.new_received.other"] == "review"
    assert {status[f"s3.carried_over.{c}"] for c in S3_COLUMNS} == {"accepted"}
    assert any(
        f["rule"] == "s3.run_together" and "不成立" in f["message"] for f in broken["findings"]
    )


def test_a_row_several_readings_fit_is_placed_by_the_identities_that_did_not_pick_it(
    extract_text,
):
    rows = {
        "new_received": "11 0 0 0 0 0 11",  # spaces kept: 11 | 0 | … | 11, no other reading
        "granted": "110000011",  # 1 | 10 | 0 | … | 11, or 11 | 0 | … | 11
        "total_processed": "110000011",
    }
    record = extract_text(CRAWL_HEADER + _s3(rows))
    fields, status = record["fields"], record["field_status"]
    # The balance puts 0 in 商业企业 of （七）总计, so 11 | 0; 予以公开 is then settled by its
    # 自然人 column against （七）总计, and its 商业企业 column confirms that reading.
    for row in ("granted", "total_processed"):
        assert [fields[f"s3.{row}.{c}"] for c in S3_COLUMNS] == [11, 0, 0, 0, 0, 0, 11]
        assert {status[f"s3.{row}.{c}"] for c in S3_COLUMNS} == {"accepted"}
    assert "s3.granted.natural_person" not in record["candidates"]

    # Without the printed spaces nothing tells the three rows' two readings apart; the cells
    # they all agree on stand.
    record = extract_text(CRAWL_HEADER + _s3({**rows, "new_received": "110000011"}))
    assert record["fields"]["s3.granted.natural_person"] is None
    assert {o["value"] for o in record["candidates"]["s3.granted.natural_person"]} == {1, 11}
    assert record["field_status"]["s3.total_processed.commercial"] == "review"
    assert record["fields"]["s3.total_processed.total"] == 11
    assert record["field_status"]["s3.total_processed.total"] == "accepted"


def test_a_reading_with_a_dropped_blank_is_weighed_beside_the_cut(extract_text):
    # 0 | 32 | 0 | 1 | 2 | 101 | 136 is the only cut into seven cells that adds up, but
    # 空 | 0 | 3 | 20 | 12 | 101 | 136 (a blank dropped) adds up as well: neither is taken.
    record = extract_text(CRAWL_HEADER + _s3({"new_received": "032012101136"}))
    assert record["fields"]["s3.new_received.natural_person"] is None
    options = record["candidates"]["s3.new_received.commercial"]
    assert {0, 32} <= {o["value"] for o in options}
    finding = next(f for f in record["findings"] if "032012101136" in f["message"])
    assert "空、0、3、20、12、101、136" in finding["message"]


def test_the_pages_a_larger_simulation_caught_accept_no_wrong_value(tmp_path):
    # Pages of 24,000 simulated where earlier rules accepted a wrong value: a proposal whose
    # dropped-blank reading mirrored an open row's choice, a dropped blank left out of the
    # readings, and rows whose own figures do not add up with a blank dropped as well.
    for index in (10663, 11178, 21105, 22746):
        report = simulate.report(index)
        write(report, tmp_path)
        record = extract_file(tmp_path / (report.name + report.suffix))
        wrong = [
            key
            for key in FIELD_KEYS
            if record["field_status"][key] == "accepted"
            and not same(record["fields"][key], report.gold["fields"][key])
        ]
        assert wrong == [], index


def test_part_two_rows_are_accepted_only_when_no_blank_can_have_been_dropped(extract_text):
    text = CRAWL_HEADER + (
        "二、主动公开政府信息情况第二十条第（一）项信息内容本年制发件数本年废止件数现行有效件数"
        "规章000行政规范性文件112"
    )
    record = extract_text(text)
    fields, status = record["fields"], record["field_status"]
    assert [fields[f"s2.rules.{c}"] for c in ("issued", "repealed", "in_force")] == [0, 0, 0]
    assert status["s2.rules.in_force"] == "accepted"
    # 1 | 1 | 2, or 11 | 2 with a blank dropped: nothing can tell.
    assert fields["s2.normative.in_force"] == 2
    assert status["s2.normative.in_force"] == "review"


def test_a_cell_missing_from_an_ocr_line_is_not_taken_for_a_blank(tmp_path):
    rows = {
        "new_received": "1 2 3 4 5 15",  # six numbers for seven cells: a blank was dropped
        "granted": "1 2 3 4 0 5 15",
        "total_processed": "1 2 3 4 0 5 15",
    }
    path = tmp_path / "report.txt"
    path.write_text(CRAWL_HEADER + _s3(rows), encoding="utf-8")
    record = extract_file(path)
    # The balance puts the blank under 法律服务机构 (0 in （七）总计), and the results confirm it.
    assert [record["fields"][f"s3.new_received.{c}"] for c in S3_COLUMNS] == [
        1,
        2,
        3,
        4,
        None,
        5,
        15,
    ]
    assert {record["field_status"][f"s3.new_received.{c}"] for c in S3_COLUMNS} == {"accepted"}
    # Read from a scan, the missing cell may be a 0 that OCR missed: the reading waits.
    view = crawl.read(sources.load(path).source.view).view
    result = reader.read(view, sections.find(view))
    candidates = dict(result.candidates)
    found = splits.confirm(result.cuts, result.open_rows, candidates, result.sums, False)
    assert not candidates["s3.new_received.legal_service"].certain
    assert candidates["s3.granted.natural_person"].certain
    assert any("漏识" in f.message for f in found.findings)
