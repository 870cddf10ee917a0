"""``gouji review`` as Streamlit is started for it: local, quiet and in Chinese, checked in
Debian's chromium against plain Streamlit on the same machine (screenshots of each step in
``test-artifacts/browser/``)."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_browser import _free_port, _page_text, _wait, browser, pytestmark  # noqa: F401

from gouji.cli import STREAMLIT_CONFIG
from gouji.running.pipeline import extract_file
from gouji.storage.store import Store

from conftest import shared_path

APP = Path(__file__).resolve().parents[1] / "review_app" / "app.py"
NUDGE = "[data-testid='stSkillsNudge']"


def _machine(tmp_path: Path) -> dict:
    """An environment where Streamlit would advertise: a developer's machine with an AI
    agent installed (``~/.claude``) and a browser to open (a no-op ``xdg-open``)."""
    home, tools = tmp_path / "home", tmp_path / "bin"
    (home / ".claude").mkdir(parents=True)
    tools.mkdir()
    (tools / "xdg-open").write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    (tools / "xdg-open").chmod(0o755)
    return {**os.environ, "HOME": str(home), "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"}


def _start(command: list[str], env: dict, log: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    pytest.fail(f"{command[:5]} did not start")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=20)


def _open(page, address: str) -> list[str]:
    """The app at ``address``, once drawn; the addresses of everything the page fetched."""
    page.get(address)
    _wait(lambda: "gouji 复核" in _page_text(page), what="the app")
    time.sleep(2)  # Streamlit shows its pop-up as the session starts: give it the time
    return page.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")


def test_review_starts_streamlit_local_quiet_and_chinese(tmp_path, browser):  # noqa: F811
    db = f"sqlite:///{tmp_path / 'gouji.db'}"
    store = Store(db)
    store.save_record(extract_file(shared_path("seeds", "002_58d1e0dbcfc9fbf4.txt")))
    store.close()
    env = {**_machine(tmp_path), "GOUJI_DB": db}

    # Plain Streamlit on this machine advertises in the terminal, pops up over the app and
    # sends usage statistics off the machine: what the checks below would see if gouji
    # left Streamlit to its defaults.
    port = _free_port()
    plain = _start(
        [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "false",
         "--server.showEmailPrompt", "false"],
        env, tmp_path / "plain.log", port,
    )  # fmt: skip
    fetched = _open(browser, f"http://127.0.0.1:{port}")
    browser.shot("plain-streamlit")
    popups = browser.find_elements("css selector", NUDGE)
    _stop(plain)
    assert popups and "Help agents" in (tmp_path / "plain.log").read_text(encoding="utf-8")
    assert any(not url.startswith(f"http://127.0.0.1:{port}/") for url in fetched)

    port = _free_port()
    log = tmp_path / "review.log"
    review = _start(
        [sys.executable, "-m", "gouji.cli", "review", "--port", str(port)], env, log, port
    )
    address = f"http://127.0.0.1:{port}"
    try:
        fetched = _open(browser, address)
        browser.shot("gouji-review")
        assert browser.find_elements("css selector", NUDGE) == []
        assert [url for url in fetched if not url.startswith(address + "/")] == []
        # The terminal shows gouji's one line, not Streamlit's English welcome or advert.
        assert log.read_text(encoding="utf-8").splitlines() == [
            f"复核库 {db}；界面地址 http://localhost:{port}"
        ]
    finally:
        _stop(review)

    # The server gone, the page says so in Chinese and names the command that restarts it.
    dialog = _wait(
        lambda: browser.find_element("css selector", "[data-testid='stDialog']").text,
        timeout=60,
        what="the dialog of a lost connection",
    )
    time.sleep(0.5)
    browser.shot("server-stopped")
    text = browser.find_element("css selector", "[data-testid='stDialog']").text
    assert "连接中断" in text and "gouji review" in text, dialog
    assert "internet" not in text and "Streamlit" not in text


def test_every_streamlit_option_gouji_sets_is_one_streamlit_knows():
    """A renamed option would make ``streamlit run`` refuse to start (and this says which)."""
    from streamlit import config

    known = config.get_config_options()
    assert [name for name in STREAMLIT_CONFIG if name not in known] == []
