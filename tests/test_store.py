"""The store and its review queue: migrations, review items, holds by session, decisions
refused when stale, undo and reopen, confirmation as printed, rechecks, exports and gold."""

import json
import threading

import pytest
from click.testing import CliRunner

from gouji.checking.record import dumps, failed_record
from gouji.cli import cli
from gouji.errors import DecisionRefused
from gouji.running.pipeline import extract_file
from gouji.storage.migrations import MIGRATIONS, migrate
from gouji.storage.review import Decision, Filter, Review, Reviewer, ReviewerCounts
from gouji.storage.store import Store, now
from gouji.template import FIELD_KEYS
from gouji_eval.gold import save_reviewed

from conftest import gold, shared_path

JIA, YI = Reviewer("甲", "session-a"), Reviewer("乙", "session-b")


def _docs(store) -> dict[str, int]:
    return {d.path.rsplit("/", 1)[-1]: d.id for d in store.documents()}


def _decide(queue, reviewer, item, kind, value, note=None):
    """Hold the item and decide on the version it has now, as the app does."""
    assert queue.holds.claim(item.id, reviewer)
    item = queue.reads.item(item.id)
    return queue.decisions.settle(reviewer, Decision(item.id, item.version, kind, value, note))


def test_migrations_are_numbered_and_applied_once(store_url):
    names = [m.__name__ for m in MIGRATIONS]
    assert names == sorted(names) and names[0].startswith("m001_")
    store = Store(store_url)
    assert migrate(store.engine) == []


def test_review_items_are_the_fields_in_review(review_db, queue):
    docs = {d.path.rsplit("/", 1)[-1]: d.id for d in review_db.documents()}
    assert queue.reads.items(Filter(document_id=docs["002_58d1e0dbcfc9fbf4.txt"])) == []
    hongze = queue.reads.items(Filter(document_id=docs["hongze_2023.pdfplumber.txt"]))
    record = review_db.record(docs["hongze_2023.pdfplumber.txt"])
    assert {i.key for i in hongze} == {
        k for k, s in record["field_status"].items() if s == "review"
    }
    total = next(i for i in hongze if i.key == "s4.review.total")
    assert total.rule == "s4.total" and "但总计为 0" in total.messages[0]


def test_two_reviewers_never_hold_the_same_item(queue):
    first = queue.holds.next_item(JIA)
    second = queue.holds.next_item(YI)
    assert first.id != second.id
    assert not queue.holds.claim(first.id, YI)
    assert queue.holds.next_item(JIA).id == first.id  # 甲 keeps the item they hold
    queue.holds.heartbeat(JIA, seconds=-1)  # 甲's tab went quiet: the hold runs out
    assert queue.holds.claim(first.id, YI)
    assert queue.reads.item(second.id).held_by is None  # 乙 let go of the item they left


def test_a_second_session_under_the_same_name_is_told(queue):
    assert queue.holds.register(JIA) == []
    other_tab = Reviewer("甲", "session-c")
    assert queue.holds.register(other_tab) == ["session-a"]
    first, second = queue.holds.next_item(JIA), queue.holds.next_item(other_tab)
    assert first.id != second.id  # the two tabs hold separately
    with pytest.raises(DecisionRefused, match="另一个窗口"):
        queue.decisions.settle(other_tab, Decision(first.id, first.version, "confirm", first.value))


def test_a_stale_page_cannot_overwrite_a_colleague(review_db, queue):
    """甲's page stays open past the hold; 乙 takes the item and saves 7; 甲's old button
    and typed value are refused, saying why, and 乙's 7 stands."""
    shown = queue.holds.next_item(JIA)
    queue.holds.heartbeat(JIA, seconds=-1)
    taken = queue.holds.next_item(YI)
    assert taken.id == shown.id
    queue.decisions.settle(YI, Decision(taken.id, taken.version, "typed", 7))
    with pytest.raises(DecisionRefused, match="已由乙处理"):
        queue.decisions.settle(JIA, Decision(shown.id, shown.version, "typed", 3))
    # 乙 reopens it and leaves it; 甲 holds it again, but the page still shows the old value.
    queue.decisions.reopen(shown.id, YI)
    queue.holds.release(YI)
    assert queue.holds.claim(shown.id, JIA)
    with pytest.raises(DecisionRefused, match="已被乙改为 7"):
        queue.decisions.settle(JIA, Decision(shown.id, shown.version, "typed", 999))
    audit = [c for c in review_db.audit() if c.item_id == shown.id]
    assert [(c.reviewer, c.decision, c.new_value) for c in audit] == [
        ("乙", "typed", 7),
        ("乙", "reopen", 7),
    ]
    assert review_db.values(shown.document_id)[shown.key] == 7
    fresh = queue.reads.item(shown.id)  # shown again, 甲's decision applies
    queue.decisions.settle(JIA, Decision(fresh.id, fresh.version, "confirm", fresh.value))
    assert review_db.values(shown.document_id)[shown.key] == 7


def test_simultaneous_saves_apply_only_the_holders(review_db, queue):
    item = queue.holds.next_item(JIA)
    barrier = threading.Barrier(2)
    outcome = {}

    def save(reviewer, value):
        barrier.wait()
        try:
            outcome[reviewer.name] = queue.decisions.settle(
                reviewer, Decision(item.id, item.version, "typed", value)
            )
        except DecisionRefused as refused:
            outcome[reviewer.name] = str(refused)

    threads = [threading.Thread(target=save, args=rv) for rv in ((JIA, 7), (YI, 8))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    audit = [c for c in review_db.audit(item.document_id) if c.key == item.key]
    assert [(c.reviewer, c.new_value) for c in audit] == [("甲", 7)]
    assert "你的决定没有保存" in outcome["乙"]
    assert review_db.values(item.document_id)[item.key] == 7


def test_publisher_error_settles_the_identity_and_goes_into_gold(review_db, queue, tmp_path):
    doc = _docs(review_db)["hongze_2023.pdfplumber.txt"]
    items = {i.key: i for i in queue.reads.items(Filter(document_id=doc))}
    broken = next(f for f in queue.reads.identity_breaks(doc) if "s4.review.total" in f["keys"])
    siblings = {k for k in broken["keys"] if k in items} - {"s4.review.total"}
    assert siblings  # the identity's other cells wait for review too
    _decide(queue, JIA, items["s4.review.total"], "publisher_error", 0, "报告印为 0")
    assert review_db.values(doc)["s4.review.total"] == 0
    assert {queue.reads.item(items[k].id).status for k in siblings} == {"settled"}
    assert queue.reads.states(doc)["s4.review.total"] == "publisher_error"
    with pytest.raises(ValueError, match="还有待复核的字段（5 项）"):
        save_reviewed(queue, doc, tmp_path)  # not fully reviewed yet
    truth = gold("hongze_2023")["fields"]
    settled = 0
    while open_items := queue.reads.items(Filter(document_id=doc)):
        for open_item in open_items:
            _decide(queue, JIA, open_item, "typed", truth[open_item.key])
            settled += 1
        assert settled < 400
    # Its open values were decided, the rest are gouji's: gold only once a person confirms
    # the whole report.
    with pytest.raises(ValueError, match="没有复核人确认整份报告"):
        save_reviewed(queue, doc, tmp_path / "reviewed")
    queue.decisions.confirm_document(JIA, doc)
    path = save_reviewed(queue, doc, tmp_path / "reviewed")
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["source_inconsistencies"][0] == {
        "key": "s4.review.total",
        "printed": 0,
        "reviewer": "甲",
    }
    assert {s["key"] for s in saved["source_inconsistencies"]} == {"s4.review.total", *siblings}
    assert saved["fields"] == truth
    assert (saved["reviewed_by"], saved["confirmed_by"], saved["claims"]) == (["甲"], ["甲"], None)


def test_undo_restores_the_value_and_reopens_the_item(review_db, queue):
    item = queue.holds.next_item(JIA)
    before = item.value
    _decide(queue, JIA, item, "typed", 12345)
    assert review_db.values(item.document_id)[item.key] == 12345
    (reopened,) = queue.decisions.undo(JIA)
    assert reopened.id == item.id and reopened.status == "open" and reopened.held_by == "甲"
    assert review_db.values(item.document_id)[item.key] == before
    audit = [(c.decision, c.new_value) for c in review_db.audit() if c.key == item.key]
    assert audit == [("typed", 12345), ("undo", before)]
    with pytest.raises(DecisionRefused, match="没有可以撤销"):
        queue.decisions.undo(JIA)


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
    items = queue.reads.items(Filter(document_id=seed)) + queue.reads.items(
        Filter(document_id=hongze)
    )
    shown = {i.id: i.version for i in items}
    broken = {k for f in queue.reads.identity_breaks(hongze) for k in f["keys"]}
    assert queue.holds.claim(items[0].id, YI)  # a colleague holds one item
    done = queue.decisions.confirm(JIA, shown)
    assert done.left[items[0].key] == "正由乙处理"
    assert {done.left[i.key] for i in items if i.document_id == hongze} == {"所在的勾稽关系不成立"}
    assert broken >= {i.key for i in items if i.document_id == hongze}
    assert sorted(done.settled) == ["s2.coercion", "s2.punishment"]
    assert (
        review_db.values(seed)["s2.punishment"] == review_db.record(seed)["fields"]["s2.punishment"]
    )
    reopened = queue.decisions.undo(JIA)  # the whole confirmation is undone at once
    assert sorted(i.key for i in reopened) == sorted(done.settled)


def test_a_correction_that_breaks_a_sum_opens_new_items(review_db, queue):
    doc = _docs(review_db)["002_58d1e0dbcfc9fbf4.txt"]
    store = review_db
    # A reviewer corrects an accepted value through an item on it.
    _manual_items(store, doc, ["s3.granted.natural_person"])
    item = queue.reads.items(Filter(document_id=doc))[0]
    _decide(queue, JIA, item, "typed", 6)
    reopened = {i.key: i for i in queue.reads.items(Filter(document_id=doc))}
    assert "s3.granted.total" in reopened and "s3.total_processed.natural_person" in reopened
    assert reopened["s3.granted.total"].opened_by == "recheck"


def test_queue_pages_and_progress(queue):
    total = queue.reads.count()
    first, second = queue.reads.items(limit=5), queue.reads.items(limit=5, offset=5)
    assert len(first) == 5 and not {i.id for i in first} & {i.id for i in second}
    for item in first:
        _decide(queue, JIA, item, "confirm", item.value)
    progress = queue.reads.progress()
    assert (progress.settled, progress.total) == (5, total)
    assert progress.per_hour > 0 and progress.eta_seconds > 0
    assert queue.reads.by_reviewer() == {"甲": ReviewerCounts(decisions=5)}


def test_the_queue_pages_past_ten_thousand_items(tmp_path):
    from gouji.checking.record import failed_record
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
    assert queue.reads.count() == 12_000
    last = queue.reads.items(limit=50, offset=11_950)
    assert len(last) == 50 and last[-1].document_id == docs[-1]
    assert queue.holds.next_item(JIA).document_id == docs[0]
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
    doc = store.documents()[0].id
    with store.engine.begin() as conn:
        conn.execute(
            store.t.review_items.insert().values(
                document_id=doc, key="s2.licensing", part="s2", rule="unplaced", messages="[]",
                status="open",
            )
        )  # fmt: skip
    _decide(queue, JIA, queue.reads.items()[0], "typed", 900)
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


def test_gold_only_from_people(review_db, queue, tmp_path, monkeypatch):
    """Nothing gouji did alone is gold: right after extraction ``gouji gold`` saves nothing
    and says why; a report a named reviewer confirmed whole is saved, naming them; gold
    saved by an older gouji from nobody's review is refused by the eval, with the reason."""
    from gouji.checking.record import failed_record

    failed = tmp_path / "broken.txt"
    failed.write_text("x", encoding="utf-8")
    failed_id = review_db.save_record(failed_record(str(failed), "input.empty: 文件为空", "0" * 64))
    folder = tmp_path / "reviewed"
    with pytest.raises(ValueError, match="没有读取成功"):
        save_reviewed(queue, failed_id, folder)
    runner = CliRunner()
    result = runner.invoke(cli, ["gold", "--db", review_db.url, "--into", str(folder)])
    assert result.exit_code == 0 and result.stdout == ""
    assert "已保存 0 份人确认过的报告" in result.stderr
    assert "未保存 1 份：没有复核人确认整份报告" in result.stderr  # the seed: all accepted
    assert "未保存 2 份：还有待复核的字段" in result.stderr
    assert "未保存 1 份：没有读取成功" in result.stderr
    assert not folder.exists()
    seed = _docs(review_db)["002_58d1e0dbcfc9fbf4.txt"]
    queue.decisions.confirm_document(JIA, seed)
    result = runner.invoke(cli, ["gold", "--db", review_db.url, "--into", str(folder)])
    (path,) = folder.glob("*.json")
    assert result.stdout == f"{path}：002_58d1e0dbcfc9fbf4.txt，甲确认了整份报告\n"
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert (saved["root"], saved["document"]) == ("shared", "seeds/002_58d1e0dbcfc9fbf4.txt")
    assert saved["reviewed_by"] == ["甲"] and saved["claims"] is None
    # Gold an older gouji saved from nothing but its own output.
    circular = {**saved, "notes": "reviewed in gouji by nobody; 0 decisions; claims as extracted"}
    for name in ("reviewed_by", "confirmed_by", "decisions"):
        del circular[name]
    (folder / "old-circular.json").write_text(json.dumps(circular), encoding="utf-8")
    monkeypatch.setenv("GOUJI_REVIEWED_DIR", str(folder))
    monkeypatch.chdir(tmp_path)  # wherever the eval runs, the document is found
    artifact = tmp_path / "run.json"
    result = runner.invoke(cli, ["eval", "--set", "reviewed", "--artifact", str(artifact)])
    metrics = json.loads(artifact.read_text(encoding="utf-8"))["metrics"]
    assert result.exit_code == 0, result.output
    assert metrics["reviewed.fields.value_accuracy"] == 1.0
    assert "reviewed.claims.precision" not in metrics  # nobody reviewed the prose
    assert f"reviewed 集：{folder} 中 1 份标注；1 份不是人复核的，不计入" in result.output
    assert (
        "不计入 old-circular.json：没有任何复核人（reviewed in gouji by nobody），"
        "是 gouji 自己的结果"
    ) in result.output.splitlines()
    assert "== reviewed：1 份" in result.output


def _shanghai(store) -> int:
    return store.save_record(extract_file(shared_path("realdocs", "shanghai_office_2025.md")))


def test_three_kinds_of_empty_from_record_to_export(store_url, tmp_path):
    """A blank the report prints, a value gouji could not place (with its candidates) and a
    value not read stay apart in the record, the store, the queue's states and the export."""
    kewei = extract_file(shared_path("realdocs", "kewei_2024.md"))
    shanghai = extract_file(shared_path("realdocs", "shanghai_office_2025.md"))
    blank, unplaced = "s3.carried_forward.total", "s2.rules.repealed"
    assert kewei["fields"][blank] is None and kewei["empty"] == {blank: "blank"}
    assert shanghai["fields"][unplaced] is None and shanghai["empty"][unplaced] == "unplaced"
    assert shanghai["candidates"][unplaced] == [{"witness": "reader", "value": 2, "span": None}]
    missing = failed_record(str(tmp_path / "gone.txt"), "input.empty: 文件为空")
    assert set(missing["empty"].values()) == {"not_read"}
    store = Store(store_url)
    ids = [store.save_record(r) for r in (kewei, shanghai, missing)]
    queue = Review(store)
    assert store.field_rows(ids[0])[blank].empty == "blank"
    assert store.field_rows(ids[1])[unplaced].empty == "unplaced"
    assert queue.reads.states(ids[0])[blank] == "review"  # a printed blank, waiting
    assert queue.reads.states(ids[1])[unplaced] == "unplaced"
    assert set(queue.reads.states(ids[2]).values()) == {"not_read"}
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        cli, ["export", "--db", store_url, "--format", "jsonl", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert (rows[0][blank], rows[0][f"{blank}.status"]) == (None, "review")
    assert (rows[1][unplaced], rows[1][f"{unplaced}.status"]) == (None, "unplaced")
    assert rows[2][f"{unplaced}.status"] == "not_read"
    records = tmp_path / "records.jsonl"
    records.write_text("\n".join(map(dumps, (kewei, shanghai))) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["export", str(records), "--format", "jsonl", "-o", str(out)])
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [rows[0][f"{blank}.status"], rows[1][f"{unplaced}.status"]] == ["review", "unplaced"]
    store.close()


def test_confirming_as_printed_never_settles_an_unplaced_value(review_db, queue):
    """``A`` on a report whose run-together rows several readings fit: the unplaced values
    (one with a single candidate) stay open, with the reason and the count left; ``C`` on
    one is refused; a value a person types (空 too) is theirs."""
    doc = _shanghai(review_db)
    items = queue.reads.items(Filter(document_id=doc))
    done = queue.decisions.confirm(JIA, {i.id: i.version for i in items}, whole=doc)
    unplaced = [k for k in FIELD_KEYS if k.split(".")[1] in ("rules", "normative")]
    assert {done.left[k] for k in unplaced} == {"有候选值，需逐项选定"}
    assert done.remaining == len(done.left) == queue.reads.count(Filter(document_id=doc))
    states = queue.reads.states(doc)
    assert {states[k] for k in unplaced} == {"unplaced"}
    assert not [
        k for k, s in states.items() if s == "reviewed" and review_db.values(doc)[k] is None
    ]
    item = next(
        i for i in queue.reads.items(Filter(document_id=doc)) if i.key == "s2.rules.repealed"
    )
    with pytest.raises(DecisionRefused, match="没能定位这个值，不能按原样保留为空"):
        _decide(queue, JIA, item, "confirm", None)
    with pytest.raises(DecisionRefused, match="没能定位这个值"):
        _decide(queue, JIA, item, "publisher_error", None)
    _decide(queue, JIA, item, "typed", None, "原文此格为空")
    assert queue.reads.states(doc)["s2.rules.repealed"] == "reviewed"


def test_a_cell_keeps_its_history_and_overrides_are_counted(review_db, queue):
    """乙 types 9 where the reader read 0; 甲 reopens it: its history says who gave what,
    from where and when; 甲 takes the reader's 0 back, which overrides 乙 — the audit says
    so, both are counted, and 乙 is told."""
    doc = _docs(review_db)["002_58d1e0dbcfc9fbf4.txt"]
    _manual_items(review_db, doc, ["s2.coercion"])
    (item,) = queue.reads.items(Filter(document_id=doc))
    printed = review_db.values(doc)["s2.coercion"]
    assert queue.reads.source_of(doc, "s2.coercion") == "reader"
    _decide(queue, YI, item, "typed", printed + 9, "看成了 9")
    reopened = queue.decisions.reopen(item.id, JIA)
    history = queue.reads.history(doc, "s2.coercion")
    assert [(h.reviewer, h.decision, h.new_value, h.source, h.note) for h in history] == [
        ("乙", "typed", printed + 9, "reviewer:乙", "看成了 9"),
        ("甲", "reopen", printed + 9, "reviewer:乙", None),
    ]
    assert history[0].created_at <= history[1].created_at
    taken = queue.decisions.settle(
        JIA, Decision(reopened.id, reopened.version, "take_candidate", printed, None, "reader")
    )
    assert (taken.source, taken.overrides) == ("reader", history[0].id)
    assert queue.reads.source_of(doc, "s2.coercion") == "reader"
    counts = queue.reads.by_reviewer()
    assert counts == {
        "乙": ReviewerCounts(decisions=1, overridden=1),
        "甲": ReviewerCounts(decisions=1, overrides=1),
    }
    (told,) = queue.reads.overridden("乙")
    assert (told.reviewer, told.old_value, told.new_value) == ("甲", printed + 9, printed)
    # Confirming a colleague's value as it stands overrides nobody.
    again = queue.decisions.reopen(item.id, YI)
    kept = queue.decisions.settle(YI, Decision(again.id, again.version, "confirm", printed))
    assert (kept.source, kept.overrides) == ("reader", None)


def test_findings_are_recomputed_after_a_decision(review_db, queue):
    """The sum a reviewer fixes no longer shows its old arithmetic; one they break shows
    the new."""
    doc = _docs(review_db)["hongze_2023.pdfplumber.txt"]
    before = queue.reads.messages_now(doc)["s4.review.total"]
    assert any("但总计为 0" in m for m in before)
    item = next(i for i in queue.reads.items(Filter(document_id=doc)) if i.key == "s4.review.total")
    _decide(queue, JIA, item, "typed", 11)
    after = queue.reads.messages_now(doc)
    assert not any("但总计为 0" in m for m in after.get("s4.review.total", []))
    assert not any("行政复议" in m and "但总计为" in m for m in after.get("s4.review.upheld", []))


def test_a_store_made_before_three_kinds_of_empty_is_migrated_safely(tmp_path):
    """A null stored before the store knew its kind: accepted (grounded as a blank) becomes
    a printed blank, any other unplaced, which no confirmation as printed settles."""
    from sqlalchemy import create_engine, text

    from gouji.storage import migrations

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        migrations._APPLIED.create(conn)
        for step in migrations.MIGRATIONS[:4]:
            step(conn)
            conn.execute(migrations._APPLIED.insert().values(name=step.__name__, applied_at=now()))
        conn.execute(
            text(
                "INSERT INTO documents (id, path, status, record, updated_at) "
                "VALUES (1, '/r.txt', 'ok', '{}', CURRENT_TIMESTAMP)"
            )
        )
        for key, value, status in (
            ("a", "null", "accepted"),
            ("b", "null", "review"),
            ("c", "3", "review"),
        ):
            conn.execute(
                text(
                    "INSERT INTO field_values (document_id, key, value, status) VALUES (1, :k, :v, :s)"
                ),
                {"k": key, "v": value, "s": status},
            )
    engine.dispose()
    store = Store(url)
    assert {k: f.empty for k, f in store.field_rows(1).items()} == {
        "a": "blank", "b": "unplaced", "c": None,
    }  # fmt: skip
    store.close()
