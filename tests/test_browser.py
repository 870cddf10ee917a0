"""End to end in a real browser, the way reviewers work: the app served by ``gouji review``
(local, quiet), Debian's chromium driven by selenium, the store checked after every step.
Screenshots of each step are kept in ``test-artifacts/`` (``GOUJI_ARTIFACTS`` moves it)."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from gouji.checking.record import failed_record
from gouji.cli import cli
from gouji.running.pipeline import extract_file
from gouji.storage.review import Filter, Review
from gouji.storage.store import Store
from gouji_eval.generate import generate
from gouji_eval.gold import save_reviewed

from conftest import shared_path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(
    os.environ.get("GOUJI_ARTIFACTS") or Path(__file__).resolve().parents[1] / "test-artifacts"
)
VALUE_BOX = "input[aria-label^='输入数值']"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
    reason="Debian's chromium and chromium-driver are not installed (.ci/run installs them)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(url: str, home: Path, **env: str):
    """``gouji review`` on a free port, gold going under ``home``; returns the process and
    the app's address."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gouji.cli", "review", "--db", url, "--port", str(port),
         "--headless"],
        env={**os.environ, "HOME": str(home), "GOUJI_REVIEWED_DIR": str(home / "reviewed"), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    address = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{address}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("gouji review did not start")
    return process, address


@pytest.fixture
def store(tmp_path):
    """A SQLite store with a generated report (a publisher error), a real PDF with floating
    rows and a document that failed."""
    report = generate(5, layout="tab_rows", variants=(), inject_error=True)
    generated = tmp_path / (report.name + report.suffix)
    generated.write_text(report.text, encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path / 'review.db'}")
    for path in (generated, shared_path("realdocs", "hongze_2023.pdf")):
        store.save_record(extract_file(path))
    store.save_record(failed_record(str(tmp_path / "empty.txt"), "input.empty: 文件为空", "0" * 64))
    yield store
    store.close()


@pytest.fixture
def app(tmp_path):
    served = []

    def start(store: Store) -> str:
        process, address = _serve(store.url, tmp_path)
        served.append(process)
        return address

    yield start
    for process in served:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def browser(tmp_path, request):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1500,1100", "--lang=zh-CN", f"--user-data-dir={tmp_path / 'chrome'}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    folder = ARTIFACTS / "browser" / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shots = iter(range(1, 100))

    def shot(name: str) -> None:
        time.sleep(0.4)  # let the last rerun paint
        driver.save_screenshot(str(folder / f"{next(shots):02d}-{name}.png"))

    driver.shot = shot
    yield driver
    driver.quit()


def _wait(condition, timeout: float = 30.0, what: str = ""):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if result := condition():
                return result
        except Exception:  # noqa: BLE001 - the page is still rerunning
            pass
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def _heading(browser) -> str:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.XPATH, "//h3[contains(., '·')]").text


def _enter_name(browser, address: str, name: str) -> str:
    """Open the app as ``name``; returns the heading of the item it opens."""
    from selenium.webdriver.common.by import By

    browser.get(address)
    box = _wait(lambda: browser.find_element(By.CSS_SELECTOR, "input[aria-label='复核人']"))
    box.send_keys(name + "\n")
    try:
        return _wait(lambda: _heading(browser), what="the first item")
    except BaseException:
        browser.shot("no-first-item")
        raise


def _press(browser, keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).send_keys(keys).perform()


def _press_until(browser, keys: str, done, what: str) -> int:
    """Press ``keys`` until ``done()``: a key pressed while the page is still redrawing (on
    a loaded machine) can fall between two listeners, so it is pressed again — only when
    it visibly did nothing, so no action is ever taken twice. Returns the presses made."""
    for presses in range(1, 5):
        _press(browser, keys)
        deadline = time.time() + 8
        while time.time() < deadline:
            if done():
                return presses
            time.sleep(0.2)
    pytest.fail(f"pressing {keys!r} did not lead to {what}")


def _box(browser, css: str = VALUE_BOX):
    """An input of the page, once the page has drawn it."""
    from selenium.webdriver.common.by import By

    return _wait(lambda: browser.find_element(By.CSS_SELECTOR, css), what=css)


def _page_text(browser) -> str:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.TAG_NAME, "body").text


def test_two_reviewers_a_lapsed_hold_and_a_stale_page(store, app, browser):
    """甲's page stays open past the hold; 乙 takes the item and saves 7; what 甲 then
    types on the stale page is refused with the reason, and goes to no other item."""

    queue = Review(store)
    address = app(store)
    first = _enter_name(browser, address, "甲")
    tab_jia = browser.current_window_handle
    (held,) = [i for i in queue.reads.items() if i.held_by == "甲"]
    browser.shot("jia-opens-an-item")
    with store.engine.begin() as conn:  # ten quiet minutes later: the hold has run out
        conn.execute(store.t.review_items.update().values(held_until=time.time() - 1))
    browser.switch_to.new_window("tab")
    assert _enter_name(browser, address, "乙") == first  # the lapsed hold is free again
    box = _box(browser)
    box.send_keys("7\n")
    _wait(lambda: _heading(browser) != first, what="乙's next item")
    browser.shot("yi-saved-7-and-moved-on")
    assert store.values(held.document_id)[held.key] == 7

    browser.switch_to.window(tab_jia)  # the stale page still shows the old item
    assert _heading(browser) == first
    box = _box(browser)
    box.send_keys("3\n")
    _wait(lambda: "你的决定没有保存" in _page_text(browser), what="the refusal")
    assert "已由乙处理" in _page_text(browser)
    browser.shot("jia-is-told-why-3-was-not-saved")
    assert _heading(browser) != first  # 甲 is on a fresh item now, shown with its value
    (fresh,) = [i for i in queue.reads.items() if i.held_by == "甲"]
    assert fresh.id != held.id
    assert _box(browser, f".st-key-typed_{fresh.id} input").get_attribute("value") == ""
    audit = store.audit()
    assert [(c.reviewer, c.key, c.new_value) for c in audit] == [("乙", held.key, 7)]
    assert store.values(held.document_id)[held.key] == 7

    browser.switch_to.new_window("tab")  # a second tab under 甲's name is told
    _enter_name(browser, address, "甲")
    _wait(lambda: "正以「甲」的名义复核" in _page_text(browser), what="the same-name warning")
    browser.shot("a-second-session-named-jia-is-told")
    mine = {i.held_session for i in queue.reads.items() if i.held_by == "甲"}
    assert len(mine) == 2  # each tab holds its own item


def test_keys_stay_out_of_inputs_no_value_is_carried_and_undo(store, app, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    queue = Review(store)
    address = app(store)
    first = _enter_name(browser, address, "丙")
    # The name box still has the focus: "1" is typed into it, no decision is made.
    name = browser.find_element(By.CSS_SELECTOR, "input[aria-label='复核人']")
    name.send_keys("1")
    time.sleep(1)
    assert store.audit() == [] and name.get_attribute("value") == "丙1"
    name.send_keys(Keys.BACKSPACE, Keys.ESCAPE)  # Esc gives the keys back to the page
    # A value typed (not saved) and a note stay with their item only.
    box = _box(browser)
    box.send_keys("35")
    _box(browser, "input[aria-label^='备注']").send_keys("看错行了")
    box.send_keys(Keys.ESCAPE)
    browser.shot("typed-35-not-saved")
    (held,) = [i for i in queue.reads.items() if i.held_by == "丙"]
    printed = held.value
    _press_until(browser, "c", lambda: store.audit(), "a confirmation")  # confirm as read
    _wait(lambda: _heading(browser) != first, what="the next item")
    (correction,) = store.audit()
    assert (correction.item_id, correction.decision, correction.new_value) == (
        held.id, "confirm", printed,
    )  # fmt: skip
    (following,) = [i for i in queue.reads.items() if i.held_by == "丙"]
    # The next item's own boxes (each box is keyed by its item), once they are drawn.
    box = _box(browser, f".st-key-typed_{following.id} input")
    assert box.get_attribute("value") == ""
    assert _box(browser, f".st-key-note_{following.id} input").get_attribute("value") == ""
    _wait(
        lambda: not browser.find_elements(By.CSS_SELECTOR, f".st-key-typed_{held.id} input"),
        what="the old item's boxes to go",  # when the rerun ends: a PDF's page takes a while
    )
    browser.shot("next-item-opens-with-empty-boxes")
    box.send_keys("\n")  # Enter on nothing
    _wait(lambda: "输入框是空的" in _page_text(browser), what="the empty-box warning")
    assert len(store.audit()) == 1
    # Esc, then undo: the first item comes back with its value.
    _press_until(browser, "\ue00cu", lambda: len(store.audit()) == 2, "the undo")
    _wait(lambda: _heading(browser) == first, what="the undone item")
    browser.shot("undo-reopens-the-item")
    assert "已撤销" in _page_text(browser)
    assert queue.reads.item(held.id).status == "open"
    assert [c.decision for c in store.audit()] == ["confirm", "undo"]
    assert store.values(held.document_id)[held.key] == printed

    # A PDF's item: the value in its text first, then its page with the value boxed.
    browser.find_elements(By.CSS_SELECTOR, "div[data-testid='stSelectbox']")[0].click()
    _press(browser, "hongze_2023.pdf\n")  # the sidebar's 报告 filter
    _wait(lambda: _heading(browser).startswith("hongze_2023.pdf ·"), what="the PDF's item")
    _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "[data-testid='stImage'] img"))
    browser.shot("a-pdf-item-shows-its-page-with-the-value-boxed")


def test_a_queue_row_opens_its_item(store, app, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    from gouji.template import label_of

    queue = Review(store)
    address = app(store)
    _enter_name(browser, address, "戊")
    grids = lambda: browser.find_elements(By.CSS_SELECTOR, "[data-testid='stDataFrame']")  # noqa: E731
    _press(browser, "\ue00c")
    _press_until(browser, "q", grids, "the queue")
    time.sleep(1.5)  # the grid draws its rows on a canvas
    grid = grids()[0]
    browser.shot("the-queue")
    wanted = queue.reads.items(limit=50)[3]
    # The row's selection box, at the grid's left edge: the header, then rows 35 px high.
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", grid)
    time.sleep(0.5)
    ActionChains(browser).move_to_element_with_offset(
        grid, -grid.size["width"] // 2 + 15, -grid.size["height"] // 2 + 35 * 4 + 17
    ).click().perform()
    browser.shot("the-row-clicked")
    label = label_of(wanted.key)
    _wait(lambda: _heading(browser).endswith(label), what=f"the item {label}")
    browser.shot("the-row-opened-its-item")
    assert queue.reads.item(wanted.id).held_by == "戊"


def test_a_crawled_report_confirmed_in_a_few_keys_then_gold(tmp_path, app, browser, monkeypatch):
    """A crawled page whose 200 values are all right but all wait for review (the reader could
    not place them with certainty, as the issue's 196 did): the reviewer looks at the tables
    and confirms the document as printed."""
    from selenium.webdriver.common.by import By

    report = generate(13, layout="crawl", variants=())
    page = tmp_path / (report.name + report.suffix)
    page.write_text(report.text, encoding="utf-8")
    record = extract_file(page)
    assert record["fields"] == report.gold["fields"]  # every value right
    record["field_status"] = dict.fromkeys(record["field_status"], "review")
    store = Store(f"sqlite:///{tmp_path / 'crawled.db'}")
    doc = store.save_record(record)
    failed = store.save_record(
        failed_record(str(tmp_path / "empty.txt"), "input.empty: 文件为空", "0" * 64)
    )
    queue = Review(store)
    waiting = queue.reads.count(Filter(document_id=doc))
    assert waiting == 200 and queue.reads.identity_breaks(doc) == []
    printed = store.values(doc)
    address = app(store)
    _enter_name(browser, address, "丁")
    browser.shot("item-view")
    keys = 0
    started = time.time()
    _press(browser, "\ue00c")  # Esc: out of the name box
    keys += 1
    tables = lambda: browser.find_elements(By.CSS_SELECTOR, "td[data-key]")  # noqa: E731
    keys += _press_until(browser, "d", tables, "the whole document")
    browser.shot("document-view-before")
    keys += _press_until(
        browser, "a", lambda: queue.reads.fully_reviewed(doc), "the document confirmed"
    )
    elapsed = time.time() - started
    _wait(lambda: "按原样确认了整份报告" in _page_text(browser), what="the confirmation")
    browser.shot("document-view-confirmed")
    assert keys <= 5 and elapsed <= 30, (keys, elapsed)
    assert store.values(doc) == printed
    assert set(queue.reads.states(doc).values()) <= {"accepted", "reviewed"}
    print(f"confirmed {waiting} items with {keys} keys in {elapsed:.1f} s")

    button = _wait(
        lambda: browser.find_element(By.XPATH, "//button[contains(., '存为标注数据')]"),
        what="the gold button",
    )
    button.click()
    _wait(lambda: "已保存" in _page_text(browser), what="the saved gold")
    browser.shot("gold-saved")
    saved = sorted((tmp_path / "reviewed").glob("*.json"))
    assert len(saved) == 1 and saved[0].name.startswith(report.name)

    # The document chooser: the last select box (the sidebar's come first).
    browser.find_elements(By.CSS_SELECTOR, "div[data-testid='stSelectbox']")[-1].click()
    _press(browser, "empty.txt\n")
    _wait(lambda: "没有读取成功" in _page_text(browser), what="the failed document")
    browser.shot("a-failed-document-offers-no-gold")
    assert not browser.find_elements(By.XPATH, "//button[contains(., '存为标注数据')]")
    with pytest.raises(ValueError, match="没有读取成功"):
        save_reviewed(queue, failed, tmp_path / "reviewed")

    monkeypatch.setenv("GOUJI_REVIEWED_DIR", str(saved[0].parent))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli, ["eval", "--set", "reviewed", "--artifact", str(tmp_path / "run.json")]
    )
    assert result.exit_code == 0, result.output
    assert f"reviewed 集：{saved[0].parent} 中 1 份标注" in result.output
    assert "== reviewed：1 份" in result.output
    store.close()


# ---- the 数据 page: the 平潭 corpus and 洪泽 as a panel, and the eval's recorded runs ----------
@pytest.fixture
def data_app(tmp_path, monkeypatch):
    import dataclasses

    from click.testing import CliRunner

    from gouji.cli import cli
    from gouji.reading import reader

    from conftest import shared_path

    db = f"sqlite:///{tmp_path / 'panel.db'}"
    paths = [
        shared_path("realcorpus"),
        *(shared_path("realdocs", f"hongze_{y}.pdf") for y in (2023, 2024)),
    ]
    result = CliRunner().invoke(
        cli, ["extract", *map(str, paths), "-o", str(tmp_path / "out.jsonl"), "--db", db, "-q"]
    )
    assert result.exit_code in (0, 1), result.output  # the corpus README is no report
    runs = tmp_path / "runs"
    runs.mkdir()
    for n in range(3):
        if n == 2:  # a regression: two columns of part 三 swapped in the reader

            def swap(row):
                keys = list(row.keys)
                keys[0], keys[1] = keys[1], keys[0]
                return dataclasses.replace(row, keys=tuple(keys))

            monkeypatch.setattr(reader, "S3_ROWS", tuple(swap(r) for r in reader.S3_ROWS))
        artifact = str(runs / f"eval-{n}.json")
        CliRunner().invoke(cli, ["eval", "--set", "seeds", "--set", "real", "--artifact", artifact])
        time.sleep(1.1)  # run records are ordered by their timestamps, to the second
    monkeypatch.undo()
    process, url = _serve(db, tmp_path, GOUJI_EVAL_RUNS=str(runs))
    yield url, runs
    process.terminate()
    process.wait(timeout=20)


def _shot(browser, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    browser.save_screenshot(str(path))
    return path


def test_the_data_page_and_the_eval_history_render(data_app, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    url, runs = data_app
    wait = WebDriverWait(browser, 90)
    browser.get(url)
    wait.until(ec.element_to_be_clickable((By.XPATH, "//a[contains(., '数据')]"))).click()
    wait.until(ec.presence_of_element_located((By.XPATH, "//h1[contains(., '数据')]")))
    charts = "[data-testid='stVegaLiteChart']"

    def tab(label):
        wait.until(
            ec.element_to_be_clickable((By.XPATH, f"//*[@role='tab'][contains(., '{label}')]"))
        ).click()

    def visible_charts():
        wait.until(
            lambda b: any(c.is_displayed() for c in b.find_elements(By.CSS_SELECTOR, charts))
        )
        time.sleep(1.5)  # let vega draw before the picture

    # one agency over the years: 平潭综合实验区, its zone code from the overrides
    wait.until(
        ec.presence_of_element_located((By.XPATH, "//*[contains(., '行政区划代码：350128')]"))
    )
    assert "25 行（机关 × 年度）" in browser.page_source  # 23 平潭 units × years, 洪泽 twice
    visible_charts()
    _shot(browser, "data-agency")
    tab("同一辖区各单位")
    visible_charts()
    assert "平潭综合实验区（" in browser.page_source
    _shot(browser, "data-jurisdiction")
    tab("发现（按类型）")
    visible_charts()
    wait.until(ec.presence_of_element_located((By.XPATH, "//*[contains(., '跨年度的发现')]")))
    _shot(browser, "data-findings")
    tab("评测历史")
    visible_charts()
    assert "3 次运行" in browser.page_source
    _shot(browser, "data-eval-history")


def test_eval_history_in_the_terminal_shows_the_regression(data_app):
    from click.testing import CliRunner

    from gouji.cli import cli

    _, runs = data_app
    result = CliRunner().invoke(cli, ["eval", "--history", "--runs", str(runs), "--set", "seeds"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "评测历史：3 次运行，显示最近 3 次"
    row = next(line for line in lines if line.startswith("seeds.s3.value_accuracy "))
    cells = row.split()[1:]
    assert cells[0] == cells[1] == "100.00%" and cells[2].endswith("↓")
    assert not [line for line in lines if line.startswith("real.")]  # --set narrows it


# ---- three kinds of empty, gold from people, histories, reloads, the first screen ----------
def _sidebar_report(browser, name: str) -> None:
    """Choose a report in the sidebar's 报告 (every view's report), then leave the box. A
    name typed while the page is still redrawing can lose a key: it is chosen again."""
    from selenium.webdriver.common.by import By

    def shown() -> bool:  # 整份报告 is headed by the report, an item by report and field
        return _heading_text(browser).split(" · ")[0] == name

    for _ in range(3):
        sidebar = browser.find_element(By.CSS_SELECTOR, "section[data-testid='stSidebar']")
        sidebar.find_elements(By.CSS_SELECTOR, "div[data-testid='stSelectbox']")[-1].click()
        time.sleep(0.3)
        _press(browser, name + "\n")
        deadline = time.time() + 10
        while time.time() < deadline and not _quietly(shown):
            time.sleep(0.2)
        if _quietly(shown):
            _press(browser, "\ue00c")  # Esc: the keys are the page's again
            return
        _press(browser, "\ue00c")
    browser.shot(f"choosing-{name}-failed")
    pytest.fail(f"could not choose {name}")


def _quietly(condition) -> bool:
    try:
        return bool(condition())
    except Exception:  # noqa: BLE001 - the page is still rerunning
        return False


def _notice(browser) -> str:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, ".gouji-doc .notice").text


def _in_view(browser, element) -> bool:
    """Whether the element is wholly inside the browser's window (no scrolling needed)."""
    return browser.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight"
        " && r.left >= 0 && r.right <= window.innerWidth;",
        element,
    )


def test_a_on_every_shared_report_marks_no_unplaced_value_reviewed(tmp_path, app, browser):
    """The shared documents extracted into a store: ``gouji gold`` saves nothing; then a
    reviewer presses A on every report with open fields, each chosen in the sidebar. No
    value gouji could not place or did not read, and none with candidates, ends up
    reviewed; each A says, beside the tables, what it left and how many remain."""
    from selenium.webdriver.common.by import By

    from gouji.status import Empty

    shared = shared_path("realdocs").parent
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    runner = CliRunner()
    paths = [str(shared / name) for name in ("seeds", "realdocs", "realcorpus")]
    result = runner.invoke(
        cli, ["extract", *paths, "-o", str(tmp_path / "o.jsonl"), "--db", db, "-q"]
    )
    assert result.exit_code in (0, 1), result.output  # the corpus README is no report
    result = runner.invoke(cli, ["gold", "--db", db, "--into", str(tmp_path / "gold")])
    assert result.stdout == "" and "已保存 0 份人确认过的报告" in result.stderr
    assert not (tmp_path / "gold").exists()
    store = Store(db)
    queue = Review(store)
    waiting = [
        d
        for d in store.documents()
        if d.status == "ok" and queue.reads.count(Filter(document_id=d.id))
    ]
    assert len(waiting) >= 20
    address = app(store)
    _enter_name(browser, address, "甲")
    _press(browser, "\ue00c")
    _press_until(
        browser, "d", lambda: browser.find_elements(By.CSS_SELECTOR, "td[data-key]"), "整份报告"
    )
    left = 0
    for n, doc in enumerate(waiting):
        _sidebar_report(browser, doc.name)
        before = queue.reads.count(Filter(document_id=doc.id))
        _press_until(
            browser, "a", lambda d=doc: queue.reads.confirmations(d.id), f"A on {doc.name}"
        )
        _wait(lambda: "按原样确认了整份报告" in _notice(browser), what="the notice")
        remaining = queue.reads.count(Filter(document_id=doc.id))
        notice = browser.find_element(By.CSS_SELECTOR, ".gouji-doc .notice")
        assert f"本报告还有 {remaining} 项待复核" in notice.text and _in_view(browser, notice)
        if n < 3 or doc.name == "shanghai_office_2025.md":
            browser.shot(f"a-on-{doc.name}")
        left += remaining
        assert remaining <= before
    reviewed_wrongly = []
    for doc in waiting:
        values, fields = store.values(doc.id), store.field_rows(doc.id)
        choices = {c.key for c in store.candidates(doc.id)}
        for key, state in queue.reads.states(doc.id).items():
            unplaced = values[key] is None and fields[key].empty != Empty.BLANK
            if state == "reviewed" and (unplaced or key in choices):
                reviewed_wrongly.append((doc.name, key))
    assert reviewed_wrongly == []
    assert left and queue.reads.by_reviewer()["甲"].decisions > 0
    # The grid tells a value not placed from a printed blank.
    _sidebar_report(browser, "shanghai_office_2025.md")
    cell = browser.find_element(By.CSS_SELECTOR, "td[data-key='s2.rules.repealed']")
    assert cell.text == "?" and "候选值 读取器 2" in cell.get_attribute("title")
    browser.shot("shanghai-unplaced-cells-show-a-question-mark")
    print(f"A on {len(waiting)} reports: {left} values left for a person")
    store.close()


def test_a_reopened_cell_shows_its_history(store, app, browser):
    """乙 typed a value; 甲 selects the cell in 整份报告 and presses O: the item shows who gave
    what, from where and when, and the buttons name each value's source."""
    from selenium.webdriver.common.by import By

    from gouji.storage.review import Decision, Reviewer
    from gouji.template import label_of

    queue = Review(store)
    yi = Reviewer("乙", "yi")
    item = queue.holds.next_item(yi)
    printed = item.value
    queue.decisions.settle(yi, Decision(item.id, item.version, "typed", printed + 9, "按原件"))
    queue.holds.release(yi)
    address = app(store)
    _enter_name(browser, address, "甲")
    _press(browser, "\ue00c")
    _sidebar_report(browser, store.documents()[0].name)  # the item's report, in every view
    _press_until(
        browser, "d", lambda: browser.find_elements(By.CSS_SELECTOR, "td[data-key]"), "整份报告"
    )
    cell = _wait(lambda: browser.find_element(By.CSS_SELECTOR, f"td[data-key='{item.key}']"))
    cell.click()
    _wait(
        lambda: "最近：乙 输入" in browser.find_element(By.CSS_SELECTOR, ".gouji-doc .source").text
    )
    browser.shot("the-settled-cell-says-who-decided")
    _press_until(browser, "o", lambda: queue.reads.item(item.id).status == "open", "the reopening")
    _wait(lambda: _heading(browser).endswith(label_of(item.key)), what="the reopened item")
    _wait(lambda: "这一格的历史（2 条）" in _page_text(browser), what="the history")
    kept = f"保留乙给出的值：{printed + 9}"
    _wait(lambda: kept in _page_text(browser), what="the buttons")  # drawn after the evidence
    browser.shot("the-reopened-cell-shows-its-history")
    _wait(lambda: "将改写乙的决定" in _page_text(browser), what="the warning that 乙 is overridden")
    assert f"采用读取器的值：{printed + 9}" not in _page_text(browser)


def test_two_reviewers_reload_without_a_false_warning(store, app, browser):
    """甲 and 乙 each reload their tab: the name stays (it is in the address), the tab is
    the same session (it holds the same item), and no one is warned of a second window.
    Then 甲 presses D and A: the report confirmed is the one shown in every view."""
    from selenium.webdriver.common.by import By

    queue = Review(store)
    address = app(store)
    first = {"甲": _enter_name(browser, address, "甲")}
    tabs = {"甲": browser.current_window_handle}
    browser.switch_to.new_window("tab")
    first["乙"] = _enter_name(browser, address, "乙")
    tabs["乙"] = browser.current_window_handle
    for name in ("甲", "乙"):
        browser.switch_to.window(tabs[name])
        held = {i.held_by: i.id for i in queue.reads.items() if i.held_by}
        browser.refresh()
        _wait(lambda s=first[name]: _heading(browser) == s, what=f"{name}'s item after the reload")
        box = browser.find_element(By.CSS_SELECTOR, "input[aria-label='复核人']")
        assert box.get_attribute("value") == name
        time.sleep(2)  # the sidebar has drawn everything it will
        assert "名义复核" not in _page_text(browser)
        assert {i.held_by: i.id for i in queue.reads.items() if i.held_by} == held
        browser.shot(f"{name}-after-a-reload")
    browser.switch_to.window(tabs["甲"])
    _press(browser, "\ue00c")
    held = next(i for i in queue.reads.items() if i.held_by == "甲")
    _press_until(
        browser, "d", lambda: browser.find_elements(By.CSS_SELECTOR, "td[data-key]"), "整份报告"
    )
    name = next(d.name for d in store.documents() if d.id == held.document_id)
    sidebar = browser.find_element(By.CSS_SELECTOR, "section[data-testid='stSidebar']")
    chosen = sidebar.find_elements(By.CSS_SELECTOR, "div[data-testid='stSelectbox'] input")[-1]
    _wait(lambda: _heading_text(browser) == name, what="the report's tables")
    assert chosen.get_attribute("value") == name  # the sidebar's 报告 is the one shown
    _press_until(browser, "a", lambda: queue.reads.confirmations(held.document_id), "A")
    assert [c.reviewer for c in queue.reads.confirmations(held.document_id)] == ["甲"]
    browser.shot("d-then-a-confirms-the-report-shown")


def _heading_text(browser) -> str:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.TAG_NAME, "h3").text


def test_the_first_screen_at_1366_by_768_shows_value_evidence_and_page(store, app, browser):
    """On a 1366×768 screen the reviewer sees the value, its text and its page crop at once."""
    from selenium.webdriver.common.by import By

    browser.set_window_size(1366, 768)
    address = app(store)
    _enter_name(browser, address, "庚")
    _press(browser, "\ue00c")
    _sidebar_report(browser, "hongze_2023.pdf")
    _press_until(
        browser, "w", lambda: _heading(browser).startswith("hongze_2023.pdf ·"), "the PDF item"
    )
    image = _wait(lambda: browser.find_element(By.CSS_SELECTOR, "[data-testid='stImage'] img"))
    _wait(lambda: image.get_attribute("naturalWidth") not in (None, "0"), what="the page drawn")
    evidence = browser.find_element(By.CSS_SELECTOR, ".evidence")
    caption = browser.find_element(
        By.XPATH, "//*[@data-testid='stCaptionContainer'][contains(., '当前值 10')]"
    )
    browser.execute_script("window.scrollTo(0, 0)")
    browser.shot("1366x768-value-text-and-page")
    for element in (caption, evidence, image):
        assert _in_view(browser, element), element.text[:40]
    assert evidence.find_element(By.TAG_NAME, "mark").text
    assert browser.execute_script("return window.innerWidth") == 1366


def test_names_are_plain_text_and_the_password_is_never_shown(
    postgres_server, tmp_path, app, browser
):
    """A reviewer named like a Markdown image and a file named like one are shown as the
    text they are: no colleague's browser fetches the image. The store's password appears
    on no page, the 数据 page included."""
    import http.server
    import threading

    from selenium.webdriver.common.by import By
    from sqlalchemy import create_engine, text

    fetched = []

    class Pixel(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            fetched.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    outside = http.server.HTTPServer(("127.0.0.1", 0), Pixel)
    threading.Thread(target=outside.serve_forever, daemon=True).start()
    secret = "pw-7Hq2-never-shown"
    database = f"gouji_plain_{os.getpid()}"
    engine = create_engine(f"{postgres_server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {database}"))
    engine.dispose()
    url = postgres_server.replace("postgres@", f"postgres:{secret}@") + f"/{database}"
    report = generate(5, layout="tab_rows", variants=(), inject_error=True)
    named = tmp_path / "![y](y.png).txt"
    named.write_text(report.text, encoding="utf-8")
    store = Store(url)
    store.save_record(extract_file(named))
    address = app(store)
    name = f"![x](http://127.0.0.1:{outside.server_port}/x.png)"
    _enter_name(browser, address, name)
    page = _page_text(browser).replace("\u2060", "")  # the joiners that keep URLs text
    assert f"{named.name} ·" in page and f"{name} 持有中" in page
    browser.switch_to.new_window("tab")  # a second tab under that name is told, by name
    browser.get(address)
    _box(browser, "input[aria-label='复核人']").send_keys(name + "\n")
    _wait(lambda: "的名义复核" in _page_text(browser), what="the warning")
    assert f"正以「{name}」的名义复核" in _page_text(browser).replace("\u2060", "")
    pictures = "img[src*='x.png'], img[src*='y.png'], a[href*='x.png'], a[href*='y.png']"
    assert not browser.find_elements(By.CSS_SELECTOR, pictures)
    assert secret not in browser.page_source
    browser.shot("names-shown-as-written")
    browser.find_element(By.XPATH, "//a[contains(., '数据')]").click()
    masked = "复核库 postgresql+psycopg://postgres:***@"
    _wait(lambda: masked in _page_text(browser).replace("\u2060", ""), what="数据", timeout=90)
    browser.shot("the-data-page-masks-the-password")
    assert secret not in browser.page_source
    time.sleep(1)
    assert fetched == []
    outside.shutdown()
    store.close()
