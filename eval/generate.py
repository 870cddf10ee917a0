"""A layout generator: reports with known answers, in every layout seen in real reports.

From a seed it draws figures that satisfy the template's identities, writes prose that
states some of them in varied phrasings, and renders the tables in one of ``LAYOUTS``,
optionally with variants (full-width digits, Traditional characters, blank cells written
as —, / or 无). The gold record is right by construction: it is made from the same figures.
Every sentence and figure here is the project's own.
"""

from __future__ import annotations

import html
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import opencc

from gouji.identities import RELATION, RELATIONS, Identity, Use, sums_for, within_a_row
from gouji.model import show
from gouji.template import (
    FIELD_KEYS,
    PARTS,
    S2_ROWS,
    S3_COLUMNS,
    S3_RESULT_ROWS,
    S3_ROWS,
    S4_KEYS,
)

LAYOUTS = (
    "cell_tab",  # every cell on its own tab-indented line (the 宝山区 seed)
    "cell_blank",  # cells separated by blank lines
    "cell_pipe_trailing",  # each cell ends in " |", blank cells a lone "|"
    "cell_pipe_alternating",  # cells alternating with "|" lines
    "tab_rows",  # tab-separated rows, a group label broken by a page break (the 伊美区 seed)
    "pipe_rows",  # pipe rows with filler cells
    "markdown",  # markdown tables with |---|
    "pipe_newline",  # a newline inside every pipe cell
    "pdf_text",  # PDF text: spaces between cells, two-character headers split, page footers
    "one_line",  # each table collapsed onto one line
    "html",  # HTML tables with rowspan/colspan
    "crawl",  # a crawler's page.txt: a header, the body on one line, cells run together
)
VARIANTS = ("fullwidth", "traditional", "blanks")
# Layouts where an empty cell is visible (a separator on each side of it).
_EMPTY_VISIBLE = frozenset({"html", "pipe_rows", "markdown", "cell_pipe_trailing"})

_GROUP_OF = {
    "granted": "三、本年度办理结果",
    "denied_state_secret": "（三）不予公开",
    "unavailable_not_held": "（四）无法提供",
    "rejected_petition": "（五）不予处理",
    "other_no_supplement": "（六）其他处理",
}
_AGENCIES = (
    "青禾区人民政府",
    "临川县人民政府",
    "南湖市生态环境局",
    "东陵区教育局",
    "白石镇人民政府",
    "云岭市市场监督管理局",
    "长汀区人民政府办公室",
    "西江县交通运输局",
)
_RESULT_WEIGHTS = (
    8,
    2,
    0.3,
    0.2,
    0.2,
    0.5,
    0.5,
    0.5,
    0.3,
    0.3,
    5,
    1,
    0.5,
    1,
    0.5,
    0.2,
    0.2,
    0.2,
    0.4,
    0.2,
    2,
)


@dataclass
class Report:
    """A generated report: its text, file suffix, and gold record (SCHEMA.md keys)."""

    name: str
    layout: str
    variants: tuple[str, ...]
    text: str
    suffix: str
    gold: dict = field(default_factory=dict)
    # The report's structure, for the PDF and Word versions: ("p", text) or ("table", rows).
    blocks: list = field(default_factory=list)


# ---- figures -------------------------------------------------------------------------
def _split(rng: random.Random, total: int) -> list[int]:
    out = [0] * len(S3_RESULT_ROWS)
    for _ in range(total):
        out[rng.choices(range(len(out)), _RESULT_WEIGHTS)[0]] += 1
    return out


def draw_figures(rng: random.Random) -> dict[str, int | float]:
    """Figures for all 200 keys that satisfy every identity; most cells are 0."""
    f: dict[str, int | float] = {}
    for name in ("rules", "normative"):
        issued = rng.choice([0, 0, 0, 1, 2, 3, 5, 8, 13])
        f[f"s2.{name}.issued"] = issued
        f[f"s2.{name}.repealed"] = rng.choice([0, 0, 1, 2])
        f[f"s2.{name}.in_force"] = issued + rng.choice([0, 4, 11, 26, 57])
    f["s2.licensing"] = rng.choice([0, 12, 97, 483, 1526, 6210])
    f["s2.punishment"] = rng.choice([0, 3, 41, 250, 3177])
    f["s2.coercion"] = rng.choice([0, 0, 2, 19, 86])
    f["s2.fees"] = rng.choice([0, 0, 12.5, 103, 2.02, 199.43, 0.092, 7730.28])
    for c in S3_COLUMNS[:-1]:
        if c == "natural_person":
            new = rng.choice([0, 3, 12, 40, 260, 1180])
            carried = rng.choice([0, 0, 1, 3, 9])
        else:
            new = rng.choice([0, 0, 0, 1, 2, 5])
            carried = rng.choice([0, 0, 0, 1])
        forward = min(new + carried, rng.choice([0, 0, 1, 2, 4]))
        processed = new + carried - forward
        f[f"s3.new_received.{c}"], f[f"s3.carried_over.{c}"] = new, carried
        f[f"s3.carried_forward.{c}"], f[f"s3.total_processed.{c}"] = forward, processed
        for row, count in zip(S3_RESULT_ROWS, _split(rng, processed), strict=True):
            f[f"s3.{row}.{c}"] = count
    add_up(f, RELATION["s3.row_total"].sums)
    for group in RELATION["s4.total"].sums:
        f.update({k: rng.choice([0, 0, 0, 1, 2, 5]) for k in group.right})
        add_up(f, [group])
    return satisfied(f)


def add_up(f: dict, sums: Iterable[Identity]) -> None:
    """Each sum's printed total (the one key on its left) made the sum of its cells."""
    for s in sums:
        (total,) = s.left
        f[total] = sum(f[k] for k in s.right)


def satisfied(f: dict) -> dict:
    """``f``, checked: a figure for every key, and every sum of every identity holds."""
    assert set(f) == set(FIELD_KEYS)
    broken = [s for s in sums_for(Use.EVERY) if s.sides(f)[0] != s.sides(f)[1]]
    assert not broken, f"the figures break {broken[0]}"
    return f


# The identities a publisher's error is printed into: those whose sums each lie within a
# printed row, where a total stands beside the cells it adds up.
_IN_A_ROW = [r for r in RELATIONS if Use.FINDING in r.uses and all(within_a_row(s) for s in r.sums)]


def _inject_error(rng: random.Random, f: dict) -> dict:
    """A printed total off by a little, as publishers' own tables sometimes are."""
    relation = _IN_A_ROW[int(rng.random() * len(_IN_A_ROW))]
    broken = rng.choice(relation.sums)
    (key,) = broken.left
    implied = f[key]
    f[key] = implied + rng.choice([1, 2, 10])
    where = " = ".join(
        " + ".join(k.rsplit(".", 1)[1] for k in side) for side in (broken.left, broken.right)
    )
    return {
        "identity": RELATIONS.index(relation) + 1,  # as SCHEMA.md numbers it
        "where": f"{key.rsplit('.', 1)[0]}: {where}",
        "key": key,
        "printed": f[key],
        "implied_by_other_cells": implied,
    }


# ---- tables as rows of cells ---------------------------------------------------------
# A row is (labels, values): label cells then value cells; a row with no values is a header.
Row = tuple[list[str], list[str]]


def table_s2(cell) -> list[Row]:
    stock = ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"]
    rows: list[Row] = [(["第二十条第（一）项"], []), (stock, [])]
    for row in S2_ROWS[:2]:
        rows.append(([row.label], [cell(k) for k in row.keys]))
    for heading, header, members in (
        ("第二十条第（五）项", "本年处理决定数量", S2_ROWS[2:3]),
        ("第二十条第（六）项", "本年处理决定数量", S2_ROWS[3:5]),
        ("第二十条第（八）项", "本年收费金额（单位：万元）", S2_ROWS[5:6]),
    ):
        rows.append(([heading], []))
        rows.append((["信息内容", header], []))
        rows.extend(([row.label], [cell(row.keys[0])]) for row in members)
    return rows


def table_s3(cell) -> list[Row]:
    rows: list[Row] = [
        (
            ["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "申请人情况"],
            [],
        ),
        (["自然人", "法人或其他组织", "总计"], []),
        (["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"], []),
    ]
    for row in S3_ROWS:
        if row.name in S3_RESULT_ROWS:
            labels = [_GROUP_OF.get(row.name, ""), row.label]
        else:
            labels = [row.label]
        rows.append((labels, [cell(k) for k in row.keys]))
    return rows


def table_s4(cell) -> list[Row]:
    four = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    return [
        (["行政复议", "行政诉讼"], []),
        ([*four, "未经复议直接起诉", "复议后起诉"], []),
        ([*four, *four], []),
        ([], [cell(k) for k in S4_KEYS]),
    ]


# ---- layouts -------------------------------------------------------------------------
def _cells(row: Row) -> list[str]:
    return row[0] + row[1]


def render_table(layout: str, rows: list[Row], rng: random.Random, part: str) -> str:
    if layout == "cell_tab":
        return "\n\n".join("\n".join(f"\t{c}" for c in _cells(r)) for r in rows)
    if layout == "cell_blank":
        return "\n\n".join(c for r in rows for c in _cells(r) if c)
    if layout == "cell_pipe_trailing":
        return "\n".join(f"{c} |" if c else "|" for r in rows for c in _cells(r))
    if layout == "cell_pipe_alternating":
        return "\n|\n".join(c for r in rows for c in _cells(r) if c)
    if layout == "tab_rows":
        lines = []
        for labels, values in rows:
            if labels[:1] == ["（四）无法提供"]:
                labels = ["（四）无", *labels[1:]]
            elif lines and lines[-1].startswith("（四）无\t") and labels[:1] == [""]:
                lines.append("")  # a page break, and the group label's second half after it
                labels = ["法提供", *labels[1:]]
            lines.append("\t".join([*labels, *values]))
        return "\n".join(lines)
    if layout == "pipe_rows":
        width = max(len(_cells(r)) for r in rows)
        return "\n".join(
            " | ".join(_cells(r)) + " |" + "|" * (width - len(_cells(r))) for r in rows
        )
    if layout == "markdown":
        out = []
        for i, r in enumerate(rows):
            out.append("| " + " | ".join(_cells(r)) + " |")
            if i == 0:
                out.append("|" + "---|" * len(_cells(r)))
        return "\n".join(out)
    if layout == "pipe_newline":
        return "\n".join("".join(f"| \n {c}  " for c in _cells(r)) + "| " for r in rows)
    if layout == "pdf_text":
        return _pdf_text(rows, rng, part)
    if layout == "one_line":
        return " ".join(c for r in rows for c in _cells(r) if c)
    if layout == "html":
        return _html_table(rows)
    if layout == "crawl":
        return _crawl_table(rows, rng)
    raise ValueError(f"unknown layout {layout}")


def _pdf_text(rows: list[Row], rng: random.Random, part: str) -> str:
    lines = []
    for labels, values in rows:
        if part == "s4" and not values and len(labels) == 10:
            lines += [
                "结果 结果 其他 尚未 总 结果 结果 其他 尚未 总 结果 结果 其他 尚未 总",
                "维持 纠正 结果 审结 计 维持 纠正 结果 审结 计 维持 纠正 结果 审结 计",
            ]
            continue
        lines.append(" ".join(c for c in [*labels, *values] if c))
    if len(lines) > 6:
        at = rng.randrange(3, len(lines) - 2)
        lines.insert(at, rng.choice(["- 3 -", "— 2 —", "第 3 页"]))
    return "\n".join(lines)


def _crawl_table(rows: list[Row], rng: random.Random) -> str:
    """A crawler's flattening: each row's labels and cells run together, a space kept only
    here and there (each table its own habit), blank cells gone."""
    habit = rng.choice(["none", "none", "none", "spaced", "mixed", "mixed"])
    out = []
    for labels, values in rows:
        text = "".join(labels)
        cells = [v for v in values if v]
        if cells and rng.random() < 0.2:
            text += " "
        for i, value in enumerate(cells):
            space = habit == "spaced" or habit == "mixed" and rng.random() < 0.4
            text += (" " if i and space else "") + value
        out.append(text)
    return "".join(out)


def _crawl_header(rng: random.Random, agency: str, year: int, title: str) -> tuple[str, dict]:
    """A crawler's header and the provenance it states (the record's ``source``)."""
    month, day, doc = rng.randint(1, 3), rng.randint(1, 28), rng.randint(10000, 99999)
    published = f"{year + 1}-{month:02d}-{day:02d}"
    url = f"https://www.example.gov.cn/zwgk/zfxxgknb/{year + 1}{month:02d}/t{published.replace('-', '')}_{doc}.htm"
    publisher = rng.choice([agency, ""])
    colon = rng.choice([": ", "：", ":"])
    lines = [
        f"标题{colon}{title}",
        f"发布时间{colon}{published} {rng.randint(8, 17):02d}:{rng.randint(0, 59):02d}",
        f"文号{colon}",
        f"发布机构{colon}{publisher}",
        f"栏目{colon}政府信息公开年报",
        f"原文链接{colon}{url}",
        f"本地目录{colon}zwgk/zfxxgknb/{year + 1}{month:02d}/{doc}_{title}",
        "页面链接与图片详见 links.tsv(同目录)",
        "==================== 正文 ====================",
    ]
    source = {"url": url, "published": published, "title": title, "publisher": publisher or None}
    return "\n".join(lines) + "\n", source


def _html_table(rows: list[Row]) -> str:
    width = max(len(_cells(r)) for r in rows)
    out = ['<table border="1" cellspacing="0">']
    for labels, values in rows:
        cells = [*labels, *values]
        out.append("<tr>")
        for i, c in enumerate(cells):
            span = width - len(cells) + 1 if i == len(labels) - 1 and values else 1
            attr = f' colspan="{span}"' if span > 1 else ""
            text = html.escape(c) if c else "&nbsp;"
            if c.isdigit() and len(c) > 1:  # Word splits numbers across runs
                text = f'<span lang="EN-US">{c[:1]}</span><span lang="EN-US">{c[1:]}</span>'
            out.append(f"<td{attr}><p>{text}</p></td>")
        out.append("</tr>")
    out.append("</table>")
    return "\n".join(out)


# ---- prose with claims ---------------------------------------------------------------
class _Writer:
    """Builds the document text and records each claim's span as it is written."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.claims: list[dict] = []
        self.one_line = False  # a crawl's body: every line break dropped

    def add(self, text: str) -> None:
        if self.one_line:
            text = text.replace("\n", "")
        self.parts.append(text)
        self.length += len(text)

    def claim(self, quote: str, metric: str, value, unit: str, qualifier: str = "exact") -> None:
        start = self.length
        self.add(quote)
        self.claims.append(
            {
                "metric": metric,
                "value": value,
                "unit": unit,
                "qualifier": qualifier,
                "quote": quote,
                "span": [start, self.length],
            }
        )

    def text(self) -> str:
        return "".join(self.parts)


def _prose_overview(w: _Writer, rng: random.Random, f: dict, year: int, agency: str) -> None:
    n_site = rng.choice([186, 942, 1240, 3051])
    n_policy = rng.choice([6, 13, 27])
    n_visits = rng.choice([3, 12, 48])
    w.add(f"{year}年，{agency}坚持以公开为常态、不公开为例外，持续深化政务公开。全年")
    phrasing = rng.choice(
        [
            (f"通过政府网站主动公开政府信息{n_site}条", "exact"),
            (f"累计在政府网站公开政府信息{n_site}条", "exact"),
            (f"在政府网站公开政府信息{n_site}条以上", "at_least"),
            (f"通过政府网站主动公开政府信息近{n_site}条", "about"),
        ]
    )
    w.claim(phrasing[0], "政府网站主动公开政府信息", n_site, "条", phrasing[1])
    w.add("，政务新媒体信息按时更新率")
    rate = rng.choice([96, 98.5, 100])
    w.claim(f"达{rate}%", "政务新媒体信息按时更新率", rate, "%")
    w.add("，")
    w.claim(f"发布政策解读{n_policy}篇", "发布政策解读", n_policy, "篇")
    w.add("，网站访问量")
    w.claim(f"达{n_visits}万余次", "网站访问量", n_visits * 10000, "次", "at_least")
    w.add("。举办政府开放日活动")
    n_days = rng.choice([2, 4, 6])
    w.claim(f"{n_days}场", "政府开放日活动", n_days, "场")
    w.add("，")
    n_people = rng.choice([80, 150, 300])
    w.claim(f"约{n_people}人次", "参加人数", n_people, "人次", "about")
    w.add("参加。\n\n")
    w.add("依申请公开方面，")
    new = f["s3.new_received.total"]
    w.claim(f"全年共收到政府信息公开申请{new}件", "收到政府信息公开申请", new, "件")
    w.add("，均在法定期限内答复。")
    review = f["s4.review.total"]
    w.add("涉及政府信息公开的")
    w.claim(f"行政复议{review}件", "行政复议", review, "件")
    w.add("。本报告所列数据的统计期限自")
    w.add(
        f"{year}年1月1日起至{year}年12月31日止，按照国办公开办函〔2021〕30号的格式编制，"
        "咨询电话：0571-88886666。\n\n"
    )


def _prose_problems(w: _Writer, rng: random.Random) -> None:
    n_fix = rng.choice([7, 15, 32])
    w.add("一是部分栏目更新不够及时，二是政策解读形式较为单一。下一步，将加强督促检查，")
    w.add("本年度已")
    w.claim(f"整改问题链接{n_fix}处", "整改问题链接", n_fix, "处")
    w.add("，并组织业务培训")
    n_train = rng.choice([2, 3, 5])
    w.claim(f"{n_train}期", "业务培训", n_train, "期")
    w.add("。\n\n")


# ---- a whole report ------------------------------------------------------------------
_T2S = None


def _s2t() -> opencc.OpenCC:
    global _T2S
    if _T2S is None:
        _T2S = opencc.OpenCC("s2t")
    return _T2S


def generate(
    seed: int,
    layout: str | None = None,
    variants: tuple[str, ...] | None = None,
    inject_error: bool | None = None,
    draw: Callable[[random.Random], dict] | None = None,
) -> Report:
    """One report. Unset arguments are drawn from ``seed``, so a seed always gives the
    same report. ``draw`` makes the figures (the simulation's own)."""
    rng = random.Random(seed)
    layout = layout or rng.choice(LAYOUTS)
    if variants is None:
        variants = tuple(v for v in VARIANTS if rng.random() < 0.2)
    if inject_error is None:
        inject_error = rng.random() < 0.1
    figures = (draw or draw_figures)(rng)
    inconsistencies = [_inject_error(rng, figures)] if inject_error else []
    printed: dict = dict(figures)
    if "blanks" in variants:
        # A crawl drops blank cells altogether, which leaves nothing of a row left blank
        # (as reports leave whole rows) and shifts the digits of a row with a blank cell.
        marks = [""] if layout == "crawl" else ["—", "/", "无"]
        marks += [""] if layout in _EMPTY_VISIBLE else []
        zeros = [k for k, v in figures.items() if v == 0 and not k.startswith("s2.fees")]
        scattered = 6
        if layout == "crawl":
            empty = [r for r in S3_ROWS if all(figures[k] == 0 for k in r.keys)]
            for row in rng.sample(empty, min(len(empty), rng.randint(1, 3))):
                printed.update(dict.fromkeys(row.keys, ""))
            scattered = 2
        for key in rng.sample(zeros, min(len(zeros), scattered)):
            printed[key] = rng.choice(marks)
    agency = rng.choice(_AGENCIES)
    year = rng.choice([2021, 2022, 2023, 2024, 2025])

    def cell(key: str) -> str:
        value = printed[key]
        return value if isinstance(value, str) else show(value)

    w = _Writer()
    is_html = layout == "html"
    p_open, p_close = {"html": ("<p>", "</p>\n"), "crawl": ("", "")}.get(layout, ("", "\n\n"))
    blocks: list = []
    title = f"{agency}{year}年政府信息公开工作年度报告"
    source = dict.fromkeys(("url", "published", "title", "publisher"))

    def paragraph(write) -> None:
        """Write a paragraph (a string, or a function writing prose with claims)."""
        w.add(p_open)
        start = w.length
        write(w) if callable(write) else w.add(write)
        blocks.append(("p", (start, w.length)))
        w.add(p_close)

    def table(rows: list[Row], part: str) -> None:
        blocks.append(("table", rows))
        w.add(render_table(layout, rows, rng, part) + ("" if p_close == "" else "\n\n"))

    chrome = layout == "crawl" and rng.random() < 0.3
    if is_html:
        w.add(f"<html><head><title>{title}</title></head><body>\n")
    if layout == "crawl":
        header, source = _crawl_header(rng, agency, year, title)
        w.add(header)
        w.one_line = True
        if chrome:  # a portal's breadcrumb and share buttons before the body
            w.add(
                f"当前位置： 首页政务公开政府信息公开年报 {title} 来源：{agency} "
                f"时间：{source['published']} 10:12 微信 微博 QQ空间 全真版 文字版 文件下载 相关链接： "
            )
    if layout != "crawl" or rng.random() < 0.5:  # a crawl's body often starts without it
        paragraph(title)
    paragraph("一、总体情况")
    paragraph(lambda w: _prose_overview(w, rng, figures, year, agency))
    paragraph(PARTS["s2"].heading)
    table(table_s2(cell), "s2")
    paragraph(PARTS["s3"].heading)
    table(table_s3(cell), "s3")
    paragraph(PARTS["s4"].heading)
    table(table_s4(cell), "s4")
    paragraph("五、存在的主要问题及改进情况")
    paragraph(lambda w: _prose_problems(w, rng))
    paragraph("六、其他需要报告的事项")
    paragraph("本年度未收取信息处理费。")
    if chrome:
        w.add(" 附件下载")
    if is_html:
        w.add("</body></html>\n")
    text = w.text()
    if "fullwidth" in variants:
        text = text.translate({ord(d): chr(ord(d) + 0xFEE0) for d in "0123456789"})
    if "traditional" in variants:
        converted = _s2t().convert(text)
        if len(converted) == len(text):
            text = converted
    for claim in w.claims:
        claim["quote"] = text[claim["span"][0] : claim["span"][1]]
    fields = {k: (None if isinstance(printed[k], str) else printed[k]) for k in FIELD_KEYS}
    name = f"gen_{seed:05d}_{layout}" + "".join(f"_{v}" for v in variants)
    gold = {
        "document": name + {"html": ".html", "markdown": ".md"}.get(layout, ".txt"),
        "meta.agency": agency,
        "meta.year": year,
        "fields": fields,
        "claims": w.claims,
        "source_inconsistencies": inconsistencies,
        "notes": f"generated: layout {layout}, variants {list(variants) or 'none'}",
        "layout": layout,
        "variants": list(variants),
        "source": source,
    }
    plain = w.text()
    structure = [
        ("p", plain[a:b].strip()) if kind == "p" else (kind, value)
        for kind, value in blocks
        for a, b in [value if kind == "p" else (0, 0)]
    ]
    return Report(
        name, layout, tuple(variants), text, gold["document"][len(name) :], gold, structure
    )


def _grid(rows: list[Row]) -> list[list[str]]:
    """Rows padded to one width, a single label widened over the label columns."""
    labels = max((len(r[0]) for r in rows if r[1]), default=1)
    width = max(max(len(r[0]) for r in rows), labels + max(len(r[1]) for r in rows))
    out = []
    for names, values in rows:
        if values:
            names = names + [""] * (labels - len(names))
        cells = [*names, *values]
        out.append(cells + [""] * (width - len(cells)))
    return out


def to_pdf(report: Report, path) -> None:
    """The report as a PDF with a text layer and ruled tables (reportlab's built-in CJK font)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    body = ParagraphStyle("body", fontName="STSong-Light", fontSize=10.5, leading=16)
    small = ParagraphStyle("cell", fontName="STSong-Light", fontSize=7.5, leading=9)
    story = []
    for kind, value in report.blocks:
        if kind == "p":
            story.append(Paragraph(html.escape(value), body))
            continue
        grid = _grid(value)
        cells = [
            [Paragraph(html.escape(c), small) if len(c) > 4 else c for c in row] for row in grid
        ]
        width = len(grid[0])
        labels = max((len(r[0]) for r in value if r[1]), default=0)
        if labels:
            label_width = 200 / labels if width > 4 else 160
            rest = (480 - label_width * labels) / (width - labels)
            widths = [label_width] * labels + [rest] * (width - labels)
        else:
            widths = [480 / width] * width
        style = [
            ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
            ("FONTNAME", (0, 0), (-1, -1), "STSong-Light"),
            ("FONTSIZE", (0, 0), (-1, -1), 7.5),
        ]
        for r, (names, values) in enumerate(value):
            if values and len(names) < labels:
                style.append(("SPAN", (len(names) - 1, r), (labels - 1, r)))
        table = Table(cells, colWidths=widths, repeatRows=0)
        table.setStyle(TableStyle(style))
        story += [table, Spacer(1, 8)]
    SimpleDocTemplate(str(path), pagesize=A4).build(story)


def to_docx(report: Report, path) -> None:
    """The report as a Word document with real tables."""
    import docx

    document = docx.Document()
    for kind, value in report.blocks:
        if kind == "p":
            document.add_paragraph(value)
            continue
        grid = _grid(value)
        table = document.add_table(rows=len(grid), cols=len(grid[0]))
        table.style = "Table Grid"
        for r, row in enumerate(grid):
            for c, text in enumerate(row):
                table.cell(r, c).text = text
    document.save(str(path))


def write(report: Report, folder) -> None:
    """Write the report and its gold file (``<name>.json``) into ``folder``."""
    import json
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / (report.name + report.suffix)).write_text(report.text, encoding="utf-8")
    (folder / (report.name + ".json")).write_text(
        json.dumps(report.gold, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="写出带标准答案的生成报告（每种版式循环）。")
    parser.add_argument("folder")
    parser.add_argument("--count", type=int, default=len(LAYOUTS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for i in range(args.count):
        write(generate(args.seed + i, layout=LAYOUTS[i % len(LAYOUTS)]), args.folder)


if __name__ == "__main__":
    main()
