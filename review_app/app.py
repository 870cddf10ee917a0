"""gouji 复核：the reviewers' app over the store's review queue.

Run with ``gouji review`` (which sets ``GOUJI_DB`` and keeps Streamlit local and quiet).
Each browser tab is a session of its own: it holds at most one item, renews the hold while
it is open and lets go when it moves on. The tab's id and the reviewer's name live in the
page's address, so a reload is the same tab under the same name. Every decision is sent
with the item and the value version the reviewer saw; the queue refuses it, and the page
says why, when either changed. One report is selected for every view (the sidebar's 报告).
Text from outside (names, files, reports) is shown as plain text, never as Markdown.
"""

from __future__ import annotations

import html
import io
import json
import re
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import streamlit as st
from PIL import Image
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from gouji.errors import DecisionRefused, InputError
from gouji.inputs import discover, pages, sources
from gouji.limits import Limits
from gouji.model import show
from gouji.reading import sections
from gouji.rules import RULES
from gouji.status import Empty, FieldStatus
from gouji.storage.review import (
    HOLD_SECONDS,
    Decision,
    DecisionKind,
    Filter,
    Item,
    Review,
    Reviewer,
)
from gouji.storage.review_rows import PERSON
from gouji.storage.rows import Correction, DocumentRow
from gouji.storage.store import Store, database_url
from gouji.template import FIELD_KEYS, PARTS, S2_ROWS, S3_ROWS, S4_GROUP_LABELS, label_of
from gouji_eval.gold import save_reviewed, why_not_gold
from gouji_eval.sets import reviewed_dir
from gouji_review.counts import counts_rows
from gouji_review.disconnected import chinese_when_disconnected
from gouji_review.keys import keyboard
from gouji_review.plain import plain
from gouji_review.tables import STATE_NAMES, TABLE_KEYS, document_view, tables_html

STATUS = {"open": "待复核", "settled": "已处理", None: "全部"}
DECISION_NAMES = {
    DecisionKind.TAKE_CANDIDATE: "采用",
    DecisionKind.TYPED: "输入",
    DecisionKind.PUBLISHER_ERROR: "记为报告本身不一致",
    DecisionKind.CONFIRM: "确认",
    DecisionKind.UNDO: "撤销",
    DecisionKind.REOPEN: "重新打开",
}
WITNESS_NAMES = {"reader": "读取器", "llm": "LLM", "reader+llm": "读取器与 LLM"}
OPENED_BY = {
    "extract": "抽取",
    "recheck": "重新核对",
    "cross_year": "跨年度核对",
    "reopen": "重新打开",
    "undo": "撤销",
}
PAGE_SIZE = 50
NAME_CHARS = 100  # as long as the store keeps a reviewer's name
PAGE_SCALE = 2.0  # pixels per PDF point of a page shown as evidence
CROP_MARGIN = 110  # pixels of the page kept above and below the value's box
# The page's keys, once: (key, action sent, what it does). The keyboard listens to these;
# the help lists them with the tables' own (tables.TABLE_KEYS).
PAGE_KEYS = (
    ("1–9", None, "采用按钮上对应编号的值（按钮写明值的来源）"),
    ("c", "c", "确认当前值（按钮写明它的来源）"),
    ("v", None, "把光标移到“输入数值”框（Enter 保存）"),
    ("i", "i", "报告本身不一致，按原样保留"),
    ("s", "skip", "跳过这一项"),
    ("u", "undo", "撤销你的上一个决定"),
    ("w", "item", "逐项复核"),
    ("d", "document", "整份报告"),
    ("q", "queue", "复核队列"),
    ("Esc", None, "离开输入框（之后按键才是操作）"),
)
# Streamlit's own chrome and English strings a reviewer does not need; the page starts at
# the top, so the value and its evidence fit the first screen.
CHROME = """<style>
[data-testid="stToolbar"], [data-testid="stMainMenu"], [data-testid="stAppDeployButton"],
[data-testid="stStatusWidget"], [data-testid="InputInstructions"],
[data-testid="stElementToolbar"], footer, #MainMenu { display: none !important; }
[data-testid="stHeader"] { height: 0; min-height: 0; }
[data-testid="stMainBlockContainer"] { padding-top: 1.2rem; padding-bottom: 2rem; }
.evidence { white-space: pre-wrap; font-family: monospace; border: 1px solid #bbb;
            padding: 6px 8px; max-height: 190px; overflow: auto; font-size: 13px; }
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


@st.cache_resource
def _tabs() -> dict[str, str | None]:
    """Which Streamlit session uses each tab id, in this server."""
    return {}


def tab_session() -> str:
    """This tab's id, kept in the page's address: a reload is the same tab (its hold and its
    place stay, no second session appears); a new tab, or a copy of the address opened while
    the first tab is still open, gets a new one."""
    if "session" in st.session_state:
        return st.session_state["session"]
    ctx = get_script_run_ctx()
    mine = ctx.session_id if ctx else None
    tab, tabs = st.query_params.get("tab"), _tabs()
    other = tabs.get(tab) if tab else None
    if not re.fullmatch(r"[0-9a-f]{32}", tab or "") or (
        other not in (None, mine)
        and Runtime.exists()
        and Runtime.instance().is_active_session(other)
    ):
        tab = uuid.uuid4().hex
    tabs[tab] = mine
    st.query_params["tab"] = tab
    st.session_state["session"] = tab
    return tab


@st.cache_data(max_entries=256)
def file_sha256(path: str, mtime_ns: int, size: int) -> str | None:
    """The file's content hash, computed again only when the file changes; None when it
    cannot be read (or is no longer a regular file within the size bound)."""
    try:
        return discover.hash_file(Path(path), Limits())
    except (OSError, InputError):
        return None


def unchanged(doc: DocumentRow) -> bool:
    """Whether the file is still the one the record was made from."""
    try:
        stat = Path(doc.path).stat()
    except OSError:
        return False
    return file_sha256(doc.path, stat.st_mtime_ns, stat.st_size) == doc.sha256


@st.cache_data(max_entries=64)
def load_source(path: str, sha256: str):
    """The document's text as gouji read it (the span basis), or None when it moved or
    changed."""
    try:
        loaded = sources.load(path)
    except (OSError, InputError):
        return None
    return loaded.source if loaded.sha256 == sha256 else None


@st.cache_data(max_entries=32)
def page_image(path: str, sha256: str, page: int, box: tuple) -> bytes:
    """The page with the value's box, cut to a band around it so the box is in view (cached
    by the file's content hash: a changed file is never drawn from the cache)."""
    image = Image.open(io.BytesIO(pages.page_png(path, page, box, scale=PAGE_SCALE)))
    top, bottom = box[1] * PAGE_SCALE, box[3] * PAGE_SCALE
    band = image.crop(
        (
            0,
            max(0, int(top) - CROP_MARGIN),
            image.width,
            min(image.height, int(bottom) + CROP_MARGIN),
        )
    )
    out = io.BytesIO()
    band.save(out, format="PNG")
    return out.getvalue()


review = get_review(database_url())
store, reads, holds, decisions = review.store, review.reads, review.holds, review.decisions
session = tab_session()


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


def source_name(source: str | None) -> str:
    """Who a value came from, for a person."""
    if source is None:
        return "无"
    if source.startswith(PERSON):
        return source.removeprefix(PERSON)
    return WITNESS_NAMES.get(source, source)


def context(view: str, a: int, b: int) -> str:
    """A few lines around view[a:b] as HTML, the value marked: enough to see its row."""
    before = view[max(0, a - 240) : a].split("\n")[-4:]
    after = view[b : b + 200].split("\n")[:2]
    return (
        html.escape("\n".join(before))
        + f"<mark>{html.escape(view[a:b]) or '□'}</mark>"
        + html.escape("\n".join(after))
    )


def row_context(view: str, key: str) -> str | None:
    """Where no span says where the value is: its row's label in its part's table (never a
    mention of the same words in the prose), or ``None`` when the table is not found."""
    part, name = key.split(".")[:2]
    region = sections.find(view).regions.get(part)
    if region is None:
        return None
    if part == "s4":
        label = S4_GROUP_LABELS[name].split("·")[-1]
        found = re.compile(re.escape(label)).search(view, *region)
    else:
        row = next(r for r in (S2_ROWS if part == "s2" else S3_ROWS) if r.name == name)
        found = min(
            (m for m in (re.compile(p).search(view, *region) for p in row.patterns) if m),
            key=lambda m: m.start(),
            default=None,
        )
    return context(view, found.start(), found.end()) if found else None


def flash(kind: str, text: str) -> None:
    """A message for the next page shown (a decision reruns the page); ``text`` is
    Markdown already made plain where it holds outside text."""
    st.session_state.setdefault("flash", []).append((kind, text))


def show_flash() -> None:
    for kind, text in st.session_state.pop("flash", []):
        {"error": st.error, "success": st.success, "warning": st.warning}[kind](text)


def go(view: str) -> None:
    """Switch the view on the next run (the view control is already drawn in this one)."""
    st.session_state["goto"] = view


def select_document(document_id: int | None) -> None:
    """Select a report for every view on the next run (the sidebar's 报告 is drawn)."""
    st.session_state["select_document"] = document_id


documents = {d.id: d for d in store.documents() if d.status != "skipped"}


def first_document() -> int | None:
    """The document of the item worked now, else the first read document with items open."""
    if (held := st.session_state.get("open_item")) is not None:
        return reads.item(held).document_id
    for doc_id, doc in documents.items():
        if doc.status == "ok" and reads.count(Filter(document_id=doc_id)):
            return doc_id
    return next((i for i, d in documents.items() if d.status == "ok"), None)


# ---- what this run shows: the view and the one report selected ----------------------
if (goto := st.session_state.pop("goto", None)) is not None:
    st.session_state["view"] = goto
if st.session_state.get("view") is None:  # never no view (a second click deselects)
    st.session_state["view"] = "item"
if "select_document" in st.session_state:
    st.session_state["doc"] = st.session_state.pop("select_document")
if st.session_state["view"] == "document" and st.session_state.get("doc") is None:
    st.session_state["doc"] = first_document()

# ---- who is reviewing ----------------------------------------------------------------
st.sidebar.title("gouji 复核")
st.session_state.setdefault("reviewer", st.query_params.get("reviewer", "")[:NAME_CHARS])


def name_changed() -> None:
    # A new name is a new reviewer: the old name's hold goes; the address keeps the name.
    holds.release(Reviewer(st.session_state.get("previous_name") or "", session))
    st.session_state.pop("open_item", None)
    st.session_state["previous_name"] = st.session_state.get("reviewer", "")
    if name := st.session_state.get("reviewer", "").strip():
        st.query_params["reviewer"] = name
    else:
        st.query_params.pop("reviewer", None)


name = st.sidebar.text_input(
    "复核人",
    key="reviewer",
    max_chars=NAME_CHARS,
    placeholder="请填写姓名，按 Enter",
    on_change=name_changed,
).strip()
st.session_state.setdefault("previous_name", name)
reviewer = Reviewer(name, session) if name else None
if reviewer is not None and (others := holds.register(reviewer)):
    st.sidebar.warning(
        f"另有 {len(others)} 个窗口正以「{plain(name)}」的名义复核。各窗口分别持有自己的字段，"
        "互不相让；若那不是你本人，请换一个名字。"
    )
if reviewer is not None and (overridden := reads.overridden(name)):
    with st.sidebar.expander(f"你的 {len(overridden)} 个决定被他人改写", expanded=False):
        for row in overridden[:10]:
            st.caption(
                f"{local_time(row.created_at)}：{plain(row.reviewer)} 把"
                f"「{plain(documents[row.document_id].name if row.document_id in documents else '')}"
                f" · {label_of(row.key)}」从你的 {show(row.old_value)} 改为 "
                f"{show(row.new_value)}" + (f"（备注：{plain(row.note)}）" if row.note else "")
            )


def filters_changed() -> None:
    # The held item may no longer be in the queue shown: let it go, take the filter's next.
    st.session_state.pop("open_item", None)
    if reviewer is not None:
        holds.release(reviewer)


rule_filter = st.sidebar.multiselect(
    "规则",
    reads.rules(),
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
    "报告（各视图共用）",
    [None, *documents],
    format_func=lambda d: "全部报告" if d is None else documents[d].name,
    key="doc",
    placeholder="全部报告",
    on_change=filters_changed,
)
queue_filter = Filter("open", tuple(rule_filter), tuple(part_filter), doc_filter)

progress = reads.progress()
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
if counts := reads.by_reviewer():
    st.sidebar.caption(
        "各复核人已作决定："
        + "，".join(
            f"{plain(n)} {c.decisions} 项" + (f"（改写他人 {c.overrides}）" if c.overrides else "")
            for n, c in counts.items()
        )
    )
with st.sidebar.expander("快捷键（在输入框外按）"):
    st.markdown(
        "\n".join(
            f"- **{plain(k.upper() if len(k) == 1 else k)}** {what}" for k, _, what in PAGE_KEYS
        )
        + "\n\n整份报告中（方向键或点选一格）：\n\n"
        + "\n".join(
            f"- **{plain(k.upper() if len(k) == 1 else k)}** {what}"
            for k, (_, what) in TABLE_KEYS.items()
        )
    )


@st.fragment(run_every=HOLD_SECONDS / 4)
def keep_hold() -> None:
    """While the tab is open its hold is renewed; a closed tab's hold lapses soon."""
    if reviewer is not None:
        holds.heartbeat(reviewer)


keep_hold()


# ---- deciding ----------------------------------------------------------------------------
def decide(decision: Decision) -> None:
    try:
        done = decisions.settle(reviewer, decision)
    except DecisionRefused as refused:
        # The queue gives the tab its next item (the same one, shown afresh, if still theirs).
        st.session_state.pop("open_item", None)
        flash(
            "error",
            f"{plain(refused)}（未保存的决定：{DECISION_NAMES[decision.kind]} "
            f"{show(decision.value)}）",
        )
        return
    st.session_state.pop("open_item", None)
    text = f"已保存「{label_of(done.key)}」= {show(done.new_value)}（按 U 撤销）"
    if done.overrides is not None:
        (theirs,) = [r for r in reads.history(done.document_id, done.key) if r.id == done.overrides]
        text += (
            f"。这改写了{plain(theirs.reviewer)}的决定（{show(theirs.new_value)} → "
            f"{show(done.new_value)}），{plain(theirs.reviewer)}会在侧栏看到"
        )
    flash("success", text)


def undo() -> None:
    try:
        reopened = decisions.undo(reviewer)
    except DecisionRefused as refused:
        flash("warning", plain(refused))
        return
    names = "、".join(label_of(i.key) for i in reopened[:3])
    more = f"等 {len(reopened)} 项" if len(reopened) > 3 else ""
    flash("success", f"已撤销：{names}{more}，恢复原值并重新打开。")
    st.session_state["open_item"] = reopened[0].id
    go("item")


def skip(item: Item) -> None:
    holds.skip(item.id, reviewer)
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
        flash("error", f"「{plain(text)}」不是数字，没有保存。")
        return
    note = st.session_state.get(f"note_{item.id}") or None
    decide(Decision(item.id, item.version, DecisionKind.TYPED, value, note))


# ---- one item ----------------------------------------------------------------------------
def current_item() -> Item | None:
    """The item this tab works: one opened from the queue or the tables, else the next."""
    wanted = st.session_state.get("open_item")
    if wanted is not None:
        if holds.claim(wanted, reviewer):
            return reads.item(wanted)
        st.session_state.pop("open_item", None)
        held = reads.item(wanted)
        who = held.settled_by if held.status != "open" else held.held_by
        flash("warning", f"「{label_of(held.key)}」已由{plain(who)}处理或持有，为你打开下一项。")
    return holds.next_item(reviewer, queue_filter)


def evidence(item: Item, doc: DocumentRow, record: dict, candidates: list) -> None:
    """The value in its context; without a span, its row in its table; the quote of the
    prose the finding cites."""
    source = load_source(doc.path, doc.sha256)
    span = (record.get("spans") or {}).get(item.key)
    if not span:
        span = next((c.span for c in candidates if c.span is not None), None)
    if source is None:
        st.warning("找不到原文件，或文件已改动（内容与复核库中的记录不符），无法显示原文。")
    elif span:
        a, b = source.view_span(*span)
        st.html(f'<div class="evidence">{context(source.view, a, b)}</div>')
    elif near := row_context(source.view, item.key):
        st.caption("读取器没能定位这个值；下面是表格中这一行的原文。")
        st.html(f'<div class="evidence">{near}</div>')
    else:
        st.warning("读取器没能定位这个值，表格中也找不到这一行。")
    for claim in record.get("claims", []):
        if source and any(claim["quote"][:12] in message for message in item.messages):
            a, b = source.view_span(*claim["span"])
            st.caption("正文中的说法：")
            st.html(f'<div class="evidence">{context(source.view, a, b)}</div>')


def page_evidence(item: Item, doc: DocumentRow, record: dict) -> None:
    """For a PDF or a scan, the part of its page around the value, the value's box
    outlined — only when the file is still the one the record was made from."""
    if not record.get("page_starts") and not record.get("ocr"):
        return
    if not unchanged(doc):
        st.warning("原文件已改动或不在原处（内容与复核库中的记录不符），不显示页面。")
        return
    try:
        placed = pages.span_box({**record, "document": doc.path}, item.key)
    except OSError:
        placed = None
    if placed:
        page, box = placed
        st.image(
            page_image(doc.path, doc.sha256, page, tuple(box)),
            caption=f"第 {page} 页（局部），框出的是这个值",
        )


def options_for(item: Item) -> list[tuple[str, Decision]]:
    """The values a reviewer may take, each named by where it came from: the witnesses'
    candidates, and the value as read when someone changed it since."""
    field = store.field_rows(item.document_id).get(item.key)
    unplaced = field is not None and field.empty == Empty.UNPLACED
    offered = [
        (c.witness, c.value, "的一种读法" if unplaced and c.span is None else "读到的值")
        for c in store.candidates(item.document_id, item.key)
    ]
    read = field is not None and (field.value is not None or field.empty == Empty.BLANK)
    if read and reads.source_of(item.document_id, item.key) != field.witness:
        offered.append((field.witness or "reader", field.value, "读到的值"))
    out: dict[tuple[str, str], tuple[str, Decision]] = {}
    for witness, value, how in offered:
        who = WITNESS_NAMES.get(witness, witness)
        take = Decision(item.id, item.version, DecisionKind.TAKE_CANDIDATE, value, source=witness)
        out.setdefault((witness, show(value)), (f"采用{who}{how}：{show(value)}", take))
    return list(out.values())


def keep_option(item: Item) -> tuple[str, Decision] | None:
    """The current value confirmed (``C``), named by its source; ``None`` when it is a null
    nobody placed or read, which cannot be kept as printed."""
    field = store.field_rows(item.document_id).get(item.key)
    current = reads.source_of(item.document_id, item.key)
    person = current is not None and current.startswith(PERSON)
    if item.value is None and not person and (field is None or field.empty != Empty.BLANK):
        return None
    if person:
        label = f"C. 保留{plain(source_name(current))}给出的值：{show(item.value)}"
    else:
        label = f"C. 确认{source_name(current)}读到的值：{show(item.value)}"
    return label, Decision(item.id, item.version, DecisionKind.CONFIRM, item.value)


def history_table(rows: list[Correction]) -> list[dict]:
    return [
        {
            "时间": local_time(r.created_at),
            "复核人": r.reviewer,
            "决定": DECISION_NAMES.get(r.decision, r.decision),
            "值": show(r.new_value),
            "来源": source_name(r.source),
            "备注": r.note or "",
        }
        for r in rows
    ]


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
    opened = OPENED_BY.get(item.opened_by or "extract", item.opened_by)
    current = reads.source_of(item.document_id, item.key)
    st.subheader(f"{plain(doc.name)} · {label_of(item.key)}")
    st.caption(
        f"{PARTS[item.part].label} · {rule_name(item.rule)} · 来源：{opened} · "
        f"当前值 {show(item.value)}（{plain(source_name(current))}）· {plain(reviewer.name)} 持有中"
    )
    left, right = st.columns([5, 6], gap="medium")
    with right:
        evidence(item, doc, record, store.candidates(item.document_id, item.key))
        page_evidence(item, doc, record)
        if history := reads.history(item.document_id, item.key):
            st.caption(f"这一格的历史（{len(history)} 条）")
            st.dataframe(history_table(history), hide_index=True)
    with left:
        messages = reads.messages_now(item.document_id).get(item.key)
        for message in messages or ["当前数值下，这一项原先的问题已不存在；请确认或改正它的值。"]:
            st.error(plain(message))
        standing = reads.decided_by_people(item.document_id).get(item.key)
        if standing is not None and standing.reviewer != reviewer.name:
            st.warning(
                f"当前值 {show(item.value)} 是{plain(standing.reviewer)}于 "
                f"{local_time(standing.created_at)} "
                f"{DECISION_NAMES.get(standing.decision, standing.decision)}的"
                + (f"（备注：{plain(standing.note)}）" if standing.note else "")
                + f"。你若改为别的值，将改写{plain(standing.reviewer)}的决定，对方会看到。"
            )
        st.session_state["actions"] = decision_controls(item)


def decision_controls(item: Item) -> dict[str, Decision]:
    """The item's buttons and its box for a typed value; returns what each key decides."""
    choices = options_for(item)[:9]
    keep = keep_option(item)
    buttons = [(f"{n + 1}. {label}", d) for n, (label, d) in enumerate(choices)]
    if keep:
        buttons.append(keep)
    for n, (label, decision) in enumerate(buttons):
        st.button(label, key=f"take_{item.id}_{n}", on_click=decide, args=(decision,))
    if not keep:
        st.caption("这个值没能定位或没有读出：请选一个候选值，或输入数值（空白单元格填“空”）。")
    inconsistent = Decision(item.id, item.version, DecisionKind.PUBLISHER_ERROR, item.value)
    row = st.columns([3, 1])
    row[0].button(
        "I. 报告本身不一致，按原样保留",
        key=f"publisher_error_{item.id}",
        on_click=decide,
        args=(inconsistent,),
        disabled=keep is None,
        help="发布方自己的数字对不上：保留印出的值，记为发布方错误；同一勾稽关系中其余待复核的格一并处理",
    )
    row[1].button("S. 跳过", key=f"skip_{item.id}", on_click=skip, args=(item,))
    # Keyed by the item: what was typed for one item never shows up on the next.
    with st.form(f"typed_form_{item.id}", border=False, enter_to_submit=True):
        st.text_input("输入数值（空白单元格填“空”），Enter 保存", key=f"typed_{item.id}")
        st.text_input("备注（可选）", key=f"note_{item.id}")
        st.form_submit_button("保存输入值", on_click=typed, args=(item,))
    actions = {str(n + 1): d for n, (_, d) in enumerate(choices)}
    if keep:
        actions.update(c=keep[1], i=inconsistent)
    return actions


# ---- the queue ---------------------------------------------------------------------------
def queue_view() -> None:
    show_flash()
    status = st.segmented_control(
        "状态", list(STATUS), format_func=STATUS.get, default="open", key="status"
    )
    where = Filter(status, tuple(rule_filter), tuple(part_filter), doc_filter)
    count = reads.count(where)
    pages_total = max(1, -(-count // PAGE_SIZE))
    page = st.number_input(f"页（共 {pages_total} 页，{count} 项）", 1, pages_total, 1, key="page")
    items = reads.items(where, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    if not items:
        st.info("没有符合条件的字段。")
        return
    now = {d: reads.messages_now(d) for d in {i.document_id for i in items}}
    st.caption("点一行打开这一项。")
    chosen = st.dataframe(
        [
            {
                "报告": documents[i.document_id].name if i.document_id in documents else i.document,
                "字段": label_of(i.key),
                "当前值": show(i.value),
                "规则": rule_name(i.rule),
                "说明": "；".join(now[i.document_id].get(i.key) or ["原先的问题已不存在"]),
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
        select_document(item.document_id)
        go("document")
    st.rerun()


# ---- the whole document ------------------------------------------------------------------
def cell_context(key: str, values, states, source, record, history, candidates) -> str:
    """What the panel beside the tables shows for one cell: its value and state, its
    source text, its candidates, its last decision."""
    state = states[key]
    head = (
        f'<div class="head">{html.escape(label_of(key))}：{html.escape(show(values.get(key)))}'
        f"（{STATE_NAMES[state]}）</div>"
    )
    if state == FieldStatus.UNPLACED:
        head = (
            f'<div class="head">{html.escape(label_of(key))}：?（{STATE_NAMES[state]}，'
            "不是报告印出的空白）</div>"
        )
    if candidates.get(key):
        head += (
            '<div class="head">候选值：'
            + html.escape("、".join(f"{source_name(w)} {show(v)}" for w, v in candidates[key]))
            + "</div>"
        )
    if rows := history.get(key):
        last = rows[-1]
        note = f"；备注：{last.note}" if last.note else ""
        head += (
            '<div class="head">'
            + html.escape(
                f"最近：{last.reviewer} {DECISION_NAMES.get(last.decision, last.decision)} "
                f"{show(last.new_value)}（来源：{source_name(last.source)}；"
                f"{local_time(last.created_at)}{note}；共 {len(rows)} 条，按 O 重新打开可看全部）"
            )
            + "</div>"
        )
    span = (record.get("spans") or {}).get(key)
    if source is None:
        body = "（原文件不在原处或已改动）"
    elif span:
        body = context(source.view, *source.view_span(*span))
    else:
        body = row_context(source.view, key) or "（表格中没有找到这一行）"
    return head + body


def document_view_page() -> None:
    show_flash()
    chosen = st.session_state.get("doc")
    if chosen is None:
        st.info("复核库里还没有报告。")
        return
    doc = documents[chosen]
    st.subheader(f"{plain(doc.name)}")
    if doc.status != "ok":
        st.error(f"这份报告没有读取成功：{plain(doc.error)}")
        return
    record = store.record(chosen)
    meta = record["meta"]
    values, states = store.values(chosen), reads.states(chosen)
    items = {i.key: i for i in reads.items(Filter(None, document_id=chosen))}
    contexts, hints = document_contexts(doc, record, values, states)
    marks = {
        "recheck": {k for k, i in items.items() if i.opened_by == "recheck" and i.status == "open"},
        "hints": hints,
    }
    open_count = sum(1 for i in items.values() if i.status == "open")
    st.caption(
        f"发布机关：{plain(meta.get('agency') or '未读出')} · 年度：{meta.get('year') or '未读出'}"
        f" · 待复核 {open_count} 项（在左侧「报告」中换一份报告）。点选或用方向键选格，"
        "右侧显示原文；按键见左侧“快捷键”。"
    )
    # What the reviewer is shown: confirmation applies to these versions only.
    st.session_state["shown"] = {i.id: i.version for i in items.values() if i.status == "open"}
    st.session_state["shown_items"] = {k: (i.id, i.status) for k, i in items.items()}
    cursor = st.session_state.pop("cursor", None)
    if (settled := st.session_state.pop("settled_item", None)) is not None:
        cursor = reads.item(settled).key
    notice = st.session_state.pop("notice", None)
    event = document_view(
        tables_html(values, states, marks), contexts, cursor, notice, key=f"tables_{chosen}"
    )
    if event:
        document_action(chosen, *event)
    broken = reads.identity_breaks(chosen)
    if broken:
        st.warning(
            "当前数值下仍不成立的勾稽关系：\n\n" + "\n\n".join(plain(f["message"]) for f in broken)
        )
    else:
        st.success("当前数值下勾稽关系全部成立。")
    gold_button(chosen)


def document_contexts(doc: DocumentRow, record: dict, values: dict, states: dict):
    """What the panel beside the tables shows for each cell, and what hovering a cell not
    placed says (its candidates)."""
    history: dict[str, list[Correction]] = {}
    for row in store.audit(doc.id):
        history.setdefault(row.key, []).append(row)
    candidates: dict[str, list] = {}
    for c in store.candidates(doc.id):
        candidates.setdefault(c.key, []).append((c.witness, c.value))
    hints = {
        k: "候选值 " + "、".join(f"{source_name(w)} {show(v)}" for w, v in found)
        for k, found in candidates.items()
    }
    source = load_source(doc.path, doc.sha256)
    contexts = {
        key: cell_context(key, values, states, source, record, history, candidates)
        for key in FIELD_KEYS
    }
    return contexts, hints


def gold_button(document_id: int) -> None:
    """Gold only from people: the reviewer confirms the whole report they see, by name."""
    waiting = reads.count(Filter(document_id=document_id))
    if waiting:
        st.info(f"还有 {waiting} 项待复核，复核完毕后才能确认整份报告、存为标注数据。")
        return
    if reviewer is None:
        st.info("填写复核人姓名后，才能确认整份报告、存为标注数据。")
        return
    if st.button(
        f"我（{reviewer.name}）看过了整份报告，确认并存为标注数据（reviewed 集）", key="save_gold"
    ):
        decisions.confirm_document(reviewer, document_id)
        try:
            path = save_reviewed(review, document_id, reviewed_dir())
        except ValueError as refused:
            st.error(plain(refused))
        else:
            st.success(f"已保存 {plain(path)}（{plain(reviewer.name)} 确认）")
    elif why := why_not_gold(review, document_id):
        st.caption(f"尚不是标注数据：{plain(why)}")


def document_action(document_id: int, action: str, key: str) -> None:
    if reviewer is None:
        flash("warning", "请先在左侧填写复核人姓名。")
        st.rerun()
    shown = st.session_state.get("shown", {})
    by_key = st.session_state.get("shown_items", {})
    st.session_state["cursor"] = key
    if action == "open":
        if key in by_key and by_key[key][1] == "open":
            st.session_state["open_item"] = by_key[key][0]
            go("item")
        else:
            st.session_state["notice"] = html.escape(
                f"「{label_of(key)}」没有待复核的项（已处理的格按 O 重新打开）。"
            )
    elif action == "reopen":
        if key not in by_key or by_key[key][1] == "open":
            st.session_state["notice"] = html.escape(
                f"「{label_of(key)}」没有已处理的项可重新打开。"
            )
        else:
            try:
                item = decisions.reopen(by_key[key][0], reviewer)
            except DecisionRefused as refused:
                st.session_state["notice"] = html.escape(str(refused))
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
        whole = document_id if scope == "document" else None
        done = decisions.confirm(reviewer, chosen, whole=whole)
        st.session_state["notice"] = confirmed_notice(scope, done)
    st.rerun()


def confirmed_notice(scope: str, done) -> str:
    """What R, T or A did, said where the key was pressed (HTML)."""
    names = {"row": "这一行", "table": "这张表", "document": "整份报告"}
    text = f"按原样确认了{names[scope]}的 {len(done.settled)} 项"
    if done.left:
        reasons: dict[str, int] = {}
        for why in done.left.values():
            reasons[why] = reasons.get(why, 0) + 1
        text += (
            f"；{len(done.left)} 项留待逐项复核（"
            + "，".join(f"{why} {n} 项" for why, n in reasons.items())
            + "）"
        )
    text += f"。本报告还有 {done.remaining} 项待复核"
    if done.settled:
        text += "（按 U 撤销）"
    return html.escape(text + "。")


# ---- the audit ---------------------------------------------------------------------------
def audit_view() -> None:
    rows = store.audit(doc_filter)
    overridden = {r.overrides: r for r in rows if r.overrides is not None}
    by_id = {r.id: r for r in rows}
    if counts := reads.by_reviewer():
        st.dataframe(counts_rows(counts), hide_index=True)
    st.dataframe(
        [
            {
                "时间": local_time(r.created_at),
                "报告": documents[r.document_id].name if r.document_id in documents else "",
                "字段": label_of(r.key),
                "原值": show(r.old_value),
                "新值": show(r.new_value),
                "决定": DECISION_NAMES.get(r.decision, r.decision),
                "来源": source_name(r.source),
                "复核人": r.reviewer,
                "改写": overrides_text(r, by_id, overridden),
                "备注": r.note or "",
            }
            for r in rows
        ],
        hide_index=True,
    )
    st.download_button(
        "下载审计记录（JSON）",
        json.dumps([asdict(r) for r in rows], ensure_ascii=False, default=str, indent=1),
        file_name="gouji-audit.json",
        key="audit_download",
    )


def overrides_text(row: Correction, by_id: dict, overridden: dict) -> str:
    """Whose decision an audit row overrode, or who overrode it."""
    if row.overrides in by_id:
        return f"改写了{by_id[row.overrides].reviewer}的决定"
    if row.id in overridden:
        return f"被{overridden[row.id].reviewer}改写"
    return ""


# ---- navigation and keys -----------------------------------------------------------------
VIEWS = {"item": "逐项复核", "queue": "复核队列", "document": "整份报告", "audit": "审计记录"}


def on_key(action: str) -> None:
    actions = st.session_state.get("actions", {})
    if action in VIEWS:
        go(action)
    elif action == "undo" and reviewer is not None:
        undo()
    elif action == "skip" and reviewer is not None and "open_item" in st.session_state:
        holds.skip(st.session_state.pop("open_item"), reviewer)
    elif (
        action in actions
        and reviewer is not None
        and st.session_state.get("view", "item") == "item"
    ):
        decide(actions[action])
    st.rerun()


pressed = keyboard(
    {
        **{str(n): str(n) for n in range(1, 10)},
        **{key: action for key, action, _ in PAGE_KEYS if action and len(key) == 1},
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
