"""The eval's commands, which ``gouji`` lists beside its own (entry points in the group
``gouji.commands``): ``gouji eval`` runs the sets and the regression gate, ``gouji gold``
saves reviewed documents as the ``reviewed`` set."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gouji.cli import db_option, existing_store, settings_options
from gouji.cli_chinese import Command
from gouji.running.settings import Settings

from . import run, sets


@click.command("eval", cls=Command)
@click.option(
    "--set",
    "set_names",
    multiple=True,
    type=click.Choice(sets.SET_NAMES),
    help=f"要评测的集合，可重复；默认 {'、'.join(sets.DEFAULT_SETS)}。",
)
@settings_options
@click.option(
    "--generated-count",
    type=click.IntRange(min=1),
    default=sets.GENERATED_COUNT,
    show_default=True,
    metavar="N",
    help="generated 集生成的报告数。",
)
@click.option(
    "--seed",
    type=int,
    default=sets.GENERATED_SEED,
    show_default=True,
    metavar="N",
    help="generated 集的随机种子。",
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    default=run.BASELINE,
    show_default="eval/baseline.json",
    metavar="FILE",
    help="基线文件。",
)
@click.option("--update-baseline", is_flag=True, help="把本次结果记为新的基线。")
@click.option(
    "--artifact",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="本次运行的 JSON 记录，默认写到 eval/runs/。",
)
@click.option(
    "--history",
    is_flag=True,
    help="不评测，只列出历次运行记录中的各项指标（每个指标一行，↓ 表示比上一次变差）。",
)
@click.option(
    "--runs",
    type=click.Path(file_okay=False, path_type=Path),
    default=run.RUNS,
    show_default="eval/runs",
    metavar="DIR",
    help="--history 读取的运行记录目录。",
)
@click.option("-q", "--quiet", is_flag=True, help="不在标准错误上显示各集合的进度。")
def eval_command(
    set_names: tuple[str, ...],
    settings: Settings,
    generated_count: int,
    seed: int,
    baseline: Path,
    update_baseline: bool,
    artifact: Path | None,
    history: bool,
    runs: Path,
    quiet: bool,
) -> None:
    """在标注集上评测抽取结果，并与基线比较。

    指标按集合、按部分（二、三、四、正文数字、元数据）和按版式给出：值准确率、
    接受精度（被接受字段中值正确的比例，必须保持 100%）、自动接受率、复核率、
    正文数字的精确率/召回率/F1、发布方错误召回率、失败文档数。结果写到标准输出，
    每个集合的进度写到标准错误。

    退出码：没有指标比基线变差超过容差（或用了 --update-baseline、--history）时
    为 0；有指标变差时为 1；用法错误、或运行前检查 LLM 端点失败时为 2。
    """
    if history:
        for line in run.history_lines(run.history(runs), list(set_names) or None):
            click.echo(line)
        return
    names = list(set_names or sets.DEFAULT_SETS)
    if "reviewed" in names:
        for line in sets.describe_reviewed():
            click.echo(line)
    progress = None if quiet else run.Progress()
    results = run.evaluate(names, settings, generated_count, seed, progress)
    for result in results:
        for line in run.report_lines(result):
            click.echo(line)
    recorded = {"sets": names, "generated_count": generated_count, "seed": seed}
    payload = run.artifact(results, recorded | settings.to_dict(), settings.uses_llm)
    click.echo(f"运行记录：{run.write_artifact(payload, artifact)}")
    lines, passed = run.gate(payload, baseline, update_baseline)
    for line in lines:
        click.echo(line)
    if not passed:
        sys.exit(1)


@click.command(cls=Command)
@db_option()
@click.option(
    "--into",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="标注文件目录，默认 eval/reviewed（即 gouji eval --set reviewed）。",
)
def gold(db: str | None, into: Path | None) -> None:
    """把复核人确认过的报告存为标注数据（reviewed 集）。

    标注只来自人：报告读取成功、没有待复核的字段，且最近一次抽取之后由署名的复核人确认过，
    才会保存（在“整份报告”中按 A 或点确认按钮，或每个值都由人作出决定）。
    每份保存的报告写明谁确认的；没有保存的按原因计数。
    """
    from collections import Counter

    from gouji.storage.review import Review

    from .gold import save_reviewed, why_not_gold

    folder = into or sets.reviewed_dir()
    store = existing_store(db)
    review = Review(store)
    saved, reasons = 0, Counter()
    try:
        for doc in store.documents():
            if doc.status == "skipped":
                continue
            if why := why_not_gold(review, doc.id):
                reasons[why.split("（")[0]] += 1
                continue
            path = save_reviewed(review, doc.id, folder)
            confirmed = sorted({c.reviewer for c in review.reads.confirmations(doc.id)})
            how = f"{'、'.join(confirmed)}确认了整份报告" if confirmed else "每个值都由复核人决定"
            click.echo(f"{path}：{doc.name}，{how}")
            saved += 1
    finally:
        store.close()
    click.echo(f"已保存 {saved} 份人确认过的报告到 {folder}", err=True)
    for why, count in reasons.most_common():
        click.echo(f"未保存 {count} 份：{why}", err=True)
