"""``gouji extract`` as a user runs it: files and folders, JSONL out, exit codes, summary."""

import json

from click.testing import CliRunner

from gouji.cli import cli

from conftest import shared_path


def test_extract_folder_keeps_going_past_bad_files(tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    seed = shared_path("seeds", "002_58d1e0dbcfc9fbf4.txt")
    (folder / "good.txt").write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    (folder / "sub").mkdir()
    (folder / "sub" / "also_good.txt").write_bytes(
        seed.read_text(encoding="utf-8").encode("gb18030")
    )
    (folder / "notes.json").write_text("{}", encoding="utf-8")  # not a report file: skipped
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["extract", str(folder), "-o", str(out)])
    assert result.exit_code == 1
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["status"] for r in records] == ["failed", "ok", "ok"]
    assert records[0]["error"] == "input.empty: 文件为空"
    assert records[2]["fields"]["s4.review.total"] == 2
    assert "报告 3 份，失败 1 份" in result.output


def test_extract_all_good_exits_zero(tmp_path):
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        cli, ["extract", str(shared_path("seeds")), "-o", str(out), "--quiet"]
    )
    assert result.exit_code == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2


def test_usage_error_exits_two(tmp_path):
    assert CliRunner().invoke(cli, ["extract"]).exit_code == 2
    assert CliRunner().invoke(cli, ["extract", str(tmp_path / "missing")]).exit_code == 2
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    assert CliRunner().invoke(cli, ["extract", str(empty)]).exit_code == 2
