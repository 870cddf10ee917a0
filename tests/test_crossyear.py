"""Checks across one agency's consecutive years."""

import json

from click.testing import CliRunner

from gouji.checking import crossyear
from gouji.cli import cli
from gouji.running.pipeline import extract_file
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
    from gouji.storage.review import Review
    from gouji.storage.store import Store

    store = Store(db)
    items = {i.key for i in Review(store).reads.items() if i.rule == "cross_year.carried"}
    assert items == {f"s3.carried_over.{c}" for c in expected}
    assert not [
        i for i in Review(store).reads.items() if i.rule == "cross_year.in_force"
    ]  # warnings only
    listed = CliRunner().invoke(cli, ["cross-year", str(out)])
    assert len([line for line in listed.output.splitlines() if line.startswith("{")]) == len(
        sidecar
    )


# ---- built from the 平潭 corpus: a year's table or paragraph copied into the next ----------
def _corpus(name):
    return shared_path("realcorpus", name).read_text(encoding="utf-8")


def _region(text, part):
    from gouji.inputs.text import SourceText
    from gouji.reading import sections

    source = SourceText.from_text(text)
    return source.raw_span(*sections.find(source.view).regions[part])


def _run(tmp_path, texts: dict[str, str]):
    """``gouji extract`` over the texts as a user's folder, into a store; the cross-year
    findings and the store."""
    from gouji.storage.store import Store

    folder = tmp_path / "reports"
    folder.mkdir()
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    db = f"sqlite:///{tmp_path / 'x.db'}"
    result = CliRunner().invoke(cli, ["extract", str(folder), "-o", str(out), "--db", db])
    assert result.exit_code == 0, result.output
    sidecar = tmp_path / "out.cross_year.jsonl"
    found = [json.loads(x) for x in sidecar.read_text().splitlines()] if sidecar.exists() else []
    return found, Store(db)


def test_pingtan_as_published_has_no_copied_table_or_prose(tmp_path):
    texts = {f"pt_{y}.txt": _corpus(f"pt_{y}_ptsyq_1.txt") for y in (2023, 2024, 2025)}
    found, _ = _run(tmp_path, texts)
    assert not [
        f for f in found if f["rule"] in ("cross_year.same_table", "cross_year.copied_prose")
    ]


def test_a_table_copied_from_last_year_is_found_and_goes_to_review(tmp_path):
    before, after = _corpus("pt_2023_ptsyq_1.txt"), _corpus("pt_2024_ptsyq_1.txt")
    (a, b), (c, d) = _region(before, "s3"), _region(after, "s3")
    copied = after[:c] + before[a:b] + after[d:]  # 2024 prints 2023's part 三 table
    found, store = _run(tmp_path, {"pt_2023.txt": before, "pt_2024.txt": copied})
    (same,) = [f for f in found if f["rule"] == "cross_year.same_table"]
    assert same["document"].endswith("pt_2024.txt") and same["keys"] == ["s3.new_received.total"]
    assert "第三部分（依申请公开）的表格与 2023 年报告完全相同" in same["message"]
    from gouji.storage.review import Filter, Review

    doc = next(d for d in store.documents() if d.path.endswith("pt_2024.txt"))
    assert _stored_findings(store, doc.id, "cross_year.same_table") == [same["message"]]
    queued = {i.key for i in Review(store).reads.items(Filter(document_id=doc.id))}
    assert "s3.new_received.total" in queued


def _stored_findings(store, doc_id, rule):
    from sqlalchemy import select

    t = store.t.findings
    with store.engine.connect() as conn:
        return list(
            conn.execute(
                select(t.c.message).where(t.c.document_id == doc_id, t.c.rule == rule)
            ).scalars()
        )


def test_a_paragraph_copied_from_last_year_is_found(tmp_path):
    before, after = _corpus("pt_2023_ptsyq_1.txt"), _corpus("pt_2024_ptsyq_1.txt")
    start = before.index("（一）主动公开方面")
    paragraph = before[start : before.index("（二）", start)]  # 2023's paragraph on 主动公开
    assert len(paragraph) > 200
    at = after.index("（一）")
    copied = after[:at] + paragraph + after[at:]
    found, store = _run(tmp_path, {"pt_2023.txt": before, "pt_2024.txt": copied})
    (prose,) = [f for f in found if f["rule"] == "cross_year.copied_prose"]
    assert prose["document"].endswith("pt_2024.txt") and "与 2023 年报告相同" in prose["message"]
    assert "“（一）主动公开方面平潭综合实验区…”" in prose["message"]
    doc = next(d for d in store.documents() if d.path.endswith("pt_2024.txt"))
    assert _stored_findings(store, doc.id, "cross_year.copied_prose") == [prose["message"]]
    assert not [f for f in found if f["rule"] == "cross_year.same_table"]


def _set_cells(html: str, label: str, cells: dict[int, str]) -> str:
    """The HTML with the n-th value cell after ``label`` set to a new digit."""
    import re

    at = html.index(label)
    tds = list(re.finditer(r"<td[^>]*>(.*?)</td>", html[at:], re.S))
    for n, value in sorted(cells.items(), reverse=True):
        td = tds[n]
        inner = re.sub(r">(\s*)0(\s|&nbsp;|<)", rf">\g<1>{value}\g<2>", td.group(1), count=1)
        html = html[: at + td.start(1)] + inner + html[at + td.end(1) :]
    return html


def test_a_carry_over_break_per_column_opens_review_items(tmp_path):
    before = _corpus("pt_2023_czj_1.html")
    # 2024: one natural person's application carried over from 2023 and on to 2025 (the
    # report balances on its own), but 2023 carried nothing forward.
    after = before.replace("2023年", "2024年").replace("2023 年", "2024 年")
    after = _set_cells(after, "二、上年结转", {0: "1", 6: "1"})
    after = _set_cells(after, "四、结转下年度", {0: "1", 6: "1"})
    found, store = _run(tmp_path, {"czj_2023.html": before, "czj_2024.html": after})
    carried = [f for f in found if f["rule"] == "cross_year.carried"]
    assert sorted(f["keys"][0] for f in carried) == [
        "s3.carried_over.natural_person",
        "s3.carried_over.total",
    ]
    from gouji.storage.review import Filter, Review

    doc = next(d for d in store.documents() if d.path.endswith("czj_2024.html"))
    items = Review(store).reads.items(Filter(document_id=doc.id))
    opened = {i.key: i for i in items if i.rule == "cross_year.carried"}
    assert set(opened) == {"s3.carried_over.natural_person", "s3.carried_over.total"}
    assert (
        "2023 年报告结转下年度 0，2024 年报告上年结转 1"
        in opened["s3.carried_over.total"].messages[0]
    )
    # The report balances on its own; its part 二 is 2023's, which is found too.
    assert {i.rule for i in items} == {"cross_year.carried", "cross_year.same_table"}
