"""The ``gouji`` command: nouns and verbs over reports."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import click

from . import __version__
from .pipeline import extract_file, iter_documents
from .record import dumps
from .sources import DEFAULT_MAX_BYTES


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gouji")
def cli() -> None:
    """gouji（勾稽）：从政府信息公开工作年度报告中抽取表格数字，逐项勾稽核对，
    只把存疑的数字交给人复核。"""


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default="-",
    show_default=True,
    help="抽取记录写入的 JSONL 文件（每份报告一行），- 表示标准输出。",
)
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_BYTES,
    show_default=True,
    help="单个文件的大小上限，超过则记为失败。",
)
@click.option("-q", "--quiet", is_flag=True, help="不显示进度条和汇总。")
def extract(paths: tuple[Path, ...], output: Path, max_bytes: int, quiet: bool) -> None:
    """抽取 PATHS 中的报告（文件或文件夹，文件夹递归），每份报告写一条记录。

    支持 .txt（UTF-8/GB18030 等编码自动识别）、.md 和 .html。
    某份报告读取失败时，其记录为 status: failed 并附一行原因，其余报告照常处理。
    全部读取成功时退出码为 0，有失败时为 1，用法错误为 2。
    """
    documents = list(iter_documents(paths))
    if not documents:
        raise click.UsageError("没有找到可读取的报告文件（.txt .md .html .pdf .docx .doc）")
    out = sys.stdout if str(output) == "-" else output.open("w", encoding="utf-8")
    show_progress = not quiet and sys.stderr.isatty()
    failed = 0
    in_review = 0
    rules: Counter[str] = Counter()
    try:
        with click.progressbar(
            documents,
            label="抽取",
            file=sys.stderr,
            show_pos=True,
            show_eta=True,
            hidden=not show_progress,
        ) as bar:
            for path in bar:
                record = extract_file(path, max_bytes=max_bytes)
                out.write(dumps(record) + "\n")
                out.flush()
                if record["status"] == "failed":
                    failed += 1
                    continue
                in_review += sum(1 for s in record["field_status"].values() if s == "review")
                rules.update(f["rule"] for f in record["findings"])
    finally:
        if out is not sys.stdout:
            out.close()
    if not quiet:
        _summary(len(documents), failed, in_review, rules, output)
    sys.exit(1 if failed else 0)


def _summary(total: int, failed: int, in_review: int, rules: Counter, output: Path) -> None:
    echo = lambda text: click.echo(text, err=True)  # noqa: E731
    echo(f"报告 {total} 份，失败 {failed} 份；待复核字段 {in_review} 个。")
    if rules:
        echo("发现（按规则）：")
        for rule, count in sorted(rules.items(), key=lambda kv: (-kv[1], kv[0])):
            echo(f"  {rule:<24} {count}")
    if str(output) != "-":
        echo(f"记录已写入 {output}")


@cli.command("eval")
@click.option(
    "--set",
    "set_names",
    multiple=True,
    type=click.Choice(["seeds", "real", "generated", "corpus", "reviewed"]),
    help="要评测的集合，可重复；默认 seeds、real、generated、corpus。",
)
@click.option(
    "--llm",
    type=click.Choice(["off", "verify", "fallback"]),
    default="off",
    show_default=True,
    help="LLM 用法；目前只有 off（仅确定性读取器）。",
)
@click.option("--generated-count", type=click.IntRange(min=1), default=500, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="生成集合的随机种子。")
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="基线文件，默认 eval/baseline.json。",
)
@click.option("--update-baseline", is_flag=True, help="把本次结果记为新的基线。")
@click.option(
    "--artifact",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="本次运行的 JSON 记录，默认写到 eval/runs/。",
)
def eval_command(
    set_names: tuple[str, ...],
    llm: str,
    generated_count: int,
    seed: int,
    baseline: Path | None,
    update_baseline: bool,
    artifact: Path | None,
) -> None:
    """在标注集上评测抽取结果，与基线比较；任何指标变差超过容差时退出码为 1。

    指标按集合、按部分（二、三、四、正文数字、元数据）和按版式给出：值准确率、
    接受精度（被接受字段中值正确的比例，必须保持 100%）、自动接受率、复核率、
    正文数字的精确率/召回率/F1、发布方错误召回率、失败文档数。
    """
    from gouji_eval import run

    if llm != "off":
        raise click.UsageError("尚未配置 LLM：目前只能以 --llm off 评测确定性读取器")
    names = list(set_names) or ["seeds", "real", "generated", "corpus"]
    settings = {"sets": names, "llm": llm, "generated_count": generated_count, "seed": seed}
    results = run.evaluate(names, generated_count, seed)
    for result in results:
        for line in run.report_lines(result):
            click.echo(line)
    payload = run.artifact(results, settings)
    if artifact is None:
        run.RUNS.mkdir(exist_ok=True)
        stamp = payload["timestamp"].replace(":", "").replace("-", "")
        artifact = run.RUNS / f"eval-{stamp}.json"
    artifact.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    click.echo(f"运行记录：{artifact}")
    baseline_path = baseline or run.BASELINE
    if update_baseline:
        run.save_baseline(payload["metrics"], settings, baseline_path)
        click.echo(f"已更新基线：{baseline_path}")
        return
    previous = run.load_baseline(baseline_path)
    if not previous:
        click.echo(f"没有基线文件 {baseline_path}；用 --update-baseline 记录一个。")
        return
    worse = run.regressions(payload["metrics"], previous)
    if worse:
        click.echo("与基线相比变差：")
        for line in worse:
            click.echo(f"  {line}")
        sys.exit(1)
    click.echo("与基线相比没有变差。")
