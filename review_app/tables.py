"""The three tables laid out as the template prints them (headers, parent rows), each cell
coloured by its state, with the source of the selected cell beside them.

The view is one component: a click or the arrow keys select a cell and show its source at
once; the keys of ``TABLE_KEYS`` act on the selected cell. A blank the report prints shows
空, a value gouji could not place ?, a value not read 未读 — three different things. What a
key did is said in the panel beside the tables, which stays in view as the page scrolls.
"""

from __future__ import annotations

import html

import streamlit as st

from gouji.model import show
from gouji.status import FieldStatus
from gouji.template import (
    S2_ROWS,
    S2_STOCK_COLUMN_LABELS,
    S2_STOCK_COLUMNS,
    S3_COLUMN_LABELS,
    S3_COLUMNS,
    S3_ROWS,
    S4_COLUMN_LABELS,
    S4_COLUMNS,
    S4_GROUP_LABELS,
    S4_GROUPS,
)

# Each state's name and colour, for the cells and the legend.
STATES = {
    FieldStatus.ACCEPTED: ("核对通过", "#ffffff"),
    FieldStatus.REVIEW: ("待复核", "#ffc48a"),
    FieldStatus.UNPLACED: ("未能定位（?）", "#f28b82"),
    FieldStatus.NOT_READ: ("未读出", "#d0d0d0"),
    FieldStatus.REVIEWED: ("已复核", "#b7e4a7"),
    FieldStatus.PUBLISHER_ERROR: ("报告本身不一致", "#d7b4f3"),
}
STATE_NAMES = {state: name for state, (name, _) in STATES.items()}
# What a cell shows: its value (空 for a printed blank), or why it has none.
_NO_VALUE = {FieldStatus.UNPLACED: "?", FieldStatus.NOT_READ: "未读"}
# The view's own keys (the selected cell's): key → (action, what it does). Arrows select.
TABLE_KEYS = {
    "Enter": ("open", "打开所选格的复核项"),
    "r": ("confirm_row", "按原样确认所选的这一行"),
    "t": ("confirm_table", "按原样确认这一张表"),
    "a": ("confirm_document", "按原样确认整份报告（并记下你确认过整份报告）"),
    "o": ("reopen", "重新打开已处理的格，显示它的历史"),
}

# Part 三's rows under their printed parents: (parent label, the rows it spans).
_S3_PARENTS = (
    ("（三）不予公开", S3_ROWS[4:12]),
    ("（四）无法提供", S3_ROWS[12:15]),
    ("（五）不予处理", S3_ROWS[15:20]),
    ("（六）其他处理", S3_ROWS[20:23]),
)


def _cell(key: str, row: str, part: str, value, state: str, marks: dict, span: int = 1) -> str:
    """``marks["recheck"]``: cells a recheck opened; ``marks["hints"]``: more to say on
    hovering a cell (the candidates of a value not placed)."""
    classes = [state]
    if key in marks.get("recheck", ()):
        classes.append("recheck")
    title = STATE_NAMES[state] + ("；复核后重新核对时打开" if "recheck" in classes else "")
    if hint := marks.get("hints", {}).get(key):
        title += f"；{hint}"
    colspan = f' colspan="{span}"' if span > 1 else ""
    text = _NO_VALUE.get(state) or show(value)
    return (
        f'<td class="{" ".join(classes)}" data-key="{key}" data-row="{row}" data-part="{part}"'
        f'{colspan} title="{html.escape(title)}">{html.escape(text)}</td>'
    )


def _s2(values: dict, states: dict, marks: dict) -> str:
    out = ['<table class="t"><caption>二、主动公开政府信息情况</caption>']
    stock = [S2_STOCK_COLUMN_LABELS[c][0] for c in S2_STOCK_COLUMNS]
    groups = (
        ("第二十条第（一）项", S2_ROWS[:2], stock),
        ("第二十条第（五）项", S2_ROWS[2:3], ["本年处理决定数量"]),
        ("第二十条第（六）项", S2_ROWS[3:5], ["本年处理决定数量"]),
        ("第二十条第（八）项", S2_ROWS[5:6], ["本年收费金额（单位：万元）"]),
    )
    for article, rows, headers in groups:
        span = 4 - len(headers)  # one header over the three value columns, or three
        out.append(f'<tr><th colspan="4" class="article">{article}</th></tr>')
        out.append(
            "<tr><th>信息内容</th>"
            + "".join(f'<th colspan="{span}">{h}</th>' for h in headers)
            + "</tr>"
        )
        for row in rows:
            cells = "".join(
                _cell(k, row.name, "s2", values.get(k), states[k], marks, span) for k in row.keys
            )
            out.append(f'<tr><th class="label">{row.label}</th>{cells}</tr>')
    out.append("</table>")
    return "".join(out)


def _s3(values: dict, states: dict, marks: dict) -> str:
    labels = S3_COLUMN_LABELS
    out = [
        '<table class="t"><caption>三、收到和处理政府信息公开申请情况</caption>',
        '<tr><th colspan="3" rowspan="3" class="note">（本列数据的勾稽关系为：第一项加第二项之和，'
        '等于第三项加第四项之和）</th><th colspan="7">申请人情况</th></tr>',
        f'<tr><th rowspan="2">{labels["natural_person"]}</th><th colspan="5">法人或其他组织</th>'
        f'<th rowspan="2">{labels["total"]}</th></tr>',
        "<tr>" + "".join(f"<th>{labels[c]}</th>" for c in S3_COLUMNS[1:6]) + "</tr>",
    ]

    def cells(row) -> str:
        return "".join(_cell(k, row.name, "s3", values.get(k), states[k], marks) for k in row.keys)

    by_name = {r.name: r for r in S3_ROWS}
    parents = {rows[0].name: (label, len(rows)) for label, rows in _S3_PARENTS}
    spanned = {r.name for _, rows in _S3_PARENTS for r in rows}
    results = S3_ROWS[2:24]  # （一）予以公开 … （七）总计
    for name in ("new_received", "carried_over"):
        row = by_name[name]
        out.append(f'<tr><th colspan="3" class="label">{row.label}</th>{cells(row)}</tr>')
    for n, row in enumerate(results):
        lead = (
            f'<th rowspan="{len(results)}" class="parent">三、本年度办理结果</th>' if n == 0 else ""
        )
        if row.name in parents:
            label, count = parents[row.name]
            lead += f'<th rowspan="{count}" class="parent">{label}</th>'
        if row.name in spanned:
            out.append(f'<tr>{lead}<th class="label">{row.label}</th>{cells(row)}</tr>')
        else:
            out.append(f'<tr>{lead}<th colspan="2" class="label">{row.label}</th>{cells(row)}</tr>')
    row = by_name["carried_forward"]
    out.append(f'<tr><th colspan="3" class="label">{row.label}</th>{cells(row)}</tr>')
    out.append("</table>")
    return "".join(out)


def _s4(values: dict, states: dict, marks: dict) -> str:
    columns = "".join(f"<th>{S4_COLUMN_LABELS[c]}</th>" for c in S4_COLUMNS)
    n = len(S4_COLUMNS)
    cells = "".join(
        _cell(f"s4.{g}.{c}", g, "s4", values.get(f"s4.{g}.{c}"), states[f"s4.{g}.{c}"], marks)
        for g in S4_GROUPS
        for c in S4_COLUMNS
    )
    suit = S4_GROUP_LABELS["suit_direct"].split("·")[0]
    return (
        '<table class="t"><caption>四、政府信息公开行政复议、行政诉讼情况</caption>'
        f'<tr><th colspan="{n}" rowspan="2">{S4_GROUP_LABELS["review"]}</th>'
        f'<th colspan="{2 * n}">{suit}</th></tr>'
        f'<tr><th colspan="{n}">{S4_GROUP_LABELS["suit_direct"].split("·")[1]}</th>'
        f'<th colspan="{n}">{S4_GROUP_LABELS["suit_after_review"].split("·")[1]}</th></tr>'
        f"<tr>{columns * 3}</tr><tr>{cells}</tr></table>"
    )


def tables_html(values: dict, states: dict, marks: dict) -> str:
    """The three tables; ``marks["recheck"]`` names the cells a recheck opened,
    ``marks["hints"]`` what hovering a cell adds."""
    return _s2(values, states, marks) + _s3(values, states, marks) + _s4(values, states, marks)


_CSS = (
    "".join(
        f".gouji-doc td.{state} {{ background: {colour}; }}\n"
        for state, (_, colour) in STATES.items()
    )
    + """
.gouji-doc .wrap { display: flex; gap: 16px; align-items: flex-start; font-size: 13px; }
.gouji-doc .tables { flex: 3; min-width: 0; }
.gouji-doc .source { flex: 2; position: sticky; top: 8px; border: 1px solid #bbb; padding: 8px;
          white-space: pre-wrap; font-family: monospace; max-height: 560px; overflow: auto; }
.gouji-doc .source .head { font-family: sans-serif; font-weight: bold; margin-bottom: 6px; white-space: normal; }
.gouji-doc table.t { border-collapse: collapse; margin: 0 0 14px 0; width: 100%; }
.gouji-doc table.t caption { text-align: left; font-weight: bold; padding: 4px 0; }
.gouji-doc table.t th, .gouji-doc table.t td { border: 1px solid #999; padding: 2px 5px; }
.gouji-doc table.t th { background: #f3f3f3; font-weight: normal; }
.gouji-doc table.t th.label { text-align: left; }
.gouji-doc table.t th.parent, .gouji-doc table.t th.article { font-weight: bold; }
.gouji-doc table.t td { text-align: right; cursor: pointer; min-width: 2.2em; }
.gouji-doc td.unplaced { font-weight: bold; color: #8b0000; }
.gouji-doc td.not_read { color: #555; }
.gouji-doc .notice { font-family: sans-serif; white-space: normal; background: #e8f0fe;
          border-left: 4px solid #1565c0; padding: 6px 8px; margin-bottom: 8px; }
.gouji-doc td.recheck { outline: 2px dashed #c0392b; outline-offset: -3px; }
.gouji-doc td.recheck::before { content: "⟳ "; color: #c0392b; }
.gouji-doc td.cursor { box-shadow: inset 0 0 0 3px #1565c0; }
.gouji-doc mark { background: #ffb703; }
.gouji-doc .legend span { display: inline-block; padding: 0 6px; margin-right: 6px; border: 1px solid #999; }
"""
)

_JS = """
export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  const root = document.createElement("div");
  root.className = "gouji-doc";
  root.innerHTML = data.html;
  // Only this view's own element is replaced: the styles Streamlit put beside it stay.
  parentElement.querySelectorAll(":scope > .gouji-doc").forEach((old) => old.remove());
  parentElement.appendChild(root);
  const cells = Array.from(root.querySelectorAll("td[data-key]"));
  const source = root.querySelector(".source");
  let index = Math.max(0, cells.findIndex((c) => c.dataset.key === data.cursor));
  const select = (n) => {
    if (!cells.length) return;
    cells.forEach((c) => c.classList.remove("cursor"));
    index = Math.max(0, Math.min(cells.length - 1, n));
    const cell = cells[index];
    cell.classList.add("cursor");
    window.goujiCursor = cell.dataset.key;
    source.innerHTML = (data.notice ? `<div class="notice">${data.notice}</div>` : "") +
      (data.contexts[cell.dataset.key] || "");
    const mark = source.querySelector("mark");
    // Scroll the source panel, not the page.
    if (mark) source.scrollTop = Math.max(0, mark.offsetTop - source.clientHeight / 2);
  };
  const below = (step) => {
    // The nearest cell in the next row below (or above) the selected one.
    const here = cells[index].getBoundingClientRect();
    let best = -1, bestScore = Infinity;
    cells.forEach((c, n) => {
      const r = c.getBoundingClientRect();
      const dy = (r.top - here.top) * step;
      if (dy <= 2) return;
      const score = dy * 4 + Math.abs(r.left - here.left);
      if (score < bestScore) { best = n; bestScore = score; }
    });
    return best < 0 ? index : best;
  };
  cells.forEach((cell, n) => { cell.onclick = () => select(n); cell.ondblclick = () =>
    setTriggerValue("pressed", { action: "open", cursor: cell.dataset.key, at: Date.now() }); });
  select(index);
  if (data.cursor) cells[index].scrollIntoView({ block: "nearest" });
  const keys = data.keys;
  const handler = (event) => {
    const t = event.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable)) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    const moves = { ArrowLeft: index - 1, ArrowRight: index + 1 };
    let handled = true;
    if (key in moves) select(moves[key]);
    else if (key === "ArrowDown") select(below(1));
    else if (key === "ArrowUp") select(below(-1));
    else if (key in keys) setTriggerValue("pressed", { action: keys[key],
                                                       cursor: cells[index].dataset.key,
                                                       at: Date.now() });
    else handled = false;
    if (handled) { event.preventDefault(); event.stopImmediatePropagation(); }
  };
  if (window.goujiTableKeys) window.removeEventListener("keydown", window.goujiTableKeys, true);
  window.goujiTableKeys = handler;
  window.addEventListener("keydown", handler, true);
  return () => {
    window.removeEventListener("keydown", handler, true);
    if (window.goujiTableKeys === handler) window.goujiTableKeys = null;
  };
}
"""

# Not in a shadow root, so the page (and a test driving it) reaches the cells; the styles
# are scoped to the view instead.
_view = st.components.v2.component("gouji_tables", css=_CSS, js=_JS, isolate_styles=False)


def document_view(
    body: str, contexts: dict[str, str], cursor: str | None, notice: str | None, key: str
):
    """Show the tables with the source panel, ``notice`` (HTML) at the panel's top; returns
    ``(action, cell)`` in the run a key or a double click started, else ``None``."""
    legend = "".join(
        f'<span class="{state}" style="background:{colour}">{name}</span>'
        for state, (name, colour) in STATES.items()
    )
    legend += '<span style="outline:2px dashed #c0392b">⟳ 复核后重新核对时打开</span>'
    page = (
        f'<div class="legend">{legend}</div><div class="wrap"><div class="tables">{body}</div>'
        '<div class="source"></div></div>'
    )
    result = _view(
        key=key,
        data={
            "html": page,
            "contexts": contexts,
            "cursor": cursor,
            "notice": notice,
            "keys": {k: action for k, (action, _) in TABLE_KEYS.items()},
        },
        on_pressed_change=lambda: None,
    )
    event = result.get("pressed")
    return (event["action"], event["cursor"]) if event else None
