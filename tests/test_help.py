"""Every ``--help`` page and every usage error as a user reads them: in Chinese, click's own
words included, with nothing pasted in from the code, one paragraph on exit codes where a
command has them, and lines that fit the terminal."""

import ast
import inspect
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from gouji.cli import cli
from gouji.cli_chinese import MESSAGES, Command, width

from conftest import shared_path

CJK = re.compile(r"[\u4e00-\u9fff]")


def _commands(group: click.Group = cli, path: tuple[str, ...] = ()):
    """(path, command) for gouji and every command and subcommand under it, the ones
    installed packages add through the entry point included."""
    yield path, group
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


COMMANDS = list(_commands())
NAMES = [" ".join(("gouji", *path)) for path, _ in COMMANDS]


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_eval_commands_added_through_the_entry_point_are_among_them():
    assert {"gouji eval", "gouji gold", "gouji extract", "gouji review"} <= set(NAMES)
    assert all(isinstance(command, Command) for _, command in COMMANDS), NAMES


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=NAMES)
def test_each_help_page_is_chinese_and_holds_no_code(path, command):
    page = _help(path)
    assert page.startswith(f"用法：{' '.join(('gouji', *path))} [选项]")
    assert "选项：" in page and "-h, --help  " in page and "显示本帮助并退出。" in page
    # Click's own words, as its English catalogue has them, are not on the page.
    for english in ("Usage:", "Options:", "Commands:", "Show this message", "[default:",
                    "[required]", "env var:", "Show the version"):  # fmt: skip
        assert english not in page, english
    # Nothing pasted from the code (the fragment `), click.option(` once stood in a help).
    code = re.compile(r"click\.|^\s*\)|\)\s*,\s*$|\"\"\"|\bdef |lambda|\w+=\w+\(")
    assert [line for line in page.splitlines() if code.search(line)] == []
    # Options show what they take (N, FILE, URL …), not click's type names.
    assert not re.search(r"\b(TEXT|INTEGER|FLOAT|BOOLEAN|RANGE|DIRECTORY)\b", page)
    # Chinese is laid out as Chinese: the page fits 80 columns (a Chinese character takes
    # two) and a line break in the source leaves no space between two Chinese characters.
    assert [line for line in page.splitlines() if width(line) > 80] == []
    assert not re.search(r"[\u4e00-\u9fff，。；：、] +[\u4e00-\u9fff]", page), page


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=NAMES)
def test_each_option_has_chinese_help(path, command):
    shown = [p for p in command.params if isinstance(p, click.Option) and not p.hidden]
    assert [p.name for p in shown if not CJK.search(p.help or "")] == []


@pytest.mark.parametrize(("path", "command"), COMMANDS[1:], ids=NAMES[1:])
def test_a_command_that_sets_its_exit_code_says_so_in_one_paragraph(path, command):
    paragraphs = [p for p in inspect.cleandoc(command.help or "").split("\n\n")]
    about_exits = [p for p in paragraphs if "退出码" in p]
    exits = "sys.exit(" in inspect.getsource(command.callback)
    assert len(about_exits) == (1 if exits else 0), about_exits
    assert all(p.startswith("退出码：") for p in about_exits)
    if exits:
        assert "退出码：" in _help(path)


def test_the_command_list_shows_each_commands_whole_first_sentence():
    page = _help(())
    listed = page.split("命令：\n", 1)[1]
    for path, command in COMMANDS[1:]:
        first = command.get_short_help_str()
        assert first.endswith("。") and "..." not in first
        assert re.sub(r"\s+", "", first) in re.sub(r"\s+", "", listed), path


def _msgids() -> set[str]:
    """Every message click marks for translation, read from the installed click's source."""
    found = set()
    for path in Path(click.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("_", "ngettext"):
                count = 2 if node.func.id == "ngettext" else 1
                found |= {
                    a.value for a in node.args[:count] if isinstance(a, ast.Constant) and a.value
                }
    return found


# Click's messages for the programmer of a command, raised while commands are defined (or
# on Windows): a gouji user never meets them.
FOR_PROGRAMMERS = {
    "Name '{name}' defined twice",
    "Boolean option {decl!r} cannot use the same flag for true/false.",
    "Could not determine name for option with declarations {decls!r}",
    "No options defined but a name was passed ({name}). Did you mean to declare an argument "
    "instead? Did you mean to pass '--{name}'?",
    "Arguments take exactly one parameter declaration, got {length}: {decls}.",
    "Choice({choices})",
    "Unknown color {colour!r}",
    "Unknown standard stream '{name}'",
    "Windows error: {error}",
}


def test_every_message_click_can_show_a_user_has_its_chinese():
    # One message goes to gettext through a variable: ``_(extra["required"])``.
    msgids = _msgids() | {"required"}
    assert len(msgids) > 60  # the source was read
    assert sorted(msgids - FOR_PROGRAMMERS - set(MESSAGES)) == []
    assert sorted(set(MESSAGES) - msgids) == []  # none stale after a click upgrade


@pytest.fixture
def report(tmp_path):
    path = tmp_path / "report.txt"
    path.write_text(shared_path("seeds", "002_58d1e0dbcfc9fbf4.txt").read_text("utf-8"), "utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["extract"], "错误：缺少参数 'PATHS...'"),
        (["extract", "/no/such/report.txt"], "错误：'PATHS...' 的值无效：'/no/such/report.txt' 不存在。"),
        (["extract", "{report}", "--bogus"], "错误：没有 '--bogus' 这个选项。"),
        (["extract", "{report}", "--verbos"], "是不是 '--verbose'？"),
        (["extract", "{report}", "--workers", "0"], "'--workers' 的值无效：0 不在范围 1<=x<=256 内。"),
        (["extract", "{report}", "--workers", "many"], "'--workers' 的值无效：'many' 不是有效的数。"),
        (["extract", "{report}", "--workers"], "选项 '--workers' 需要一个值。"),
        (["extract", "{report}", "--ocr", "maybe"], "'maybe' 不是可选值（'auto', 'off'）之一。"),
        (["extract", "{report}", "--limits", "pages=many"], "错误："),
        (["extract", "{report}", "--resume"], "--resume 需要用 -o 指定输出文件"),
        (["eval", "--set", "nope"], "'--set' 的值无效：'nope' 不是可选值（'seeds', 'real', 'generated'"),
        # click ends this sentence with its own full stop, outside any message it translates.
        (["export", "{report}"], "错误：缺少选项 '-o' / '--output'."),
        (["export", "{report}", "-o", "/"], "'/' 是文件夹，这里要的是文件。"),
        (["cross-year"], "错误：缺少参数 'RECORDS...'"),
        (["extrct"], "错误：没有 'extrct' 这个命令。 （是不是其中之一：'export', 'extract'？）"),
    ],
)  # fmt: skip
def test_usage_errors_are_one_chinese_line_with_status_two(args, says, report):
    result = CliRunner().invoke(cli, [a.format(report=report) for a in args])
    assert result.exit_code == 2, result.output
    assert says in result.stderr
    lines = result.stderr.splitlines()
    assert [line for line in lines if line.startswith("错误：")] == [lines[-1]]
    if len(lines) > 1:  # the usage, where click knows the command
        assert lines[0].startswith("用法：gouji") and "查看帮助" in lines[1]
    english = r"\b(Error|Usage|Invalid|Missing|No such|does not|is not|Try|Did you mean|Got)\b"
    assert not re.search(english, result.stderr), result.stderr


def test_click_speaks_english_again_outside_gouji():
    """gouji's Chinese lasts while its command runs: another click program in the same
    process keeps its own words."""
    other = click.Command("other", params=[click.Option(["--n"], type=int)])
    assert "Error" not in CliRunner().invoke(cli, ["extract"]).stderr
    result = CliRunner().invoke(other, ["--n", "x"])
    assert "Usage: other [OPTIONS]" in result.output
    assert "Error: Invalid value for '--n': 'x' is not a valid integer." in result.output
