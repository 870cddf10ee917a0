"""Text inputs: one rule for control characters over the whole file (binary, or blanked in
place), and a few bad bytes that never lose a report."""

import json

import opencc
import pytest

from gouji.inputs.sources import decode
from gouji.running.pipeline import extract_file
from gouji_eval.generate import generate

PROSE = "本机关认真贯彻落实政府信息公开条例，持续推进政务公开标准化规范化建设。\n"


@pytest.fixture
def report():
    return generate(5, layout="tab_rows", variants=(), inject_error=False)


def _write(tmp_path, data: bytes, name: str = "report.txt"):
    path = tmp_path / name
    path.write_bytes(data)
    return extract_file(path)


def _padded(text: str, before: int) -> str:
    """The report with prose enough before its parts that they start past ``before`` bytes."""
    head, part = text.split("二、主动公开政府信息情况", 1)
    filler = PROSE * (before // len(PROSE.encode("utf-8")) + 1)
    return head + filler + "二、主动公开政府信息情况" + part


@pytest.mark.parametrize("at", ["start", "past 64 KiB", "in a figure's sentence"])
def test_a_nul_anywhere_is_read_as_a_space_and_reaches_no_record_field(report, tmp_path, at):
    text = _padded(report.text, 70_000)
    if at == "start":
        text = text[:3] + "\x00" + text[3:]
    elif at == "past 64 KiB":
        i = len(text.encode("utf-8")[:66_000].decode("utf-8", "ignore"))
        text = text[:i] + "\x00\x01" + text[i:]
    else:
        i = text.index("二、主动公开政府信息情况")
        text = text[:i] + "本年共受理申请\x0012件。\n" + text[i:]
    record = _write(tmp_path, text.encode("utf-8"))
    assert record["status"] == "ok", record["error"]
    assert record["fields"] == report.gold["fields"]
    blanked = 2 if at == "past 64 KiB" else 1
    assert f"文件有 {blanked} 个控制字符（如 NUL），已按空格读取，位置不变" in record["notes"]
    dumped = json.dumps(record, ensure_ascii=False)
    assert "\x00" not in dumped and "\\u0000" not in dumped
    start, end = record["spans"]["s2.licensing"]
    assert text[start:end] == str(report.gold["fields"]["s2.licensing"])  # offsets unchanged


def test_binary_content_anywhere_makes_the_file_binary_whatever_its_start(report, tmp_path):
    clean = _padded(report.text, 70_000).encode("utf-8")
    junk = bytes(range(32)) * 200  # 29 controls a run, past where a sampler would look
    record = _write(tmp_path, clean + junk)
    assert record["error"] == "input.binary: 二进制文件，不是文本（5800 个控制字符）"
    html = _write(tmp_path, b"<html><body>" + clean + junk, "page.html")
    assert html["error"].startswith("input.binary: ")


def test_form_feeds_and_vertical_tabs_break_lines_without_a_note(report, tmp_path):
    text = report.text.replace("\n二、", "\x0c\n二、", 1).replace("\n三、", "\x0b三、", 1)
    record = _write(tmp_path, text.encode("utf-8"))
    assert record["fields"] == report.gold["fields"]
    assert record["notes"] == _write(tmp_path, report.text.encode("utf-8"))["notes"]


def _with_bad_byte(text: str, encoding: str, bad: bytes, where: float) -> bytes:
    at = int(len(text) * where)
    cut = len(text[:at].encode(encoding, "replace"))
    data = text.encode(encoding, "replace")
    return data[:cut] + bad + data[cut:]


@pytest.mark.parametrize("where", [0.1, 0.5, 0.99])
@pytest.mark.parametrize("encoding", ["gb18030", "utf-8"])
def test_one_bad_byte_never_loses_a_report(report, tmp_path, encoding, where):
    record = _write(tmp_path, _with_bad_byte(report.text, encoding, b"\xff", where))
    assert record["status"] == "ok", record["error"]
    assert record["fields"] == report.gold["fields"]
    (note,) = [n for n in record["notes"] if "无法按" in n]
    assert note.startswith(f"文件有 1 个字节无法按 {encoding.upper()} 解码，已换成 �")


def test_a_big5_report_with_a_bad_byte_is_read_as_big5(report, tmp_path):
    traditional = opencc.OpenCC("s2t").convert(report.text)
    record = _write(tmp_path, _with_bad_byte(traditional, "big5", b"\xff", 0.5))
    assert record["fields"] == report.gold["fields"]
    assert any("无法按 BIG5 解码" in n for n in record["notes"])


def test_a_file_in_no_encoding_still_fails(report):
    data = report.text.encode("gb18030")
    mangled = bytes(b if i % 40 else 0xFF for i, b in enumerate(data))  # one byte in 40
    with pytest.raises(Exception, match="input.encoding: 无法识别文件编码"):
        decode(mangled)


def test_utf16_with_its_bom_is_read_and_its_controls_counted(report):
    text, notes = decode(b"\xff\xfe" + ("\x00" + report.text).encode("utf-16-le"))
    assert text == "\x00" + report.text
    assert notes == ["文件有 1 个控制字符（如 NUL），已按空格读取，位置不变"]
