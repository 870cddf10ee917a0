"""The command line in Chinese: click's own words (usage, headings, help of ``--help``, every
argument error) and help pages laid out for Chinese text.

Click marks its messages for gettext but ships no Chinese catalogue, and it reads them
through the process-wide classic API (``from gettext import gettext as _`` in each of its
modules), which would follow the user's locale and change every other library too. So
``speaking_chinese`` points those module-level names at ``MESSAGES`` while a gouji command
runs, and restores them after: gouji speaks Chinese whatever the locale, and another click
program in the same process is left as it was. ``Command`` and ``Group`` (every gouji
command, the eval's too) run inside it and lay their help out with ``HelpFormatter``, which
measures a Chinese character as two columns and joins a paragraph's lines without the space
click would put between two Chinese characters.
"""

from __future__ import annotations

import gettext
import importlib
import pkgutil
import re
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache

import click

# Click's msgids (as its source writes them) → Chinese. ``tests/test_help.py`` keeps this
# equal to what the installed click can say, so an upgrade that adds a message is noticed.
MESSAGES = {
    # Help pages.
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本并退出。",
    "%(prog)s, version %(version)s": "%(prog)s 版本 %(version)s",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "required": "必填",
    "(dynamic)": "（动态）",
    "deprecated": "已弃用",
    "DeprecationWarning: The command {name!r} is deprecated.{extra_message}": (
        "提示：命令 {name!r} 已弃用。{extra_message}"
    ),
    "DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}": (
        "提示：{name!r} 已弃用。{extra_message}"
    ),
    # Usage errors.
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "用 '{command} {option}' 查看帮助。",
    "Missing command.": "缺少命令。",
    "No such command {name!r}.": "没有 {name!r} 这个命令。",
    "No such option {name!r}.": "没有 {name!r} 这个选项。",
    "Did you mean {possibility}?": "是不是 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（是不是其中之一：{possibilities}？）",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Invalid value: {message}": "值无效：{message}",
    "Got unexpected extra argument ({args})": "多出了参数（{args}）",
    "Got unexpected extra arguments ({args})": "多出了参数（{args}）",
    "Option {name!r} does not take a value.": "选项 {name!r} 不带值。",
    "Option {name!r} requires an argument.": "选项 {name!r} 需要一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name!r} 需要 {nargs} 个值。",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 需要 {nargs} 个值。",
    "Takes {nargs} values but 1 was given.": "需要 {nargs} 个值，只给了 1 个。",
    "Takes {nargs} values but {len} were given.": "需要 {nargs} 个值，给了 {len} 个。",
    "{len_type} values are required, but {len_value} was given.": (
        "需要 {len_type} 个值，给了 {len_value} 个。"
    ),
    "{len_type} values are required, but {len_value} were given.": (
        "需要 {len_type} 个值，给了 {len_value} 个。"
    ),
    "Value must be an iterable.": "值必须是一组值。",
    "Invalid start character for option ({option})": "选项的首字符无效（{option}）",
    # Values of a type.
    "{value!r} is not {choice}.": "{value!r} 无效，只能是 {choice}。",
    "{value!r} is not one of {choices}.": "{value!r} 不是可选值（{choices}）之一。",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "{value} is not in the range {range}.": "{value} 不在范围 {range} 内。",
    # The number type's own name (integer, float) is English: the sentence goes without it.
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的数。",
    "{value!r} is not a valid boolean. Recognized values: {states}": (
        "{value!r} 不是有效的是非值，可用：{states}"
    ),
    "{value!r} is not a valid UUID.": "{value!r} 不是有效的 UUID。",
    "{value!r} does not match the format {format}.": "{value!r} 不符合格式 {format}。",
    "{value!r} does not match the formats {formats}.": "{value!r} 不符合格式 {formats} 中的任何一种。",
    # A path's kind (file, directory) is named when the option is defined, before a
    # command runs: these sentences go without it.
    "file": "文件",
    "directory": "文件夹",
    "path": "路径",
    "{name} {filename!r} does not exist.": "{filename!r} 不存在。",
    "{name} {filename!r} is a file.": "{filename!r} 是文件，这里要的是文件夹。",
    "{name} {filename!r} is a directory.": "{filename!r} 是文件夹，这里要的是文件。",
    "{name} {filename!r} is not readable.": "{filename!r} 不可读。",
    "{name} {filename!r} is not writable.": "{filename!r} 不可写。",
    "{name} {filename!r} is not executable.": "{filename!r} 不可执行。",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "unknown error": "未知错误",
    # The terminal.
    "Aborted!": "已中止。",
    "d": "天",
    "Do you want to continue?": "要继续吗？",
    "Confirm the action without prompting.": "不经询问直接确认。",
    "Press any key to continue...": "按任意键继续……",
    "Repeat for confirmation": "再输入一次以确认",
    "Error: The two entered values do not match.": "错误：两次输入的值不一致。",
    "Error: invalid input": "错误：输入无效",
    "{editor}: Editing failed": "{editor}：编辑失败",
    "{editor}: Editing failed: {e}": "{editor}：编辑失败：{e}",
    "Shell completion is not supported for Bash versions older than 4.4.": (
        "Bash 4.4 以前的版本不支持命令补全。"
    ),
    "Couldn't detect Bash version, shell completion is not supported.": (
        "无法确定 Bash 的版本，不支持命令补全。"
    ),
}


def _gettext(message: str) -> str:
    return MESSAGES.get(message, message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return _gettext(singular if n == 1 else plural)


@cache
def _click_modules() -> tuple:
    """Every module of click, imported now so that none binds gettext after the switch."""
    modules = []
    for info in pkgutil.iter_modules(click.__path__):
        try:
            modules.append(importlib.import_module(f"click.{info.name}"))
        except (ImportError, AssertionError):  # _winconsole asserts that it runs on Windows
            continue
    return tuple(modules)


@contextmanager
def speaking_chinese() -> Iterator[None]:
    """Click's messages in Chinese for the duration; the gettext functions it bound are put
    back after."""
    switched = []
    for module in _click_modules():
        names = vars(module)
        for name, original, chinese in (
            ("_", gettext.gettext, _gettext),
            ("ngettext", gettext.ngettext, _ngettext),
        ):
            if names.get(name) is original:
                setattr(module, name, chinese)
                switched.append((module, name, original))
    try:
        yield
    finally:
        for module, name, original in switched:
            setattr(module, name, original)


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF"


def width(text: str) -> int:
    """Columns ``text`` takes on a terminal: a wide (Chinese) character takes two."""
    return sum(2 if _wide(c) else 1 for c in text)


# A line may break before or after any Chinese character and at spaces, never inside a
# run of other characters (an option, a path, a number), before a closing mark or after
# an opening one.
_OPENING = "（《「“‘"
_CLOSING = "）》」”’，。；：、！？"


def _pieces(text: str) -> list[str]:
    """``text`` cut where a line may break, each piece with the spaces that follow it."""
    pieces: list[str] = []
    opening = ""
    for char in text:
        last = pieces[-1][-1] if pieces else ""
        if char in _OPENING:
            opening += char
        elif (
            pieces
            and not opening
            and (
                char in _CLOSING
                or char.isspace()
                or not (_wide(char) or _wide(last) or last.isspace())
            )
        ):
            pieces[-1] += char
        else:
            pieces.append(opening + char)
            opening = ""
    return pieces + [opening] if opening else pieces


def _spaced(left: str, right: str) -> bool:
    """Whether two characters that a line break parts stand apart by a space: not between
    two Chinese characters, nor beside a full-width mark (Chinese and other text are spaced
    apart in gouji's writing, as in "内置 OCR 识读")."""
    marks = [unicodedata.category(c).startswith("P") for c in (left, right) if _wide(c)]
    return not (_wide(left) and _wide(right)) and not any(marks)


def _join(lines: Sequence[str]) -> str:
    """A paragraph's lines as one line."""
    out = ""
    for line in (line.strip() for line in lines):
        if out and line and _spaced(out[-1], line[0]):
            out += " "
        out += line
    return out


def wrap(text: str, columns: int) -> list[str]:
    """``text`` (one paragraph) in lines of at most ``columns`` terminal columns."""
    lines, line = [], ""
    for piece in _pieces(text):
        if line and width(line + piece.rstrip()) > columns:
            lines.append(line.rstrip())
            line = ""
        line += piece
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _as_laid_out(text: str, columns: int) -> str:
    """``text`` with each paragraph wrapped to ``columns`` and marked for click to leave as
    it is (a paragraph that begins with ``\\b`` already is)."""
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", text.strip("\n")):
        lines = paragraph.splitlines()
        if lines[0].strip() == "\b":
            paragraphs.append(paragraph)
        else:
            paragraphs.append("\b\n" + "\n".join(wrap(_join(lines), columns)))
    return "\n\n".join(paragraphs)


class HelpFormatter(click.HelpFormatter):
    """Click's help layout, with Chinese text measured and joined as Chinese and headings
    followed by a full-width colon."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        # "用法：" wants no space after its colon; click's default prefix adds one.
        super().write_usage(prog, args, MESSAGES["Usage:"] if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading}：\n")

    def write_text(self, text: str) -> None:
        super().write_text(_as_laid_out(text, self.width - self.current_indent))

    def write_dl(
        self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        rows = list(rows)
        # The second column's width as click computes it, to wrap the text to it first.
        first = min(max((width(row[0]) for row in rows), default=0), col_max) + col_spacing
        columns = max(self.width - first - 2, 10)
        laid_out = [(term, _as_laid_out(text, columns) if text else text) for term, text in rows]
        super().write_dl(laid_out, col_max, col_spacing)


class Context(click.Context):
    formatter_class = HelpFormatter


class Command(click.Command):
    """A gouji command: it runs speaking Chinese and lays its help out for Chinese text.
    Commands that packages add through the ``gouji.commands`` entry point use it too."""

    context_class = Context

    def __init__(self, *args, options_metavar: str | None = "[选项]", **kwargs) -> None:
        super().__init__(*args, options_metavar=options_metavar, **kwargs)

    def main(self, *args, **kwargs):
        with speaking_chinese():
            return super().main(*args, **kwargs)

    def get_short_help_str(self, limit: int = 45) -> str:
        """The help's first sentence (click's own cuts Chinese text off mid-sentence: it looks
        for an English full stop and counts a Chinese character as one column)."""
        if self.short_help:
            return self.short_help
        first = _join((self.help or "").split("\n\n", 1)[0].splitlines())
        return first.split("。", 1)[0] + "。" if "。" in first else first


class Group(Command, click.Group):
    """A group of gouji commands (``gouji`` itself)."""

    command_class = Command

    def __init__(self, *args, subcommand_metavar: str | None = "命令 [参数]...", **kwargs) -> None:
        super().__init__(*args, subcommand_metavar=subcommand_metavar, **kwargs)
