"""``gouji extract`` as a user runs it: files and folders, JSONL out, exit codes, summary."""

import ast
import json
import re
from pathlib import Path

import click
from click.testing import CliRunner

from gouji.cli import cli

from conftest import shared_path


def test_extract_folder_keeps_going_past_bad_files(tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    seed = shared_path("seeds", "002_58d1e0dbcfc9fbf4.txt")
    (folder / "good.txt").write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    (folder / "sub").mkdir()
    (folder / "sub" / "also_good.txt").write_bytes(
        seed.read_text(encoding="utf-8").encode("gb18030")
    )
    (folder / "notes.json").write_text("{}", encoding="utf-8")  # not a report file: skipped
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["extract", str(folder), "-o", str(out)])
    assert result.exit_code == 1
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["status"] for r in records] == ["failed", "ok", "ok"]
    assert records[0]["error"] == "input.empty: 文件为空"
    assert records[2]["fields"]["s4.review.total"] == 2
    assert "报告 3 份，失败 1 份" in result.output


def test_extract_all_good_exits_zero(tmp_path):
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        cli, ["extract", str(shared_path("seeds")), "-o", str(out), "--quiet"]
    )
    assert result.exit_code == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2


def test_usage_error_exits_two(tmp_path):
    assert CliRunner().invoke(cli, ["extract"]).exit_code == 2
    assert CliRunner().invoke(cli, ["extract", str(tmp_path / "missing")]).exit_code == 2
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    assert CliRunner().invoke(cli, ["extract", str(empty)]).exit_code == 2


README = Path(__file__).resolve().parents[1] / "README.md"
_OPTION = re.compile(r"(?<![\w-])--?[a-z][a-z-]*")


def _synopses() -> dict[str, set[str]]:
    """Each command's options as README's synopsis blocks (fenced, no language) give them;
    ``[LLM options…]`` stands for the options of README's LLM table."""
    text = README.read_text(encoding="utf-8")
    table = text.split("\n## A second witness", 1)[1].split("\n## ", 1)[0]
    llm_options = {
        option
        for line in table.splitlines()
        if line.startswith("| `-")
        for option in _OPTION.findall(line.split("|")[1])
    }
    found: dict[str, set[str]] = {}
    for block in re.findall(r"\n```\n(gouji .*?)\n```", text, re.S):
        command = None
        for line in block.splitlines():
            if line.startswith("gouji "):
                command = line.split()[1]
                found.setdefault(command, set())
            found[command] |= set(_OPTION.findall(line))
            if "[LLM options" in line:
                found[command] |= llm_options
    return found


def test_readme_synopses_match_each_commands_help():
    context = click.Context(cli)
    documented = _synopses()
    assert sorted(documented) == cli.list_commands(context)
    for name, options in documented.items():
        command = cli.get_command(context, name)
        help_text = CliRunner().invoke(cli, [name, "--help"]).output
        shown = [p for p in command.params if p.opts[0].startswith("-") and not p.hidden]
        assert all(p.opts[-1] in help_text for p in shown)
        # Every option --help shows is in the synopsis (by either of its names), and the
        # synopsis names no other.
        assert [p.name for p in shown if not options & {*p.opts, *p.secondary_opts}] == [], name
        names = {o for p in command.params if not getattr(p, "hidden", False) for o in p.opts}
        assert options <= names, (name, options - names)


def test_gouji_imports_no_package_built_on_it():
    """gouji_eval and the review app import gouji; gouji imports neither (it finds the eval's
    commands through an entry point), so there is no cycle between the packages."""
    package = Path(__file__).resolve().parents[1] / "extractor"
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else []
            else:
                continue
            assert not any(n.split(".")[0].startswith("gouji_") for n in names), (path, names)
    assert {c for c in cli.list_commands(click.Context(cli))} >= {"eval", "gold", "extract"}


def test_cluster_without_ray_is_a_usage_error(tmp_path, monkeypatch):
    from gouji.running import cluster

    monkeypatch.setattr(cluster.importlib.util, "find_spec", lambda name: None)
    result = CliRunner().invoke(cli, ["cluster", str(tmp_path), "--db", "sqlite://"])
    assert result.exit_code == 2
    assert "pip install 'gouji[cluster]'" in result.output
