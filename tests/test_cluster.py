"""The cluster path at small scale: a local Ray instance, records in a shared store."""

import pytest
from click.testing import CliRunner

from gouji.cli import cli
from gouji.store import Store
from gouji_eval.generate import generate, write

pytest.importorskip("ray", reason="the cluster extra (gouji[cluster]) is not installed")


def test_documents_extracted_on_ray_land_in_the_shared_store(store_url, tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "")  # a local instance, never a real cluster
    folder = tmp_path / "reports"
    reports = [
        generate(seed, layout="tab_rows", variants=(), inject_error=False) for seed in range(6)
    ]
    for report in reports:
        write(report, folder)
    (folder / "empty.txt").write_text("", encoding="utf-8")
    result = CliRunner().invoke(cli, ["cluster", str(folder), "--db", store_url, "--workers", "2"])
    assert result.exit_code == 1  # the empty file failed, the others did not
    assert "成功 6，失败 1" in result.output
    store = Store(store_url)
    documents = {d.path.rsplit("/", 1)[-1]: d for d in store.documents()}
    assert len(documents) == 7 and documents["empty.txt"].error == "input.empty: 文件为空"
    for report in reports:
        doc = documents[report.name + ".txt"]
        assert store.values(doc.id) == report.gold["fields"]
