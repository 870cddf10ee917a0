"""gouji's speed, memory and token use, measured on generated reports; prints its figures.

    python -m gouji_eval.benchmark            # everything (a few minutes)
    python -m gouji_eval.benchmark --quick    # smaller runs, same measurements

Targets (issue 7): reader ≥ 100 documents/s on one core for 8 KB reports and ≤ 3 × the cost of
reading + normalising; LLM path ≤ 1.3 × ideal at concurrency 32; warm rerun ≥ 50 × faster than
cold; peak memory at 10,000 documents ≤ 1.1 × that at 1,000 (issue 25); tokens per report ≤ 0.5 ×
whole-report prompting, beside what ``verify`` and ``fallback`` buy on the labeled reports
with the oracle witness (issue 14). OCR (issue 22): ≤ 3 s a page on one core, for each engine
installed (pages/second), and a rerun of the same scans does no OCR; the quality of each engine
on every degradation is ``python -m gouji_eval.scanbench``. ``gouji serve`` (issue 27):
documents a second through the API ≥ 0.8 × ``gouji extract --db`` on the same files.
Hostile files (issue 25): good reports beside the files of
``gouji_eval.hostile`` finish on two workers in under 2 minutes with the run's peak memory
under 2 GB, a record for every file; ``--resume`` over them is instant.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gouji.inputs import ocr, sources
from gouji.inputs.discover import hash_file
from gouji.limits import MIB, Limits
from gouji.running import batch
from gouji.running.pipeline import extract_file
from gouji.running.settings import Settings
from gouji.status import FieldStatus
from gouji.witness.llm import LLMClient, LLMSettings, Usage

from . import sets
from .generate import generate
from .gold import shared_dir
from .llm_server import Oracle, Reply, ScriptedLLM
from .scans import RECIPES, scan_all

_FILLER = (
    "我们坚持以人民为中心的发展思想，把政务公开作为建设法治政府的重要抓手，",
    "围绕优化营商环境、保障和改善民生等重点领域，持续加大信息公开力度，",
    "进一步完善政策解读和回应关切机制，推动政务公开标准化规范化建设向基层延伸，",
    "加强政府网站和政务新媒体的日常监管，确保发布内容准确、及时、规范，",
    "认真做好依申请公开答复工作，严格按照法定时限和程序办理，切实保障群众的知情权、参与权和监督权。",
)


def generated_gold(index: int, seed: int = 0, layout: str = "tab_rows") -> dict:
    """The gold of ``write_reports``'s report ``index`` (its padding states no figure)."""
    return generate(seed + index, layout=layout, variants=(), inject_error=False).gold


def write_reports(
    folder: Path, count: int, target_bytes: int = 8192, seed: int = 0, layout: str = "tab_rows"
) -> list[Path]:
    """Generated reports padded with prose (no figures) to about ``target_bytes`` each."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    # A crawled page keeps its body on one line.
    gap = "" if layout == "crawl" else "\n\n"
    for i in range(count):
        report = generate(seed + i, layout=layout, variants=(), inject_error=False)
        text = report.text
        while len(text.encode("utf-8")) < target_bytes:
            filler = "".join(rng.sample(_FILLER, 3))
            text = text.replace(
                "二、主动公开政府信息情况", f"{filler}{gap}二、主动公开政府信息情况", 1
            )
        path = folder / f"report_{i:05d}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def _pass(step, paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        step(path)
    return time.perf_counter() - start


def reader_speed(paths: list[Path], layout: str = "tab_rows") -> dict:
    # One-time set-up (OpenCC's tables, compiled patterns) is not a per-document cost.
    extract_file(paths[0])
    # The fastest of several interleaved passes: what the code costs, not what else the
    # machine was doing at the time.
    reading = extracting = float("inf")
    for _ in range(5):
        reading = min(reading, _pass(sources.load, paths))
        extracting = min(extracting, _pass(extract_file, paths))
    size = sum(p.stat().st_size for p in paths) / len(paths) / 1024
    print(f"读取器（单核，{len(paths)} 份 {layout} 版式，平均 {size:.1f} KB）")
    print(f"  读取 + 规范化：{len(paths) / reading:8.1f} 份/秒")
    print(f"  完整抽取：    {len(paths) / extracting:8.1f} 份/秒（目标 ≥ 100）")
    print(f"  抽取 / 读取：  {extracting / reading:8.2f} 倍（目标 ≤ 3）")
    return {
        "documents_per_second": len(paths) / extracting,
        "against_reading": extracting / reading,
    }


def _client(url: str, cache: Path | None) -> LLMClient:
    return LLMClient(
        LLMSettings(
            model="benchmark",
            base_url=url,
            api_key="none",
            mode="tools",
            cache_dir=cache,
            use_cache=cache is not None,
        )
    )


def _timed_run(paths: list[Path], client: LLMClient, mode: str, workers: int) -> tuple[float, int]:
    """Seconds, and the requests sent."""
    start = time.perf_counter()
    settings = Settings(witness=mode, llm=client.settings)
    outcome = batch.run(paths, io.StringIO(), settings, workers=workers, quiet=True)
    return time.perf_counter() - start, outcome.usage.requests


def _serve(latency: float) -> tuple[subprocess.Popen, str]:
    """The endpoint in its own process, as a real one is: it must not share our interpreter."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gouji_eval.llm_server", "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    return process, process.stdout.readline().strip()


def llm_path(folder: Path, latency: float, quick: bool) -> dict:
    process, url = _serve(latency)
    figures: dict = {}
    print(
        f"LLM 路径（另一进程中的 OpenAI 兼容服务，每次请求固定延迟 {latency * 1000:.0f} ms，verify 模式）"
    )
    try:
        for concurrency, count in (
            (1, 8 if quick else 16),
            (8, 32 if quick else 64),
            (32, 64 if quick else 128),
        ):
            paths = sorted(folder.glob("*.txt"))[:count]
            client = _client(url, None)
            elapsed, requests = _timed_run(paths, client, "verify", concurrency)
            ideal = requests * latency / concurrency
            figures[f"concurrency_{concurrency}_against_ideal"] = elapsed / ideal
            print(
                f"  并发 {concurrency:>2}：{count:>3} 份 {requests:>4} 次请求，用时 {elapsed:6.2f} 秒，"
                f"理想 {ideal:6.2f} 秒，比值 {elapsed / ideal:5.2f}"
                + ("（目标 ≤ 1.3）" if concurrency == 32 else "")
            )
            client.close()
        paths = sorted(folder.glob("*.txt"))[: 8 if quick else 16]
        with tempfile.TemporaryDirectory() as cache:
            client = _client(url, Path(cache))
            cold, _ = _timed_run(paths, client, "verify", 1)
            usage = Usage()
            start = time.perf_counter()
            settings = Settings(witness="verify", llm=client.settings)
            batch_outcome = batch.run(paths, io.StringIO(), settings, workers=1, quiet=True)
            warm = time.perf_counter() - start
            usage.add(batch_outcome.usage)
            client.close()
        print(
            f"  缓存：冷跑 {cold:6.2f} 秒，热跑 {warm:6.3f} 秒（{usage.requests} 次请求，"
            f"{usage.cache_hits} 次命中缓存），快 {cold / warm:6.1f} 倍（目标 ≥ 50）"
        )
        figures["warm_against_cold"] = cold / warm
    finally:
        process.terminate()
        process.wait()
    return figures


TOKEN_SETS = ("seeds", "real", "corpus", "generated")
_WHOLE_PROMPT = "请从下面这份政府信息公开工作年度报告中，按模板填写全部表格和正文数字：\n"


def _named_fields_model():
    """What whole-report prompting asks for (and gouji asked until its answers became rows
    as printed): every table field named in the schema with its Chinese label, a row model
    per kind of row, the claims and meta, in one answer."""
    from typing import Literal

    from pydantic import Field, create_model

    from gouji.template import (
        S2_ROWS,
        S2_STOCK_COLUMN_LABELS,
        S3_COLUMN_LABELS,
        S3_ROWS,
        S4_COLUMN_LABELS,  # fmt: skip
        S4_GROUP_LABELS,
    )
    from gouji.witness.tasks import ResponseModel

    def model(name: str, doc: str, **fields):
        return create_model(name, __base__=ResponseModel, __doc__=doc, **fields)

    def counts(labels: dict) -> dict:
        return {
            k: (int | None, Field(default=None, ge=0, description=v)) for k, v in labels.items()
        }

    stock = model("StockRow", "第二十条第（一）项的一行。",
                  **counts({k: v[0] for k, v in S2_STOCK_COLUMN_LABELS.items()}))  # fmt: skip
    part2 = model(
        "Part2",
        "二、主动公开政府信息情况。",
        **{r.name: (stock, Field(description=r.label)) for r in S2_ROWS[:2]},
        **counts({r.name: f"{r.label} 本年处理决定数量" for r in S2_ROWS[2:5]}),
        fees=(
            float | None,
            Field(default=None, ge=0, description="行政事业性收费 本年收费金额（万元）"),
        ),
    )
    applicant = model("ApplicantRow", "一行的 7 列：六类申请人和总计。", **counts(S3_COLUMN_LABELS))
    part3 = model("Part3", "三、收到和处理政府信息公开申请情况：25 行。",
                  **{r.name: (applicant, Field(description=r.label)) for r in S3_ROWS})  # fmt: skip
    group = model("Group4", "一组：结果维持、结果纠正、其他结果、尚未审结、总计。",
                  **counts(S4_COLUMN_LABELS))  # fmt: skip
    part4 = model("Part4", "四、政府信息公开行政复议、行政诉讼情况。",
                  **{g: (group, Field(description=v)) for g, v in S4_GROUP_LABELS.items()})  # fmt: skip
    claim = model(
        "ProseClaim",
        "正文中的一个数。",
        metric=(str, ...),
        value=(float, ...),
        unit=(str, ...),
        qualifier=(Literal["exact", "at_least", "about"], ...),
        quote=(str, ...),
    )
    claims = model("ProseClaims", "正文中陈述数量、金额或比例的数字。", claims=(list[claim], ...))
    meta = model(
        "Meta",
        "报告的发布机关和年度。",
        agency=(str | None, None),
        year=(int | None, Field(default=None, ge=1990, le=2100)),
    )
    parts = {"s2": part2, "s3": part3, "s4": part4, "claims": claims, "meta": meta}
    return model("WholeReport", "整份报告。", **{k: (v | None, None) for k, v in parts.items()})


def _asked(server: ScriptedLLM, paths: list[Path], mode: str) -> tuple[list, list[dict], int]:
    """The requests gouji sends for these reports, the records of the reports it read, and
    the context."""
    client = _client(server.base_url, None)
    before = len(server.seen)
    out = io.StringIO()
    batch.run(paths, out, Settings(witness=mode, llm=client.settings), workers=4, quiet=True)
    client.close()
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    read = [r for r in records if r["status"] == "ok"]
    return server.seen[before:], read, client.settings.context_tokens


def _whole_report(server: ScriptedLLM, documents: list[str]) -> list:
    """The same reports asked once each, whole, for every named field (in tools mode, as
    gouji asked before)."""
    from instructor import Mode
    from instructor.processing.response import handle_response_model

    model = _named_fields_model()
    server.script = lambda task, n: Reply({})  # every part of it may be left out
    client = _client(server.base_url, None)
    before = len(server.seen)
    for document in documents:
        view = sources.load(document).source.view
        messages = [{"role": "user", "content": _WHOLE_PROMPT + view}]
        _, kwargs = handle_response_model(model, mode=Mode.TOOLS, messages=messages)
        client._openai.chat.completions.create(model="benchmark", **kwargs)
    client.close()
    server.script = lambda task, n: None
    return server.seen[before:]


def _labeled(name: str, folder: Path, count: int) -> list[tuple[Path, dict | None]]:
    """A token set's reports, each with its gold when it has one (the corpus has none)."""
    if name == "generated":
        paths = sorted(folder.glob("*.txt"))[:count]
        return [(p, generated_gold(i)) for i, p in enumerate(paths)]
    return [(item.document, item.gold) for item in sets.items(name)]


def tokens(folder: Path, count: int) -> dict:
    """Tokens per report as the server counts them, on each set: the request (prompt,
    schema and text alike) against whole-report prompting, the largest request against the
    context, and the answer a true witness gives (the oracle of the test server, from the
    gold files; the corpus has none) against the 800 tokens a report's 200 figures and its
    claims should take."""
    server = ScriptedLLM().start()
    figures: dict = {}
    try:
        for name in TOKEN_SETS:
            labeled = _labeled(name, folder, count)
            if not labeled:
                continue
            paths = [p for p, _ in labeled]
            golds = [(p, g) for p, g in labeled if g is not None]
            server.oracle = Oracle.of(golds) if len(golds) == len(labeled) else None
            one: dict = {}
            for mode in ("verify", "fallback"):
                seen, read, context = _asked(server, paths, mode)
                one["reports"], one["context"] = len(read), context
                one[mode] = sum(s.tokens for s in seen) / len(read)
                one[f"{mode}_schema"] = sum(s.format_tokens for s in seen) / len(read)
                one[f"{mode}_largest"] = max(s.tokens + s.body["max_tokens"] for s in seen)
                answers = [r["llm"]["usage"]["completion_tokens"] for r in read]
                one[f"{mode}_answer"] = sum(answers) / len(read) if server.oracle else None
                one[f"{mode}_answer_max"] = max(answers) if server.oracle else None
            seen = _whole_report(server, [r["document"] for r in read])
            one["whole"] = sum(s.tokens for s in seen) / len(read)
            one["whole_schema"] = sum(s.format_tokens for s in seen) / len(read)
            for mode in ("verify", "fallback"):
                one[f"{mode}_ratio"] = one[mode] / one["whole"]
            figures[name] = one
    finally:
        server.stop()
    print("每份报告的请求 token（估算；括号内为回答格式 schema 的部分；目标 ≤ 0.5 倍）")
    for name, one in figures.items():
        largest = max(one["verify_largest"], one["fallback_largest"])
        print(
            f"  {name:<9} {one['reports']:>3} 份  整份提示 {one['whole']:6.0f}（{one['whole_schema']:4.0f}）"
            f"  verify {one['verify']:6.0f}（{one['verify_schema']:3.0f}）{one['verify_ratio']:5.2f} 倍"
            f"  fallback {one['fallback']:6.0f}，{one['fallback_ratio']:5.2f} 倍"
            f"  最大请求 {largest}/{one['context']}"
        )
    print("每份报告的回答 token（如实作答的证人；目标 ≤ 800）")
    for name, one in figures.items():
        if one["verify_answer"] is None:
            print(f"  {name:<9} —（没有标注，无从如实作答）")
            continue
        print(
            f"  {name:<9} verify 平均 {one['verify_answer']:5.0f}，最多 {one['verify_answer_max']:4d}"
            f"  fallback 平均 {one['fallback_answer']:5.0f}，最多 {one['fallback_answer_max']:4d}"
        )
    return figures


def witness_benefit() -> dict:
    """What each mode buys on the labeled reports (the seeds and the real documents): the
    fields accepted by the reader alone, and with the test server's oracle witness (answers
    made from the gold files) in each mode, true and with 5 % of its numbers wrong; and the
    accepted values that are wrong, which must be none."""
    from .score import same

    items = [*sets.items("seeds"), *sets.items("real")]
    if not items:
        return {}
    server = ScriptedLLM().start()
    client = _client(server.base_url, None)
    documents = [(item.document, item.gold) for item in items]
    runs = {"reader": ("off", {}), **{f"{m}{f}": (m, faults) for m in ("verify", "fallback")
                                      for f, faults in (("", {}), ("_noisy", {"wrong": 0.05}))}}  # fmt: skip
    figures: dict = {}
    try:
        for name, (mode, faults) in runs.items():
            server.oracle = Oracle.of(documents, **faults)
            one = {"fields": 0, "accepted": 0, "wrong": 0}
            for item in items:
                record = extract_file(item.document, Settings(witness=mode), client)
                for key, status in record["field_status"].items():
                    one["fields"] += 1
                    one["accepted"] += status == FieldStatus.ACCEPTED
                    one["wrong"] += status == FieldStatus.ACCEPTED and not same(
                        record["fields"][key], item.gold["fields"][key]
                    )
            figures[name] = one
    finally:
        client.close()
        server.stop()
    print(f"{len(items)} 份标注报告上自动接受的字段（oracle 证人；5% 错 = 其数字 5% 有误）")
    for name, one in figures.items():
        share = one["accepted"] / one["fields"]
        print(
            f"  {name:<16} {one['accepted']:5d}/{one['fields']}（{share:.1%}），其中错误 {one['wrong']}"
        )
    return figures


def memory(folder: Path, counts: tuple[int, ...]) -> dict:
    print("峰值内存（一个工作进程抽取，记录写入 /dev/null；运行进程与工作进程各自的峰值及其和）")
    peaks = {}
    for count in counts:
        sub = folder / f"m{count}"
        if not sub.exists():
            write_reports(sub, count, target_bytes=4096, seed=10_000)
        child = subprocess.run(
            [sys.executable, "-m", "gouji_eval.benchmark", "--memory-child", str(sub)],
            capture_output=True,
            text=True,
            check=True,
        )
        run, worker = map(int, child.stdout.strip().splitlines()[-1].split())
        peaks[count] = run + worker
        print(
            f"  {count:>6} 份：运行 {run / 1024:6.1f} MB + 工作进程 {worker / 1024:6.1f} MB"
            f" = {peaks[count] / 1024:6.1f} MB"
        )
    low, high = min(counts), max(counts)
    print(f"  {high} 份 / {low} 份：{peaks[high] / peaks[low]:.2f} 倍（目标 ≤ 1.1）")
    return {"peak_kb": {str(c): peaks[c] for c in counts}, "growth": peaks[high] / peaks[low]}


def _memory_child(folder: Path) -> None:
    with open("/dev/null", "w", encoding="utf-8") as out:
        batch.run([folder], out, Settings(), workers=1, quiet=True)
    # KB on Linux; the worker process has ended, so the children's peak is its peak.
    run = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(run, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def _tree_rss(root: int) -> int:
    """The resident memory of a process and all its descendants, in bytes (Linux)."""
    parents: dict[int, int] = {}
    sizes: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                parents[int(entry)] = int(stat.read().rsplit(b")", 1)[1].split()[1])
            with open(f"/proc/{entry}/statm", "rb") as statm:
                sizes[int(entry)] = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(sizes.get(pid, 0) for pid in tree)


def _watched(command: list[str]) -> tuple[float, int, str]:
    """Run ``command``: its wall time, the peak memory of it and its workers together (sampled
    every 50 ms), and what it wrote on standard error."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    peak = 0
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.append(process.stderr.read()), daemon=True)
    reader.start()
    while process.poll() is None:
        peak = max(peak, _tree_rss(process.pid))
        time.sleep(0.05)
    reader.join()
    return time.perf_counter() - start, peak, "".join(errors)


def hostile_run(folder: Path, limits: str | None) -> dict:
    """Good reports beside the hostile files of ``gouji_eval.hostile``, on two workers: the
    wall time, the peak memory of the run and its workers, each hostile file's record, and a
    resumed run's time."""
    from . import hostile as bombs

    what = bombs.write(folder)
    for seed in range(20):
        report = generate(seed, layout="tab_rows", variants=(), inject_error=False)
        (folder / f"good_{seed:02d}.txt").write_text(report.text, encoding="utf-8")
    out = folder.parent / "hostile.jsonl"
    command = [sys.executable, "-m", "gouji.cli", "extract", str(folder), "-o", str(out),
               "--workers", "2", "-q", *(["--limits", limits] if limits else [])]  # fmt: skip
    wall, peak, _ = _watched(command)
    records = {
        Path(r["document"]).name: r
        for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())
    }
    again, _, _ = _watched([*command, "--resume"])
    print(f"恶意文件 {len(what)} 个与正常报告 20 份，两个工作进程（上限：{limits or '默认'}）")
    for name, text in what.items():
        record = records[name]
        print(f"  {name:<18} {text}：{record['status']} {(record['error'] or '')[:60]}")
    good = sum(records[f"good_{i:02d}.txt"]["status"] == "ok" for i in range(20))
    print(f"  正常报告读出 {good}/20，记录 {len(records)} 条")
    print(
        f"  用时 {wall:6.1f} 秒（目标 < 120），峰值内存 {peak / MIB:7.1f} MB（目标 < 2048，运行与工作进程之和）"
    )
    print(f"  续跑（--resume）{again:5.1f} 秒")
    return {"seconds": wall, "peak_mb": peak / MIB, "resume_seconds": again, "good": good}


def ocr_speed(folder: Path, quick: bool) -> dict:
    """The real PDFs scanned (every degradation, at 200 dpi; ``--quick``: clean, noisy and
    photocopied, one document), read by each OCR engine installed with an empty page cache,
    then again: the engine runs on one thread, so its CPU time is one core's."""
    from unittest import mock

    from .scanbench import engines

    sources_ = sorted((shared_dir() / "realdocs").glob("*.pdf"))[: 1 if quick else 3]
    if not sources_:
        print("OCR：../shared/realdocs 不在，跳过")
        return {}
    recipes = ("clean", "noisy", "photocopy") if quick else tuple(RECIPES)
    plan = [[(recipe, 200) for recipe in recipes]] * len(sources_)
    scanned = [scan.path for scan in scan_all(sources_, folder / "scans", plan)]
    figures = {}
    for name, engine in engines().items():
        if quick and engine is not None:
            continue  # gouji's own engine only
        patch = mock.patch.object(ocr, "engine", lambda e=engine: e) if engine else mock.MagicMock()
        with patch:
            settings = ocr.OcrSettings(cache_dir=folder / f"ocr-cache-{name}")
            ocr.engine()  # the models loaded before the clock starts
            wall, cpu = time.perf_counter(), time.process_time()
            pages = sum(ocr.read(s, hash_file(s, Limits()), settings).pages_read for s in scanned)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            again = time.perf_counter()
            reread = sum(ocr.read(s, hash_file(s, Limits()), settings).pages_read for s in scanned)
            again = time.perf_counter() - again
        print(
            f"OCR {name}（单线程，{len(scanned)} 份扫描件共 {pages} 页，{'、'.join(recipes)}，200 dpi）"
        )
        # The engine's one thread: CPU seconds are what a page costs a core; wall seconds also
        # hold whatever else the machine was doing.
        print(f"  单核每页：{cpu / pages:6.2f} 秒 CPU（目标 ≤ 3 秒），{pages / cpu:.2f} 页/秒")
        print(f"  墙钟每页：{wall / pages:6.2f} 秒")
        print(f"  重跑：{reread:8d} 页 OCR，{again:.2f} 秒（页面缓存）")
        figures[name] = {"seconds_per_page": cpu / pages, "rerun_pages": reread}
    return figures


def _long_tables(folder: Path, rows: int) -> dict[str, Path]:
    """An HTML page and a Word document each holding one table of ``rows`` rows × 3 cells."""
    import copy

    import docx

    cells = "".join(f"<tr><td>行{i}</td><td>{i}</td><td>{2 * i}</td></tr>\n" for i in range(rows))
    page = folder / f"rows_{rows}.html"
    page.write_text(f"<html><body><table>{cells}</table></body></html>", encoding="utf-8")
    document = docx.Document()
    table = document.add_table(rows=1, cols=3)
    for cell, text in zip(table.rows[0].cells, ("行", "1", "2"), strict=True):
        cell.text = text
    row = table._tbl.tr_lst[0]
    for _ in range(rows - 1):
        table._tbl.append(copy.deepcopy(row))
    word = folder / f"rows_{rows}.docx"
    document.save(word)
    return {"html": page, "docx": word}


def tables(folder: Path, quick: bool) -> dict:
    """Long tables (issue 25): read whole with the cell bound raised, and refused by the
    default bound (200,000 cells) — both linear in the rows."""
    folder.mkdir(parents=True, exist_ok=True)
    raised = Settings(limits=Limits(cells=10**8))
    print("长表格（每行 3 格；CPU 秒）")
    figures: dict = {}
    for rows in (10_000, 50_000) if quick else (10_000, 100_000):
        for kind, path in _long_tables(folder, rows).items():
            timed = {}
            for name, settings in (("read", raised), ("refused", Settings())):
                cpu = time.process_time()
                record = extract_file(path, settings)
                timed[name] = time.process_time() - cpu
                assert (record["error"] or "").startswith("input.too_many_cells") == (
                    name == "refused" and rows * 3 > Limits().cells
                ), record["error"]
            figures[f"{kind}_{rows}"] = timed
            print(
                f"  {kind:<4} {rows:>7,} 行：整表读完 {timed['read']:6.2f} 秒"
                f"（每千行 {1000 * timed['read'] / rows:.3f} 秒），默认上限下 {timed['refused']:6.2f} 秒"
            )
    return figures


def servers(folder: Path) -> dict:
    """Each server profile of the test server (``llm_server.PROFILES``: how llama.cpp,
    Ollama, relays, DeepSeek and reasoning models behave) through ``gouji extract`` on the
    labeled reports, with a true witness: the mode the start check chose, the requests,
    tokens and seconds per report, the answers that failed and the wrong values accepted
    (which must be none). Fakes: the seconds are this machine's, not a model's."""
    from click.testing import CliRunner

    from gouji.cli import cli

    from .llm_server import PROFILES
    from .score import same

    items = [*sets.items("seeds"), *sets.items("real")]
    if not items:
        return {}
    golds = {str(item.document): item.gold for item in items}
    figures: dict = {}
    print(
        f"各种服务器（测试服务器模拟的行为，如实作答；{len(items)} 份标注报告，每份一次 gouji extract）"
    )
    for name in PROFILES:
        server = ScriptedLLM(name).start()
        server.oracle = Oracle.of([(item.document, item.gold) for item in items])
        env = {"OPENAI_BASE_URL": server.base_url, "GOUJI_MODEL": "m",
               "GOUJI_CACHE_DIR": str(folder / f"cache-{name}")}  # fmt: skip
        out = folder / f"{name}.jsonl"
        started = time.perf_counter()
        CliRunner(env=env).invoke(
            cli, ["extract", *map(str, golds), "-o", str(out), "--quiet", "--timeout", "5"]
        )
        elapsed = time.perf_counter() - started
        server.stop()
        records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
        usage = Usage()
        for record in records:
            usage.add(Usage(**record["llm"]["usage"]))
        one = {
            "mode": records[0]["llm"]["structured_output"],
            "requests": usage.requests / len(records),
            "prompt": usage.prompt_tokens / len(records),
            "completion": usage.completion_tokens / len(records),
            "seconds": elapsed / len(records),
            "failed": sum(len(r["llm"]["errors"]) for r in records),
            "accepted": sum(s == "accepted" for r in records for s in r["field_status"].values()),
            "wrong": sum(
                status == "accepted" and not same(r["fields"][k], golds[r["document"]]["fields"][k])
                for r in records
                for k, status in r["field_status"].items()
            ),
        }
        figures[name] = one
        print(
            f"  {name:<17} {one['mode']:<12} 每份 {one['requests']:4.1f} 次请求，"
            f"提示 {one['prompt']:5.0f}、回答 {one['completion']:4.0f} token，{one['seconds']:5.2f} 秒；"
            f"失败的回答 {one['failed']:2d}，接受 {one['accepted']}，其中错误 {one['wrong']}"
        )
    return figures


def _upload_all(url: str, paths: list[Path], connections: int = 8) -> list[str]:
    """Each file POSTed to the API, ``connections`` at once; their ids."""
    import httpx

    def send(path: Path) -> str:
        with path.open("rb") as body:
            response = client.post(f"{url}/v1/documents", files={"file": (path.name, body)})
        response.raise_for_status()
        return response.json()["id"]

    with (
        httpx.Client(timeout=60, limits=httpx.Limits(max_connections=connections)) as client,
        ThreadPoolExecutor(connections) as pool,
    ):
        return list(pool.map(send, paths))


def _served_until_done(url: str, count: int) -> None:
    """Wait, as a client polling the list would, until every document is done."""
    import httpx

    with httpx.Client(timeout=60) as client:
        while True:
            listed = client.get(f"{url}/v1/documents", params={"limit": 1}).json()["total"]
            waiting = sum(
                client.get(f"{url}/v1/documents", params={"status": s, "limit": 1}).json()["total"]
                for s in ("queued", "running")
            )
            if listed >= count and not waiting:
                return
            time.sleep(0.2)


def serve_speed(folder: Path, count: int, rounds: int = 3) -> dict:
    """Documents a second through ``gouji serve`` (upload, queue, extraction, store) against
    ``gouji extract --db`` on the same files with the same workers, each on a new store, the
    best of ``rounds`` interleaved runs of each. The CLI's time is its whole run, start-up
    included; the API's is from the first upload to the last record stored, on a server
    already started (a service is started once)."""
    from .served import Served

    paths = write_reports(folder / "serve", count, seed=20_000)
    workers = str(batch.default_workers(Settings(), sys.maxsize))
    cli = api = uploaded = float("inf")
    for n in range(rounds):
        run = folder / f"serve-{n}"
        run.mkdir()
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "gouji.cli", "extract", str(folder / "serve"), "-q",
             "-o", str(run / "out.jsonl"), "--db", f"sqlite:///{run / 'cli.db'}",
             "--workers", workers],
            check=False,
        )  # fmt: skip
        cli = min(cli, time.perf_counter() - start)
        args = ["--db", f"sqlite:///{run / 'api.db'}", "--uploads", str(run / "uploads")]
        with Served([*args, "--workers", workers], run / "serve.log") as served:
            start = time.perf_counter()
            _upload_all(served.url, paths)
            sent = time.perf_counter() - start
            _served_until_done(served.url, count)
            if time.perf_counter() - start < api:
                api, uploaded = time.perf_counter() - start, sent
    print(
        f"HTTP 接口（{count} 份生成的报告，{workers} 个工作进程，新的 SQLite 复核库，{rounds} 轮取最快）"
    )
    print(f"  gouji extract --db：{count / cli:8.1f} 份/秒（含启动）")
    print(
        f"  gouji serve：       {count / api:8.1f} 份/秒（上传完 {uploaded:.1f} 秒，全部完成 {api:.1f} 秒）"
    )
    print(f"  接口 / 命令行：      {cli / api:8.2f} 倍（目标 ≥ 0.8）")
    return {"cli_per_second": count / cli, "api_per_second": count / api, "ratio": cli / api}


SECTIONS = ("reader", "llm", "tokens", "servers", "memory", "ocr", "tables", "serve", "hostile")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="gouji 基准测试：速度、内存与 token。")
    parser.add_argument("--quick", action="store_true", help="小规模运行，几十秒内完成")
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--only", choices=SECTIONS, action="append", help="只测这一项（可重复）")
    parser.add_argument("--json", type=Path, help="把各项数字另写入这个 JSON 文件")
    parser.add_argument(
        "--hostile-limits", metavar="NAME=N,...", help="恶意文件一项所用的 --limits（默认同 gouji）"
    )
    parser.add_argument("--memory-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        _memory_child(args.memory_child)
        return
    chosen = args.only or SECTIONS
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="gouji-bench-") as tmp:
        folder = Path(tmp)
        paths = write_reports(folder / "speed", 100 if args.quick else 300)
        if "reader" in chosen:
            figures["reader"] = reader_speed(paths)
            crawled = write_reports(folder / "crawl", 100 if args.quick else 300, layout="crawl")
            figures["reader_crawl"] = reader_speed(crawled, "crawl")
        if "llm" in chosen:
            figures["llm"] = llm_path(folder / "speed", args.latency, args.quick)
        if "tokens" in chosen:
            figures["tokens"] = tokens(folder / "speed", 10 if args.quick else 30)
            figures["witness"] = witness_benefit()
        if "servers" in chosen:
            figures["servers"] = servers(folder)
        if "memory" in chosen:
            figures["memory"] = memory(folder, (200, 2000) if args.quick else (1000, 10000))
        if "ocr" in chosen:
            figures["ocr"] = ocr_speed(folder, args.quick)
        if "tables" in chosen:
            figures["tables"] = tables(folder / "tables", args.quick)
        if "serve" in chosen:
            figures["serve"] = serve_speed(folder, 100 if args.quick else 500)
        if "hostile" in chosen:
            figures["hostile"] = hostile_run(folder / "hostile", args.hostile_limits)
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main()
