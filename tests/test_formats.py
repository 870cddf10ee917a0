"""The input-format registry: one table that discovery, the loader, the crawl, twins, the
review app, ``--help`` and README read; a new format is one module and one entry, added in
code or by an installed package's entry point."""

import gzip
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from gouji.cli import cli
from gouji.errors import UnsupportedFormat
from gouji.inputs import formats
from gouji.inputs.discover import iter_documents
from gouji.inputs.formats import Format, Reading
from gouji.inputs.text import SourceText
from gouji.running.pipeline import extract_file
from gouji.running.settings import Settings
from gouji_eval.generate import generate

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture
def report():
    return generate(3, layout="tab_rows", variants=(), inject_error=False)


@pytest.fixture
def fresh_registry():
    """The installed packages' formats read again before and after the test."""
    formats.reload()
    yield
    formats.reload()


def read_gzipped(reading: Reading) -> formats.Loaded:
    """A throwaway format: a report's UTF-8 text, gzip-compressed."""
    text = gzip.decompress(reading.data).decode("utf-8")
    return reading.loaded(SourceText.from_text(text), notes=["gzip 解压后读取"])


GZIPPED = Format("gzipped", (".txtz",), read_gzipped, "gzip 压缩的纯文本")


@pytest.fixture
def gzipped():
    formats.register(GZIPPED)
    yield GZIPPED
    formats.unregister(GZIPPED)


def test_every_builtin_suffix_has_one_format_and_each_says_what_it_gives():
    table = formats.table()
    assert table[".txt"].name == "text" and table[".md"].name == "markdown"
    assert {s for s, f in table.items() if f.pages} == {
        ".pdf",
        ".png",
        ".jpg",
        ".jpeg",
        ".tif",
        ".tiff",
    }
    assert {s for s, f in table.items() if f.markup} == {".html", ".htm", ".xhtml", ".mhtml"}
    assert {f.name for f in table.values() if f.twin == "rich"} == {"html"}
    assert {f.name for f in table.values() if f.twin == "flat"} == {"text", "markdown"}
    assert formats.find("a/B.PDF").name == "pdf"  # suffixes match in any case
    assert formats.find("notes.pptx") is None and formats.find("README") is None
    with pytest.raises(UnsupportedFormat, match="不支持的文件类型 .pptx"):
        formats.of("deck.pptx")


def test_a_format_refuses_suffixes_it_could_never_match():
    with pytest.raises(ValueError, match="lower case"):
        Format("bad", ("TXT",), read_gzipped, "…")
    with pytest.raises(ValueError, match="twin"):
        Format("bad", (".x",), read_gzipped, "…", twin="richer")


def _readme_formats() -> dict[str, tuple[tuple[str, ...], str, str, str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## What `gouji extract` does\n", 1)[1].split("\n## ", 1)[0]
    table = section.split("| format |", 1)[1].split("\n\n", 1)[0]
    listed = {}
    for line in table.splitlines()[2:]:
        name, suffixes, _, pages, markup, twin = (c.strip() for c in line.strip("|").split("|"))
        listed[name.strip("`")] = (tuple(re.findall(r"`([^`]+)`", suffixes)), pages, markup, twin)
    return listed


def test_readme_lists_the_registrys_formats_and_no_other():
    def yes(flag: bool) -> str:
        return "yes" if flag else ""

    assert _readme_formats() == {
        f.name: (s, yes(f.pages), yes(f.markup), f.twin or "") for f, s in formats.every().items()
    }


def test_extract_help_lists_the_registrys_formats():
    result = CliRunner().invoke(cli, ["extract", "--help"])
    for fmt, suffixes in formats.every().items():
        assert f"{' '.join(suffixes)}：{fmt.description}" in result.output


def test_a_format_added_in_code_is_discovered_read_and_fingerprinted(gzipped, report, tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "report.txtz").write_bytes(gzip.compress(report.text.encode("utf-8")))
    (folder / "ignored.pptx").write_bytes(b"PK\x03\x04")
    assert [p.name for p in iter_documents([folder])] == ["report.txtz"]
    assert formats.added() == ["gzipped@python"]
    record = extract_file(folder / "report.txtz")
    assert record["status"] == "ok", record["error"]
    assert record["fields"] == report.gold["fields"]
    assert record["notes"][0] == "gzip 解压后读取"

    output = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["extract", str(folder), "-o", str(output), "-q"])
    assert result.exit_code == 0, result.output
    (line,) = output.read_text(encoding="utf-8").splitlines()
    ran = json.loads(line)
    assert ran["fields"] == report.gold["fields"]
    assert ran["settings"] == Settings().fingerprint()
    formats.unregister(gzipped)
    assert ran["settings"] != Settings().fingerprint()  # gouji's own readers make other records


def test_a_format_added_later_takes_a_suffix_over_and_gives_it_back(report, tmp_path):
    path = tmp_path / "report.txt"
    path.write_bytes(gzip.compress(report.text.encode("utf-8")))
    assert extract_file(path)["error"].startswith("input.binary: ")
    takeover = Format("gzipped-txt", (".txt",), read_gzipped, "…")
    formats.register(takeover)
    try:
        assert formats.find(path).name == "gzipped-txt"
        assert extract_file(path)["fields"] == report.gold["fields"]
        assert "text" in {f.name for f in formats.every()}  # .text is still text's
    finally:
        formats.unregister(takeover)
    assert formats.find(path).name == "text"


def test_a_reader_that_breaks_costs_its_document_only(tmp_path):
    def broken(reading: Reading) -> formats.Loaded:
        raise RuntimeError("reader bug")

    fmt = Format("broken", (".brk",), broken, "…")
    formats.register(fmt)
    try:
        (tmp_path / "a.brk").write_text("x", encoding="utf-8")
        record = extract_file(tmp_path / "a.brk")
    finally:
        formats.unregister(fmt)
    assert record["status"] == "failed"
    assert record["error"] == "internal.error: RuntimeError: reader bug"


PLUGIN = '''
"""A third party's format: a report exported as JSON, {"lines": [...]}."""
import json

from gouji import Format, SourceText


def read(reading):
    lines = json.loads(reading.data)["lines"]
    return reading.loaded(SourceText.from_text("\\n".join(lines)))


FORMAT = Format("report-json", (".rjson",), read, "JSON 导出的报告（第三方插件）")
BROKEN = "not a Format"
'''


def _fake_distribution(site: Path, entry_points: str) -> None:
    """A package installed on ``site``: its module and its dist-info, as pip leaves them."""
    site.mkdir(exist_ok=True)
    (site / "gouji_report_json.py").write_text(PLUGIN, encoding="utf-8")
    info = site / "gouji_report_json-1.2.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: gouji-report-json\nVersion: 1.2\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points), encoding="utf-8")


def test_an_installed_packages_format_is_read_through_its_entry_point(
    fresh_registry, report, tmp_path, monkeypatch
):
    site = tmp_path / "site"
    _fake_distribution(
        site,
        """
        [gouji.inputs.formats]
        report-json = gouji_report_json:FORMAT
        not-a-format = gouji_report_json:BROKEN
        missing = gouji_report_json_gone:FORMAT
        """,
    )
    monkeypatch.syspath_prepend(str(site))
    formats.reload()
    assert formats.find("x.rjson").origin == "gouji-report-json==1.2"
    assert formats.added() == ["report-json@gouji-report-json==1.2"]  # the broken ones left out
    path = tmp_path / "export.rjson"
    path.write_text(json.dumps({"lines": report.text.split("\n")}), encoding="utf-8")
    record = extract_file(path)
    assert record["status"] == "ok" and record["fields"] == report.gold["fields"]


def test_a_gouji_process_finds_an_installed_format_for_discovery_help_and_reading(report, tmp_path):
    site = tmp_path / "site"
    _fake_distribution(site, "[gouji.inputs.formats]\nreport-json = gouji_report_json:FORMAT\n")
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "a.rjson").write_text(
        json.dumps({"lines": report.text.split("\n")}), encoding="utf-8"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    gouji = [sys.executable, "-m", "gouji.cli"]
    shown = subprocess.run([*gouji, "extract", "--help"], capture_output=True, text=True, env=env)
    assert ".rjson：JSON 导出的报告（第三方插件）" in shown.stdout
    output = tmp_path / "out.jsonl"
    ran = subprocess.run(
        [*gouji, "extract", str(folder), "-o", str(output), "-q"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert ran.returncode == 0, ran.stderr
    record = json.loads(output.read_text(encoding="utf-8"))
    assert record["document"].endswith("a.rjson")
    assert record["fields"] == report.gold["fields"]
