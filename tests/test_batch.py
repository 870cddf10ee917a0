"""Bulk runs: resume after a kill, settings that invalidate a resume, workers, progress lines,
and the shared rate limit (on a fake clock: no test here is timed)."""

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from gouji.cli import cli
from gouji.limits import Limits
from gouji.running import batch
from gouji.running.settings import Settings
from gouji.witness.llm import LLMSettings, RateLimit
from gouji_eval.generate import generate, write
from gouji_eval.llm_server import Reply, null_answer

from conftest import store_rows, table_rows, write_years


@pytest.fixture
def folder(tmp_path):
    reports = tmp_path / "reports"
    for seed in range(60):
        write(generate(seed), reports)
    for gold in reports.glob("*.json"):
        gold.unlink()
    return reports


def _records(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _years_and_bad_files(folder):
    """Three years of one agency spread through the folder's order (two hand-overs to
    check across years, one of them broken), a copy of the first, and files that cannot be
    read: empty, a dangling link, a symlink loop."""
    write_years(folder, (("a_qinghe", 2021, 11), ("m_qinghe", 2022, 12), ("z_qinghe", 2023, 13)))
    (folder / "b_empty.txt").write_bytes(b"")
    # A copy read once: skipped, also when its original was read before a kill.
    (folder / "zz_copy.txt").write_bytes((folder / "a_qinghe_2021.txt").read_bytes())
    (folder / "c_gone.txt").symlink_to(folder / "nowhere.txt")
    (folder / "d_loop.txt").symlink_to(folder / "e_loop.txt")
    (folder / "e_loop.txt").symlink_to(folder / "d_loop.txt")


def _lines(out) -> int:
    return out.read_bytes().count(b"\n") if out.exists() else 0


def _kill_after(command: list[str], ready, env: dict | None = None) -> None:
    """Start a run, SIGKILL it once ``ready()``; its worker processes must end with it."""
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    while time.time() < deadline and not ready():
        time.sleep(0.01)
    was_ready = ready()
    alive: list[int] = []
    for _ in range(20):  # the run's worker processes (pgrep can miss them on a busy machine)
        found = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True)
        alive = [int(pid) for pid in found.stdout.split()]
        if alive:
            break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert was_ready and process.returncode == -signal.SIGKILL  # killed mid-run, not finished
    deadline = time.time() + 10
    assert alive  # the run had worker processes
    while alive and time.time() < deadline:
        alive = [pid for pid in alive if os.path.exists(f"/proc/{pid}")]
        time.sleep(0.1)
    assert alive == []  # nothing left running


@pytest.mark.parametrize("with_db", [False, True])
def test_kill_9_twice_then_resume_ends_as_an_uninterrupted_run(folder, tmp_path, with_db):
    _years_and_bad_files(folder)
    count = sum(1 for _ in folder.iterdir())

    def command(out, *extra):
        db = ["--db", f"sqlite:///{out.with_suffix('.db')}"] if with_db else []
        return [sys.executable, "-m", "gouji.cli", "extract", str(folder), "-o", str(out),
                "--workers", "2", "-q", *db, *extra]  # fmt: skip

    whole, cut = tmp_path / "whole.jsonl", tmp_path / "cut.jsonl"
    assert subprocess.run(command(whole)).returncode == 1  # the bad files failed
    _kill_after(command(cut), lambda: _lines(cut) >= 3)  # 2021 in, 2022 not yet
    with cut.open("ab") as file:
        file.write(b'{"document": "half a rec')  # as if the kill had cut a line
    before = _lines(cut)
    _kill_after(command(cut, "--resume"), lambda: _lines(cut) >= before + 20)
    resumed = subprocess.run(command(cut, "--resume"), capture_output=True, text=True)
    assert resumed.returncode == 1, resumed.stderr  # as the whole run: the bad files failed
    assert "Traceback" not in resumed.stderr

    key = lambda r: r["document"]  # noqa: E731
    records = sorted(_records(cut), key=key)
    assert len(records) == count  # each document once, the failed ones too
    assert records == sorted(_records(whole), key=key)
    failed = {Path(r["document"]).name: r["error"].split(":")[0] for r in records if r["error"]}
    assert failed == {"b_empty.txt": "input.empty", "c_gone.txt": "input.unreadable",
                      "d_loop.txt": "input.unreadable", "e_loop.txt": "input.unreadable",
                      "zz_copy.txt": "input.duplicate"}  # fmt: skip
    sidecar = lambda out: out.with_name(out.stem + ".cross_year.jsonl").read_text("utf-8")  # noqa: E731
    found = [json.loads(line) for line in sidecar(whole).splitlines()]
    assert {Path(f["document"]).name for f in found} >= {"m_qinghe_2022.txt"}
    assert sorted(sidecar(cut).splitlines()) == sorted(sidecar(whole).splitlines())
    if with_db:
        assert store_rows(f"sqlite:///{cut.with_suffix('.db')}") == store_rows(
            f"sqlite:///{whole.with_suffix('.db')}"
        )


def test_kill_9_ends_every_llm_worker_process(folder, tmp_path, llm_server):
    """Past 16 in flight the run has worker processes; killed mid-request, they end too."""
    llm_server.script = lambda task, n: Reply(
        null_answer(task), delay=0 if task == "unknown" else 30
    )
    env = {**os.environ, "OPENAI_BASE_URL": llm_server.base_url, "GOUJI_MODEL": "m",
           "GOUJI_CACHE_DIR": str(tmp_path / "cache")}  # fmt: skip
    command = [sys.executable, "-m", "gouji.cli", "extract", str(folder), "-o",
               str(tmp_path / "out.jsonl"), "--concurrency", "32", "-q"]  # fmt: skip
    _kill_after(command, lambda: llm_server.requests() > 20, env)


def test_resume_skips_only_what_was_done_with_the_same_settings(folder, tmp_path):
    out = tmp_path / "out.jsonl"
    runner = CliRunner()
    assert runner.invoke(cli, ["extract", str(folder), "-o", str(out), "-q"]).exit_code == 0
    again = runner.invoke(cli, ["extract", str(folder), "-o", str(out), "--resume"])
    assert "跳过已完成的 60 份" in again.output and len(_records(out)) == 60
    first = _records(out)
    changed = runner.invoke(
        cli, ["extract", str(folder), "-o", str(out), "--resume", "--max-bytes", "9999999"]
    )
    # Redone with new settings: each document's older record gives way to the new one.
    assert "跳过已完成" not in changed.output and len(_records(out)) == 60
    assert {r["settings"] for r in _records(out)} != {r["settings"] for r in first}
    edited = next(folder.glob("*.txt"))
    edited.write_text(edited.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    third = runner.invoke(
        cli, ["extract", str(folder), "-o", str(out), "--resume", "--max-bytes", "9999999"]
    )
    assert "跳过已完成的 59 份" in third.output and len(_records(out)) == 60


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
    monkeypatch.setattr("gouji.witness.llm.time.monotonic", lambda: clock["now"])
    monkeypatch.setattr("gouji.witness.llm.time.sleep", lambda s: slept.append(round(s, 3)))
    limit = RateLimit(4.0)  # a slot every 0.25 s
    for _ in range(4):
        limit.wait()
    assert slept == [0.25, 0.5, 0.75]


def test_many_requests_in_flight_use_processes_and_change_nothing(folder, llm_server):
    """Past 16 requests in flight, documents go to several processes, each with its own
    client; the records are the ones a single thread writes."""
    llm_server.script = lambda task, n: Reply(null_answer(task))
    paths = sorted(folder.glob("*.txt"))[:24]

    def records(workers: int) -> list[dict]:
        llm = LLMSettings(model="m", base_url=llm_server.base_url, api_key="x", use_cache=False)
        out = io.StringIO()
        settings = Settings(limits=Limits(bytes=10**8), witness="verify", llm=llm)
        batch.run(paths, out, settings, workers=workers, quiet=True)
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        return [{k: v for k, v in r.items() if k != "llm"} for r in lines]

    assert records(40) == records(1)  # two processes of 20 threads on a 2-core machine
    assert len(llm_server.seen) == 2 * len(paths)  # one request a report


def test_ctrl_c_stops_every_llm_worker_process_and_a_resume_finishes(folder, tmp_path, llm_server):
    """Past 16 in flight the run has worker processes; Ctrl-C (SIGINT to the terminal's
    process group) ends them all with the run, leaves whole lines only, and the answers
    already received come from the cache when the run resumes."""

    quick = []  # the reports answered at once (not the check before the run)

    def answer(task: str, n: int) -> Reply:
        if len(llm_server.seen) > 40:
            return Reply(null_answer(task), delay=30)
        quick.extend([task] if task != "unknown" else [])
        return Reply(null_answer(task), delay=0.05)

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
    while time.time() < deadline and len(llm_server.seen) <= 45:  # one request a report
        time.sleep(0.05)
    workers = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True)
    workers = [int(pid) for pid in workers.stdout.split()]
    assert len(workers) == 2
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=90) == 1  # stops, however loaded the machine (not a timing)
    assert "Traceback" not in process.stderr.read().decode()
    for pid in workers:
        assert not os.path.exists(f"/proc/{pid}")
    written = len(_records(out))
    assert written < 60  # whole lines only, and the run did stop
    llm_server.script = lambda task, n: Reply(null_answer(task))
    asked = len(llm_server.seen)
    result = CliRunner(env=env).invoke(
        cli, ["extract", str(folder), "-o", str(out), "--model", "m", "--resume", "-q"]
    )
    assert result.exit_code == 0
    records = _records(out)
    assert sorted(r["document"] for r in records) == sorted(str(p) for p in folder.iterdir())
    # One request a report: the written reports are not asked again, and the quick answers
    # not yet written came from the cache.
    again = sum(1 for seen in llm_server.seen[asked:] if seen.task != "unknown")
    assert 60 - len(quick) <= again <= 60 - written


def test_failed_files_are_named_escaped_and_listed_for_a_rerun(tmp_path, store_url):
    folder = tmp_path / "reports"
    write(generate(1, layout="tab_rows", variants=(), inject_error=False), folder)
    nuls = b"\x00" * 16  # past the damage a text may have: a binary file
    (folder / os.fsdecode(b"a\xff.txt")).write_bytes(nuls + b"a")  # a name that is not UTF-8
    (folder / "bad\x1b[2J\r.txt").write_bytes(b"")  # a name that would clear the terminal
    for i in range(24):  # each its own content (copies of one would be duplicates)
        (folder / f"e{i:02d}.txt").write_bytes(nuls + b"%d" % i)
    out, listed = tmp_path / "out.jsonl", tmp_path / "failed.txt"
    url = store_url.replace("://postgres@", "://postgres:hunter2@")  # the test server trusts
    result = CliRunner().invoke(
        cli, ["extract", str(folder), "-o", str(out), "--db", url, "--failed", str(listed)]
    )
    assert result.exit_code == 1
    shown = result.output.split("读取失败的文件：\n", 1)[1].splitlines()
    binary = "input.binary: 二进制文件，不是文本（16 个控制字符）"
    assert shown[0] == f"  {folder}/a\\xff.txt：{binary}"
    assert shown[1] == f"  {folder}/bad\\x1b[2J\\x0d.txt：input.empty: 文件为空"
    assert shown[2:20] == [f"  {folder}/e{i:02d}.txt：{binary}" for i in range(18)]
    assert shown[20] == "  ……另有 6 份失败"
    assert "\x1b" not in result.output and "hunter2" not in result.output
    if "postgres" in url:
        assert "已写入复核库 postgresql+psycopg://postgres:***@" in result.output
    paths = [os.fsdecode(p) for p in listed.read_bytes().split(b"\n")[:-1]]
    assert len(paths) == 26 and paths[1] == str(folder / "bad\x1b[2J\r.txt")
    # The list reruns as it is: one path a line, as `xargs -d '\n' gouji extract` gives them.
    again = CliRunner().invoke(cli, ["extract", *paths, "-o", str(tmp_path / "again.jsonl"), "-q"])
    assert again.exit_code == 1
    errors = [r["error"] for r in _records(tmp_path / "again.jsonl")]
    assert errors == [binary, "input.empty: 文件为空"] + [binary] * 24
    assert _records(tmp_path / "again.jsonl")[0]["document"] == str(
        folder / os.fsdecode(b"a\xff.txt")
    )


def test_a_service_hands_the_run_one_file_at_a_time(tmp_path, store_url):
    """``Run.submit``, the seam for a service: files submitted from several threads are each
    read in a watched worker, journaled and stored; a bomb among them costs its own record."""
    from concurrent.futures import ThreadPoolExecutor

    from gouji_eval.hostile import span_bomb_html

    folder = tmp_path / "uploads"
    for seed in range(3):
        write(generate(seed, layout="tab_rows", variants=(), inject_error=False), folder)
    (folder / "bomb.html").write_bytes(span_bomb_html())
    os.mkfifo(folder / "pipe.txt")
    files = sorted(p for p in folder.iterdir() if p.suffix != ".json")
    journal = tmp_path / "journal.jsonl"
    # The cells' own bound lifted, so the bomb meets the worker's memory bound.
    settings = Settings(limits=Limits(memory_mib=200, cells=10**9))
    with (
        batch.Run(settings, output=journal, store=store_url, workers=2) as run,
        ThreadPoolExecutor(3) as threads,
    ):
        records = dict(zip(files, threads.map(run.submit, files), strict=True))
    by_name = {p.name: r for p, r in records.items()}
    assert by_name["bomb.html"]["error"].startswith("input.out_of_memory: ")
    assert by_name["bomb.html"]["sha256"]  # so a later run knows the same file again
    assert by_name["pipe.txt"]["error"].startswith("input.not_a_file: ")
    assert [r["status"] for n, r in sorted(by_name.items()) if n.endswith(".txt")][:3] == ["ok"] * 3
    assert run.outcome.documents == 5 and run.outcome.failed == 1
    assert sorted(r["document"] for r in _records(journal)) == sorted(map(str, files))
    assert {r["settings"] for r in _records(journal)} == {settings.fingerprint()}
    stored = {d["path"].rsplit("/", 1)[-1]: d["status"] for d in table_rows(store_url, "documents")}
    expected = {p.name: "ok" for p in files if p.name.startswith("gen_")}
    assert stored == expected | {"bomb.html": "failed"}
