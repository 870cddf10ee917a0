"""Checks across one agency's consecutive years."""

import json

from click.testing import CliRunner

from gouji import crossyear
from gouji.cli import cli
from gouji.pipeline import extract_file
from gouji.template import S3_COLUMNS
from gouji_eval.generate import generate

from conftest import shared_path


def test_hongze_2023_hands_over_to_2024_and_names_match_across_prefixes():
    records = [extract_file(shared_path("realdocs", f"hongze_{y}.pdf")) for y in (2023, 2024)]
    summaries = [crossyear.summarise(r) for r in records]
    assert {s.agency for s in summaries} == {"洪泽区人民政府"}  # 淮安市 dropped
    assert crossyear.check(summaries) == []


def _pair(tmp_path):
    """Two reports of one agency, 2022 and 2023, written as a user's folder."""
    paths = []
    for year, seed in ((2022, 11), (2023, 12)):
        report = generate(seed, layout="tab_rows", variants=(), inject_error=False)
        text = report.text.replace(report.gold["meta.agency"], "青禾区人民政府")
        text = text.replace(f"{report.gold['meta.year']}年", f"{year}年")
        path = tmp_path / f"qinghe_{year}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def test_a_broken_hand_over_is_reported_beside_the_output(tmp_path):
    paths = _pair(tmp_path)
    records = [extract_file(p) for p in paths]
    last, this = (crossyear.summarise(r) for r in records)
    expected = [
        c
        for c in S3_COLUMNS
        if last.values[f"s3.carried_forward.{c}"] != this.values[f"s3.carried_over.{c}"]
    ]
    out = tmp_path / "out.jsonl"
    db = f"sqlite:///{tmp_path / 'x.db'}"
    result = CliRunner().invoke(cli, ["extract", str(tmp_path), "-o", str(out), "--db", db])
    assert result.exit_code == 0, result.output
    sidecar = [
        json.loads(line) for line in (tmp_path / "out.cross_year.jsonl").read_text().splitlines()
    ]
    carried = [f for f in sidecar if f["rule"] == "cross_year.carried"]
    assert [f["keys"][0].split(".")[-1] for f in carried] == expected and expected
    assert all(f["document"].endswith("qinghe_2023.txt") for f in sidecar)
    assert "2022 年报告结转下年度" in carried[0]["message"]
    from gouji.review import Review
    from gouji.store import Store

    store = Store(db)
    items = {i.key for i in Review(store).items() if i.rule == "cross_year.carried"}
    assert items == {f"s3.carried_over.{c}" for c in expected}
    assert not [
        i for i in Review(store).items() if i.rule == "cross_year.in_force"
    ]  # warnings only
    listed = CliRunner().invoke(cli, ["cross-year", str(out)])
    assert len([line for line in listed.output.splitlines() if line.startswith("{")]) == len(
        sidecar
    )
