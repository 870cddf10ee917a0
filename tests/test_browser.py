"""End to end in a real browser: the app served by ``streamlit run``, Debian's chromium
driven by selenium, a reviewer settling an item with the keyboard, the store checked."""

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


@pytest.fixture
def served_app(review_db, tmp_path):
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
        env={**os.environ, "GOUJI_DB": review_db.url, "HOME": str(tmp_path)},
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
    yield url
    process.terminate()
    process.wait(timeout=20)


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
