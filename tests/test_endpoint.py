"""The LLM endpoint under faults, with gouji run as a user runs it: dead before the run,
refusing the check, dying mid-run (then back for a resume), credentials in its URL."""

import base64
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
from gouji_eval.llm_server import Oracle, Reply, null_answer

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
    "reply, says, sent",
    [
        (Reply(status=401), "拒绝了密钥（HTTP 401）；请检查 OPENAI_API_KEY", 1),
        (Reply(status=404), "没有模型 m", 1),
        (Reply(status=429, message="insufficient_quota"), "额度已用完（insufficient_quota）", 1),
        # Refused in every mode, for no reason that names a format: nothing to run on.
        (Reply(status=400, message="bad request"), "不能按格式回答", 4),
    ],
    ids=["key", "model", "quota", "every-mode-refused"],
)
def test_an_endpoint_that_fails_the_check_stops_the_run(reply, says, sent, llm_server, tmp_path):
    llm_server.script = lambda task, n: reply
    report = next(iter(_reports(tmp_path, 1).iterdir()))
    out = tmp_path / "out.jsonl"
    env = {"OPENAI_BASE_URL": llm_server.base_url, "GOUJI_CACHE_DIR": str(tmp_path / "cache")}
    result = CliRunner(env=env).invoke(
        cli, ["extract", str(report), "-o", str(out), "--model", "m"]
    )
    assert result.exit_code == 2 and says in result.output, result.output
    assert llm_server.requests() == sent and not out.exists()


def test_the_check_waits_as_the_endpoint_asks_and_gives_up_when_patience_runs_out(llm_server):
    """429 and 503, with Retry-After or without, are waited out, each wait said; a server
    busy past the check's patience stops the run, with what it answered."""
    from gouji.errors import EndpointUnavailable
    from gouji.witness.endpoint import check
    from gouji.witness.llm import LLMSettings

    busy = {"429": Reply(status=429, headers={"Retry-After": "1"}), "503": Reply(status=503)}
    llm_server.script = lambda task, n: busy["429"] if n == 0 else busy["503"] if n == 1 else None
    said: list[str] = []
    settings = LLMSettings(model="m", base_url=llm_server.base_url, backoff_base=0.2)
    started = time.monotonic()
    profile = check(settings, said.append)
    assert 1.0 <= time.monotonic() - started < 5 and profile.mode == "json_schema"
    assert said[0] == "LLM 端点限流（HTTP 429），按要求等 1 秒后再试（已等 0/60 秒）"
    assert said[1].startswith("LLM 端点忙（HTTP 503），按要求等 ")
    llm_server.script = lambda task, n: Reply(status=503, headers={"Retry-After": "1"})
    with pytest.raises(EndpointUnavailable, match="HTTP 503.*等了 2 秒仍未好转"):
        check(settings, said.append, patience=2.5)


def test_an_endpoint_dying_mid_run_is_left_alone_and_a_resume_asks_again(llm_server, tmp_path):
    folder = _reports(tmp_path, 9)
    down = {"after": 4 + 2}  # the check (a probe a mode), two documents, then 503s

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
    assert llm_server.requests() == 4 + 2 + 5
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
    assert llm_server.requests() - asked == 7  # the seven documents; the check is cached
    after = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert after[:2] == records[:2]  # kept as they were
    assert sorted(r["document"] for r in after) == sorted(r["document"] for r in records)
    assert not any(r["llm"]["unavailable"] or r["llm"]["errors"] for r in after)


@pytest.mark.parametrize("key, password", [(KEY, PASSWORD), ("k3y7", "pw")], ids=["long", "short"])
def test_credentials_and_the_key_are_written_nowhere_logs_included(
    key, password, llm_server, tmp_path
):
    """Whatever their length, and also when the endpoint echoes them back in an error (the
    key, and the URL's user:password as the Basic auth it was sent as)."""
    basic = base64.b64encode(f"alice:{password}".encode()).decode()
    echo = f"Incorrect API key provided: {key}; Authorization: Basic {basic} ({password})"
    llm_server.script = lambda task, n: (
        Reply(status=400, message=echo)
        if task != "unknown" and n == 0
        else Reply(null_answer(task))
    )
    folder = _reports(tmp_path, 2)
    url = llm_server.base_url.replace("http://", f"http://alice:{password}@")
    env = {**os.environ, "OPENAI_BASE_URL": url, "OPENAI_API_KEY": key, "GOUJI_MODEL": "m",
           "GOUJI_CACHE_DIR": str(tmp_path / "cache")}  # fmt: skip
    out, db = tmp_path / "out.jsonl", tmp_path / "gouji.db"
    result = _gouji(
        "extract", str(folder), "-o", str(out), "--db", f"sqlite:///{db}", "--verbose", env=env
    )
    assert result.returncode == 0, result.stderr
    assert "HTTP Request: POST http://***@127.0.0.1" in result.stderr  # --verbose shows the logs
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert records[0]["llm"]["endpoint"].startswith("http://***@127.0.0.1:")
    errors = [e for r in records for e in r["llm"]["errors"]]
    assert errors and "Incorrect API key provided: ***; Authorization: Basic *** (***)" in errors[0]
    assert db.exists() and (tmp_path / "cache").exists()
    for secret in (password, key, basic):
        assert secret not in result.stderr
    assert _files_holding(tmp_path, password, key, basic) == []


def test_a_pacing_flaky_endpoint_completes_and_a_rerun_needs_no_endpoint(llm_server, tmp_path):
    """429 with Retry-After: 1 to the first request of every kind (each probe's mode, each
    task), 500 to every fifth request: the run waits as asked, completes with nothing wrong
    accepted; a rerun over the cached answers sends nothing, and works with the endpoint
    switched off."""
    folder = tmp_path / "reports"
    reports = [generate(seed) for seed in range(3)]
    for report in reports:
        write(report, folder)
    for gold in folder.glob("*.json"):
        gold.unlink()
    paths = sorted(folder.iterdir())
    golds = {
        p.name: r.gold for p, r in zip(paths, sorted(reports, key=lambda r: r.name), strict=True)
    }
    llm_server.oracle = Oracle.of([(p, golds[p.name]) for p in paths])
    kinds: set = set()

    def script(task, n):
        if len(llm_server.seen) % 5 == 0:
            return Reply(status=500)
        kind = (task, llm_server.seen[-1].mode)
        if kind not in kinds:
            kinds.add(kind)
            return Reply(status=429, headers={"Retry-After": "1"})
        return None

    llm_server.script = script
    env = {**os.environ, "OPENAI_BASE_URL": llm_server.base_url, "GOUJI_MODEL": "m",
           "GOUJI_CACHE_DIR": str(tmp_path / "cache")}  # fmt: skip
    out = tmp_path / "out.jsonl"
    first = _gouji("extract", str(folder), "-o", str(out), env=env)
    assert first.returncode == 0, first.stderr
    assert "LLM 端点限流（HTTP 429），按要求等 1 秒后再试" in first.stderr
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    wrong = [
        (r["document"], k)
        for r in records
        for k, status in r["field_status"].items()
        if status == "accepted" and r["fields"][k] != golds[Path(r["document"]).name]["fields"][k]
    ]
    assert wrong == [] and all(r["llm"]["errors"] == [] for r in records)
    assert sum(r["llm"]["usage"]["retries"] for r in records) >= 1  # the task's first 429
    assert sum(s == "accepted" for r in records for s in r["field_status"].values()) > 550
    sent = llm_server.requests()
    llm_server.stop()  # the endpoint switched off
    again = _gouji("extract", str(folder), "-o", str(tmp_path / "again.jsonl"), env=env)
    assert again.returncode == 0, again.stderr
    rerun = [json.loads(line) for line in (tmp_path / "again.jsonl").read_text().splitlines()]
    assert [r["fields"] for r in rerun] == [r["fields"] for r in records]
    assert [r["field_status"] for r in rerun] == [r["field_status"] for r in records]
    assert all(r["llm"]["usage"]["requests"] == 0 for r in rerun)
    assert llm_server.requests() == sent
