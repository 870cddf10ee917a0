"""The review app's flows, driven by Streamlit's AppTest against a real store."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

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


def test_taking_a_candidate_settles_the_item_and_moves_on(app, review_db, queue):
    at = app()
    first = _current(at)
    held = [i for i in queue.items() if i.held_by == "甲"]
    assert len(held) == 1
    at.button(key="take_0").click().run()
    assert _current(at) != first
    (correction,) = review_db.audit()
    assert correction["item_id"] == held[0].id and correction["reviewer"] == "甲"
    assert queue.item(held[0].id).status == "settled"


def test_the_item_shows_the_arithmetic_and_the_source(app, review_db, queue):
    queue.items()  # the queue is ordered by document, then rule
    at = app()
    assert any("但" in e.value for e in at.error)  # the broken sum, spelled out
    assert any("<mark" in m.value for m in at.markdown)  # the value highlighted in its text


def test_typing_a_value_records_it(app, review_db, queue):
    at = app()
    held = next(i for i in queue.items() if i.held_by == "甲")
    at.text_input(key="typed").input("42")
    at.text_input(key="note").input("按原件核对")
    at.button(key="FormSubmitter:typed_form-保存输入值").click().run()
    (correction,) = review_db.audit()
    assert (correction["new_value"], correction["decision"], correction["note"]) == (
        42,
        "typed",
        "按原件核对",
    )
    assert review_db.values(held.document_id)[held.key] == 42


def test_publisher_error_keeps_the_printed_value(app, review_db, queue):
    at = app()
    held = next(i for i in queue.items() if i.held_by == "甲")
    printed = review_db.values(held.document_id)[held.key]
    at.button(key="publisher_error").click().run()
    (correction,) = review_db.audit()
    assert correction["decision"] == "publisher_error" and correction["new_value"] == printed


def test_skip_puts_the_item_back(app, review_db):
    at = app()
    first = _current(at)
    at.button(key="skip").click().run()
    assert _current(at) != first
    assert review_db.audit() == []


def test_two_reviewers_work_different_items(app, review_db, queue):
    first = app("甲")
    second = app("乙")
    assert _current(first) != _current(second)
    held = {i.held_by: i.id for i in queue.items() if i.held_by}
    assert set(held) == {"甲", "乙"} and held["甲"] != held["乙"]


def test_filters_narrow_the_queue(app, queue):
    at = app()
    at.sidebar.multiselect(key="parts").set_value(["s4"]).run()
    held = [i for i in queue.items() if i.held_by == "甲" and i.part == "s4"]
    assert held and _current(at).endswith(label_of(held[0].key))


def test_whole_document_view_colours_flagged_cells(app, review_db):
    at = app()
    seed, _, hongze = (d["id"] for d in review_db.documents())
    at.selectbox(key="document_view").set_value(seed).run()
    tables = lambda: next(m.value for m in at.markdown if "<table" in m.value)  # noqa: E731
    assert "#ffd6a5" not in tables()
    assert any("勾稽关系全部成立" in s.value for s in at.success)
    at.selectbox(key="document_view").set_value(hongze).run()
    assert '<td title="s4.review.total" style="background:#ffd6a5">0</td>' in tables()
    assert any("结果维持 10 + 结果纠正 1" in w.value for w in at.warning)


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
    finally:
        process.terminate()
        process.wait(timeout=20)
    with pytest.raises(OSError):  # no server left behind
        urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
