"""The cluster path at small scale: a local Ray instance, the same run as ``gouji extract``."""

import json

import pytest
from click.testing import CliRunner

from gouji.cli import cli

from conftest import shared_path, store_rows, write_years

pytest.importorskip("ray", reason="the cluster extra (gouji[cluster]) is not installed")


def _records(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_cluster_gives_the_records_extract_gives(store_url, tmp_path, monkeypatch):
    """A crawled page saved twice, two years of one agency, a copy and an empty file: the
    cluster's journal, findings across years and store are extract's, field by field."""
    monkeypatch.setenv("RAY_ADDRESS", "")  # a local instance, never a real cluster
    folder = tmp_path / "reports"
    page = shared_path("realcorpus", "pt_2023_czj_1.html")
    (folder / "page").mkdir(parents=True)
    (folder / "page" / "page.html").write_bytes(page.read_bytes())
    (folder / "page" / "page.txt").write_bytes(page.with_suffix(".txt").read_bytes())
    write_years(folder, (("a_baiqing", 2022, 12), ("b_baiqing", 2023, 13)))
    (folder / "empty.txt").write_text("", encoding="utf-8")
    (folder / "z_copy.txt").write_bytes((folder / "a_baiqing_2022.txt").read_bytes())

    extracted, clustered = tmp_path / "extract.jsonl", tmp_path / "cluster.jsonl"
    local = f"sqlite:///{tmp_path / 'extract.db'}"
    runner = CliRunner()
    result = runner.invoke(cli, ["extract", str(folder), "-o", str(extracted), "--db", local])
    assert result.exit_code == 1, result.output  # the empty file failed
    command = ["cluster", str(folder), "-o", str(clustered), "--db", store_url, "--workers", "2"]
    result = runner.invoke(cli, command)
    assert result.exit_code == 1, result.output
    assert "报告 6 份，不是报告或与别的文件重复而略过 2 份，失败 1 份" in result.output
    assert "empty.txt：input.empty: 文件为空" in result.output

    records = _records(clustered)
    assert records == _records(extracted)
    by_name = {r["document"].rsplit("/", 1)[-1]: r for r in records}
    assert by_name["page.txt"]["error"].startswith("input.twin: ")
    assert by_name["z_copy.txt"]["error"].startswith("input.duplicate: ")
    assert by_name["a_baiqing_2022.txt"]["status"] == by_name["page.html"]["status"] == "ok"

    sidecar = lambda out: out.with_name(out.stem + ".cross_year.jsonl").read_text("utf-8")  # noqa: E731
    found = [json.loads(line) for line in sidecar(clustered).splitlines()]
    assert sidecar(clustered) == sidecar(extracted)
    assert {(f["document"].rsplit("/", 1)[-1], f["rule"]) for f in found} >= {
        ("b_baiqing_2023.txt", "cross_year.carried")
    }
    assert store_rows(store_url) == store_rows(local)
