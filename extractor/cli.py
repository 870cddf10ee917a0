"""The ``gouji`` command: one verb per job (extract, eval, review, export, gold, cluster,
cross-year); the modules that do the jobs own their options' choices and defaults."""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from . import __version__, batch, crossyear
from .export import FORMATS
from .llm import MODES, LLMClient, LLMSettings
from .pipeline import iter_documents
from .record import document_key, dumps
from .rules import RULES
from .sources import DEFAULT_MAX_BYTES
from .store import Store, database_url
from .tasks import prompt_versions


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gouji")
def cli() -> None:
    """gouji（勾稽）：从政府信息公开工作年度报告中抽取表格数字，逐项勾稽核对，
    只把存疑的数字交给人复核。"""


def _llm_options(function):
    """The options that point gouji at an OpenAI-compatible endpoint."""
    options = [
        click.option(
            "--llm",
            "llm_mode",
            type=click.Choice(["off", "verify", "fallback"]),
            default=None,
            help="LLM 作为第二证人：verify 每份报告都问；fallback 只问读取器没把握的部分和正文数字；"
            "off 不用。配置了模型时默认 verify，否则 off。",
        ),
        click.option(
            "--model",
            envvar="GOUJI_MODEL",
            default=None,
            help="模型名（环境变量 GOUJI_MODEL）。端点与密钥取自 OPENAI_BASE_URL、OPENAI_API_KEY。",
        ),
        click.option(
            "--llm-mode",
            "instructor_mode",
            type=click.Choice(MODES),
            default=None,
            help="结构化输出方式；默认按端点选择（DeepSeek、Ollama 用 json，其余用 tools）。",
        ),
        click.option(
            "--timeout", type=float, default=120.0, show_default=True, help="单次请求超时（秒）。"
        ),
        click.option(
            "--cache-dir",
            type=click.Path(file_okay=False, path_type=Path),
            envvar="GOUJI_CACHE_DIR",
            default=None,
            help="LLM 回答的磁盘缓存目录（环境变量 GOUJI_CACHE_DIR），默认 ~/.cache/gouji/llm。",
        ),
        click.option("--no-cache", is_flag=True, help="不读也不写 LLM 缓存。"),
        click.option(
            "--max-tokens-per-doc",
            type=click.IntRange(min=1),
            default=None,
            help="每份报告的 token 预算，用完后不再请求。",
        ),
        click.option(
            "--context-tokens",
            type=click.IntRange(min=512),
            default=None,
            help="模型的上下文长度（提示加回答，默认 16384）：每次请求都不超过它，"
            "放不下时各表分开提问。",
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(min=1, max=256),
            default=None,
            help="同时向 LLM 端点处理的报告数（默认 8）。",
        ),
        click.option(
            "--rate-limit",
            type=click.FloatRange(min=0.01),
            default=None,
            help="对 LLM 端点每秒最多发出的请求数（所有并发共用）。",
        ),
    ]
    names = ("llm_mode", "model", "instructor_mode", "timeout", "cache_dir", "no_cache",
             "max_tokens_per_doc", "context_tokens", "concurrency", "rate_limit")  # fmt: skip

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        chosen = {name: kwargs.pop(name) for name in names}
        return function(*args, llm=LLMChoice(**chosen), **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


@dataclass
class LLMChoice:
    """The LLM options as the user gave them."""

    llm_mode: str | None
    model: str | None
    instructor_mode: str | None
    timeout: float
    cache_dir: Path | None
    no_cache: bool
    max_tokens_per_doc: int | None
    context_tokens: int | None
    concurrency: int | None
    rate_limit: float | None

    def client(self) -> tuple[LLMClient | None, str]:
        """The client and the mode: ``verify`` by default when a model is configured."""
        settings = LLMSettings.from_env(
            model=self.model,
            mode=self.instructor_mode,
            timeout=self.timeout,
            cache_dir=self.cache_dir,
            max_tokens_per_doc=self.max_tokens_per_doc,
            context_tokens=self.context_tokens,
            requests_per_second=self.rate_limit,
        )
        settings.use_cache = not self.no_cache
        mode = self.llm_mode or ("verify" if settings.configured else "off")
        if mode == "off":
            return None, "off"
        if not settings.configured:
            raise click.UsageError("要用 LLM，请用 --model 或环境变量 GOUJI_MODEL 指定模型")
        return LLMClient(settings), mode


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
@click.option(
    "--db",
    is_flag=False,
    flag_value="",
    default=None,
    help="同时写入复核库：SQLAlchemy URL；只写 --db 时用 GOUJI_DB 或 sqlite:///gouji.db。",
)
@click.option(
    "--resume",
    is_flag=True,
    help="续跑：保留输出文件中已完成的记录，跳过内容（sha256）与设置都相同的报告。",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=256),
    default=None,
    help="同时处理的报告数（不用 LLM 时为进程数）；默认：用 LLM 时 8，否则报告多时用全部 CPU 核。",
)
@_llm_options
def extract(
    paths: tuple[Path, ...],
    output: Path,
    max_bytes: int,
    quiet: bool,
    db: str | None,
    resume: bool,
    workers: int | None,
    llm: LLMChoice,
) -> None:
    """抽取 PATHS 中的报告（文件或文件夹，文件夹递归），每份报告写一条记录。

    支持 .txt（UTF-8/GB18030 等编码自动识别）、.md、.html、.pdf（文字层）、.docx 和 .doc
    （需 LibreOffice）。某份报告读取失败时，其记录为 status: failed 并附一行原因，其余报告照常处理。
    全部读取成功时退出码为 0，有失败时为 1，用法错误为 2。
    """
    documents = list(iter_documents(paths))
    if not documents:
        raise click.UsageError("没有找到可读取的报告文件（.txt .md .html .pdf .docx .doc）")
    if resume and str(output) == "-":
        raise click.UsageError("--resume 需要用 -o 指定输出文件")
    client, mode = llm.client()
    settings = batch.fingerprint(client, mode, max_bytes)
    earlier = ()
    if resume:
        documents, kept = batch.resume(output, settings, documents)
        earlier = batch.records(output) if kept else ()
    store = Store(db or None) if db is not None else None
    run_id = None
    if store is not None:
        run_settings = {"paths": [str(p) for p in paths], "llm": mode, "max_bytes": max_bytes}
        versions = prompt_versions() if client else {}
        run_id = store.start_run(run_settings, versions, client.settings.model if client else None)
    out = (
        sys.stdout if str(output) == "-" else output.open("a" if resume else "w", encoding="utf-8")
    )
    try:
        outcome = batch.run(
            documents,
            out,
            max_bytes=max_bytes,
            llm=client,
            llm_mode=mode,
            workers=workers or llm.concurrency or batch.default_workers(client, len(documents)),
            earlier=earlier,
            on_record=(lambda record: store.save_record(record, run_id)) if store else None,
            quiet=quiet,
        )
        _cross_year(outcome.cross_year, output, store)
    finally:
        if out is not sys.stdout:
            out.close()
        if client is not None:
            client.close()
    if store is not None:
        store.finish_run(run_id, outcome.usage.to_dict() if client else None, len(documents))
        store.close()
    if not quiet:
        _summary(outcome, output, client is not None)
        if store is not None:
            click.echo(f"已写入复核库 {store.url}", err=True)
    sys.exit(1 if outcome.failed else 0)


def _cross_year(found: list[dict], output: Path, store: Store | None) -> None:
    """Findings across years, made at the end of a run when the records are already
    written: beside the output as ``<output>.cross_year.jsonl`` (the whole output's, also
    when resumed; none, no file), and into the store."""
    if str(output) != "-":
        sidecar = output.with_name(output.stem + ".cross_year.jsonl")
        if found:
            sidecar.write_text("".join(dumps(f) + "\n" for f in found), encoding="utf-8")
        else:
            sidecar.unlink(missing_ok=True)
    if store is not None:
        for f in found:
            store.add_findings(f["document"], f["sha256"], [f], RULES[f["rule"]].review)


def _summary(outcome: batch.Outcome, output: Path, used_llm: bool) -> None:
    echo = lambda text: click.echo(text, err=True)  # noqa: E731
    skipped = f"，跳过已完成的 {outcome.skipped} 份" if outcome.skipped else ""
    echo(
        f"报告 {outcome.documents} 份{skipped}，失败 {outcome.failed} 份；"
        f"待复核字段 {outcome.in_review} 个。"
    )
    if used_llm:
        usage = outcome.usage
        echo(
            f"LLM：请求 {usage.requests} 次（传输重试 {usage.retries}，失败 {usage.failures}，"
            f"缓存命中 {usage.cache_hits}）；token 共 {usage.total_tokens}"
            f"（提示 {usage.prompt_tokens}，回答 {usage.completion_tokens}）。"
        )
    if outcome.rules:
        echo("发现（按规则）：")
        for rule, count in sorted(outcome.rules.items(), key=lambda kv: (-kv[1], kv[0])):
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
@_llm_options
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
    llm: LLMChoice,
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

    client, mode = llm.client()
    names = list(set_names) or ["seeds", "real", "generated", "corpus"]
    settings = {"sets": names, "llm": mode, "generated_count": generated_count, "seed": seed}
    if client is not None:
        settings |= {"model": client.settings.model, "instructor_mode": client.mode}
    try:
        results = run.evaluate(
            names, generated_count, seed, client, mode, llm.concurrency or (8 if client else 1)
        )
    finally:
        if client is not None:
            client.close()
    for result in results:
        for line in run.report_lines(result):
            click.echo(line)
    payload = run.artifact(results, settings, client is not None)
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


@cli.command()
@click.option(
    "--db", default=None, help="复核库的 SQLAlchemy URL，默认 GOUJI_DB 或 sqlite:///gouji.db。"
)
@click.option("--port", type=int, default=8501, show_default=True)
@click.option("--headless", is_flag=True, help="不自动打开浏览器。")
def review(db: str | None, port: int, headless: bool) -> None:
    """打开复核界面（Streamlit），处理复核库中待复核的字段。"""
    import os
    from importlib import resources

    url = database_url(db)
    Store(url).close()  # create or migrate the database before the app opens it
    app = resources.files("gouji_review").joinpath("app.py")
    command = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.port", str(port),
        "--server.headless", "true" if headless else "false",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    click.echo(f"复核库 {url}；界面地址 http://localhost:{port}", err=True)
    sys.stderr.flush()
    # Become the server rather than wait on it: stopping `gouji review` stops the app.
    os.execve(sys.executable, command, {**os.environ, "GOUJI_DB": url})


@cli.command()
@click.argument(
    "records", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--db", default=None, help="从复核库导出（复核后的值替换抽取值）；默认 GOUJI_DB。")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=FORMATS[0],
    show_default=True,
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--chinese-header", is_flag=True, help="表头用中文标签（附键名）。")
def export(
    records: Path | None, db: str | None, fmt: str, output: Path, chinese_header: bool
) -> None:
    """导出每份报告一行、按 SCHEMA.md 键名排列的数据。

    给出 RECORDS（gouji extract 写的 JSONL）时导出其中的抽取值；否则从复核库导出，
    已复核的值替换抽取值。
    """
    from .export import rows_from_records, rows_from_store, write

    if records is not None:
        count = write(rows_from_records(records), fmt, output, chinese_header)
    else:
        store = Store(db)
        try:
            count = write(rows_from_store(store), fmt, output, chinese_header)
        finally:
            store.close()
    click.echo(f"已导出 {count} 份报告到 {output}", err=True)


@cli.command()
@click.option("--db", default=None, help="复核库的 SQLAlchemy URL，默认 GOUJI_DB。")
@click.option(
    "--into",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="标注文件目录，默认 eval/reviewed（即 gouji eval --set reviewed）。",
)
def gold(db: str | None, into: Path | None) -> None:
    """把复核完毕的报告存为标注数据（reviewed 集）。"""
    from gouji_eval.gold import save_reviewed
    from gouji_eval.sets import reviewed_dir

    from .review import Review

    folder = into or reviewed_dir()
    store = Store(db)
    review = Review(store)
    saved = 0
    try:
        for doc in store.documents():
            if doc["status"] == "ok" and review.fully_reviewed(doc["id"]):
                click.echo(str(save_reviewed(review, doc["id"], folder)))
                saved += 1
    finally:
        store.close()
    click.echo(f"已保存 {saved} 份复核完毕的报告", err=True)


@cli.command("cluster")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--db", required=True, help="共享复核库的 SQLAlchemy URL（集群上用 PostgreSQL）。")
@click.option(
    "--address",
    default=None,
    help="Ray 集群地址（如 ray://head:10001 或 auto）；不填则在本机起一个。",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Ray 上的并行工作者数。",
)
@click.option(
    "--max-bytes", type=click.IntRange(min=1), default=DEFAULT_MAX_BYTES, show_default=True
)
@_llm_options
def cluster(
    paths: tuple[Path, ...],
    db: str,
    address: str | None,
    workers: int,
    max_bytes: int,
    llm: LLMChoice,
) -> None:
    """在 Ray 集群上抽取 PATHS，每份报告的记录写入共享的复核库（需安装 gouji[cluster]）。

    各节点须能以相同路径读到这些文件（共享文件系统或挂载的存储桶）。
    """
    try:
        from . import cluster as ray_cluster
    except ImportError:
        raise click.UsageError("需要先安装集群依赖：pip install 'gouji[cluster]'") from None
    client, mode = llm.client()
    settings = client.settings if client else None
    if client is not None:
        client.close()  # each Ray worker makes its own
    documents = [document_key(p) for p in iter_documents(paths)]
    if not documents:
        raise click.UsageError("没有找到可读取的报告文件")
    counts = ray_cluster.run(
        documents,
        db,
        address=address,
        llm=settings,
        llm_mode=mode,
        max_bytes=max_bytes,
        workers=workers,
    )
    click.echo(
        f"集群抽取 {len(documents)} 份：成功 {counts.get('ok', 0)}，失败 {counts.get('failed', 0)}；已写入 {db}",
        err=True,
    )
    sys.exit(1 if counts.get("failed") else 0)


@cli.command("cross-year")
@click.argument(
    "records", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def cross_year(records: tuple[Path, ...]) -> None:
    """核对同一机关相邻年度的报告（RECORDS 为 gouji extract 写的 JSONL，可多个）：
    上一年的“结转下年度”应等于下一年的“上年结转”；现行有效件数是否衔接（仅提示）。
    发现逐行以 JSONL 写到标准输出。"""
    summaries = []
    for path in records:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip() and (summary := crossyear.summarise(json.loads(line))):
                    summaries.append(summary)
    found = crossyear.check(summaries)
    for summary, finding in found:
        click.echo(
            dumps({"document": summary.document, "sha256": summary.sha256, **finding.to_dict()})
        )
    click.echo(f"核对 {len(summaries)} 份报告，跨年度发现 {len(found)} 处", err=True)


if __name__ == "__main__":
    cli()
