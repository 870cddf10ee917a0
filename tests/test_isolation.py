"""Documents in supervised worker processes: a crash, a kill, a timeout or a memory blow-up of
one document is that document's failed record, and the others are read as if nothing happened.

The worker's reading step is replaced by one that misbehaves on cue (the workers are forked
from this process, so they run it): real processes, real signals, real memory."""

import ctypes
import faulthandler
import os
import signal
import time

import pytest

from gouji.checking.record import failed_record
from gouji.limits import Limits
from gouji.running import isolation
from gouji.running.isolation import Job, Pool
from gouji.running.settings import Settings


def _misbehaving(path, settings, llm, provenance=None, sha256=None):
    """A record naming the path, after doing what the path's name says."""
    name = os.path.basename(path)
    if name.startswith("segv"):
        faulthandler.disable()  # pytest's, inherited: the crash is the point, not its trace
        ctypes.string_at(0)  # a real segmentation fault
    if name.startswith("killed"):
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(60)  # the signal is on its way
    if name.startswith("exit"):
        os._exit(3)
    if name.startswith("raise"):
        raise TypeError("a bug past extract_file's own guard")
    if name.startswith("sleep"):
        time.sleep(float(name.split("_")[1]))
    if name.startswith("grow"):
        hoard = []
        for _ in range(200):  # 50 MiB a step, touched, until the supervisor steps in
            hoard.append(bytearray(50 << 20))
            time.sleep(0.02)
    return {**failed_record(path, "input.empty: 读完了", sha256), "pid": os.getpid()}


@pytest.fixture(autouse=True)
def _forked_workers(monkeypatch):
    monkeypatch.setattr(isolation, "extract_file", _misbehaving)
    monkeypatch.setattr(isolation, "_may_fork", lambda: True)


def _read(names, workers=1, shape=None, **limits):
    settings = Settings(limits=Limits(**limits))
    with Pool(settings, workers) as pool:
        if shape is not None:
            pool.processes, pool.threads = shape
        records = list(pool.imap(Job(f"/nowhere/{name}", f"hash-{name}") for name in names))
    assert [r["document"] for r in records] == [f"/nowhere/{n}" for n in names]  # in order
    assert all(r["sha256"] == f"hash-{n}" for r, n in zip(records, names, strict=True))
    return {r["document"].rsplit("/", 1)[1]: r for r in records}


@pytest.mark.parametrize(
    "name, error",
    [
        ("segv", "internal.crash: 读取它的进程意外退出（信号 SIGSEGV）"),
        ("exit", "internal.crash: 读取它的进程意外退出（退出码 3）"),
        ("killed", "input.out_of_memory: 读取它的进程被系统终止（多半是内存不足）"),
    ],
)
def test_a_worker_that_dies_costs_its_document_alone(name, error):
    records = _read(["a", name, "b", "c"])
    assert records[name]["status"] == "failed" and records[name]["error"] == error
    assert [records[n]["error"] for n in "abc"] == ["input.empty: 读完了"] * 3
    assert records["a"]["pid"] != records["b"]["pid"]  # its worker was replaced


def test_an_exception_out_of_the_reader_is_its_document_s_record_at_once():
    started = time.monotonic()
    records = _read(["a", "raise", "b"])
    error = "internal.error: TypeError: a bug past extract_file's own guard"
    assert records["raise"]["error"] == error and records["raise"]["sha256"] == "hash-raise"
    assert records["a"]["pid"] == records["b"]["pid"]  # the worker goes on
    assert time.monotonic() - started < 30  # not held until the time bound


def test_a_document_past_its_time_is_stopped_and_the_rest_go_on():
    started = time.monotonic()
    records = _read(["sleep_60", "a", "b", "sleep_0.2"], workers=2, seconds=1.5)
    assert records["sleep_60"]["error"] == "input.timeout: 处理超过 1.5 秒的上限，已中止"
    assert records["sleep_0.2"]["error"] == records["a"]["error"] == "input.empty: 读完了"
    assert time.monotonic() - started < 30


def test_a_document_past_its_memory_is_stopped_and_the_rest_go_on():
    records = _read(["a", "grow", "b"], memory_mib=200)
    assert records["grow"]["error"] == "input.out_of_memory: 内存增长超过 200 MiB 的上限，已中止"
    assert records["a"]["error"] == records["b"]["error"] == "input.empty: 读完了"


def test_beside_others_in_one_worker_the_culprit_is_found_by_reading_each_alone():
    """LLM runs put several documents in one worker (threads): after a memory kill nobody
    knows whose it was, so each is read again alone, and only the culprit fails."""
    names = ["sleep_1", "grow", "sleep_1.1", "a"]
    records = _read(names, shape=(1, 3), memory_mib=200)
    assert records["grow"]["error"].startswith("input.out_of_memory: ")
    assert all(records[n]["error"] == "input.empty: 读完了" for n in names if n != "grow")


def test_a_timeout_beside_others_in_one_worker_costs_only_the_late_one():
    records = _read(["sleep_60", "sleep_0.5", "a"], shape=(1, 2), seconds=2)
    assert records["sleep_60"]["error"].startswith("input.timeout: ")
    assert records["sleep_0.5"]["error"] == records["a"]["error"] == "input.empty: 读完了"
