"""The review app's flows, driven by Streamlit's AppTest against a real store."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gouji.storage.review import Decision, Reviewer
from gouji.template import label_of

APP = str(Path(__file__).resolve().parents[1] / "review_app" / "app.py")


@pytest.fixture
def app(review_db, monkeypatch):
    monkeypatch.setenv("GOUJI_DB", review_db.url)

    def start(reviewer: str | None = "甲") -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        if reviewer:
            at.sidebar.text_input(key="reviewer").input(reviewer).run()
        assert not at.exception
        return at

    return start


def _current(at: AppTest) -> str:
    return at.subheader[0].value


def test_a_reviewer_must_give_a_name(app):
    at = app(None)
    assert "请先在左侧填写复核人姓名" in at.info[0].value
    assert not at.subheader


def _held(queue, name="甲"):
    (item,) = [i for i in queue.reads.items() if i.held_by == name]
    return item


def test_taking_a_candidate_settles_the_item_and_moves_on(app, review_db, queue):
    at = app()
    first = _current(at)
    held = _held(queue)
    at.button(key=f"take_{held.id}_0").click().run()
    assert _current(at) != first
    (correction,) = review_db.audit()
    assert correction.item_id == held.id and correction.reviewer == "甲"
    assert correction.version == 0 and correction.session
    assert queue.reads.item(held.id).status == "settled"
    assert any("已保存" in s.value for s in at.success)


def test_the_item_shows_the_arithmetic_and_the_source(app):
    at = app()
    assert any("但" in e.value for e in at.error)  # the broken sum, spelled out
    assert any("<mark>" in h.proto.body for h in at.get("html"))  # the value marked in its text
    assert "行总计不等于各类申请人之和" in at.caption[0].value  # the rule's name


def test_typing_a_value_records_it_and_the_boxes_belong_to_the_item(app, review_db, queue):
    at = app()
    held = _held(queue)
    at.text_input(key=f"typed_{held.id}").input("42")
    at.text_input(key=f"note_{held.id}").input("按原件核对")
    at.button(key=f"FormSubmitter:typed_form_{held.id}-保存输入值").click().run()
    (correction,) = review_db.audit()
    assert (correction.new_value, correction.decision, correction.note) == (
        42,
        "typed",
        "按原件核对",
    )
    assert review_db.values(held.document_id)[held.key] == 42
    following = _held(queue)
    assert at.text_input(key=f"typed_{following.id}").value == ""
    assert at.text_input(key=f"note_{following.id}").value == ""


def test_publisher_error_keeps_the_printed_value(app, review_db, queue):
    at = app()
    held = _held(queue)
    at.button(key=f"publisher_error_{held.id}").click().run()
    corrections = review_db.audit()
    assert corrections[0].decision == "publisher_error"
    assert corrections[0].new_value == held.value
    # The identity's other open cells are settled as printed with it.
    assert {c.decision for c in corrections} == {"publisher_error"}


def test_skip_puts_the_item_back(app, review_db, queue):
    at = app()
    first = _current(at)
    at.button(key=f"skip_{_held(queue).id}").click().run()
    assert _current(at) != first
    assert review_db.audit() == []


def test_two_reviewers_work_different_items(app, queue):
    first = app("甲")
    second = app("乙")
    assert _current(first) != _current(second)
    held = {i.held_by: i.id for i in queue.reads.items() if i.held_by}
    assert set(held) == {"甲", "乙"} and held["甲"] != held["乙"]


def test_filters_narrow_the_queue(app, queue):
    at = app()
    at.sidebar.multiselect(key="parts").set_value(["s4"]).run()
    held = _held(queue)
    assert held.part == "s4" and _current(at).endswith(label_of(held.key))


def test_the_queue_lists_values_and_pages(app, queue):
    at = app()
    at.segmented_control(key="view").set_value("queue").run()
    assert not at.exception
    (table,) = at.dataframe
    assert list(table.value.columns)[:3] == ["报告", "字段", "当前值"]
    assert len(table.value) == min(50, queue.reads.count())
    assert (
        f"共 {-(-queue.reads.count() // 50)} 页，{queue.reads.count()} 项"
        in at.number_input[0].label
    )


def test_whole_document_view_colours_cells_by_state(app, review_db, queue):
    from gouji_review.tables import tables_html

    seed, generated, hongze = (d.id for d in review_db.documents())
    at = app()
    at.segmented_control(key="view").set_value("document").run()
    assert at.selectbox(key="doc").value == generated  # the document being worked
    at.selectbox(key="doc").set_value(hongze).run()
    assert any("结果维持 10 + 结果纠正 1" in w.value.replace("\\", "") for w in at.warning)
    at.selectbox(key="doc").set_value(seed).run()
    assert any("勾稽关系全部成立" in s.value for s in at.success)
    item = next(i for i in queue.reads.items() if i.key == "s4.review.total")
    reviewer = Reviewer("甲", "another-tab")
    assert queue.holds.claim(item.id, reviewer)
    queue.decisions.settle(reviewer, Decision(item.id, item.version, "publisher_error", 0))
    marks = {"recheck": {"s4.review.upheld"}}
    html = tables_html(review_db.values(hongze), queue.reads.states(hongze), marks)
    assert 'class="publisher_error" data-key="s4.review.total"' in html
    assert 'class="accepted" data-key="s2.licensing"' in html
    assert 'class="publisher_error recheck" data-key="s4.review.upheld"' in html
    assert html.count("<td") == 200


def test_gouji_review_serves_the_app_until_stopped(review_db, tmp_path):
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gouji.cli",
            "review",
            "--db",
            review_db.url,
            "--port",
            str(port),
            "--headless",
        ],
        env={**os.environ, "HOME": str(tmp_path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline, ok = time.time() + 60, False
        while time.time() < deadline and not ok:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/_stcore/health", timeout=2
                ) as r:
                    ok = r.status == 200
            except OSError:
                time.sleep(0.5)
        assert ok, "gouji review did not serve the app"
        # Local and quiet: bound to the loopback, no usage statistics, no address lookup.
        argv = Path(f"/proc/{process.pid}/cmdline").read_bytes().decode().split("\0")
        options = dict(zip(argv[::1], argv[1::1], strict=False))
        assert options["--server.address"] == "127.0.0.1"
        assert options["--browser.gatherUsageStats"] == "false"
        assert options["--browser.serverAddress"] == "localhost"
    finally:
        process.terminate()
        process.wait(timeout=20)
    with pytest.raises(OSError):  # no server left behind
        urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)


def test_gouji_review_without_a_store_says_so(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from gouji.cli import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GOUJI_DB", raising=False)
    result = CliRunner().invoke(cli, ["review", "--headless"])
    assert result.exit_code == 1 and "没有找到复核库" in result.output
    assert not (tmp_path / "gouji.db").exists()


def _buttons(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


def test_a_reopened_colleagues_value_shows_its_history_and_true_sources(app, review_db, queue):
    """乙 typed a value where the reader read another; when 甲 opens the cell again, the
    buttons name each value's source (the reader's as the reader read it, 乙's as 乙's), the
    page warns that changing it overrides 乙, and the cell's history is shown."""
    from gouji.storage.review import Filter

    seed = review_db.documents()[0].id
    with review_db.engine.begin() as conn:
        conn.execute(
            review_db.t.review_items.insert().values(
                document_id=seed, key="s2.coercion", part="s2", rule="unplaced",
                messages="[]", status="open",
            )
        )  # fmt: skip
    read = review_db.values(seed)["s2.coercion"]
    yi, other_tab = Reviewer("乙", "yi-tab"), Reviewer("甲", "earlier-tab")
    (item,) = queue.reads.items(Filter(document_id=seed))
    assert queue.holds.claim(item.id, yi)
    queue.decisions.settle(yi, Decision(item.id, 0, "typed", read + 9, "看作 9"))
    queue.decisions.reopen(item.id, other_tab)
    queue.holds.release(other_tab)
    at = app("甲")
    assert _current(at).endswith(label_of("s2.coercion"))
    assert f"1. 采用读取器读到的值：{read}" in _buttons(at)
    assert f"C. 保留乙给出的值：{read + 9}" in _buttons(at)
    assert not [b for b in _buttons(at) if "读取器" in b and str(read + 9) in b]
    assert any("将改写乙的决定" in w.value for w in at.warning)
    (history,) = at.dataframe
    assert list(history.value["复核人"]) == ["乙", "甲"]
    assert list(history.value["决定"]) == ["输入", "重新打开"]
    assert list(history.value["来源"]) == ["乙", "乙"] and history.value["备注"][0] == "看作 9"
    at.button(key=f"take_{item.id}_0").click().run()
    last = review_db.audit()[-1]
    assert (last.reviewer, last.new_value, last.source) == ("甲", read, "reader")
    assert last.overrides == review_db.audit()[0].id
    assert any("改写了乙的决定" in s.value for s in at.success)


def test_an_unplaced_value_offers_its_candidates_and_its_row_in_the_table(app, review_db):
    """The reader could not place 规章·本年废止件数: no button keeps it as a blank, its
    candidate is offered as a reading, and its evidence is its row in part 二's table, not
    the prose's first mention of 规章."""
    from gouji.running.pipeline import extract_file

    from conftest import shared_path

    review_db.save_record(extract_file(shared_path("realdocs", "shanghai_office_2025.md")))
    at = app()
    at.sidebar.selectbox(key="doc").set_value(review_db.documents()[-1].id).run()
    at.sidebar.multiselect(key="parts").set_value(["s2"]).run()
    while not _current(at).endswith(label_of("s2.rules.repealed")):
        at.button(key=next(b.key for b in at.button if b.key.startswith("skip_"))).click().run()
    labels = _buttons(at)
    assert "1. 采用读取器的一种读法：2" in labels
    assert not [b for b in labels if b.startswith("C.")]
    assert any("没能定位或没有读出" in c.value for c in at.caption)
    (evidence,) = [h.proto.body for h in at.get("html") if 'class="evidence"' in h.proto.body]
    assert "<mark>规章</mark> | 22 | 235 |" in evidence
    assert "全年主动公开市政府<mark>" not in evidence


def test_the_name_and_the_tab_live_in_the_address(app, review_db, queue):
    """A reload keeps the reviewer's name and the tab's id (the address holds both), so the
    same tab holds the same item and is not taken for a second session."""
    at = app("甲")
    assert at.query_params["reviewer"] == "甲"
    tab = at.query_params["tab"]
    held = next(i for i in queue.reads.items() if i.held_by == "甲")
    assert held.held_session == tab
    again = AppTest.from_file(APP, default_timeout=60)
    again.query_params.update({"reviewer": "甲", "tab": tab})
    again.run()
    assert again.sidebar.text_input(key="reviewer").value == "甲"
    assert not [w for w in again.sidebar.warning if "名义复核" in w.value]
    assert _current(again) == _current(at)
    assert queue.holds.register(Reviewer("甲", tab)) == []


def test_a_replaced_pdf_is_not_drawn(tmp_path, monkeypatch):
    """The page view checks the file against the record's sha256: a file replaced since it
    was read shows no page (it would be the wrong one), and says why."""
    import shutil

    from gouji.running.pipeline import extract_file
    from gouji.storage.store import Store

    from conftest import shared_path

    pdf = tmp_path / "report.pdf"
    shutil.copy(shared_path("realdocs", "hongze_2023.pdf"), pdf)
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    store.save_record(extract_file(pdf))
    monkeypatch.setenv("GOUJI_DB", store.url)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.sidebar.text_input(key="reviewer").input("甲").run()
    assert at.get("image") and not at.warning  # the page, with the value boxed
    shutil.copy(shared_path("realdocs", "hongze_2024.pdf"), pdf)
    at.button(key=next(b.key for b in at.button if b.key.startswith("skip_"))).click().run()
    assert not at.get("image")
    assert any("原文件已改动或不在原处" in w.value for w in at.warning)
    store.close()


def test_every_key_is_documented_in_the_app(app):
    """The sidebar's 快捷键 lists each key the page and the tables listen to, W included."""
    from gouji_review.tables import TABLE_KEYS

    at = app()
    (help_text,) = [m.value for m in at.sidebar.markdown if "整份报告中" in m.value]
    listed = {
        line.split("**")[1].replace("\\", "") for line in help_text.splitlines() if "**" in line
    }
    assert {"1–9", "C", "V", "I", "S", "U", "W", "D", "Q", "Esc"} <= listed
    assert {k.upper() if len(k) == 1 else k for k in TABLE_KEYS} <= listed  # Enter R T A O
