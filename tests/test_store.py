"""The store: migrations, review items, holds, the audit, rechecks, exports and gold."""

import json
import threading

import pytest
from click.testing import CliRunner

from gouji.cli import cli
from gouji.migrations import MIGRATIONS, migrate
from gouji.review import Filter, Review
from gouji.store import Store
from gouji_eval.gold import save_reviewed

from conftest import gold, shared_path


def test_migrations_are_numbered_and_applied_once(store_url):
    names = [m.__name__ for m in MIGRATIONS]
    assert names == sorted(names) and names[0].startswith("m001_")
    store = Store(store_url)
    assert migrate(store.engine) == []


def test_review_items_are_the_fields_in_review(review_db, queue):
    docs = {d["path"].rsplit("/", 1)[-1]: d["id"] for d in review_db.documents()}
    assert queue.items(Filter(document_id=docs["002_58d1e0dbcfc9fbf4.txt"])) == []
    hongze = queue.items(Filter(document_id=docs["hongze_2023.pdfplumber.txt"]))
    record = review_db.record(docs["hongze_2023.pdfplumber.txt"])
    assert {i.key for i in hongze} == {
        k for k, s in record["field_status"].items() if s == "review"
    }
    total = next(i for i in hongze if i.key == "s4.review.total")
    assert total.rule == "s4.total" and "但总计为 0" in total.messages[0]


def test_two_reviewers_never_hold_the_same_item(review_db, queue):
    first = queue.next_item("甲")
    second = queue.next_item("乙")
    assert first.id != second.id
    assert not queue.claim(first.id, "乙")
    assert queue.next_item("甲").id == first.id  # 甲 keeps the item they hold
    queue.claim(first.id, "甲", seconds=-1)  # 甲's hold runs out
    assert queue.claim(first.id, "乙")


def test_simultaneous_saves_keep_every_correction(review_db, queue):
    item = queue.next_item("甲")
    barrier = threading.Barrier(2)

    def save(reviewer, value):
        barrier.wait()
        queue.settle(item.id, reviewer, "typed", value)

    threads = [threading.Thread(target=save, args=(r, v)) for r, v in (("甲", 7), ("乙", 8))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    audit = [c for c in review_db.audit(item.document_id) if c["key"] == item.key]
    assert sorted(c["reviewer"] for c in audit) == ["乙", "甲"]
    assert review_db.values(item.document_id)[item.key] == audit[-1]["new_value"]


def test_publisher_error_is_kept_as_printed_and_goes_into_gold(review_db, queue, tmp_path):
    docs = {d["path"].rsplit("/", 1)[-1]: d["id"] for d in review_db.documents()}
    doc = docs["hongze_2023.pdfplumber.txt"]
    item = next(i for i in queue.items(Filter(document_id=doc)) if i.key == "s4.review.total")
    queue.settle(item.id, "甲", "publisher_error", 0, "报告印为 0")
    assert review_db.values(doc)["s4.review.total"] == 0
    with pytest.raises(ValueError):
        save_reviewed(queue, doc, tmp_path)  # not fully reviewed yet
    truth = gold("hongze_2023")["fields"]
    settled = 0
    while open_items := queue.items(Filter(document_id=doc)):
        for open_item in open_items:
            queue.settle(open_item.id, "甲", "typed", truth[open_item.key])
            settled += 1
        assert settled < 400
    path = save_reviewed(queue, doc, tmp_path / "reviewed")
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["source_inconsistencies"] == [
        {"key": "s4.review.total", "printed": 0, "reviewer": "甲"}
    ]
    assert saved["fields"] == truth


def test_a_correction_that_breaks_a_sum_opens_new_items(review_db, queue):
    docs = {d["path"].rsplit("/", 1)[-1]: d["id"] for d in review_db.documents()}
    doc = docs["002_58d1e0dbcfc9fbf4.txt"]
    store = review_db
    # Pretend a reviewer corrects an accepted value through an item on it.
    with store.engine.begin() as conn:
        conn.execute(
            store.t.review_items.insert().values(
                document_id=doc, key="s3.granted.natural_person", part="s3", rule="manual",
                messages="[]", status="open",
            )
        )  # fmt: skip
    item = queue.items(Filter(document_id=doc))[0]
    queue.settle(item.id, "甲", "typed", 6)
    reopened = {i.key for i in queue.items(Filter(document_id=doc))}
    assert "s3.granted.total" in reopened and "s3.total_processed.natural_person" in reopened


def test_extract_into_the_store_and_export_reviewed_values(store_url, tmp_path):
    db = store_url
    seeds = shared_path("seeds")
    runner = CliRunner()
    result = runner.invoke(
        cli, ["extract", str(seeds), "-o", str(tmp_path / "r.jsonl"), "--db", db]
    )
    assert result.exit_code == 0, result.output
    store = Store(db)
    doc = store.documents()[0]["id"]
    with store.engine.begin() as conn:
        conn.execute(
            store.t.review_items.insert().values(
                document_id=doc, key="s2.licensing", part="s2", rule="manual", messages="[]",
                status="open",
            )
        )  # fmt: skip
    Review(store).settle(Review(store).items()[0].id, "甲", "typed", 900)
    for fmt in ("csv", "jsonl", "parquet", "xlsx"):
        out = tmp_path / f"out.{fmt}"
        result = runner.invoke(cli, ["export", "--db", db, "--format", fmt, "-o", str(out)])
        assert result.exit_code == 0 and out.stat().st_size > 0
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["s2.licensing"] for r in rows] == [900, 1483]
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "out.parquet")
    assert table.num_rows == 2 and table.column("s2.licensing").to_pylist() == [900, 1483]
    result = runner.invoke(
        cli,
        [
            "export",
            "--db",
            db,
            "--format",
            "csv",
            "--chinese-header",
            "-o",
            str(tmp_path / "zh.csv"),
        ],
    )
    head = (tmp_path / "zh.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert head.startswith(
        "文件,SHA256,状态,模板,发布机关,年度,规章·本年制发件数（s2.rules.issued）"
    )
    result = runner.invoke(
        cli, ["export", str(tmp_path / "r.jsonl"), "--format", "csv", "-o", str(tmp_path / "x.csv")]
    )
    assert "1483" in (tmp_path / "x.csv").read_text(encoding="utf-8-sig")


def test_reviewed_gold_joins_the_eval(review_db, queue, tmp_path, monkeypatch):
    docs = {d["path"].rsplit("/", 1)[-1]: d["id"] for d in review_db.documents()}
    doc = docs["002_58d1e0dbcfc9fbf4.txt"]
    folder = tmp_path / "reviewed"
    save_reviewed(queue, doc, folder)  # nothing to review: fully reviewed as extracted
    monkeypatch.setenv("GOUJI_REVIEWED_DIR", str(folder))
    artifact = tmp_path / "run.json"
    result = CliRunner().invoke(cli, ["eval", "--set", "reviewed", "--artifact", str(artifact)])
    metrics = json.loads(artifact.read_text(encoding="utf-8"))["metrics"]
    assert result.exit_code == 0, result.output
    assert metrics["reviewed.fields.value_accuracy"] == 1.0
    assert "== reviewed：1 份" in result.output
