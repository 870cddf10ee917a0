"""Text → sections: where parts 二, 三 and 四 stand, and which template the report uses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..template import PRE2021_S2_MARKERS, S2_ROWS, S3_ROWS

# A heading starts a line or follows its number (二、 / (三) / 表三); in running prose the
# same phrases follow 、 or a verb, which _is_heading does not admit.
_HEADING_BEFORE = re.compile(
    r"(?:^|[\n>|#*\s:]|[一二三四五六七八九十][、.]|\)|表[一二三四五六])\s*$"
)
_PHRASES = {
    "s1": r"总体情况",
    "s2": r"主动公开政府信息(?:的)?情况",
    "s3": r"收到和处理政府信息公开申请(?:的)?情况",
    # These two begin with optional words: the leading class lets the scanner skip the
    # characters that cannot start them (several times faster over a whole report).
    "s4": r"(?=[因政申行])(?:因)?(?:政府信息公开)?(?:申请)?行政法?复议[、,和及与]?\s*(?:提起)?\s*行政诉讼(?:的)?情况",
    "s5": r"(?=[政工存主问])(?:政府信息公开)?(?:工作)?(?:存在的主要问题|主要问题(?:及|和)(?:改进|整改)|问题(?:及|和)改进)",
    "s6": r"其他需要报告的事项|需要说明的其他事项|其他需要说明的事项",
}
HEADINGS = {part: re.compile(phrase) for part, phrase in _PHRASES.items()}
# A word every match of a phrase holds, and how far from the match's start it can stand
# (least, most): the phrases without a literal start are looked for by this word first.
_WORDS = {"s4": ("复议", 2, 12), "s5": ("问题", 0, 13), "s6": ("事项", 7, 7)}


def _headings(part: str, view: str) -> Iterator[re.Match[str]]:
    """What ``HEADINGS[part].finditer(view)`` finds, found faster: a match can only start
    within reach of its word, so only those places are tried, in order, each once."""
    regex = HEADINGS[part]
    if part not in _WORDS:
        yield from regex.finditer(view)
        return
    word, least, most = _WORDS[part]
    tried = 0  # every place before this has been tried, or lies inside a match
    at = view.find(word)
    while at >= 0:
        for start in range(max(tried, at - most), at - least + 1):
            m = regex.match(view, start)
            if m:
                yield m
                tried = m.end()
                break
        else:
            tried = max(tried, at - least + 1)
        at = view.find(word, at + 1)


def _is_heading(view: str, start: int) -> bool:
    return bool(_HEADING_BEFORE.search(view, max(0, start - 6), start))


_S2_EVIDENCE = re.compile("|".join(p for row in S2_ROWS for p in row.patterns) + r"|第二十条")
_S3_EVIDENCE = re.compile("|".join(p for row in S3_ROWS for p in row.patterns))
_S4_EVIDENCE = re.compile(r"维持|纠正|审结|直接起诉|复议后起诉")
_EVIDENCE = {"s2": (_S2_EVIDENCE, 1200), "s3": (_S3_EVIDENCE, 5000), "s4": (_S4_EVIDENCE, 1500)}
_REPORT_TITLE = re.compile(r"(?:政府信息|政府资讯|政务)\s*公开[^\n]{0,8}(?:报告|年报)")


@dataclass
class Sections:
    """View offsets of each table part's region, and the template the report follows."""

    regions: dict[str, tuple[int, int]] = field(default_factory=dict)
    template: str = "unknown"
    headings: set[str] = field(default_factory=set)  # the parts (s1…s6) whose heading stands

    def prose_spans(self, length: int) -> list[tuple[int, int]]:
        """The stretches of the view outside the table regions."""
        out, pos = [], 0
        for start, end in sorted(self.regions.values()):
            if start > pos:
                out.append((pos, start))
            pos = max(pos, end)
        if pos < length:
            out.append((pos, length))
        return out


def _evidence(view: str, part: str, start: int) -> int:
    regex, window = _EVIDENCE[part]
    return len(regex.findall(view, start, start + window))


def find(view: str) -> Sections:
    """Locate the parts. A heading is chosen by the table evidence that follows it, so the
    same phrase in the introduction's list of contents does not win."""
    heads: dict[str, int] = {}
    evidence: dict[str, int] = {}
    for part in HEADINGS:
        best: tuple[int, int] | None = None
        for m in _headings(part, view):
            if not _is_heading(view, m.start()):
                continue
            score = _evidence(view, part, m.end()) if part in _EVIDENCE else 0
            if best is None or score >= best[0]:
                best = (score, m.start())
        if best is not None:
            heads[part] = best[1]
            evidence[part] = best[0]
    # Without a heading, a table still announces itself by its first row.
    if "s3" not in heads or evidence.get("s3", 0) < 5:
        m = re.search(r"申请人情况|本年新收", view)
        if m and _evidence(view, "s3", m.start()) >= 8:
            heads["s3"] = max(0, view.rfind("\n", 0, m.start()))
            evidence["s3"] = _evidence(view, "s3", heads["s3"])
    ordered = sorted(heads.items(), key=lambda kv: kv[1])
    regions: dict[str, tuple[int, int]] = {}
    for i, (part, start) in enumerate(ordered):
        if part not in _EVIDENCE:
            continue
        end = next((s for _, s in ordered[i + 1 :] if s > start), len(view))
        if part == "s2":
            # The part's table begins at 第二十条; the prose before it names the same things
            # (规范性文件类8条) and is not a row.
            table = view.find("第二十条", start, end)
            start = table if table >= 0 else start
        regions[part] = (start, end)
    sections = Sections(regions=regions, headings=set(heads))
    has_tables = evidence.get("s3", 0) >= 5 or evidence.get("s2", 0) >= 3
    if not has_tables:
        sections.template = "unknown"
    elif "s2" in regions and PRE2021_S2_MARKERS.search(view, *regions["s2"]):
        sections.template = "pre2021"
    else:
        sections.template = "2021"
    return sections


def looks_like_report(view: str, found: Sections, title: str | None = None) -> bool:
    """A report without tables still names itself (in its opening or its page title), is
    written mostly in Chinese, and has at least one of the template's part headings: news
    about a report, a list of reports or a notice asking for them name it too, but have none."""
    visible = "".join(view[:5000].split())  # titles may be spaced out character by character
    chinese = sum(1 for ch in visible if "\u4e00" <= ch <= "\u9fff")
    named = bool(_REPORT_TITLE.search(visible) or (title and _REPORT_TITLE.search(title)))
    return named and chinese >= 0.3 * max(1, len(visible)) and bool(found.headings)
