"""gouji 复核：the reviewers' queue of doubtful fields.

Run with ``gouji review`` (which sets ``GOUJI_DB``). Each reviewer works items held for
them; decisions are appended to the store's audit and the document's identities are checked
again after each one.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import streamlit as st

from gouji import sources
from gouji.errors import InputError
from gouji.model import show
from gouji.review import Filter, Review
from gouji.rules import RULES
from gouji.store import Store, database_url
from gouji.template import (
    PARTS,
    S2_ROWS,
    S3_COLUMN_LABELS,
    S3_COLUMNS,
    S3_ROWS,
    S4_COLUMN_LABELS,
    S4_COLUMNS,
    S4_GROUP_LABELS,
    S4_GROUPS,
    label_of,
)
from gouji_eval.gold import save_reviewed
from gouji_eval.sets import reviewed_dir

STATUS = {"open": "待复核", "settled": "已处理", None: "全部"}
DECISION_NAMES = {
    "take_candidate": "采用候选值",
    "typed": "输入数值",
    "publisher_error": "报告本身不一致",
    "confirm": "确认读取值",
}

st.set_page_config(page_title="gouji 复核", layout="wide")

# Navigation: the queue (the rest of this file) and the 数据 page (its own file, data.py).
_page = st.navigation(
    [
        st.Page(lambda: None, title="复核", url_path="review", default=True),
        st.Page(Path(__file__).with_name("data.py"), title="数据", url_path="data"),
    ]
)
if _page.title == "数据":
    _page.run()
    st.stop()


@st.cache_resource
def get_review(url: str) -> Review:
    return Review(Store(url))


@st.cache_data(max_entries=64)
def load_source(path: str, sha256: str):
    """The document's text as gouji read it (the span basis), or None when it moved."""
    try:
        loaded = sources.load(path)
    except (OSError, InputError):
        return None
    return loaded.source if loaded.sha256 == sha256 else None


def context(view: str, a: int, b: int) -> tuple[str, str, str]:
    """A few lines around view[a:b], escaped for HTML: enough to see the row and its label."""
    before = view[max(0, a - 200) : a].split("\n")[-5:]
    after = view[b : b + 200].split("\n")[:3]
    return (
        html.escape("\n".join(before)),
        html.escape(view[a:b]) or "□",
        html.escape("\n".join(after)),
    )


def parse_value(text: str):
    text = text.strip()
    if text in ("", "空", "—", "/", "-", "无"):
        return None
    number = float(text)
    return int(number) if number.is_integer() else number


review = get_review(database_url())
store = review.store

# ---- sidebar: who, what, how far --------------------------------------------------------
st.sidebar.title("gouji 复核")
reviewer = st.sidebar.text_input("复核人", key="reviewer", placeholder="请填写姓名")
documents = store.documents()
doc_names = {d["id"]: d["path"].rsplit("/", 1)[-1] for d in documents}
rule_filter = st.sidebar.multiselect(
    "规则",
    review.rules(),
    format_func=lambda r: f"{r} {RULES[r].name}" if r in RULES else r,
    key="rules",
)
part_filter = st.sidebar.multiselect(
    "部分", list(PARTS), format_func=lambda p: PARTS[p].label, key="parts"
)
doc_filter = st.sidebar.selectbox(
    "报告",
    [None, *doc_names],
    format_func=lambda d: "全部" if d is None else doc_names[d],
    key="doc",
)
status_filter = st.sidebar.radio("状态", list(STATUS), format_func=STATUS.get, key="status")
settled, total = review.progress()
st.sidebar.progress(settled / total if total else 1.0, text=f"已处理 {settled} / {total}")
st.sidebar.caption("快捷键：1/2 采用候选值，Enter 保存输入，I 报告本身不一致，S 跳过")

queue_tab, document_tab, audit_tab = st.tabs(["复核队列", "整份报告", "审计记录"])

# ---- the queue --------------------------------------------------------------------------
with queue_tab:
    items = review.items(Filter(status_filter, tuple(rule_filter), tuple(part_filter), doc_filter))
    if items:
        st.dataframe(
            [
                {
                    "报告": doc_names.get(i.document_id, i.document),
                    "字段": label_of(i.key),
                    "规则": i.rule,
                    "说明": "；".join(i.messages),
                    "状态": STATUS[i.status],
                    "处理人": i.held_by or "",
                }
                for i in items
            ],
            hide_index=True,
            height=220,
        )
    if not reviewer:
        st.info("请先在左侧填写复核人姓名，再开始复核。")
    else:
        item = review.next_item(
            reviewer, Filter("open", tuple(rule_filter), tuple(part_filter), doc_filter)
        )
        if item is None:
            st.success("没有待复核的字段了。")
        else:
            fields = store.field_rows(item.document_id)
            row = fields.get(item.key, {})
            current = store.values(item.document_id).get(item.key)
            st.subheader(f"{doc_names.get(item.document_id)} · {label_of(item.key)}")
            st.caption(f"{item.key} · 规则 {item.rule} · 由 {reviewer} 处理中")
            for message in item.messages:
                st.error(message)
            candidates = store.candidates_of(item.document_id, item.key)

            def decide(decision: str, value) -> None:
                review.settle(
                    item.id, reviewer, decision, value, st.session_state.get("note") or None
                )
                st.session_state["note"] = ""
                st.session_state["typed"] = ""

            options = candidates or [{"witness": "reader", "value": current}]
            columns = st.columns(len(options) + 2)
            for n, option in enumerate(options[:2]):
                who = {"reader": "读取器", "llm": "LLM"}.get(option["witness"], option["witness"])
                columns[n].button(
                    f"采用{who}：{show(option['value'])}",
                    key=f"take_{n}",
                    shortcut=str(n + 1),
                    on_click=decide,
                    args=("take_candidate" if candidates else "confirm", option["value"]),
                )
            columns[-2].button(
                "报告本身不一致，按原样保留",
                key="publisher_error",
                shortcut="i",
                on_click=decide,
                args=("publisher_error", current),
                help="发布方自己的数字对不上：保留印出的值，记为发布方错误",
            )
            columns[-1].button(
                "跳过", key="skip", shortcut="s", on_click=review.skip, args=(item.id, reviewer)
            )
            with st.form("typed_form", clear_on_submit=False, border=False):
                typed = st.text_input("输入数值（空白单元格填“空”）", key="typed")
                st.text_input("备注（可选）", key="note")
                if st.form_submit_button("保存输入值"):
                    try:
                        value = parse_value(typed)
                    except ValueError:
                        st.error(f"「{typed}」不是数字")
                    else:
                        review.settle(
                            item.id, reviewer, "typed", value, st.session_state.get("note") or None
                        )
                        st.rerun()
            doc = next(d for d in documents if d["id"] == item.document_id)
            source = load_source(doc["path"], doc["sha256"])
            span = None
            if row.get("span_start") is not None:
                span = (row["span_start"], row["span_end"])
            elif candidates and candidates[0]["span_start"] is not None:
                span = (candidates[0]["span_start"], candidates[0]["span_end"])
            if source is None:
                st.warning("找不到原文件（或文件已改动），无法显示原文。")
            elif span is not None:
                before, target, after = context(source.view, *source.view_span(*span))
                st.markdown(
                    f'<div style="white-space:pre-wrap;font-family:monospace;border:1px solid #ddd;'
                    f'padding:8px">{before}<mark style="background:#ffb703">{target}</mark>{after}</div>',
                    unsafe_allow_html=True,
                )
            else:
                st.warning("读取器没能定位这个值在原文中的位置。")

# ---- the whole document -----------------------------------------------------------------
COLOURS = {"review": "#ffd6a5", "settled": "#caffbf"}


def cell(doc_id: int, key: str, values: dict, status: dict, settled_keys: set) -> str:
    state = "settled" if key in settled_keys else status.get(key)
    colour = COLOURS.get(state, "")
    style = f' style="background:{colour}"' if colour else ""
    return f'<td title="{key}"{style}>{html.escape(show(values.get(key)))}</td>'


def tables_html(doc_id: int) -> str:
    values = store.values(doc_id)
    status = {k: r["status"] for k, r in store.field_rows(doc_id).items()}
    settled_keys = {i.key for i in review.items(Filter("settled", document_id=doc_id))}
    out = [f"<h4>{PARTS['s2'].heading}</h4><table border=1 cellpadding=4>"]
    for row in S2_ROWS:
        cells = "".join(cell(doc_id, k, values, status, settled_keys) for k in row.keys)
        out.append(f"<tr><th align=left>{row.label}</th>{cells}</tr>")
    out.append(f"</table><h4>{PARTS['s3'].heading}</h4><table border=1 cellpadding=4>")
    out.append(
        "<tr><th></th>" + "".join(f"<th>{S3_COLUMN_LABELS[c]}</th>" for c in S3_COLUMNS) + "</tr>"
    )
    for row in S3_ROWS:
        cells = "".join(cell(doc_id, k, values, status, settled_keys) for k in row.keys)
        out.append(f"<tr><th align=left>{row.label}</th>{cells}</tr>")
    out.append(f"</table><h4>{PARTS['s4'].heading}</h4><table border=1 cellpadding=4>")
    out.append(
        "<tr><th></th>" + "".join(f"<th>{S4_COLUMN_LABELS[c]}</th>" for c in S4_COLUMNS) + "</tr>"
    )
    for group in S4_GROUPS:
        keys = [f"s4.{group}.{c}" for c in S4_COLUMNS]
        cells = "".join(cell(doc_id, k, values, status, settled_keys) for k in keys)
        out.append(f"<tr><th align=left>{S4_GROUP_LABELS[group]}</th>{cells}</tr>")
    out.append("</table>")
    return "".join(out)


with document_tab:
    chosen = (
        st.selectbox("报告", list(doc_names), format_func=doc_names.get, key="document_view")
        if doc_names
        else None
    )
    if chosen is not None:
        st.caption("橙色：待复核；绿色：已处理")
        st.markdown(tables_html(chosen), unsafe_allow_html=True)
        broken = review.identity_breaks(chosen)
        if broken:
            st.warning(
                "当前数值下仍不成立的勾稽关系：\n\n" + "\n\n".join(f["message"] for f in broken)
            )
        else:
            st.success("当前数值下勾稽关系全部成立。")
        if review.fully_reviewed(chosen):
            if st.button("保存为标注数据（reviewed 集）", key="save_gold"):
                path = save_reviewed(review, chosen, reviewed_dir())
                st.success(f"已保存 {path}")
        else:
            st.info("这份报告还有待复核的字段，复核完毕后才能存为标注数据。")

with audit_tab:
    rows = store.audit(doc_filter)
    st.dataframe(
        [
            {
                "时间": r["created_at"],
                "报告": doc_names.get(r["document_id"]),
                "字段": label_of(r["key"]),
                "原值": show(r["old_value"]),
                "新值": show(r["new_value"]),
                "决定": DECISION_NAMES.get(r["decision"], r["decision"]),
                "复核人": r["reviewer"],
                "备注": r["note"] or "",
            }
            for r in rows
        ],
        hide_index=True,
    )
    st.download_button(
        "下载审计记录（JSON）",
        json.dumps(rows, ensure_ascii=False, default=str, indent=1),
        file_name="gouji-audit.json",
        key="audit_download",
    )
