"""Bulk runs: resume after a kill, settings that invalidate a resume, workers, progress lines,
and the shared rate limit (on a fake clock: no test here is timed)."""

import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from gouji import FIELD_KEYS, batch
from gouji.cli import cli
from gouji.llm import LLMSettings, RateLimit
from gouji.settings import Settings
from gouji_eval.generate import generate, write
from gouji_eval.llm_server import Reply, answer_from_gold


@pytest.fixture
def folder(tmp_path):
    reports = tmp_path / "reports"
    for seed in range(60):
        write(generate(seed), reports)
    for gold in reports.glob("*.json"):
        gold.unlink()
    return reports


def _blank(task: str) -> dict:
    """A schema-valid answer with no figures."""
    if task in ("claims", "meta"):
        return {"claims": []} if task == "claims" else {}
    return answer_from_gold(task, {"fields": dict.fromkeys(FIELD_KEYS)})


def _records(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_kill_then_resume_loses_nothing_and_repeats_nothing(folder, tmp_path):
    out = tmp_path / "out.jsonl"
    command = [
        sys.executable,
        "-m",
        "gouji.cli",
        "extract",
        str(folder),
        "-o",
        str(out),
        "--workers",
        "1",
        "-q",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and (not out.exists() or out.read_bytes().count(b"\n") < 5):
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    with out.open("ab") as file:
        file.write(b'{"document": "half a rec')  # as if the kill had cut a line
    before = out.read_bytes().count(b"\n")
    assert 5 <= before < 60
    result = CliRunner().invoke(cli, ["extract", str(folder), "-o", str(out), "--resume", "-q"])
    assert result.exit_code == 0
    records = _records(out)  # every line parses: the cut line is gone
    assert sorted(r["document"] for r in records) == sorted(str(p) for p in folder.iterdir())
    assert len({r["settings"] for r in records}) == 1


def test_resume_skips_only_what_was_done_with_the_same_settings(folder, tmp_path):
    out = tmp_path / "out.jsonl"
    runner = CliRunner()
    assert runner.invoke(cli, ["extract", str(folder), "-o", str(out), "-q"]).exit_code == 0
    again = runner.invoke(cli, ["extract", str(folder), "-o", str(out), "--resume"])
    assert "跳过已完成的 60 份" in again.output and len(_records(out)) == 60
    changed = runner.invoke(
        cli, ["extract", str(folder), "-o", str(out), "--resume", "--max-bytes", "9999999"]
    )
    assert "跳过" not in changed.output and len(_records(out)) == 120
    edited = next(folder.glob("*.txt"))
    edited.write_text(edited.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    third = runner.invoke(
        cli, ["extract", str(folder), "-o", str(out), "--resume", "--max-bytes", "9999999"]
    )
    assert "跳过已完成的 59 份" in third.output


def test_processes_give_the_records_one_process_gives(folder, tmp_path):
    runner = CliRunner()
    one, many = tmp_path / "one.jsonl", tmp_path / "many.jsonl"
    runner.invoke(cli, ["extract", str(folder), "-o", str(one), "--workers", "1", "-q"])
    runner.invoke(cli, ["extract", str(folder), "-o", str(many), "--workers", "2", "-q"])
    assert one.read_text(encoding="utf-8") == many.read_text(encoding="utf-8")


def test_progress_in_a_log_is_a_plain_line(monkeypatch, capsys):
    ticks = iter(range(0, 1000, 6))
    monkeypatch.setattr(batch.time, "monotonic", lambda: float(next(ticks)))
    progress = batch.Progress(10, sys.stderr, quiet=False)
    for _ in range(4):
        progress.step()
    progress.close()
    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    assert lines and lines[0].startswith("已处理 2/10（") and "份/秒，预计还需" in lines[0]


def test_rate_limit_spaces_requests_across_threads(monkeypatch):
    clock = {"now": 100.0}
    slept = []
    monkeypatch.setattr("gouji.llm.time.monotonic", lambda: clock["now"])
    monkeypatch.setattr("gouji.llm.time.sleep", lambda s: slept.append(round(s, 3)))
    limit = RateLimit(4.0)  # a slot every 0.25 s
    for _ in range(4):
        limit.wait()
    assert slept == [0.25, 0.5, 0.75]


def test_many_requests_in_flight_use_processes_and_change_nothing(folder, llm_server):
    """Past 16 requests in flight, documents go to several processes, each with its own
    client; the records are the ones a single thread writes."""
    llm_server.script = lambda task, n: Reply(_blank(task))
    paths = sorted(folder.glob("*.txt"))[:24]

    def records(workers: int) -> list[dict]:
        llm = LLMSettings(model="m", base_url=llm_server.base_url, api_key="x", use_cache=False)
        out = io.StringIO()
        settings = Settings(max_bytes=10**8, witness="verify", llm=llm)
        batch.run(paths, out, settings, workers=workers, quiet=True)
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        return [{k: v for k, v in r.items() if k != "llm"} for r in lines]

    assert records(40) == records(1)  # two processes of 20 threads on a 2-core machine
    assert len(llm_server.seen) == 2 * len(paths) * 5


def test_ctrl_c_stops_every_llm_worker_process_and_a_resume_finishes(folder, tmp_path, llm_server):
    """Past 16 in flight the run has worker processes; Ctrl-C (SIGINT to the terminal's
    process group) ends them all with the run, leaves whole lines only, and the answers
    already received come from the cache when the run resumes."""

    def answer(task: str, n: int) -> Reply:
        return Reply(_blank(task), delay=0.05 if len(llm_server.seen) <= 40 else 30)

    llm_server.script = answer  # quick at first, then slow: the interrupt lands mid-run
    out, cache = tmp_path / "out.jsonl", tmp_path / "cache"
    env = {**os.environ, "OPENAI_BASE_URL": llm_server.base_url, "OPENAI_API_KEY": "x",
           "GOUJI_CACHE_DIR": str(cache)}  # fmt: skip
    command = [sys.executable, "-m", "gouji.cli", "extract", str(folder), "-o", str(out),
               "--model", "m", "--concurrency", "32", "-q"]  # fmt: skip
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 60
    while time.time() < deadline and len(llm_server.seen) <= 60:
        time.sleep(0.05)
    workers = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True)
    workers = [int(pid) for pid in workers.stdout.split()]
    assert len(workers) == 2
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=20) == 1
    assert "Traceback" not in process.stderr.read().decode()
    for pid in workers:
        assert not os.path.exists(f"/proc/{pid}")
    assert len(_records(out)) < 60  # whole lines only, and the run did stop
    llm_server.script = lambda task, n: Reply(_blank(task))
    asked = len(llm_server.seen)
    result = CliRunner(env=env).invoke(
        cli, ["extract", str(folder), "-o", str(out), "--model", "m", "--resume", "-q"]
    )
    assert result.exit_code == 0
    records = _records(out)
    assert sorted(r["document"] for r in records) == sorted(str(p) for p in folder.iterdir())
    assert len(llm_server.seen) - asked <= 60 * 5 - 30  # the quick answers came from the cache
