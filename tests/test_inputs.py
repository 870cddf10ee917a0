"""Bad input gets a clear one-line error in its own record; other inputs are read."""

from gouji.limits import Limits
from gouji.running.pipeline import extract_file
from gouji.running.settings import Settings

from conftest import shared_path


def _failed(record: dict, code: str) -> None:
    assert record["status"] == "failed"
    assert record["error"].startswith(code + ": ")
    assert "\n" not in record["error"]
    assert set(record["fields"].values()) == {None}


def test_empty_file(extract_text):
    _failed(extract_text(""), "input.empty")
    _failed(extract_text("  \n\t\n"), "input.empty")


def test_binary_file(extract_text):
    _failed(extract_text(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50, "scan.txt"), "input.binary")


def test_gbk_encoded_report_is_decoded(extract_text):
    text = shared_path("seeds", "002_58d1e0dbcfc9fbf4.txt").read_text(encoding="utf-8")
    record = extract_text(text.encode("gbk"), "gbk.txt")
    assert record["status"] == "ok"
    assert record["fields"]["s2.licensing"] == 1483
    assert record["meta"]["agency"] == "伊美区人民政府"


def test_utf8_bom_is_honoured(extract_text):
    text = shared_path("seeds", "000_ca43ff7fde9941af.txt").read_text(encoding="utf-8")
    record = extract_text(b"\xef\xbb\xbf" + text.encode("utf-8"), "bom.txt")
    assert record["fields"]["s2.licensing"] == 891


def test_text_that_is_not_a_report_is_skipped_not_failed(extract_text):
    record = extract_text("今天天气很好，我们去公园散步，买了3个苹果。\n" * 5)
    assert record["status"] == "skipped"
    assert record["error"].startswith("input.not_a_report: ")
    assert set(record["fields"].values()) == {None}


def test_2019_template_report_says_so(extract_text):
    text = (
        "某县2020年政府信息公开工作年度报告\n二、主动公开政府信息情况\n第二十条第（一）项\n"
        "信息内容\t本年新制作数量\t本年新公开数量\t对外公开总数量\n规章\t0\t0\t3\n规范性文件\t2\t2\t17\n"
        "第二十条第（九）项\n信息内容\t采购项目数量\t采购总金额\n政府集中采购\t4\t35\n"
    )
    record = extract_text(text)
    assert record["status"] == "ok"
    assert record["template"] == "pre2021"
    assert all(v is None for k, v in record["fields"].items() if k.startswith("s2."))
    assert any(f["rule"] == "s2.pre2021_template" for f in record["findings"])


def test_huge_file(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_text("政府信息公开" * 1000, encoding="utf-8")
    _failed(extract_file(path, Settings(limits=Limits(bytes=1000))), "input.too_large")


def test_unreadable_format(tmp_path):
    path = tmp_path / "report.pptx"
    path.write_bytes(b"PK\x03\x04")
    _failed(extract_file(path), "input.format")
    assert extract_file(path)["error"] == "input.format: 不支持的文件类型 .pptx"
