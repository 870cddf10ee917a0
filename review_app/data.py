"""gouji 数据：the panel as pictures — one agency's figures over the years, the units of one
jurisdiction side by side, findings by kind, what each reviewer decided and overrode — and
the eval's metrics over its recorded runs.

A page of the review app (``app.py`` navigates here); it reads the store ``GOUJI_DB`` names
(shown with its password masked) and the eval runs in ``GOUJI_EVAL_RUNS`` (default
``eval/runs``). Names from the reports are shown as plain text.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pandas as pd
import streamlit as st

from gouji.outputs import panel
from gouji.reading.agency import KINDS
from gouji.rules import RULES
from gouji.status import FieldStatus
from gouji.storage.review import Review
from gouji.storage.store import Store, database_url, shown_url
from gouji.template import FIELD_KEYS, label_of
from gouji_eval import run
from gouji_review.counts import counts_rows
from gouji_review.plain import plain

STATUS_NAMES = {
    FieldStatus.ACCEPTED: "已接受",
    FieldStatus.REVIEWED: "已复核",
    FieldStatus.PUBLISHER_ERROR: "报告本身不一致",
    panel.BLANK: "空白",
    panel.UNREADABLE: "未能定位或未读出",
    FieldStatus.REVIEW: "待复核",
}
INDICATOR_NAMES = {f"indicator.{i.name}": i.label for i in panel.INDICATORS}
DEFAULT_FIGURES = ["s3.new_received.total", "s3.granted.total", "s3.total_processed.total"]
DEFAULT_METRICS = (".fields.value_accuracy", ".fields.accepted_precision", ".fields.accept_rate")
KIND_NAMES = {
    "identity": "勾稽关系",
    "value": "数值类型",
    "reader": "读取",
    "prose": "正文与表格",
    "meta": "元数据",
    "llm": "LLM",
    "cross_year": "跨年度",
    "input": "文件",
    "review": "未能确定",
}


def name_of(column: str) -> str:
    return INDICATOR_NAMES.get(column) or f"{label_of(column)}（{column}）"


@st.cache_resource
def get_store(url: str) -> Store:
    return Store(url)


@st.cache_data(ttl=30, show_spinner="正在生成面板数据…")
def panel_rows(url: str) -> list[dict]:
    return panel.build(panel.from_store(get_store(url)))


@st.cache_data(ttl=30)
def findings(url: str) -> list:
    return get_store(url).findings()


url = database_url()
rows = panel_rows(url)
st.title("数据")
st.caption(f"复核库 {plain(shown_url(url))}：{len(rows)} 行（机关 × 年度），复核后的值优先")

agency_tab, jurisdiction_tab, findings_tab, reviewers_tab, eval_tab = st.tabs(
    ["机关历年", "同一辖区各单位", "发现（按类型）", "复核人", "评测历史"]
)

# ---- one agency over the years ------------------------------------------------------------
with agency_tab:
    agencies = sorted({r["agency.canonical"] for r in rows if r["agency.canonical"]})
    if not agencies:
        st.info("复核库里还没有读出机关名称的报告。")
    else:
        chosen = st.selectbox("机关", agencies, key="agency")
        mine = [r for r in rows if r["agency.canonical"] == chosen]
        first = mine[0]
        st.caption(
            f"类型：{KINDS[first['agency.kind']]}；"
            f"辖区：{plain(first['agency.jurisdiction'] or '未识别')}；"
            f"行政区划代码：{first['agency.code'] or '未能确定（' + first['agency.resolution'] + '）'}"
        )
        figures = st.multiselect(
            "数值", [*FIELD_KEYS, *INDICATOR_NAMES], DEFAULT_FIGURES, format_func=name_of
        )
        if figures:
            frame = pd.DataFrame(
                {name_of(k): [r[k] for r in mine] for k in figures},
                index=pd.Index([str(r["year"]) for r in mine], name="年度"),
            )
            st.bar_chart(frame, stack=False)  # bars: a year with one value still shows
            st.dataframe(
                [
                    {
                        "年度": r["year"],
                        **{name_of(k): r[k] for k in figures},
                        **{
                            f"{name_of(k)}·状态": STATUS_NAMES.get(r[f"{k}.status"], "")
                            for k in figures
                        },
                        "文件": Path(r["document"]).name,
                    }
                    for r in mine
                ],
                hide_index=True,
            )

# ---- the units of one jurisdiction side by side ------------------------------------------------
with jurisdiction_tab:
    units = Counter(r["agency.jurisdiction"] for r in rows if r["agency.jurisdiction"])
    if not units:
        st.info("没有识别出辖区的报告。")
    else:
        place = st.selectbox(
            "辖区",
            sorted(units, key=lambda j: (-units[j], j)),
            format_func=lambda j: f"{j}（{units[j]} 行）",
            key="jurisdiction",
        )
        here = [r for r in rows if r["agency.jurisdiction"] == place]
        per_year = Counter(r["year"] for r in here if r["year"])
        years = sorted(per_year, reverse=True)
        busiest = years.index(max(years, key=lambda y: (per_year[y], y)))
        year = st.selectbox(
            "年度", years, busiest, format_func=lambda y: f"{y}（{per_year[y]} 个单位）",
            key="jurisdiction_year",
        )  # fmt: skip
        figure = st.selectbox(
            "数值", [*FIELD_KEYS, *INDICATOR_NAMES], index=FIELD_KEYS.index(DEFAULT_FIGURES[0]),
            format_func=name_of, key="jurisdiction_figure",
        )  # fmt: skip
        side = [r for r in here if r["year"] == year]
        frame = pd.DataFrame(
            {
                "单位": [r["agency.canonical"].removeprefix(place) or r["agency.canonical"]
                         for r in side],
                name_of(figure): [r[figure] for r in side],
            }
        )  # fmt: skip
        st.bar_chart(frame, x="单位", y=name_of(figure), horizontal=True)

# ---- findings by kind -------------------------------------------------------------------------
with findings_tab:
    found = findings(url)
    if not found:
        st.info("复核库里没有发现。")
    else:
        kinds = Counter(KIND_NAMES[RULES[f.rule].kind] for f in found if f.rule in RULES)
        st.bar_chart(
            pd.DataFrame({"类型": list(kinds), "发现数": list(kinds.values())}),
            x="类型",
            y="发现数",
            horizontal=True,
        )
        by_rule = Counter(f.rule for f in found)
        st.dataframe(
            [
                {"规则": rule, "说明": RULES[rule].name if rule in RULES else "", "发现数": n}
                for rule, n in by_rule.most_common()
            ],
            hide_index=True,
        )
        across = [f for f in found if f.rule.startswith("cross_year.")]
        if across:
            st.subheader("跨年度的发现（请人核对）")
            st.dataframe(
                [
                    {
                        "机关": f.agency,
                        "年度": f.year,
                        "规则": RULES[f.rule].name,
                        "说明": f.message,
                        "文件": Path(f.path).name,
                    }
                    for f in across
                ],
                hide_index=True,
            )

# ---- what each reviewer decided, and whose decisions were overridden -----------------------
with reviewers_tab:
    counts = Review(get_store(url)).reads.by_reviewer()
    if not counts:
        st.info("还没有人作出复核决定。")
    else:
        st.caption("改写：在同事作出决定之后，把那一格改成了另一个值（审计记录中逐条可查）。")
        st.dataframe(counts_rows(counts), hide_index=True)

# ---- the eval over its recorded runs ----------------------------------------------------------
with eval_tab:
    folder = Path(os.environ.get("GOUJI_EVAL_RUNS") or run.RUNS)
    runs = run.history(folder)
    if not runs:
        st.info(f"{plain(folder)} 里没有评测运行记录（gouji eval 每次运行都会写一份）。")
    else:
        keys = sorted({k for r in runs for k in r["metrics"] if not k.endswith(".failed")})
        metrics = st.multiselect(
            "指标", keys, [k for k in keys if k.endswith(DEFAULT_METRICS)], key="metrics"
        )
        st.caption(f"{len(runs)} 次运行（{plain(folder)}）；下降即回归，门槛见 gouji eval")
        if metrics:
            frame = pd.DataFrame(
                {k: [r["metrics"].get(k) for r in runs] for k in metrics},
                index=pd.Index(
                    [f"{r['timestamp'][:19]} {(r.get('git_commit') or '')[:7]}" for r in runs],
                    name="运行",
                ),
            )
            st.line_chart(frame)
