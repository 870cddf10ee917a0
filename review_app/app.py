"""gouji 复核：the reviewers' app over the store's review queue.

Run with ``gouji review`` (which sets ``GOUJI_DB`` and keeps Streamlit local and quiet).
Each browser tab is a session of its own: it holds at most one item, renews the hold while
it is open and lets go when it moves on. Every decision is sent with the item and the value
version the reviewer saw; the queue refuses it, and the page says why, when either changed.
"""

from __future__ import annotations

import html
import io
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import streamlit as st
from PIL import Image

from gouji import formats, pages, sources
from gouji.errors import DecisionRefused, InputError
from gouji.model import show
from gouji.review import HOLD_SECONDS, Decision, Filter, Item, Review, Reviewer
from gouji.rules import RULES
from gouji.store import Store, database_url
from gouji.template import FIELD_KEYS, PARTS, S2_ROWS, S3_ROWS, label_of
from gouji_eval.gold import save_reviewed
from gouji_eval.sets import reviewed_dir
from gouji_review.disconnected import chinese_when_disconnected
from gouji_review.keys import keyboard
from gouji_review.tables import STATE_NAMES, document_view, tables_html

STATUS = {"open": "待复核", "settled": "已处理", None: "全部"}
DECISION_NAMES = {
    "take_candidate": "采用候选值",
    "typed": "输入数值",
    "publisher_error": "报告本身不一致",
    "confirm": "确认读取值",
    "undo": "撤销",
    "reopen": "重新打开",
}
WITNESS_NAMES = {"reader": "读取器", "llm": "LLM", "reader+llm": "读取器与 LLM"}
OPENED_BY = {
    "extract": "抽取",
    "recheck": "重新核对",
    "cross_year": "跨年度核对",
    "reopen": "重新打开",
}
PAGE_SIZE = 50
PAGE_SCALE = 2.0  # pixels per PDF point of a page shown as evidence
# Streamlit's own chrome and English strings a reviewer does not need.
CHROME = """<style>
[data-testid="stToolbar"], [data-testid="stMainMenu"], [data-testid="stAppDeployButton"],
[data-testid="stStatusWidget"], [data-testid="InputInstructions"],
[data-testid="stElementToolbar"], footer, #MainMenu { display: none !important; }
[data-testid="stHeader"] { height: 0; min-height: 0; }
.evidence { white-space: pre-wrap; font-family: monospace; border: 1px solid #bbb;
            padding: 8px; max-height: 260px; overflow: auto; }
.evidence mark { background: #ffb703; padding: 0 2px; }
</style>"""

st.set_page_config(page_title="gouji 复核", layout="wide")
st.html(CHROME)
chinese_when_disconnected()

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


@st.cache_data(max_entries=32)
def page_image(path: str, page: int, box: tuple) -> bytes:
    """The page with the value's box, cut to a band around it so the box is in view."""
    image = Image.open(io.BytesIO(pages.page_png(path, page, box, scale=PAGE_SCALE)))
    top, bottom = box[1] * PAGE_SCALE, box[3] * PAGE_SCALE
    band = image.crop(
        (0, max(0, int(top) - 260), image.width, min(image.height, int(bottom) + 260))
    )
    out = io.BytesIO()
    band.save(out, format="PNG")
    return out.getvalue()


review = get_review(database_url())
store = review.store
session = st.session_state.setdefault("session", uuid.uuid4().hex)


def local_time(stamp: datetime | None) -> str:
    """A stored (UTC) time in the reviewer's browser time zone, with the zone named."""
    if stamp is None:
        return ""
    zone_name = st.context.timezone or "UTC"
    try:
        zone = ZoneInfo(zone_name)
    except (KeyError, ValueError):
        zone_name, zone = "UTC", ZoneInfo("UTC")
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    return f"{stamp.astimezone(zone):%Y-%m-%d %H:%M:%S} {zone_name}"


def rule_name(rule: str) -> str:
    return RULES[rule].name if rule in RULES else rule


def context(view: str, a: int, b: int) -> str:
    """A few lines around view[a:b] as HTML, the value marked: enough to see its row."""
    before = view[max(0, a - 240) : a].split("\n")[-6:]
    after = view[b : b + 200].split("\n")[:3]
    return (
        html.escape("\n".join(before))
        + f"<mark>{html.escape(view[a:b]) or '□'}</mark>"
        + html.escape("\n".join(after))
    )


def label_context(view: str, key: str) -> str | None:
    """Where no span says where the value is: the text around its row's label."""
    part, row_name = key.split(".")[:2]
    rows = S2_ROWS if part == "s2" else S3_ROWS if part == "s3" else ()
    row = next((r for r in rows if r.name == row_name), None)
    label = re.sub(r"^[一二三四五六七八、（）().\d]+", "", row.label) if row else None
    at = view.find(label) if label else -1
    if at < 0:
        return None
    return context(view, at, at + len(label))


def flash(kind: str, text: str) -> None:
    """A message for the next page shown (a decision reruns the page)."""
    st.session_state.setdefault("flash", []).append((kind, text))


def show_flash() -> None:
    for kind, text in st.session_state.pop("flash", []):
        {"error": st.error, "success": st.success, "warning": st.warning}[kind](text)


def go(view: str) -> None:
    """Switch the view on the next run (the view control is already drawn in this one)."""
    st.session_state["goto"] = view


# ---- who is reviewing ----------------------------------------------------------------
st.sidebar.title("gouji 复核")


def name_changed() -> None:
    # A new name is a new reviewer: the old name's hold goes.
    review.release(Reviewer(st.session_state.get("previous_name") or "", session))
    st.session_state.pop("open_item", None)
    st.session_state["previous_name"] = st.session_state.get("reviewer", "")


name = st.sidebar.text_input(
    "复核人", key="reviewer", placeholder="请填写姓名，按 Enter", on_change=name_changed
).strip()
reviewer = Reviewer(name, session) if name else None
if reviewer is not None and (others := review.register(reviewer)):
    st.sidebar.warning(
        f"另有 {len(others)} 个窗口正以「{name}」的名义复核。各窗口分别持有自己的字段，"
        "互不相让；若那不是你本人，请换一个名字。"
    )

documents = {d["id"]: d for d in store.documents() if d["status"] != "skipped"}
doc_names = {i: d["path"].rsplit("/", 1)[-1] for i, d in documents.items()}


def filters_changed() -> None:
    # The held item may no longer be in the queue shown: let it go, take the filter's next.
    st.session_state.pop("open_item", None)
    if reviewer is not None:
        review.release(reviewer)


rule_filter = st.sidebar.multiselect(
    "规则",
    review.rules(),
    format_func=rule_name,
    key="rules",
    placeholder="全部规则",
    on_change=filters_changed,
)
part_filter = st.sidebar.multiselect(
    "部分",
    list(PARTS),
    format_func=lambda p: PARTS[p].label,
    key="parts",
    placeholder="全部部分",
    on_change=filters_changed,
)
doc_filter = st.sidebar.selectbox(
    "报告",
    [None, *doc_names],
    format_func=lambda d: "全部报告" if d is None else doc_names[d],
    key="doc",
    placeholder="全部报告",
    on_change=filters_changed,
)
queue_filter = Filter("open", tuple(rule_filter), tuple(part_filter), doc_filter)

progress = review.progress()
st.sidebar.progress(
    progress.settled / progress.total if progress.total else 1.0,
    text=f"已处理 {progress.settled} / {progress.total}",
)
if progress.settled == progress.total:
    st.sidebar.caption("全部处理完了。")
elif progress.per_hour:
    st.sidebar.caption(
        f"近一小时每小时 {progress.per_hour:.0f} 项；按此速度还需约 "
        f"{max(1, round((progress.eta_seconds or 0) / 60))} 分钟。"
    )
if counts := review.by_reviewer():
    st.sidebar.caption("各复核人已作决定：" + "，".join(f"{n} {c} 项" for n, c in counts.items()))
st.sidebar.caption(
    "快捷键（输入框外）：1–9 采用候选值 · C 确认读取值 · V 输入数值（Enter 保存） · "
    "I 报告本身不一致 · S 跳过 · U 撤销上一个决定 · D 整份报告 · Q 复核队列 · Esc 离开输入框"
)


@st.fragment(run_every=HOLD_SECONDS / 4)
def keep_hold() -> None:
    """While the tab is open its hold is renewed; a closed tab's hold lapses soon."""
    if reviewer is not None:
        review.heartbeat(reviewer)


keep_hold()


# ---- deciding ----------------------------------------------------------------------------
def decide(decision: Decision) -> None:
    try:
        review.settle(reviewer, decision)
    except DecisionRefused as refused:
        # The queue gives the tab its next item (the same one, shown afresh, if still theirs).
        st.session_state.pop("open_item", None)
        flash(
            "error",
            f"{refused}（未保存的决定：{DECISION_NAMES[decision.kind]} {show(decision.value)}）",
        )
        return
    item = review.item(decision.item_id)
    st.session_state.pop("open_item", None)
    flash("success", f"已保存「{label_of(item.key)}」= {show(decision.value)}（按 U 撤销）")


def undo() -> None:
    try:
        reopened = review.undo(reviewer)
    except DecisionRefused as refused:
        flash("warning", str(refused))
        return
    names = "、".join(label_of(i.key) for i in reopened[:3])
    more = f"等 {len(reopened)} 项" if len(reopened) > 3 else ""
    flash("success", f"已撤销：{names}{more}，恢复原值并重新打开。")
    st.session_state["open_item"] = reopened[0].id
    go("item")


def skip(item: Item) -> None:
    review.skip(item.id, reviewer)
    st.session_state.pop("open_item", None)


def parse_value(text: str):
    text = text.strip()
    if text in ("空", "—", "/", "-", "无"):
        return None
    number = float(text)
    return int(number) if number.is_integer() else number


def typed(item: Item) -> None:
    text = st.session_state.get(f"typed_{item.id}", "").strip()
    if not text:
        flash("warning", "输入框是空的，没有保存；空白单元格请填“空”。")
        return
    try:
        value = parse_value(text)
    except ValueError:
        flash("error", f"「{text}」不是数字，没有保存。")
        return
    note = st.session_state.get(f"note_{item.id}") or None
    decide(Decision(item.id, item.version, "typed", value, note))


# ---- one item ----------------------------------------------------------------------------
def current_item() -> Item | None:
    """The item this tab works: one opened from the queue or the tables, else the next."""
    wanted = st.session_state.get("open_item")
    if wanted is not None:
        if review.claim(wanted, reviewer):
            return review.item(wanted)
        st.session_state.pop("open_item", None)
        held = review.item(wanted)
        who = held.settled_by if held.status != "open" else held.held_by
        flash("warning", f"「{label_of(held.key)}」已由{who}处理或持有，为你打开下一项。")
    return review.next_item(reviewer, queue_filter)


def evidence(item: Item, doc: dict, record: dict, candidates: list[dict]) -> None:
    """The value in its context first; a PDF's page with the value's box; the quote of the
    prose the finding cites."""
    source = load_source(doc["path"], doc["sha256"])
    span = (record.get("spans") or {}).get(item.key)
    if not span and candidates and candidates[0]["span_start"] is not None:
        span = (candidates[0]["span_start"], candidates[0]["span_end"])
    if source is None:
        st.warning("找不到原文件（或文件已改动），无法显示原文。")
    elif span:
        a, b = source.view_span(*span)
        st.markdown(
            f'<div class="evidence">{context(source.view, a, b)}</div>', unsafe_allow_html=True
        )
    elif near := label_context(source.view, item.key):
        st.caption("读取器没能定位这个值；下面是这一行标签附近的原文。")
        st.markdown(f'<div class="evidence">{near}</div>', unsafe_allow_html=True)
    else:
        st.warning("读取器没能定位这个值，原文中也找不到这一行的标签。")
    for claim in record.get("claims", []):
        if any(claim["quote"][:12] in message for message in item.messages) and source:
            a, b = source.view_span(*claim["span"])
            st.caption("正文中的说法：")
            st.markdown(
                f'<div class="evidence">{context(source.view, a, b)}</div>', unsafe_allow_html=True
            )


def page_evidence(item: Item, doc: dict, record: dict) -> None:
    """For a document in pages (a PDF, a scan), the part of its page around the value, the
    value's box outlined."""
    if not formats.has_pages(doc["path"]):
        return
    try:
        placed = pages.span_box({**record, "document": doc["path"]}, item.key)
    except OSError:
        placed = None
    if placed:
        page, box = placed
        st.image(
            page_image(doc["path"], page, tuple(box)),
            caption=f"第 {page} 页（局部），框出的是这个值",
        )


def item_view() -> None:
    if reviewer is None:
        st.info("请先在左侧填写复核人姓名（按 Enter），再开始复核。")
        return
    item = current_item()
    show_flash()
    if item is None:
        st.success("这里没有待复核的字段了。")
        return
    st.session_state["open_item"] = item.id
    doc = documents[item.document_id]
    record = store.record(item.document_id)
    candidates = store.candidates_of(item.document_id, item.key)
    opened = OPENED_BY.get(item.opened_by or "extract", item.opened_by)
    st.subheader(f"{doc_names[item.document_id]} · {label_of(item.key)}")
    st.caption(
        f"{PARTS[item.part].label} · {rule_name(item.rule)} · 来源：{opened} · "
        f"当前值 {show(item.value)} · {reviewer.name} 持有中"
    )
    for message in item.messages:
        st.error(message)
    evidence(item, doc, record, candidates)

    options = candidates or [{"witness": "reader", "value": item.value}]
    kind = "take_candidate" if candidates else "confirm"
    columns = st.columns(min(len(options), 4) + 2)
    for n, option in enumerate(options):
        who = WITNESS_NAMES.get(option["witness"], option["witness"])
        columns[n % 4].button(
            f"{n + 1}. 采用{who}的值：{show(option['value'])}",
            key=f"take_{item.id}_{n}",
            on_click=decide,
            args=(Decision(item.id, item.version, kind, option["value"]),),
        )
    columns[-2].button(
        "I. 报告本身不一致，按原样保留",
        key=f"publisher_error_{item.id}",
        on_click=decide,
        args=(Decision(item.id, item.version, "publisher_error", item.value),),
        help="发布方自己的数字对不上：保留印出的值，记为发布方错误；同一勾稽关系中其余待复核的格一并处理",
    )
    columns[-1].button("S. 跳过", key=f"skip_{item.id}", on_click=skip, args=(item,))
    # Keyed by the item: what was typed for one item never shows up on the next.
    with st.form(f"typed_form_{item.id}", border=False, enter_to_submit=True):
        st.text_input("输入数值（空白单元格填“空”），Enter 保存", key=f"typed_{item.id}")
        st.text_input("备注（可选）", key=f"note_{item.id}")
        st.form_submit_button("保存输入值", on_click=typed, args=(item,))

    page_evidence(item, doc, record)
    st.session_state["actions"] = {
        **{
            str(n + 1): Decision(item.id, item.version, kind, o["value"])
            for n, o in enumerate(options[:9])
        },
        "c": Decision(item.id, item.version, "confirm", item.value),
        "i": Decision(item.id, item.version, "publisher_error", item.value),
    }


# ---- the queue ---------------------------------------------------------------------------
def queue_view() -> None:
    show_flash()
    status = st.segmented_control(
        "状态", list(STATUS), format_func=STATUS.get, default="open", key="status"
    )
    where = Filter(status, tuple(rule_filter), tuple(part_filter), doc_filter)
    count = review.count(where)
    pages_total = max(1, -(-count // PAGE_SIZE))
    page = st.number_input(f"页（共 {pages_total} 页，{count} 项）", 1, pages_total, 1, key="page")
    items = review.items(where, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    if not items:
        st.info("没有符合条件的字段。")
        return
    st.caption("点一行打开这一项。")
    chosen = st.dataframe(
        [
            {
                "报告": doc_names.get(i.document_id, i.document),
                "字段": label_of(i.key),
                "当前值": show(i.value),
                "规则": rule_name(i.rule),
                "说明": "；".join(i.messages),
                "状态": STATUS[i.status],
                "打开方式": OPENED_BY.get(i.opened_by or "extract", i.opened_by),
                "处理人": i.held_by or i.settled_by or "",
            }
            for i in items
        ],
        hide_index=True,
        height=min(38 + 35 * len(items), 720),
        on_select="rerun",
        selection_mode="single-row",
        key=f"queue_table_{page}_{status}",
    )
    if chosen.selection.rows:
        open_item(items[chosen.selection.rows[0]])


def open_item(item: Item) -> None:
    """Go to an item: an open one to decide, a settled one to look at or reopen."""
    if item.status == "open":
        st.session_state["open_item"] = item.id
        go("item")
    else:
        st.session_state["settled_item"] = item.id
        st.session_state["goto_document"] = item.document_id
        go("document")
    st.rerun()


# ---- the whole document ------------------------------------------------------------------
def first_document() -> int | None:
    """The document of the item worked now, else the first read document with items open."""
    if (held := st.session_state.get("open_item")) is not None:
        return review.item(held).document_id
    for doc_id, doc in documents.items():
        if doc["status"] == "ok" and review.count(Filter(document_id=doc_id)):
            return doc_id
    return next((i for i, d in documents.items() if d["status"] == "ok"), None)


def document_view_page() -> None:
    show_flash()
    ids = list(doc_names)
    if not ids:
        st.info("复核库里还没有报告。")
        return
    if (wanted := st.session_state.pop("goto_document", None)) is not None:
        st.session_state["document"] = wanted
    st.session_state.setdefault("document", first_document())
    chosen = st.selectbox("报告", ids, format_func=doc_names.get, key="document")
    doc = documents[chosen]
    if doc["status"] != "ok":
        st.error(f"这份报告没有读取成功：{doc['error']}")
        return
    values, states = store.values(chosen), review.states(chosen)
    items = {i.key: i for i in review.items(Filter(None, document_id=chosen))}
    marks = {
        "recheck": {k for k, i in items.items() if i.opened_by == "recheck" and i.status == "open"}
    }
    record = store.record(chosen)
    source = load_source(doc["path"], doc["sha256"])
    contexts = {}
    for key in FIELD_KEYS:
        head = f'<div class="head">{html.escape(label_of(key))}：{html.escape(show(values.get(key)))}（{STATE_NAMES[states[key]]}）</div>'
        span = (record.get("spans") or {}).get(key)
        body = ""
        if source is not None and span:
            body = context(source.view, *source.view_span(*span))
        elif source is not None:
            body = label_context(source.view, key) or "（原文中没有定位到这个值）"
        contexts[key] = head + body
    open_count = sum(1 for i in items.values() if i.status == "open")
    st.caption(
        f"待复核 {open_count} 项。点选或用方向键选格，右侧显示原文；Enter 打开这一格的复核项，"
        "R 按原样确认这一行、T 确认这一张表、A 确认整份报告（勾稽关系不成立的格留待逐项复核），"
        "O 重新打开已处理的格，U 撤销。"
    )
    # What the reviewer is shown: confirmation applies to these versions only.
    st.session_state["shown"] = {i.id: i.version for i in items.values() if i.status == "open"}
    st.session_state["shown_items"] = {k: (i.id, i.status) for k, i in items.items()}
    cursor = None
    if (settled := st.session_state.get("settled_item")) is not None:
        cursor = review.item(settled).key
    event = document_view(
        tables_html(values, states, marks), contexts, cursor, key=f"tables_{chosen}"
    )
    if event:
        document_action(chosen, *event)
    broken = review.identity_breaks(chosen)
    if broken:
        st.warning("当前数值下仍不成立的勾稽关系：\n\n" + "\n\n".join(f["message"] for f in broken))
    else:
        st.success("当前数值下勾稽关系全部成立。")
    if review.fully_reviewed(chosen):
        if st.button("保存为标注数据（reviewed 集）", key="save_gold"):
            path = save_reviewed(review, chosen, reviewed_dir())
            st.success(f"已保存 {path}")
    else:
        st.info(f"还有 {open_count} 项待复核，复核完毕后才能存为标注数据。")


def document_action(document_id: int, action: str, key: str) -> None:
    if reviewer is None:
        flash("warning", "请先在左侧填写复核人姓名。")
        st.rerun()
    shown = st.session_state.get("shown", {})
    by_key = st.session_state.get("shown_items", {})
    if action == "open":
        if key in by_key and by_key[key][1] == "open":
            st.session_state["open_item"] = by_key[key][0]
            go("item")
        else:
            flash("warning", f"「{label_of(key)}」没有待复核的项（已处理的格按 O 重新打开）。")
    elif action == "reopen":
        if key not in by_key or by_key[key][1] == "open":
            flash("warning", f"「{label_of(key)}」没有已处理的项可重新打开。")
        else:
            try:
                item = review.reopen(by_key[key][0], reviewer)
            except DecisionRefused as refused:
                flash("warning", str(refused))
            else:
                st.session_state["open_item"] = item.id
                go("item")
    else:
        scope = action.removeprefix("confirm_")
        # A key's table is its part, its row the name after the part (a group in part 四).
        within = {
            "document": lambda k: True,
            "table": lambda k: k.split(".")[0] == key.split(".")[0],
            "row": lambda k: k.split(".")[:2] == key.split(".")[:2],
        }[scope]
        chosen = {
            item_id: shown[item_id]
            for k, (item_id, _) in by_key.items()
            if item_id in shown and within(k)
        }
        done = review.confirm(reviewer, chosen)
        names = {"row": "这一行", "table": "这张表", "document": "整份报告"}
        text = f"按原样确认了{names[scope]}的 {len(done.settled)} 项（按 U 撤销）"
        if done.left:
            reasons = "；".join(f"{label_of(k)}：{why}" for k, why in list(done.left.items())[:4])
            text += f"；{len(done.left)} 项留待逐项复核（{reasons}）"
        flash("success" if done.settled else "warning", text + "。")
    st.rerun()


# ---- the audit ---------------------------------------------------------------------------
def audit_view() -> None:
    rows = store.audit(doc_filter)
    st.dataframe(
        [
            {
                "时间": local_time(r["created_at"]),
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


# ---- navigation and keys -----------------------------------------------------------------
VIEWS = {"item": "逐项复核", "queue": "复核队列", "document": "整份报告", "audit": "审计记录"}


def on_key(action: str) -> None:
    actions = st.session_state.get("actions", {})
    if action in VIEWS:
        go(action)
    elif action == "undo" and reviewer is not None:
        undo()
    elif action == "skip" and reviewer is not None and "open_item" in st.session_state:
        review.skip(st.session_state.pop("open_item"), reviewer)
    elif (
        action in actions
        and reviewer is not None
        and st.session_state.get("view", "item") == "item"
    ):
        decide(actions[action])
    st.rerun()


if (goto := st.session_state.pop("goto", None)) is not None:
    st.session_state["view"] = goto
if st.session_state.get("view") is None:  # never no view (a second click deselects)
    st.session_state["view"] = "item"
pressed = keyboard(
    {
        **{str(n): str(n) for n in range(1, 10)},
        "c": "c",
        "i": "i",
        "s": "skip",
        "u": "undo",
        "d": "document",
        "q": "queue",
        "w": "item",
    },
    focus=("v", 'input[aria-label^="输入数值"]'),
)
if pressed:
    on_key(pressed[0])
st.segmented_control(
    "视图", list(VIEWS), format_func=VIEWS.get, key="view", label_visibility="collapsed"
)
{"item": item_view, "queue": queue_view, "document": document_view_page, "audit": audit_view}[
    st.session_state["view"] or "item"
]()
