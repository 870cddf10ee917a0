"""The LLM endpoint under faults, with gouji run as a user runs it: dead before the run,
refusing the check, dying mid-run (then back for a resume), credentials in its URL."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from gouji.cli import cli
from gouji_eval.generate import generate, write
from gouji_eval.llm_server import Reply, null_answer

KEY = "sk-test-0a1b2c3d4e5f6789"
PASSWORD = "hunter2-s3cret"


def _reports(tmp_path, count: int):
    folder = tmp_path / "reports"
    for seed in range(count):
        write(generate(seed), folder)
    for gold in folder.glob("*.json"):
        gold.unlink()
    return folder


def _gouji(*args: str, env: dict) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "gouji.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def _files_holding(root, *secrets: str) -> list[str]:
    """Every file under ``root`` whose bytes hold one of ``secrets``."""
    found = []
    for folder, _, names in os.walk(root):
        for name in names:
            data = Path(folder, name).read_bytes()
            if any(secret.encode() in data for secret in secrets):
                found.append(os.path.join(folder, name))
    return found


def test_a_dead_endpoint_stops_the_run_in_seconds_with_one_line_and_writes_nothing(tmp_path):
    folder = _reports(tmp_path, 9)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "OPENAI_BASE_URL": f"http://alice:{PASSWORD}@127.0.0.1:{port}/v1",
           "OPENAI_API_KEY": KEY, "GOUJI_MODEL": "m", "HOME": str(tmp_path / "home"),
           "GOUJI_CACHE_DIR": str(tmp_path / "cache")}  # fmt: skip
    out, db = tmp_path / "out.jsonl", tmp_path / "gouji.db"
    started = time.monotonic()
    result = _gouji("extract", str(folder), "-o", str(out), "--db", f"sqlite:///{db}", env=env)
    elapsed = time.monotonic() - started
    assert result.returncode == 2 and elapsed <= 20
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        f"错误：llm.endpoint: 无法连接 LLM 端点 http://***@127.0.0.1:{port}/v1"
    )
    assert "请检查 OPENAI_BASE_URL" in lines[0]
    assert not out.exists() and not db.exists() and not (tmp_path / "cache").exists()
    assert PASSWORD not in result.stderr and KEY not in result.stderr
    assert _files_holding(tmp_path, PASSWORD, KEY) == []


@pytest.mark.parametrize(
    "status, says",
    [
        (401, "拒绝了密钥（HTTP 401）；请检查 OPENAI_API_KEY"),
        (404, "没有模型 m"),
        (500, "HTTP 500"),
    ],
)
def test_an_endpoint_that_fails_the_check_stops_the_run(status, says, llm_server, tmp_path):
    llm_server.script = lambda task, n: Reply(status=status)
    report = next(iter(_reports(tmp_path, 1).iterdir()))
    out = tmp_path / "out.jsonl"
    env = {"OPENAI_BASE_URL": llm_server.base_url, "GOUJI_CACHE_DIR": str(tmp_path / "cache")}
    result = CliRunner(env=env).invoke(
        cli, ["extract", str(report), "-o", str(out), "--model", "m"]
    )
    assert result.exit_code == 2 and says in result.output
    assert llm_server.requests() == 1 and not out.exists()


def test_an_endpoint_dying_mid_run_is_left_alone_and_a_resume_asks_again(llm_server, tmp_path):
    folder = _reports(tmp_path, 9)
    down = {"after": 3}  # the check and two documents' one request each, then 503s

    def script(task, n):
        if len(llm_server.seen) <= down["after"]:
            return Reply(null_answer(task))
        return Reply(status=503, headers={"Retry-After": "0"})

    llm_server.script = script
    env = {**os.environ, "OPENAI_BASE_URL": llm_server.base_url, "GOUJI_MODEL": "m",
           "GOUJI_CACHE_DIR": str(tmp_path / "cache")}  # fmt: skip
    out = tmp_path / "out.jsonl"
    first = _gouji("extract", str(folder), "-o", str(out), "--concurrency", "1", env=env)
    assert first.returncode == 1
    lines = first.stderr.splitlines()
    assert len(lines) <= 15 and "LLM 端点没有回答：7 份报告只用了读取器" in first.stderr, lines
    assert not any(w in first.stderr for w in ("instructor", "Error code", "Traceback", "HTTP"))
    # The third document's request failed five times in a row; nothing was sent after.
    assert llm_server.requests() == 3 + 5
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [r["llm"]["unavailable"] for r in records] == [False] * 2 + [True] * 7
    assert all(r["status"] == "ok" and r["fields"] for r in records)  # the reader's, whole
    assert records[3]["llm"]["errors"][0].split(": ")[1] == "llm.unavailable"

    down["after"] = 10**9  # the endpoint is back
    asked = llm_server.requests()
    again = _gouji(
        "extract", str(folder), "-o", str(out), "--resume", "--concurrency", "1", env=env
    )
    assert again.returncode == 0, again.stderr
    assert llm_server.requests() - asked == 1 + 7  # the check, and the seven documents
    after = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert after[:2] == records[:2]  # kept as they were
    assert sorted(r["document"] for r in after) == sorted(r["document"] for r in records)
    assert not any(r["llm"]["unavailable"] or r["llm"]["errors"] for r in after)


def test_credentials_and_the_key_are_written_nowhere_logs_included(llm_server, tmp_path):
    llm_server.script = lambda task, n: Reply(null_answer(task))
    folder = _reports(tmp_path, 2)
    url = llm_server.base_url.replace("http://", f"http://alice:{PASSWORD}@")
    env = {**os.environ, "OPENAI_BASE_URL": url, "OPENAI_API_KEY": KEY, "GOUJI_MODEL": "m",
           "GOUJI_CACHE_DIR": str(tmp_path / "cache")}  # fmt: skip
    out, db = tmp_path / "out.jsonl", tmp_path / "gouji.db"
    result = _gouji(
        "extract", str(folder), "-o", str(out), "--db", f"sqlite:///{db}", "--verbose", env=env
    )
    assert result.returncode == 0, result.stderr
    assert "HTTP Request: POST http://***@127.0.0.1" in result.stderr  # --verbose shows the logs
    assert PASSWORD not in result.stderr and KEY not in result.stderr
    record = json.loads(out.read_text("utf-8").splitlines()[0])
    assert record["llm"]["endpoint"].startswith("http://***@127.0.0.1:")
    assert db.exists() and (tmp_path / "cache").exists()
    assert _files_holding(tmp_path, PASSWORD, KEY) == []
