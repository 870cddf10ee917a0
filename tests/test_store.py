"""The store and its review queue: migrations, review items, holds by session, decisions
refused when stale, undo and reopen, confirmation as printed, rechecks, exports and gold."""

import json
import threading

import pytest
from click.testing import CliRunner

from gouji.cli import cli
from gouji.errors import DecisionRefused
from gouji.migrations import MIGRATIONS, migrate
from gouji.review import Decision, Filter, Review, Reviewer
from gouji.store import Store
from gouji_eval.gold import save_reviewed

from conftest import gold, shared_path

JIA, YI = Reviewer("甲", "session-a"), Reviewer("乙", "session-b")


def _docs(store) -> dict[str, int]:
    return {d["path"].rsplit("/", 1)[-1]: d["id"] for d in store.documents()}


def _decide(queue, reviewer, item, kind, value, note=None):
    """Hold the item and decide on the version it has now, as the app does."""
    assert queue.claim(item.id, reviewer)
    item = queue.item(item.id)
    return queue.settle(reviewer, Decision(item.id, item.version, kind, value, note))


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


def test_two_reviewers_never_hold_the_same_item(queue):
    first = queue.next_item(JIA)
    second = queue.next_item(YI)
    assert first.id != second.id
    assert not queue.claim(first.id, YI)
    assert queue.next_item(JIA).id == first.id  # 甲 keeps the item they hold
    queue.heartbeat(JIA, seconds=-1)  # 甲's tab went quiet: the hold runs out
    assert queue.claim(first.id, YI)
    assert queue.item(second.id).held_by is None  # 乙 let go of the item they left


def test_a_second_session_under_the_same_name_is_told(queue):
    assert queue.register(JIA) == []
    other_tab = Reviewer("甲", "session-c")
    assert queue.register(other_tab) == ["session-a"]
    first, second = queue.next_item(JIA), queue.next_item(other_tab)
    assert first.id != second.id  # the two tabs hold separately
    with pytest.raises(DecisionRefused, match="另一个窗口"):
        queue.settle(other_tab, Decision(first.id, first.version, "confirm", first.value))


def test_a_stale_page_cannot_overwrite_a_colleague(review_db, queue):
    """甲's page stays open past the hold; 乙 takes the item and saves 7; 甲's old button
    and typed value are refused, saying why, and 乙's 7 stands."""
    shown = queue.next_item(JIA)
    queue.heartbeat(JIA, seconds=-1)
    taken = queue.next_item(YI)
    assert taken.id == shown.id
    queue.settle(YI, Decision(taken.id, taken.version, "typed", 7))
    with pytest.raises(DecisionRefused, match="已由乙处理"):
        queue.settle(JIA, Decision(shown.id, shown.version, "typed", 3))
    # 乙 reopens it and leaves it; 甲 holds it again, but the page still shows the old value.
    queue.reopen(shown.id, YI)
    queue.release(YI)
    assert queue.claim(shown.id, JIA)
    with pytest.raises(DecisionRefused, match="已被乙改为 7"):
        queue.settle(JIA, Decision(shown.id, shown.version, "typed", 999))
    audit = [c for c in review_db.audit() if c["item_id"] == shown.id]
    assert [(c["reviewer"], c["decision"], c["new_value"]) for c in audit] == [
        ("乙", "typed", 7),
        ("乙", "reopen", 7),
    ]
    assert review_db.values(shown.document_id)[shown.key] == 7
    fresh = queue.item(shown.id)  # shown again, 甲's decision applies
    queue.settle(JIA, Decision(fresh.id, fresh.version, "confirm", fresh.value))
    assert review_db.values(shown.document_id)[shown.key] == 7


def test_simultaneous_saves_apply_only_the_holders(review_db, queue):
    item = queue.next_item(JIA)
    barrier = threading.Barrier(2)
    outcome = {}

    def save(reviewer, value):
        barrier.wait()
        try:
            outcome[reviewer.name] = queue.settle(
                reviewer, Decision(item.id, item.version, "typed", value)
            )
        except DecisionRefused as refused:
            outcome[reviewer.name] = str(refused)

    threads = [threading.Thread(target=save, args=rv) for rv in ((JIA, 7), (YI, 8))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    audit = [c for c in review_db.audit(item.document_id) if c["key"] == item.key]
    assert [(c["reviewer"], c["new_value"]) for c in audit] == [("甲", 7)]
    assert "你的决定没有保存" in outcome["乙"]
    assert review_db.values(item.document_id)[item.key] == 7


def test_publisher_error_settles_the_identity_and_goes_into_gold(review_db, queue, tmp_path):
    doc = _docs(review_db)["hongze_2023.pdfplumber.txt"]
    items = {i.key: i for i in queue.items(Filter(document_id=doc))}
    broken = next(f for f in queue.identity_breaks(doc) if "s4.review.total" in f["keys"])
    siblings = {k for k in broken["keys"] if k in items} - {"s4.review.total"}
    assert siblings  # the identity's other cells wait for review too
    _decide(queue, JIA, items["s4.review.total"], "publisher_error", 0, "报告印为 0")
    assert review_db.values(doc)["s4.review.total"] == 0
    assert {queue.item(items[k].id).status for k in siblings} == {"settled"}
    assert queue.states(doc)["s4.review.total"] == "publisher_error"
    with pytest.raises(ValueError, match="未复核"):
        save_reviewed(queue, doc, tmp_path)  # not fully reviewed yet
    truth = gold("hongze_2023")["fields"]
    settled = 0
    while open_items := queue.items(Filter(document_id=doc)):
        for open_item in open_items:
            _decide(queue, JIA, open_item, "typed", truth[open_item.key])
            settled += 1
        assert settled < 400
    path = save_reviewed(queue, doc, tmp_path / "reviewed")
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["source_inconsistencies"][0] == {
        "key": "s4.review.total",
        "printed": 0,
        "reviewer": "甲",
    }
    assert {s["key"] for s in saved["source_inconsistencies"]} == {"s4.review.total", *siblings}
    assert saved["fields"] == truth


def test_undo_restores_the_value_and_reopens_the_item(review_db, queue):
    item = queue.next_item(JIA)
    before = item.value
    _decide(queue, JIA, item, "typed", 12345)
    assert review_db.values(item.document_id)[item.key] == 12345
    (reopened,) = queue.undo(JIA)
    assert reopened.id == item.id and reopened.status == "open" and reopened.held_by == "甲"
    assert review_db.values(item.document_id)[item.key] == before
    audit = [(c["decision"], c["new_value"]) for c in review_db.audit() if c["key"] == item.key]
    assert audit == [("typed", 12345), ("undo", before)]
    with pytest.raises(DecisionRefused, match="没有可以撤销"):
        queue.undo(JIA)


def _manual_items(store, doc: int, keys) -> None:
    """Open items on accepted values, as a reviewer's reopening would."""
    with store.engine.begin() as conn:
        conn.execute(
            store.t.review_items.insert(),
            [
                {"document_id": doc, "key": k, "part": k[:2], "rule": "unplaced", "messages": "[]",
                 "status": "open"}
                for k in keys
            ],
        )  # fmt: skip


def test_confirming_as_printed_leaves_broken_identities_open(review_db, queue):
    docs = _docs(review_db)
    seed, hongze = docs["002_58d1e0dbcfc9fbf4.txt"], docs["hongze_2023.pdfplumber.txt"]
    _manual_items(review_db, seed, ["s2.licensing", "s2.punishment", "s2.coercion"])
    items = queue.items(Filter(document_id=seed)) + queue.items(Filter(document_id=hongze))
    shown = {i.id: i.version for i in items}
    broken = {k for f in queue.identity_breaks(hongze) for k in f["keys"]}
    assert queue.claim(items[0].id, YI)  # a colleague holds one item
    done = queue.confirm(JIA, shown)
    assert done.left[items[0].key] == "正由乙处理"
    assert {done.left[i.key] for i in items if i.document_id == hongze} == {"所在的勾稽关系不成立"}
    assert broken >= {i.key for i in items if i.document_id == hongze}
    assert sorted(done.settled) == ["s2.coercion", "s2.punishment"]
    assert (
        review_db.values(seed)["s2.punishment"] == review_db.record(seed)["fields"]["s2.punishment"]
    )
    reopened = queue.undo(JIA)  # the whole confirmation is undone at once
    assert sorted(i.key for i in reopened) == sorted(done.settled)


def test_a_correction_that_breaks_a_sum_opens_new_items(review_db, queue):
    doc = _docs(review_db)["002_58d1e0dbcfc9fbf4.txt"]
    store = review_db
    # A reviewer corrects an accepted value through an item on it.
    _manual_items(store, doc, ["s3.granted.natural_person"])
    item = queue.items(Filter(document_id=doc))[0]
    _decide(queue, JIA, item, "typed", 6)
    reopened = {i.key: i for i in queue.items(Filter(document_id=doc))}
    assert "s3.granted.total" in reopened and "s3.total_processed.natural_person" in reopened
    assert reopened["s3.granted.total"].opened_by == "recheck"


def test_queue_pages_and_progress(queue):
    total = queue.count()
    first, second = queue.items(limit=5), queue.items(limit=5, offset=5)
    assert len(first) == 5 and not {i.id for i in first} & {i.id for i in second}
    for item in first:
        _decide(queue, JIA, item, "confirm", item.value)
    progress = queue.progress()
    assert (progress.settled, progress.total) == (5, total)
    assert progress.per_hour > 0 and progress.eta_seconds > 0
    assert queue.by_reviewer() == {"甲": 5}


def test_the_queue_pages_past_ten_thousand_items(tmp_path):
    from gouji.record import failed_record
    from gouji.template import FIELD_KEYS

    store = Store(f"sqlite:///{tmp_path / 'big.db'}")
    queue = Review(store)
    docs = [
        store.save_record(failed_record(str(tmp_path / f"r{n}.txt"), "input.empty: 空", f"{n:064}"))
        for n in range(60)
    ]
    _manual = [
        {"document_id": d, "key": k, "part": k[:2], "rule": "unplaced", "messages": "[]",
         "status": "open"}
        for d in docs
        for k in FIELD_KEYS
    ]  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(store.t.review_items.insert(), _manual)
    assert queue.count() == 12_000
    last = queue.items(limit=50, offset=11_950)
    assert len(last) == 50 and last[-1].document_id == docs[-1]
    assert queue.next_item(JIA).document_id == docs[0]
    store.close()


def test_extract_into_the_store_and_export_reviewed_values(store_url, tmp_path):
    db = store_url
    seeds = shared_path("seeds")
    runner = CliRunner()
    result = runner.invoke(
        cli, ["extract", str(seeds), "-o", str(tmp_path / "r.jsonl"), "--db", db]
    )
    assert result.exit_code == 0, result.output
    store = Store(db)
    queue = Review(store)
    doc = store.documents()[0]["id"]
    with store.engine.begin() as conn:
        conn.execute(
            store.t.review_items.insert().values(
                document_id=doc, key="s2.licensing", part="s2", rule="unplaced", messages="[]",
                status="open",
            )
        )  # fmt: skip
    _decide(queue, JIA, queue.items()[0], "typed", 900)
    for fmt in ("csv", "jsonl", "parquet", "xlsx"):
        out = tmp_path / f"out.{fmt}"
        result = runner.invoke(cli, ["export", "--db", db, "--format", fmt, "-o", str(out)])
        assert result.exit_code == 0 and out.stat().st_size > 0
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["s2.licensing"] for r in rows] == [900, 1483]
    assert [r["s2.licensing.status"] for r in rows] == ["reviewed", "accepted"]
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "out.parquet")
    assert table.num_rows == 2 and table.column("s2.licensing").to_pylist() == [900, 1483]
    zh = tmp_path / "zh.csv"
    result = runner.invoke(
        cli, ["export", "--db", db, "--format", "csv", "--chinese-header", "-o", str(zh)]
    )
    head = zh.read_text(encoding="utf-8-sig").splitlines()[0]
    assert head.startswith(
        "文件,SHA256,状态,模板,发布机关,年度,规章·本年制发件数（s2.rules.issued）,"
        "规章·本年制发件数·状态（s2.rules.issued.status）"
    )
    long = tmp_path / "long.jsonl"
    result = runner.invoke(
        cli, ["export", "--db", db, "--long", "--format", "jsonl", "-o", str(long)]
    )
    lines = [json.loads(line) for line in long.read_text(encoding="utf-8").splitlines()]
    licensing = [line for line in lines if line["key"] == "s2.licensing"]
    assert len(lines) == 400 and "已导出 2 份报告" in result.output
    assert [(x["value"], x["field_status"], x["witness"]) for x in licensing] == [
        (900, "reviewed", "reviewer:甲"),
        (1483, "accepted", "reader"),
    ]
    result = runner.invoke(
        cli, ["export", str(tmp_path / "r.jsonl"), "--format", "csv", "-o", str(tmp_path / "x.csv")]
    )
    assert "1483" in (tmp_path / "x.csv").read_text(encoding="utf-8-sig")


def test_export_without_a_store_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GOUJI_DB", raising=False)
    result = CliRunner().invoke(cli, ["export", "-o", "out.csv"])
    assert result.exit_code == 1 and "没有找到复核库 sqlite:///gouji.db" in result.output
    assert not (tmp_path / "gouji.db").exists() and not (tmp_path / "out.csv").exists()


def test_gold_only_from_read_and_reviewed_documents(review_db, queue, tmp_path, monkeypatch):
    from gouji.record import failed_record

    failed = tmp_path / "broken.txt"
    failed.write_text("x", encoding="utf-8")
    failed_id = review_db.save_record(failed_record(str(failed), "input.empty: 文件为空", "0" * 64))
    folder = tmp_path / "reviewed"
    with pytest.raises(ValueError, match="没有读取成功"):
        save_reviewed(queue, failed_id, folder)
    seed = _docs(review_db)["002_58d1e0dbcfc9fbf4.txt"]
    path = save_reviewed(queue, seed, folder)  # nothing to review: fully reviewed as extracted
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert (saved["root"], saved["document"]) == ("shared", "seeds/002_58d1e0dbcfc9fbf4.txt")
    monkeypatch.setenv("GOUJI_REVIEWED_DIR", str(folder))
    monkeypatch.chdir(tmp_path)  # wherever the eval runs, the document is found
    artifact = tmp_path / "run.json"
    result = CliRunner().invoke(cli, ["eval", "--set", "reviewed", "--artifact", str(artifact)])
    metrics = json.loads(artifact.read_text(encoding="utf-8"))["metrics"]
    assert result.exit_code == 0, result.output
    assert metrics["reviewed.fields.value_accuracy"] == 1.0
    assert f"reviewed 集：{folder} 中 1 份标注" in result.output
    assert "== reviewed：1 份" in result.output
