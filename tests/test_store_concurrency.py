"""One store, several writers and hostile text: two runs at once on a new or an old store both
finish and store each document once; control characters never reach the database."""

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine

from gouji.cli import cli
from gouji.running.pipeline import extract_file
from gouji.storage.migrations import _APPLIED, MIGRATIONS
from gouji.storage.store import Store, shown_url
from gouji_eval.generate import generate, write

from conftest import store_rows, table_rows, write_years


def _older_store(url: str) -> None:
    """A store as an earlier gouji left it: its first three migrations only."""
    engine = create_engine(url)
    with engine.begin() as conn:
        _APPLIED.create(conn)
        for migration in MIGRATIONS[:3]:
            migration(conn)
            conn.execute(
                _APPLIED.insert().values(name=migration.__name__, applied_at=datetime.now(UTC))
            )
    engine.dispose()


@pytest.mark.parametrize("age", ["new", "old"])
def test_two_runs_on_one_store_both_finish_and_store_each_document_once(store_url, tmp_path, age):
    folder = tmp_path / "reports"
    for seed in range(30):
        write(generate(seed), folder)
    for gold in folder.glob("*.json"):
        gold.unlink()
    write_years(folder, (("y_baiqing", 2022, 12), ("y_baiqing", 2023, 13)))
    (folder / "empty.txt").write_text("", encoding="utf-8")
    if age == "old":
        _older_store(store_url)

    def extract(out, url):
        return [sys.executable, "-m", "gouji.cli", "extract", str(folder), "-o", str(out),
                "--db", url, "-q"]  # fmt: skip

    runs = [
        subprocess.Popen(extract(tmp_path / f"run{i}.jsonl", store_url), stderr=subprocess.PIPE)
        for i in (1, 2)
    ]
    for run in runs:  # both at once, each over the same files in the same order
        errors = run.communicate(timeout=600)[1].decode()
        assert run.returncode == 1 and "Traceback" not in errors, errors  # empty.txt failed
    single = f"sqlite:///{tmp_path / 'single.db'}"
    assert subprocess.run(extract(tmp_path / "single.jsonl", single)).returncode == 1
    assert store_rows(store_url) == store_rows(single)  # every document, finding and item once
    runs = table_rows(store_url, "runs")
    assert len(runs) == 2 and all(r["finished_at"] is not None for r in runs)


def _poisoned(text: str) -> str:
    return "\x00" + text + "\x1b[2J\x07\ud800\x85"


def test_control_characters_never_reach_the_store(store_url, tmp_path):
    report = generate(3, layout="tab_rows", variants=(), inject_error=True)
    write(report, tmp_path)
    record = extract_file(tmp_path / (report.name + report.suffix))
    assert record["findings"]  # the injected error
    record["meta"]["agency"] = _poisoned(record["meta"]["agency"])
    record["source"]["title"] = _poisoned("标题")
    record["notes"].append(_poisoned("附注"))
    for finding in record["findings"]:
        finding["message"] = _poisoned(finding["message"])
    store = Store(store_url)
    doc = store.save_record(record)
    assert store.save_record(record) == doc  # saved again: the same row, nothing added
    store.close()
    (row,) = table_rows(store_url, "documents")
    held = json.loads(row["record"])
    found = [f for f in table_rows(store_url, "findings") if f["document_id"] == doc]
    for text in (row["agency"], held["meta"]["agency"], held["source"]["title"], held["notes"][-1]):
        assert text.startswith("\ufffd") and text.endswith("\ufffd[2J\ufffd\ufffd\ufffd")
    assert found and all(f["message"].startswith("\ufffd") for f in found)
    assert len(found) == len(record["findings"])


def test_a_nul_after_the_first_64_kib_of_a_report_is_stored(store_url, tmp_path):
    report = generate(4, layout="tab_rows", variants=(), inject_error=False)
    padding = "政务公开工作稳步推进。" * 3000  # past 64 KiB, where a NUL no longer means binary
    text = report.text + "\n" + padding + "\n全年办理申请\x0017件。\n"
    (tmp_path / "nul.txt").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["extract", str(tmp_path / "nul.txt"), "-o", str(tmp_path / "o.jsonl"), "--db", store_url],
    )
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "o.jsonl").read_text(encoding="utf-8"))
    (row,) = table_rows(store_url, "documents")
    assert record["status"] == row["status"] == "ok"
    values = {r["key"]: json.loads(r["value"]) for r in table_rows(store_url, "field_values")}
    assert values == record["fields"]


def test_a_store_url_is_shown_without_its_password():
    url = "postgresql+psycopg://gouji:s3cr%40t@db.example:5432/gouji?sslpassword=x&sslmode=require"
    shown = shown_url(url)
    assert "s3cr" not in shown and "sslpassword=x" not in shown
    assert shown.startswith("postgresql+psycopg://gouji:***@db.example:5432/gouji?")
    assert "sslmode=require" in shown
    assert shown_url("sqlite:///gouji.db") == "sqlite:///gouji.db"
