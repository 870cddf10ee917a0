"""End to end in a real browser: the app served by ``streamlit run``, Debian's chromium
driven by selenium, a reviewer settling an item with the keyboard, the store checked."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from gouji.review import Review

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
APP = Path(__file__).resolve().parents[1] / "review_app" / "app.py"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
    reason="Debian's chromium and chromium-driver are not installed (.ci/run installs them)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _serving(db_url: str, home: Path, **env: str):
    """The app served by ``streamlit run`` on a free port of 127.0.0.1, until the block ends."""
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(APP),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],  # fmt: skip
        env={**os.environ, "GOUJI_DB": db_url, "HOME": str(home), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("streamlit did not start")
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def served_app(review_db, tmp_path):
    with _serving(review_db.url, tmp_path) as url:
        yield url


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'chrome'}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def test_a_reviewer_settles_an_item_with_the_keyboard(served_app, browser, review_db):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 60)
    browser.get(served_app)
    name = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "input[aria-label='复核人']")))
    name.send_keys("丙\n")
    heading = wait.until(ec.presence_of_element_located((By.XPATH, "//h3[contains(., '·')]")))
    first = heading.text
    held = next(i for i in Review(review_db).items() if i.held_by == "丙")
    wait.until(ec.element_to_be_clickable((By.XPATH, "//button[contains(., '采用')]")))
    heading.click()  # leave the text box so keys reach the page
    ActionChains(browser).send_keys("1").perform()
    deadline = time.time() + 30
    while not review_db.audit() and time.time() < deadline:
        time.sleep(0.3)
    (correction,) = review_db.audit()
    assert correction["reviewer"] == "丙" and correction["item_id"] == held.id
    assert Review(review_db).item(held.id).status == "settled"
    wait.until(lambda b: b.find_element(By.XPATH, "//h3[contains(., '·')]").text != first)


# ---- the 数据 page: the 平潭 corpus and 洪泽 as a panel, and the eval's recorded runs ----------
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture
def data_app(tmp_path, monkeypatch):
    import dataclasses

    from click.testing import CliRunner

    from gouji import reader
    from gouji.cli import cli

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
    with _serving(db, tmp_path, GOUJI_EVAL_RUNS=str(runs)) as url:
        yield url, runs


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
