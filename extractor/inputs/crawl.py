"""Text → page: what a crawler or a portal put around the report.

A crawler's header (``标题:``, ``发布时间:``, ``发布机构:``, ``原文链接:`` … up to a
``==== 正文 ====`` line) gives the page's provenance; a portal's chrome (the breadcrumb and
share buttons before the body, ``附件下载`` after it, view counters) is not report text. Both
are blanked out of the view (replaced by spaces, so every offset still maps to the raw
text), and the header's fields go into the record's ``source``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# The page a report was crawled from, the record's ``source``: always present, None where unknown.
SOURCE_KEYS = ("url", "published", "title", "publisher")

# A header line: a key the crawler writes, a colon, the value (possibly empty).
_HEADER_LINE = re.compile(
    r"(标题|发布时间|发布日期|成文日期|文号|发文字号|发布机构|发文机关|来源|栏目|索引号|"
    r"原文链接|原文地址|网址|URL|本地目录|抓取时间)[ \t]*[:：][ \t]*([^\n]*)",
    re.IGNORECASE,
)
_BODY_MARK = re.compile(r"[=＝\-—]{3,}\s*正文\s*[=＝\-—]{3,}[^\n]*")
_DATE = re.compile(r"(20\d{2}|19\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
_CHROME_WORDS = (
    r"(?:微信|微博|QQ空间|全真版|文字版|文件下载|打印本页|打印|关闭窗口|关闭|分享到[:：]?|-->)"
)
_CHROME = re.compile(
    # The leading class lets the scanner skip the characters no alternative starts with.
    r"(?=[当附【打关浏访点阅字])(?:"
    # A breadcrumb with what follows it up to the last share button (or 相关链接:).
    r"当前位置\s*[:：][^\n]{0,300}?(?:相关链接\s*[:：]\s*(?:-->)?|"
    rf"{_CHROME_WORDS}(?:\s*{_CHROME_WORDS})+(?:\s*相关链接\s*[:：]\s*(?:-->)?)?)"
    # The attachments and print buttons closing a page; a view counter anywhere.
    r"|(?:附件下载|【\s*打印\s*】|【\s*关闭\s*】|打印本页|关闭窗口)\s*$"
    r"|(?:浏览次数|访问次数|点击数|阅读次数)\s*[:：]\s*\d+"
    r"|字号\s*[:：]?\s*[\[【]?\s*大\s*[\]】]?\s*[\[【]?\s*中\s*[\]】]?\s*[\[【]?\s*小\s*[\]】]?)",
)
# The meta tags government sites' pages carry (政府网站网页设计规范): the same fields.
_META_TAG = re.compile(
    r"<meta\s+name=[\"']?(ArticleTitle|PubDate|ContentSource|Url)[\"']?\s+content=[\"']([^\"']*)",
    re.IGNORECASE,
)
_META_NAMES = {
    "articletitle": "标题",
    "pubdate": "发布时间",
    "contentsource": "发布机构",
    "url": "原文链接",
}
_SOURCE_KEYS = {
    "title": ("标题",),
    "published": ("发布时间", "发布日期", "成文日期"),
    "publisher": ("发布机构", "发文机关"),
    "url": ("原文链接", "原文地址", "网址", "url"),
}


@dataclass
class Page:
    """The view with header and chrome blanked out, and the page's provenance."""

    view: str
    source: dict  # url, published (YYYY-MM-DD), title, publisher; None when unknown


def _blank(view: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return view
    out, pos = [], 0
    for start, end in sorted(spans):
        start = max(start, pos)
        out.append(view[pos:start])
        # Newlines stay: the table reader counts lines.
        out.append("".join(ch if ch == "\n" else " " for ch in view[start:end]))
        pos = max(pos, end)
    out.append(view[pos:])
    return "".join(out)


def _header(view: str) -> tuple[dict[str, str], int]:
    """The header's fields (first value per key) and where it ends; ``({}, 0)`` when the text
    does not open with one (at least two header lines, or one and the 正文 line)."""
    fields: dict[str, str] = {}
    pos = end = 0
    lines = 0
    while pos < len(view) and lines < 40:
        newline = view.find("\n", pos)
        stop = len(view) if newline < 0 else newline
        line = view[pos:stop].strip()
        pos = stop + 1
        lines += 1
        if not line and not fields:
            continue
        if _BODY_MARK.fullmatch(line):
            return (fields, pos) if fields else ({}, 0)
        m = _HEADER_LINE.fullmatch(line)
        if m:
            fields.setdefault(m.group(1).lower(), m.group(2).strip())
            end = pos
            continue
        if fields and ("links.tsv" in line or not line):
            end = pos  # the crawler's own remarks between its fields
            continue
        break
    return (fields, end) if len(fields) >= 2 else ({}, 0)


def _date(text: str) -> str | None:
    m = _DATE.search(text)
    if not m:
        return None
    year, month, day = (int(g) for g in m.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def read(view: str, html: str | None = None, given: Mapping[str, str] | None = None) -> Page:
    """Split the crawler's header and the portal's chrome from the report text; for a saved
    web page (``html``, its markup), the page's meta tags give the same fields. ``given`` is
    the provenance a crawler sent beside the file (``SOURCE_KEYS``, as ``gouji serve`` takes
    it): it fills what the text itself does not say."""
    fields, end = _header(view)
    if html is not None:
        for m in _META_TAG.finditer(html, 0, 20000):
            fields.setdefault(_META_NAMES[m.group(1).lower()], m.group(2).strip())
    spans = [(0, end)] if end else []
    spans += [m.span() for m in _CHROME.finditer(view, end)]
    source: dict = dict.fromkeys(SOURCE_KEYS)
    for name, keys in _SOURCE_KEYS.items():
        value = next((fields[k] for k in keys if fields.get(k)), None)
        value = value or (given or {}).get(name)
        if value and name == "published":
            value = _date(value)
        source[name] = value or None
    return Page(_blank(view, spans), source)
