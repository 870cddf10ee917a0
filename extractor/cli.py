"""The ``gouji`` command: one verb per job (extract, review, export, panel, cluster,
cross-year, and the eval's ``eval`` and ``gold``, which ``gouji_eval`` adds). It only parses and reports:
choices and defaults come from the modules that own them, the run's settings are one
``Settings`` object, and the jobs themselves live in those modules."""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import sys
from dataclasses import replace
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import click

from . import terminal
from .checking import crossyear
from .checking.record import dumps
from .cli_chinese import Group
from .errors import EndpointUnavailable, SettingsError
from .inputs import formats
from .limits import Limits
from .outputs.export import FORMATS
from .outputs.panel import FORMATS as PANEL_FORMATS
from .running import batch
from .running import cluster as ray_cluster
from .running.settings import OCR_MODES, WITNESS_MODES, Settings
from .storage.store import Store, database_url, shown_url, store_exists
from .version import __version__
from .witness import endpoint
from .witness.llm import MODES, LLMSettings, library_logs

# Installed packages add commands under this entry-point group (the eval adds ``eval`` and
# ``gold``): gouji names no package that is built on it, so no import runs back up.
COMMAND_GROUP = "gouji.commands"


@functools.cache
def _added_commands() -> dict[str, EntryPoint]:
    return {e.name: e for e in entry_points(group=COMMAND_GROUP)}


class _Commands(Group):
    """gouji's own commands and those installed packages add, loaded when named."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_added_commands()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in _added_commands():
            command = _added_commands()[name].load()
        return command


@click.group("gouji", cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
# Named here: click words these when the option is defined, before any command runs.
@click.version_option(__version__, prog_name="gouji", message="%(prog)s %(version)s",
                      help="显示版本并退出。")  # fmt: skip
def cli() -> None:
    """gouji（勾稽）：从政府信息公开工作年度报告中抽取表格数字，逐项勾稽核对，
    只把存疑的数字交给人复核。"""


def db_option(required: bool = False, help: str | None = None):
    """The store's URL, for every command that reads or writes it."""
    return click.option(
        "--db",
        is_flag=False,
        flag_value="",
        default=None,
        required=required,
        metavar="URL",
        help=help
        or "复核库：SQLAlchemy URL；不写或只写 --db 时用 GOUJI_DB 或 sqlite:///gouji.db。",
    )


def count_option(flag: str, help: str, least: int = 1, most: int | None = None):
    """A whole number (``N``) from ``least`` to ``most``; not given, it is ``None`` and the
    settings' own default (or the command's) applies."""
    kind = click.IntRange(min=least, max=most)
    return click.option(flag, type=kind, default=None, metavar="N", help=help)


def cache_option(flag: str, help: str):
    """A cache's folder (``DIR``); not given, it is ``None`` and the settings' default applies."""
    return click.option(
        flag,
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        metavar="DIR",
        help=help,
    )


# The bounds on a document's work.
_BOUND_OPTIONS = [
    count_option(
        "--max-bytes",
        f"单个文件的大小上限（字节，默认 {Limits.bytes}），超过则记为失败；即 --limits bytes=N。",
    ),
    click.option(
        "--limits",
        default=None,
        metavar="NAME=N,...",
        help="每份报告的工作上限，超过则该报告记为失败、其余照常："
        + "，".join(f"{k}={v}" for k, v in Limits().to_dict().items())
        + "（默认值）。",
    ),
]
# The LLM witness and its endpoint.
_WITNESS_OPTIONS = [
    click.option(
        "--llm",
        "witness",
        type=click.Choice(WITNESS_MODES),
        default=None,
        help="LLM 作为第二证人：verify 每份报告都问；fallback 只问读取器没把握的部分和正文数字；"
        "off 不用。配置了模型时默认 verify，否则 off。",
    ),
    click.option(
        "--model",
        default=None,
        metavar="NAME",
        help="模型名（环境变量 GOUJI_MODEL）。端点与密钥取自 OPENAI_BASE_URL、OPENAI_API_KEY。",
    ),
    click.option(
        "--structured-output",
        type=click.Choice(MODES),
        default=None,
        help="结构化输出方式；默认由运行前的检查选出端点支持的最好一种"
        "（依次试 json_schema、tools、json、md_json，结果按端点和模型缓存）。",
    ),
    # The option's old name, until the next release.
    click.option("--llm-mode", "old_llm_mode", type=click.Choice(MODES), hidden=True),
    click.option(
        "--timeout",
        type=float,
        metavar="S",
        default=LLMSettings.timeout,
        show_default=True,
        help="端点最长可以多久没有任何输出（秒）；回答是流式读取的，写得慢不算超时。",
    ),
    cache_option(
        "--cache-dir",
        "LLM 回答的磁盘缓存目录（环境变量 GOUJI_CACHE_DIR），默认 ~/.cache/gouji/llm。",
    ),
    click.option("--no-cache", is_flag=True, help="不读也不写 LLM 缓存。"),
    count_option(
        "--max-tokens-per-doc",
        "每份报告的 token 预算：请求前先核算，装不下请求和回答就不发，从不超出。",
    ),
    count_option(
        "--context-tokens",
        "模型的上下文长度（提示加回答，默认 16384）：每次请求都不超过它，"
        "放不下时表格与正文、各表分开提问。",
        least=512,
    ),
    click.option(
        "--llm-vision",
        is_flag=True,
        help="扫描件的表格页另以图片发给看图的模型（同一端点），与 OCR 的读数核对；默认不发。",
    ),
    click.option(
        "--vision-model",
        default=None,
        metavar="NAME",
        help="看图的模型（环境变量 GOUJI_VISION_MODEL），默认与 --model 相同。",
    ),
    count_option(
        "--concurrency",
        "同时向 LLM 端点处理的报告数（默认：端点说明的并行数，如 llama.cpp 的 slots；否则 8）。",
        most=256,
    ),
    click.option(
        "--rate-limit",
        type=click.FloatRange(min=0.01),
        default=None,
        metavar="R",
        help="对 LLM 端点每秒最多发出的请求数（所有并发共用）。",
    ),
]
# Scanned documents.
_SCAN_OPTIONS = [
    click.option(
        "--ocr",
        type=click.Choice(OCR_MODES),
        default="auto",
        show_default=True,
        help="扫描件（无文字层的 PDF、图片）：auto 用内置 OCR 识读；off 不识读，记为失败。",
    ),
    cache_option(
        "--ocr-cache",
        "OCR 页面缓存目录（环境变量 GOUJI_OCR_CACHE，可由集群各节点共享），"
        "默认 ~/.cache/gouji/ocr；重跑同一扫描件不再识读。",
    ),
]
_VERBOSE_OPTION = click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="在标准错误上显示 openai、instructor、httpx 的日志（密钥和网址中的凭据已隐去）。",
)


def settings_options(function):
    """The run's settings as options (the bounds on a document's work, OCR, the LLM witness
    and its endpoint), given to the command as one ``settings: Settings``; with a witness,
    its endpoint is checked first."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        settings = _settings(kwargs)
        if settings.uses_llm:
            library_logs(kwargs.pop("verbose"), settings.llm.secrets)
            settings = _start(settings)
        else:
            kwargs.pop("verbose")
        return function(*args, settings=settings, **kwargs)

    for option in reversed([*_BOUND_OPTIONS, *_WITNESS_OPTIONS, *_SCAN_OPTIONS, _VERBOSE_OPTION]):
        wrapper = option(wrapper)
    return wrapper


def _settings(options: dict) -> Settings:
    """The settings the options name, each taken out of ``options``; a usage error when
    they cannot run."""
    old_llm_mode = options.pop("old_llm_mode")
    if old_llm_mode is not None:
        click.echo(
            "提示：--llm-mode 已改名为 --structured-output，旧写法下一版本将去掉。", err=True
        )
    try:
        return Settings.from_env(
            witness=options.pop("witness"),
            max_bytes=options.pop("max_bytes"),
            limits=options.pop("limits"),
            concurrency=options.pop("concurrency"),
            model=options.pop("model"),
            mode=options.pop("structured_output") or old_llm_mode,
            timeout=options.pop("timeout"),
            cache_dir=options.pop("cache_dir"),
            use_cache=False if options.pop("no_cache") else None,
            max_tokens_per_doc=options.pop("max_tokens_per_doc"),
            context_tokens=options.pop("context_tokens"),
            requests_per_second=options.pop("rate_limit"),
            ocr=options.pop("ocr"),
            ocr_cache=options.pop("ocr_cache"),
            vision=options.pop("llm_vision"),
            vision_model=options.pop("vision_model"),
        )
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None


def _start(settings: Settings) -> Settings:
    """Before any document, and before anything is written: the endpoint's start check
    (none when a former run's is cached), its findings put in the settings (the mode, the
    server's parallel slots as the concurrency unless the user gave one); one line and
    status 2 when the endpoint cannot serve the run."""
    say = lambda line: click.echo(line, err=True)  # noqa: E731
    try:
        llm, asked = endpoint.start(settings.llm, say)
        if asked:
            say(f"LLM 端点检查：{llm.profile.describe()}")
        if llm.vision is not None:
            vision, asked = endpoint.start(llm.vision, say)
            llm = replace(llm, vision=vision)
            if asked:
                say(f"看图模型检查：{vision.profile.describe()}")
    except EndpointUnavailable as exc:
        click.echo(f"错误：{exc}；或用 --llm off 只用读取器。", err=True)
        sys.exit(2)
    return replace(settings, llm=llm, concurrency=settings.concurrency or llm.profile.slots)


def run_options(function):
    """The options of a run over files (extract, cluster): its journal, resuming it, the list
    of failed files, quiet."""
    options = [
        click.option(
            "-o",
            "--output",
            type=click.Path(dir_okay=False, path_type=Path),
            default="-",
            show_default=True,
            help="抽取记录写入的 JSONL 文件（每份报告一行），- 表示标准输出。",
        ),
        click.option("-q", "--quiet", is_flag=True, help="不显示进度条和汇总。"),
        click.option(
            "--resume",
            is_flag=True,
            help="续跑：保留输出文件中已完成的记录，跳过内容（sha256）与设置都相同的报告。",
        ),
        click.option(
            "--failed",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="把读取失败的文件路径逐行写入这个文件，便于处理后重跑"
            "（如 xargs -d '\\n' -a FILE gouji extract --resume -o 重跑.jsonl）。",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@run_options
@db_option(help="同时写入复核库：SQLAlchemy URL；只写 --db 时用 GOUJI_DB 或 sqlite:///gouji.db。")
@count_option(
    "--workers",
    "同时处理的报告数（不用 LLM 时为进程数）；默认：用 LLM 时 8，否则报告多时用全部 CPU 核。",
    most=256,
)
@settings_options
def extract(
    paths: tuple[Path, ...],
    output: Path,
    quiet: bool,
    resume: bool,
    failed: Path | None,
    db: str | None,
    workers: int | None,
    settings: Settings,
) -> None:
    """抽取 PATHS 中的报告，每份报告写一条记录。

    PATHS 为文件或文件夹（文件夹递归读取）。支持的格式（按扩展名）：

    \b
    {formats}

    某份报告读取失败时，其记录为 status: failed 并附一行原因，其余报告照常处理。

    退出码：每份报告都已读取（或不是报告、与别的文件重复而略过）时为 0；有报告失败、或 LLM
    端点中途不再回答时为 1（端点恢复后用 --resume 补问）；用法错误、或运行前检查 LLM 端点
    失败时为 2，此时什么也不写。
    """
    settings = replace(settings, scans=replace(settings.scans, progress=not quiet))
    sys.exit(_run(paths, settings, output, quiet, resume, failed, db, workers=workers))


def _run(
    paths: tuple[Path, ...],
    settings: Settings,
    output: Path,
    quiet: bool,
    resume: bool,
    failed: Path | None,
    db: str | None,
    *,
    workers: int | None = None,
    executor: batch.Executor | None = None,
    engine: str = "local",
) -> int:
    """A run over ``paths`` (``batch.Run``) and its summary; returns the exit status."""
    if resume and str(output) == "-":
        raise click.UsageError("--resume 需要用 -o 指定输出文件")
    url = None if db is None else database_url(db or None)
    journal = output
    if str(output) == "-":
        journal = sys.stdout
        # A name's undecodable bytes become JSON escapes of themselves, as in a file.
        with contextlib.suppress(AttributeError):
            sys.stdout.reconfigure(errors="backslashreplace")
    label = {"paths": [str(p) for p in paths], "engine": engine}
    with batch.Run(
        settings,
        output=journal,
        resume=resume,
        store=url,
        workers=workers,
        executor=executor,
        failed=failed,
        quiet=quiet,
        label=label,
    ) as run:
        if not run.discover(paths):
            raise click.UsageError(f"没有找到可读取的报告文件（{' '.join(formats.table())}）")
        outcome = run.execute()
    if not quiet:
        _summary(outcome, output, settings.uses_llm, failed, url)
    return 1 if outcome.failed or outcome.unavailable else 0


# The formats as the registry has them (an installed package's included), not restated here.
extract.help = inspect.cleandoc(extract.help).replace("{formats}", formats.help_text())


def _summary(
    outcome: batch.Outcome, output: Path, used_llm: bool, failed: Path | None, url: str | None
) -> None:
    echo = lambda text: click.echo(text, err=True)  # noqa: E731
    skipped = f"，跳过已完成的 {outcome.skipped} 份" if outcome.skipped else ""
    if outcome.not_reports:
        skipped += f"，不是报告或与别的文件重复而略过 {outcome.not_reports} 份"
    echo(
        f"报告 {outcome.documents} 份{skipped}，失败 {outcome.failed} 份；"
        f"待复核字段 {outcome.in_review} 个。"
    )
    if used_llm:
        usage = outcome.usage
        echo(
            f"LLM：请求 {usage.requests} 次（传输重试 {usage.retries}，失败 {usage.failures}，"
            f"缓存命中 {usage.cache_hits}）；token 共 {usage.total_tokens}"
            f"（提示 {usage.prompt_tokens}，回答 {usage.completion_tokens}）"
            + (
                f"，其中 {usage.estimated} 次回答没有报告用量，按估算计入。"
                if usage.estimated
                else "。"
            )
        )
        if outcome.unavailable:
            echo(
                f"LLM 端点没有回答：{outcome.unavailable} 份报告只用了读取器"
                "（记录中 llm.unavailable 为 true）；端点恢复后用 --resume 补问这些报告。"
            )
    if outcome.rules:
        echo("发现（按规则）：")
        for rule, count in sorted(outcome.rules.items(), key=lambda kv: (-kv[1], kv[0])):
            echo(f"  {rule:<24} {count}")
    if outcome.failed:
        echo("读取失败的文件：")
        for line in batch.failed_lines(outcome):
            echo(line)
        if failed is not None:
            echo(f"失败文件清单已写入 {terminal.shown(failed)}（每行一个路径，重跑方法见 README）")
    if str(output) != "-":
        echo(f"记录已写入 {terminal.shown(output)}")
    if url is not None:
        echo(f"已写入复核库 {shown_url(url)}")


def table_options(formats: tuple[str, ...]):
    """``--format`` and ``-o``, for a command that writes a table (export, panel)."""

    def decorate(function):
        function = click.option(
            "-o",
            "--output",
            type=click.Path(dir_okay=False, path_type=Path),
            required=True,
            help="输出文件。",
        )(function)
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(formats),
            default=formats[0],
            show_default=True,
            help="输出格式（CSV 为带 BOM 的 UTF-8，Excel 可直接打开）。",
        )(function)

    return decorate


def existing_store(db: str | None) -> Store:
    """The store to review, export or take gold from; it must be there already."""
    url = database_url(db)
    if not store_exists(url):
        raise click.ClickException(
            f"没有找到复核库 {shown_url(url)}：请用 --db 指定，或先运行 gouji extract … --db 写入复核库"
        )
    return Store(url)


# Streamlit's configuration for the review app: local, quiet and in Chinese as far as
# Streamlit lets it be (what it cannot, app.py's page does).
STREAMLIT_CONFIG = {
    "browser.gatherUsageStats": "false",  # no usage statistics leave the machine
    # Streamlit's English welcome, its terminal advert and the app's "Help agents write
    # better apps" pop-up all hang on this one option; gouji prints the address itself.
    "logger.hideWelcomeMessage": "true",
    "logger.level": "warning",  # no English log line per start
    "client.showErrorLinks": "false",  # no "ask Google / ChatGPT" links under an error
    "client.toolbarMode": "minimal",
    "server.showEmailPrompt": "false",
    "server.fileWatcherType": "none",
}


@cli.command()
@db_option()
@click.option(
    "--port", type=int, default=8501, show_default=True, metavar="N", help="界面监听的端口。"
)
@click.option(
    "--address",
    default="127.0.0.1",
    show_default=True,
    metavar="ADDRESS",
    help="界面监听的地址；默认只有本机能打开，要与同事共用时给出本机的网络地址（如 0.0.0.0）。",
)
@click.option("--headless", is_flag=True, help="不自动打开浏览器。")
def review(db: str | None, port: int, address: str, headless: bool) -> None:
    """打开复核界面（Streamlit），处理复核库中待复核的字段。

    界面只在本机监听（--address 可改），不收集使用统计，不向外发出任何请求。
    """
    import os
    from importlib import resources

    store = existing_store(db)  # migrated before the app opens it
    url = store.url
    store.close()
    app = resources.files("gouji_review").joinpath("app.py")
    shown = "localhost" if address in ("127.0.0.1", "0.0.0.0", "::") else address
    config = {
        **STREAMLIT_CONFIG,
        "server.port": str(port),
        "server.address": address,
        # Named, so Streamlit never looks up the machine's outside address.
        "browser.serverAddress": shown,
        "server.headless": "true" if headless else "false",
    }
    command = [sys.executable, "-m", "streamlit", "run", str(app)]
    for name, value in config.items():
        command += [f"--{name}", value]
    click.echo(f"复核库 {shown_url(url)}；界面地址 http://{shown}:{port}", err=True)
    sys.stderr.flush()
    # Become the server rather than wait on it: stopping `gouji review` stops the app.
    os.execve(sys.executable, command, {**os.environ, "GOUJI_DB": url})


@cli.command()
@click.argument(
    "records", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@db_option(help="从复核库导出（复核后的值替换抽取值）；默认 GOUJI_DB 或 sqlite:///gouji.db。")
@table_options(FORMATS)
@click.option("--chinese-header", is_flag=True, help="表头用中文标签（附键名）。")
@click.option(
    "--long", "long_format", is_flag=True, help="长表：每份报告每个字段一行，附状态和证人。"
)
def export(
    records: Path | None,
    db: str | None,
    fmt: str,
    output: Path,
    chinese_header: bool,
    long_format: bool,
) -> None:
    """导出抽取结果，每份报告一行。

    列为 SCHEMA.md 的键名，每个值后附它的状态（accepted 核对通过、review 待复核、
    reviewed 已复核、publisher_error 报告本身不一致）。给出 RECORDS（gouji extract
    写的 JSONL）时导出其中的抽取值；否则从复核库导出，已复核的值替换抽取值。跳过的
    文件（非年度报告、重复）不导出。
    """
    from .outputs.export import rows_from_records, rows_from_store, write
    from .storage.review import Review

    if records is not None:
        count = write(rows_from_records(records), fmt, output, chinese_header, long_format)
    else:
        store = existing_store(db)
        try:
            count = write(rows_from_store(Review(store)), fmt, output, chinese_header, long_format)
        finally:
            store.close()
    click.echo(f"已导出 {count} 份报告到 {output}", err=True)


@cli.command()
@click.argument("records", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option(help="从复核库生成（复核后的值优先）；默认 GOUJI_DB 或 sqlite:///gouji.db。")
@table_options(PANEL_FORMATS)
@click.option(
    "--overrides",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="CSV",
    help="机关名称人工修订表（CSV：agency,canonical,kind,jurisdiction,code,note），"
    "默认用 gouji 自带的一份。",
)
def panel(
    records: tuple[Path, ...], db: str | None, fmt: str, output: Path, overrides: Path | None
) -> None:
    """生成面板数据：每个机关每年一行。

    每行有规范机关名、类型、所属辖区与行政区划代码，200 个数值各带状态（accepted/reviewed/publisher_error/blank/unreadable/review）与出处
    （文件、sha256、原文链接与发布日期、页码、位置），以及派生指标（公式见 README）。

    给出 RECORDS（gouji extract 写的 JSONL，可多个）时用其中的抽取值；否则从复核库生成。
    """
    from .outputs import panel as panel_data
    from .outputs.export import write_table
    from .reading.agency import Overrides

    table = Overrides.load(overrides)
    if records:
        rows = panel_data.build(panel_data.from_records(records), table)
    else:
        store = existing_store(db)
        try:
            rows = panel_data.build(panel_data.from_store(store), table)
        finally:
            store.close()
    columns = list(panel_data.COLUMNS)
    count = write_table(columns, [[row.get(c) for c in columns] for row in rows], fmt, output)
    resolved = sum(1 for row in rows if row["agency.code"])
    click.echo(
        f"面板 {count} 行（机关 × 年度），其中 {resolved} 行有行政区划代码；"
        f"人工修订表 {table.label}；已写入 {output}",
        err=True,
    )


@cli.command("cluster")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@run_options
@db_option(required=True, help="共享复核库的 SQLAlchemy URL（集群上用 PostgreSQL）。")
@click.option(
    "--address",
    default=None,
    metavar="ADDRESS",
    help="Ray 集群地址（如 ray://head:10001 或 auto）；不填则在本机起一个。",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=ray_cluster.DEFAULT_WORKERS,
    show_default=True,
    metavar="N",
    help="Ray 上的并行工作者数。",
)
@settings_options
def cluster(
    paths: tuple[Path, ...],
    output: Path,
    quiet: bool,
    resume: bool,
    failed: Path | None,
    db: str,
    address: str | None,
    workers: int,
    settings: Settings,
) -> None:
    """在 Ray 集群上抽取 PATHS，记录写入共享的复核库。

    需安装 gouji[cluster]。各节点须能以相同路径读到这些文件（共享文件系统或挂载的
    存储桶）。

    退出码：每份报告都已读取时为 0；有报告失败时为 1；用法错误时为 2。
    """
    if not ray_cluster.available():
        raise click.UsageError("需要先安装集群依赖：pip install 'gouji[cluster]'")
    executor = ray_cluster.Ray(settings, address=address, workers=workers)
    sys.exit(
        _run(paths, settings, output, quiet, resume, failed, db, executor=executor, engine="ray")
    )


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    metavar="ADDRESS",
    help="监听地址；默认只有本机能访问。其他地址（如 0.0.0.0）须先设置环境变量 GOUJI_API_TOKEN，"
    "请求须带 Authorization: Bearer <令牌>。",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8502,
    show_default=True,
    metavar="N",
    help="端口；0 表示由系统选一个空闲端口（启动时打印）。",
)
@db_option()
@click.option(
    "--uploads",
    type=click.Path(file_okay=False, path_type=Path),
    default="gouji-uploads",
    show_default=True,
    metavar="DIR",
    help="上传文件的保存目录；复核界面从这里打开原文件。",
)
@count_option(
    "--workers",
    "同时抽取的报告数（不用 LLM 时为进程数）；默认：用 LLM 时 8，否则全部 CPU 核。",
    most=256,
)
@click.option(
    "--allow-private-callbacks",
    is_flag=True,
    help="允许回调本机和内网地址（默认拒绝，以免接口被用来访问内网）。",
)
@settings_options
def serve(
    host: str,
    port: int,
    db: str | None,
    uploads: Path,
    workers: int | None,
    allow_private_callbacks: bool,
    settings: Settings,
) -> None:
    """以 HTTP 接口提供抽取服务：POST /v1/documents 上传报告，GET /v1/documents/{id} 取回记录，
    GET /v1/documents 列出，GET /v1/panel 取面板数据；接口文档在 /docs。

    记录写入复核库（与 gouji extract --db 相同），复核后的值在 GET 中标为 reviewed。
    任务存在复核库中，服务重启后继续处理未完成的任务。
    """
    import os

    from .serving import api
    from .serving.service import Service, default_workers

    token = os.environ.get("GOUJI_API_TOKEN") or None
    problem = api.token_problem(host, token)
    if problem:
        raise click.UsageError(problem)
    try:
        sock = api.bind(host, port)
    except OSError as exc:
        raise click.ClickException(f"无法在 {host}:{port} 上监听：{exc.strerror or exc}") from None
    store = Store(db or None)
    uploads = uploads.resolve()
    workers = workers or default_workers(settings)
    service = Service(
        store, settings, uploads, workers, allow_private_callbacks=allow_private_callbacks,
        token=token,
    )  # fmt: skip
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{sock.getsockname()[1]}"
    click.echo(
        f"gouji serve 在 {address} 监听（接口文档 {address}/docs）；复核库 {shown_url(store.url)}；"
        f"上传目录 {uploads}；同时抽取 {workers} 份；"
        + ("需要访问令牌。" if token else "不需要访问令牌（只在本机监听）。"),
        err=True,
    )
    try:
        api.run(service, sock, token)
    except KeyboardInterrupt:  # uvicorn stops cleanly, then passes Ctrl-C on
        click.echo("已停止；未完成的任务留在队列中，下次启动时继续。", err=True)
    finally:
        store.close()


@cli.command("cross-year")
@click.argument(
    "records", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def cross_year(records: tuple[Path, ...]) -> None:
    """核对同一机关相邻年度的报告。

    RECORDS 为 gouji extract 写的 JSONL，可多个。上一年的“结转下年度”应等于下一年的
    “上年结转”；现行有效件数是否衔接、上年尚未审结的复议诉讼是否计入本年（仅提示）；
    表格或正文段落与上一年完全相同（请人核对是否照抄）。发现逐行以 JSONL 写到标准输出。
    """
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
