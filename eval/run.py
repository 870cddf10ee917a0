"""The eval: run extraction over named sets, measure it, and gate on a committed baseline.

Metrics are flat keys ``<set>.<part>.<metric>`` (parts: s2, s3, s4, fields, claims, meta,
errors, documents; per layout: ``<set>.layout.<layout>.<metric>``) so a baseline is a plain
dict and every comparison names what moved.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from gouji.rules import RULES, of_kind
from gouji.running.batch import Run
from gouji.running.settings import Settings
from gouji.status import FieldStatus
from gouji.template import FIELD_KEYS, PARTS
from gouji.witness.tasks import prompt_versions

from . import sets
from .score import claim_found, same

PART_NAMES = {
    **{key: part.numeral for key, part in PARTS.items()},
    "fields": "全部",
    "claims": "正文数字",
    "meta": "元数据",
}
BASELINE = Path(__file__).resolve().parent / "baseline.json"
RUNS = Path(__file__).resolve().parent / "runs"
# A document's tables were read whole with every identity holding when none of these fired.
_UNBALANCED = of_kind("identity") | {r.id for r in RULES.values() if r.unread}

# How much worse than the baseline a metric may get before the gate fails.
TOLERANCE = {
    "accepted_precision": 0.0,
    "value_accuracy": 0.002,
    "accept_rate": 0.01,
    "precision": 0.01,
    "recall": 0.01,
    "f1": 0.01,
    "accuracy": 0.0,
    "balanced_share": 0.0,
    "failed": 0.0,
    "false_accepts": 0.0,
}
LOWER_IS_BETTER = {"failed", "false_accepts"}


@dataclass
class _Tally:
    total: int = 0
    right: int = 0
    accepted: int = 0
    accepted_right: int = 0

    def add(self, right: bool, accepted: bool) -> None:
        self.total += 1
        self.right += right
        self.accepted += accepted
        self.accepted_right += right and accepted

    def metrics(self, prefix: str) -> dict[str, float]:
        if not self.total:
            return {}
        return {
            f"{prefix}.value_accuracy": self.right / self.total,
            f"{prefix}.accepted_precision": self.accepted_right / self.accepted
            if self.accepted
            else 1.0,
            f"{prefix}.accept_rate": self.accepted / self.total,
        }


@dataclass
class SetResult:
    name: str
    documents: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    wrong_accepted: list[dict] = field(default_factory=list)
    worst_fields: list[tuple[str, int]] = field(default_factory=list)
    missed_errors: list[dict] = field(default_factory=list)


class Progress:
    """What the eval says while it runs, on stderr, each line flushed as it is written (a
    log or a pipe sees it at once): each set as it starts and ends, and every ``every``
    seconds in between, how far it got."""

    def __init__(self, stream: TextIO | None = None, every: float = 10.0) -> None:
        self.stream = stream or sys.stderr
        self.every = every
        self.started = self.last = 0.0

    def _say(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def start(self, name: str) -> None:
        self.started = self.last = time.monotonic()
        self._say(f"评测 {name} 集……")

    def step(self, name: str, done: int) -> None:
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            rate = done / max(now - self.started, 1e-9)
            self._say(f"  {name}：已读 {done} 份（{rate:.1f} 份/秒）")

    def finish(self, result: SetResult) -> None:
        elapsed = time.monotonic() - self.started
        self._say(
            f"{result.name}：{result.documents} 份，失败 {len(result.failed)} 份，"
            f"用时 {elapsed:.1f} 秒"
        )


def _error_key(item: dict) -> str:
    """The total an injected or real publisher error printed wrong."""
    if item.get("key"):
        return item["key"]
    return item["where"].split(":")[0].strip() + ".total"


def evaluate_set(
    name: str,
    run: Run,
    generated_count: int = sets.GENERATED_COUNT,
    seed: int = sets.GENERATED_SEED,
    progress: Progress | None = None,
) -> SetResult:
    """One set, its documents read by ``run`` as ``gouji extract`` reads them."""
    result = SetResult(name)
    parts = {p: _Tally() for p in (*PARTS, "fields")}
    layouts: dict[str, _Tally] = defaultdict(_Tally)
    errors = Counter()
    claims = Counter()
    meta = Counter()
    injected = caught = balanced = 0
    corpus_fields = corpus_accepted = 0

    taken: deque[sets.Item] = deque()  # the items whose records are on their way

    def documents() -> Iterator[Path]:
        for item in sets.items(name, generated_count, seed):
            taken.append(item)
            yield item.document

    for record in run.records(documents()):
        item = taken.popleft()
        result.documents += 1
        if progress is not None:
            progress.step(name, result.documents)
        doc = item.document.name
        if record["status"] != "ok":  # every document of a set is a report to be read
            result.failed.append((doc, record["error"]))
            continue
        rules = {f["rule"] for f in record["findings"]}
        if not rules & _UNBALANCED:
            balanced += 1
        gold = item.gold
        if gold is None:
            corpus_fields += len(FIELD_KEYS)
            corpus_accepted += sum(
                s == FieldStatus.ACCEPTED for s in record["field_status"].values()
            )
            continue
        for key in FIELD_KEYS:
            value, expected = record["fields"][key], gold["fields"][key]
            right = same(value, expected)
            accepted = record["field_status"][key] == FieldStatus.ACCEPTED
            parts[key.split(".", 1)[0]].add(right, accepted)
            parts["fields"].add(right, accepted)
            layouts[item.layout].add(right, accepted)
            if not right:
                errors[key] += 1
                if accepted:
                    result.wrong_accepted.append(
                        {"document": doc, "key": key, "value": value, "expected": expected}
                    )
        # Gold that a person did not label (a reviewed file's prose, or its meta when no
        # one confirmed the whole report) holds null there: it is not scored.
        gold_claims = gold.get("claims", [])
        if gold_claims is not None:
            claims["gold"] += len(gold_claims)
            by_quote = not item.gold_text
            claims["found"] += sum(claim_found(c, record["claims"], by_quote) for c in gold_claims)
            claims["extracted"] += len(record["claims"])
            claims["matched"] += sum(
                claim_found(c, gold_claims, by_quote) for c in record["claims"]
            )
        for meta_key in ("agency", "year"):
            if gold[f"meta.{meta_key}"] is not None:
                meta["total"] += 1
                meta["right"] += record["meta"][meta_key] == gold[f"meta.{meta_key}"]
        for inconsistency in gold.get("source_inconsistencies", []):
            injected += 1
            key = _error_key(inconsistency)
            if any(key in f["keys"] for f in record["findings"]):
                caught += 1
            else:
                result.missed_errors.append({"document": doc, "key": key})
    m = result.metrics
    m[f"{name}.documents.failed"] = len(result.failed)
    if name == "corpus":
        read = result.documents - len(result.failed)
        m["corpus.documents.balanced_share"] = balanced / read if read else 0.0
        if corpus_fields:
            m["corpus.fields.accept_rate"] = corpus_accepted / corpus_fields
        return result
    for part, tally in parts.items():
        m.update(tally.metrics(f"{name}.{part}"))
    for layout, tally in sorted(layouts.items()):
        m.update(tally.metrics(f"{name}.layout.{layout}"))
    if claims["gold"]:
        precision = claims["matched"] / claims["extracted"] if claims["extracted"] else 0.0
        recall = claims["found"] / claims["gold"]
        m[f"{name}.claims.precision"] = precision
        m[f"{name}.claims.recall"] = recall
        m[f"{name}.claims.f1"] = (
            2 * precision * recall / (precision + recall) if precision + recall else 0.0
        )
    if meta["total"]:
        m[f"{name}.meta.accuracy"] = meta["right"] / meta["total"]
    if injected:
        m[f"{name}.errors.recall"] = caught / injected
    if name == "simulation":
        m["simulation.fields.false_accepts"] = len(result.wrong_accepted)
    result.worst_fields = errors.most_common(10)
    return result


def evaluate(
    names: list[str],
    settings: Settings,
    generated_count: int = sets.GENERATED_COUNT,
    seed: int = sets.GENERATED_SEED,
    progress: Progress | None = None,
) -> list[SetResult]:
    """Each named set, extracted with ``settings`` by one run (its worker processes, and the
    LLM clients in them, serve the whole eval); ``progress`` is told as each set goes."""
    workers = settings.concurrency or (8 if settings.uses_llm else 1)
    results = []
    with Run(settings, workers=workers) as run:
        for name in names:
            if progress is not None:
                progress.start(name)
            results.append(evaluate_set(name, run, generated_count, seed, progress))
            if progress is not None:
                progress.finish(results[-1])
    return results


def all_metrics(results: list[SetResult]) -> dict[str, float]:
    out: dict[str, float] = {}
    for result in results:
        out.update(result.metrics)
    return out


def regressions(metrics: dict[str, float], baseline: dict[str, float]) -> list[str]:
    """Every metric worse than the baseline by more than its tolerance, as a sentence."""
    out = []
    for key, before in sorted(baseline.items()):
        if key not in metrics:
            continue
        now = metrics[key]
        if _worse(key, before, now):
            out.append(f"{key}: 基线 {before:.4f} → 本次 {now:.4f}")
    return out


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def artifact(results: list[SetResult], settings: dict, used_llm: bool = False) -> dict:
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "prompt_versions": prompt_versions() if used_llm else {},
        "model": settings.get("model"),
        "settings": settings,
        "metrics": all_metrics(results),
        "wrong_accepted": {r.name: r.wrong_accepted for r in results if r.wrong_accepted},
        "missed_errors": {r.name: r.missed_errors for r in results if r.missed_errors},
        "failed": {r.name: r.failed for r in results if r.failed},
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:6.2f}%"


def report_lines(result: SetResult) -> list[str]:
    """The tables ``gouji eval`` prints for one set."""
    m = result.metrics
    name = result.name
    lines = [f"== {name}：{result.documents} 份，失败 {len(result.failed)} 份"]
    if name == "corpus":
        lines.append(
            f"   表格读全且勾稽全部成立的比例 {_pct(m.get('corpus.documents.balanced_share'))}"
            f"，自动接受的字段 {_pct(m.get('corpus.fields.accept_rate'))}"
        )
    elif name == "simulation":
        lines.append(
            f"   粘连数字模拟：{result.documents} 张表、{result.documents * len(FIELD_KEYS)} 个字段，"
            f"自动接受 {_pct(m.get('simulation.fields.accept_rate'))}，"
            f"接受了错误的值 {len(result.wrong_accepted)} 个（必须为 0）"
        )
    else:
        lines.append(
            f"   {'部分':<6}{'值准确率':>10}{'接受精度':>10}{'自动接受':>10}{'复核率':>10}"
        )
        for part in (*PARTS, "fields"):
            acc = m.get(f"{name}.{part}.accept_rate")
            if acc is None:
                continue
            lines.append(
                f"   {PART_NAMES[part]:<6}{_pct(m.get(f'{name}.{part}.value_accuracy')):>10}"
                f"{_pct(m.get(f'{name}.{part}.accepted_precision')):>10}{_pct(acc):>10}"
                f"{_pct(1 - acc):>10}"
            )
        if f"{name}.claims.f1" in m:
            lines.append(
                f"   正文数字  精确率 {_pct(m[f'{name}.claims.precision'])}  召回率 "
                f"{_pct(m[f'{name}.claims.recall'])}  F1 {_pct(m[f'{name}.claims.f1'])}"
            )
        if f"{name}.meta.accuracy" in m:
            lines.append(f"   元数据    准确率 {_pct(m[f'{name}.meta.accuracy'])}")
        if f"{name}.errors.recall" in m:
            lines.append(f"   发布方错误召回率 {_pct(m[f'{name}.errors.recall'])}")
        layout_keys = sorted({k.split(".")[2] for k in m if k.startswith(f"{name}.layout.")})
        if len(layout_keys) > 1:
            lines.append(f"   {'版式':<24}{'值准确率':>10}{'接受精度':>10}{'自动接受':>10}")
            for layout in layout_keys:
                p = f"{name}.layout.{layout}"
                lines.append(
                    f"   {layout:<24}{_pct(m[p + '.value_accuracy']):>10}"
                    f"{_pct(m[p + '.accepted_precision']):>10}{_pct(m[p + '.accept_rate']):>10}"
                )
        if result.worst_fields:
            worst = "，".join(f"{k}×{n}" for k, n in result.worst_fields[:6])
            lines.append(f"   错得最多的字段：{worst}")
    for wrong in result.wrong_accepted[:30]:
        lines.append(
            f"   !! 接受了错误的值 {wrong['document']} {wrong['key']}: "
            f"{wrong['value']}（应为 {wrong['expected']}）"
        )
    for doc, error in result.failed[:10]:
        lines.append(f"   失败 {doc}: {error}")
    return lines


def write_artifact(payload: dict, path: Path | None = None) -> Path:
    """The run's JSON record: at ``path``, else a new file in ``eval/runs/``."""
    if path is None:
        RUNS.mkdir(exist_ok=True)
        stamp = payload["timestamp"].replace(":", "").replace("-", "")
        path = RUNS / f"eval-{stamp}.json"
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def gate(payload: dict, baseline: Path = BASELINE, update: bool = False) -> tuple[list[str], bool]:
    """The regression gate: what to tell the user, and whether the run passed. ``update``
    records this run's metrics as the new baseline instead."""
    if update:
        save_baseline(payload["metrics"], payload["settings"], baseline)
        ran = "、".join(payload["settings"]["sets"])
        return [f"已更新基线（{ran}；其余各集保持不变）：{baseline}"], True
    previous = load_baseline(baseline)
    if not previous:
        return [f"没有基线文件 {baseline}；用 --update-baseline 记录一个。"], True
    worse = regressions(payload["metrics"], previous)
    if worse:
        return ["与基线相比变差：", *(f"  {line}" for line in worse)], False
    return ["与基线相比没有变差。"], True


def load_baseline(path: Path = BASELINE) -> dict[str, float]:
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))["metrics"]


def save_baseline(metrics: dict[str, float], settings: dict, path: Path = BASELINE) -> None:
    """Record the metrics of the sets this run measured; the other sets keep their level, so
    raising one set's baseline on purpose never drops another's."""
    ran = set(settings["sets"])
    kept = {k: v for k, v in load_baseline(path).items() if k.split(".", 1)[0] not in ran}
    merged = {**kept, **{k: round(v, 6) for k, v in metrics.items()}}
    measured = sorted({k.split(".", 1)[0] for k in merged}, key=_set_order)
    payload = {"settings": {**settings, "sets": measured}, "metrics": dict(sorted(merged.items()))}
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _set_order(name: str) -> int:
    return sets.SET_NAMES.index(name) if name in sets.SET_NAMES else len(sets.SET_NAMES)


def history(folder: Path = RUNS) -> list[dict]:
    """The recorded eval runs of a folder (the artifacts ``gouji eval`` writes), oldest first;
    files that are not run records are passed over."""
    runs = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(payload, dict) and "metrics" in payload and "timestamp" in payload:
            runs.append({**payload, "file": path.name})
    return sorted(runs, key=lambda r: r["timestamp"])


def _worse(key: str, before: float, now: float) -> bool:
    """Worse by more than the metric's tolerance (baselines are rounded to 6 places)."""
    kind = key.rsplit(".", 1)[-1]
    worse = (now - before) if kind in LOWER_IS_BETTER else (before - now)
    return worse > TOLERANCE.get(kind, 0.0) + 1e-6


def history_lines(runs: list[dict], prefixes: list[str] | None = None, last: int = 8) -> list[str]:
    """Each metric over the last ``last`` runs, one row a metric; ↓ marks a value worse than
    the run before it by more than the gate's tolerance."""
    shown = runs[-last:]
    if not shown:
        return ["没有评测运行记录（gouji eval 每次运行都会在 eval/runs/ 写一份）。"]
    keys = sorted({k for r in shown for k in r["metrics"]})
    if prefixes:
        keys = [k for k in keys if k.split(".", 1)[0] in prefixes]
    width = max([len(k) for k in keys] + [6])
    stamps = [r["timestamp"][5:16].replace("T", " ") for r in shown]
    lines = [
        f"评测历史：{len(runs)} 次运行，显示最近 {len(shown)} 次",
        f"{'指标':<{width - 2}}" + "".join(f"{s:>14}" for s in stamps),
        " " * width + "".join(f"{(r.get('git_commit') or '')[:7]:>14}" for r in shown),
    ]
    for key in keys:
        cells, before = [], None
        for run in shown:
            value = run["metrics"].get(key)
            if value is None:
                cells.append(f"{'—':>14}")
                continue
            text = f"{value:g}" if key.endswith(".failed") else f"{100 * value:.2f}%"
            mark = "↓" if before is not None and _worse(key, before, value) else " "
            cells.append(f"{text + mark:>14}")
            before = value
        lines.append(f"{key:<{width}}" + "".join(cells))
    return lines
