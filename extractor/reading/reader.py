"""Cells → candidates: the deterministic layout reader.

Row labels anchor the table: every value after a label and before the next label belongs to
that label's row. A row is filled only when its cells can be placed with certainty — the
right number of cells, read beside their label. Otherwise its keys stay null (or keep the
value but lose certainty) and a finding says why. The reader never guesses a column.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate

from ..inputs.text import compact
from ..model import Candidate, Finding, show
from ..template import (
    FIELD_KEYS,
    PARTS,
    S2_ROWS,
    S2_STOCK_COLUMN_LABELS,
    S3_COLLAPSED_OTHER,
    S3_OTHER_SUBROWS,
    S3_ROWS,
    S4_KEYS,
    S4_ROW,
    Row,
)
from .cells import Cell, tokenize
from .sections import Sections
from .splits import Chooser, Cut, Open, blank_readings, chooser, cuts, forced, weighed_beyond


@dataclass
class ReaderResult:
    candidates: dict[str, Candidate] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The value cells found after each row's label ("s4" for part 四): where another
    # witness's value for that row must be printed to count as grounded.
    row_cells: dict[str, list[Cell]] = field(default_factory=dict)
    # Other values a key may take (run-together digits with several cuts), for the reviewer.
    alternatives: dict[str, list] = field(default_factory=dict)
    # Run-together rows cut by their own identity: proposals that other identities confirm.
    cuts: list[Cut] = field(default_factory=list)
    # Run-together rows of part 三 that several readings fit: the column identities may tell.
    open_rows: list[Open] = field(default_factory=list)
    # Run-together rows whose digits allow one reading only, per part.
    forced: dict[str, int] = field(default_factory=dict)
    # What an unplaced cell adds to a sum whatever its reading (``splits.confirm``).
    sums: dict[str, int] = field(default_factory=dict)


@dataclass
class _Anchor:
    row: Row
    cell_index: int  # index into the flat cell list of the cell that ends the label
    line: int


def _unplaced(
    result: ReaderResult, rule: str, keys: list[str], message: str, read: bool = True
) -> Finding:
    """Keys the reader cannot place (``read``: their row was found), or did not read at all:
    null, uncertain, and a finding that says why."""
    for key in keys:
        result.candidates[key] = Candidate(key, None, None, False, read=read)
    finding = Finding(rule, list(keys), message)
    result.findings.append(finding)
    return finding


def _window(seq: list[Cell], n: int) -> list[Cell] | None:
    """``n`` slots out of ``seq``, dropping surplus *empty* cells at either end. ``None``
    when too few cells, or when different trims would put different values in a column."""
    surplus = len(seq) - n
    if surplus <= 0:
        return seq if surplus == 0 else None
    lead = next((i for i, c in enumerate(seq) if c.kind != "empty"), len(seq))
    trail = next((i for i, c in enumerate(reversed(seq)) if c.kind != "empty"), len(seq))
    options = [a for a in range(min(lead, surplus) + 1) if surplus - a <= trail]
    if not options:
        return None
    shapes = {tuple((c.kind, c.value) for c in seq[a : a + n]) for a in options}
    if len(shapes) > 1:
        return None
    return seq[options[0] : options[0] + n]


@lru_cache(maxsize=8)
def _row_regex(rows: tuple[Row, ...]) -> re.Pattern[str]:
    """One pattern for all the rows, a named group each, so a label run is scanned once."""
    return re.compile("|".join(f"(?P<r{i}>{'|'.join(r.patterns)})" for i, r in enumerate(rows)))


@lru_cache(maxsize=4096)
def _rows_named(regex: re.Pattern[str], label: str) -> tuple[tuple[int, int], ...]:
    """(row index, end) of each row a label run names. Reports print the same labels over and
    over, so a bulk run matches each distinct label once."""
    return tuple((int(m.lastgroup[1:]), m.end()) for m in regex.finditer(label))


def rows_named(label: str, rows: tuple[Row, ...]) -> list[Row]:
    """The template rows a label (normalised, whitespace-free) names, in the order named."""
    return [rows[i] for i, _ in _rows_named(_row_regex(rows), label)]


def first_label_at(label: str, rows: tuple[Row, ...]) -> int | None:
    """Where in ``label`` (normalised, whitespace-free) the first template row it names is
    matched, if it names one."""
    m = _row_regex(rows).search(label)
    return m.start() if m else None


def _find_anchors(flat: list[Cell], rows: tuple[Row, ...]) -> list[_Anchor]:
    """Label runs (text cells with only empty cells between them) matched to template rows.

    A label broken over cells or lines (（四）无 … 法提供, 禁\\n止公开) is matched on the run's
    joined text; a run naming several rows yields one anchor per row, in order."""
    regex = _row_regex(rows)
    anchors: list[_Anchor] = []
    run: list[int] = []
    for index, cell in enumerate(flat):
        kind = cell.kind
        if kind == "text":
            run.append(index)
        elif kind != "empty" and run:
            anchors += _anchors_of(flat, run, rows, regex)
            run = []
    if run:
        anchors += _anchors_of(flat, run, rows, regex)
    anchors.sort(key=lambda a: a.cell_index)
    return anchors


def _anchors_of(
    flat: list[Cell], run: list[int], rows: tuple[Row, ...], regex: re.Pattern[str]
) -> list[_Anchor]:
    """The anchors of one label run (the indices of its text cells in ``flat``)."""
    pieces = tuple(["".join(flat[i].text.split()) for i in run])
    named = _run_rows(regex, pieces)
    return [_Anchor(rows[row], run[at], flat[run[at]].line) for at, row in named]


@lru_cache(maxsize=4096)
def _run_rows(regex: re.Pattern[str], pieces: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """(the piece whose end closes the name, row index) of each row a label run names.
    Reports print the same labels over and over, so a bulk run works out each run once."""
    ends = list(accumulate(len(p) for p in pieces))
    return tuple((bisect_left(ends, end), row) for row, end in _rows_named(regex, "".join(pieces)))


def _is_row_layout(lines: list[list[Cell]]) -> bool:
    """Rows on lines (tabs, pipes, PDF text) rather than one cell per line."""
    mixed = 0
    for line in lines:
        kinds = {c.kind for c in line}
        mixed += "text" in kinds and "number" in kinds
    return mixed >= 3


def _values_after(flat: list[Cell], anchors: list[_Anchor], k: int) -> list[Cell]:
    start = anchors[k].cell_index + 1
    stop = anchors[k + 1].cell_index if k + 1 < len(anchors) else len(flat)
    # Without a next label (the last row), stop at the first text after the values.
    seq: list[Cell] = []
    for cell in flat[start:stop]:
        if cell.kind == "text":
            if k + 1 >= len(anchors) and seq:
                break
            continue
        seq.append(cell)
    return seq


def _values_on_line(flat: list[Cell], anchors: list[_Anchor], k: int) -> list[Cell]:
    """``_values_after`` the ``k``-th label, on the label's own line only."""
    anchor, last = anchors[k], k + 1 >= len(anchors)
    stop = len(flat) if last else anchors[k + 1].cell_index
    seq: list[Cell] = []
    for index in range(anchor.cell_index + 1, stop):
        cell = flat[index]
        if cell.line != anchor.line:
            break
        if cell.kind == "text":
            if last and seq:
                break
            continue
        seq.append(cell)
    return seq


def _place(
    result: ReaderResult,
    part: str,
    row: Row,
    seq: list[Cell],
    anchor_line: int,
    row_layout: bool,
    lines_with_text: set[int],
) -> None:
    n = len(row.keys)
    window = _window(seq, n)
    marked = [c for c in window if c.note or c.glued] if window is not None else None
    glued = marked is None or any(c.glued for c in marked)
    if glued and _place_cut(result, part, row, seq):
        return
    if window is None:
        _place_miscounted(result, part, row, seq)
        return
    floating = row_layout and any(
        c.line != anchor_line and c.line not in lines_with_text for c in window if c.kind != "empty"
    )
    candidates = result.candidates
    for key, cell in zip(row.keys, window, strict=True):
        value = cell.value if cell.kind == "number" else None
        certain = not floating and cell.note is None
        candidates[key] = Candidate(
            key, value, (cell.start, cell.end), certain, "reader", cell.note
        )
    if floating:
        result.findings.append(
            Finding(
                f"{part}.row_layout",
                list(row.keys),
                f"「{row.label}」一行的数字不在标签所在行，行与数字的对应关系无法确认",
            )
        )
    for note in dict.fromkeys(c.note for c in marked if c.note) if marked else ():
        keys = [k for k, c in zip(row.keys, window, strict=True) if c.note == note]
        result.findings.append(Finding(f"{part}.cell_note", keys, f"「{row.label}」：{note}"))


def _place_miscounted(result: ReaderResult, part: str, row: Row, seq: list[Cell]) -> None:
    """A row whose cells are more or fewer than its columns: unplaced, with what its
    numbers add to a sum whatever their places when they can only be zeros, or its readings
    with the missing cells blank left to the column identities."""
    n = len(row.keys)
    numbers = [c for c in seq if c.kind != "empty"]
    finding = _unplaced(
        result,
        f"{part}.row_cells",
        list(row.keys),
        f"「{row.label}」一行读到 {len(numbers)} 个数（应为 {n} 个），无法确定各数所属的列",
    )
    if sum(len(c.text) for c in numbers) < n and all(
        c.kind == "blank" or c.kind == "number" and c.value == 0 for c in numbers
    ):
        # Only zeros and blanks, some cells dropped: whichever they were, each adds 0.
        result.sums.update(dict.fromkeys(row.keys, 0))
    else:
        _weigh_blanks(result, row, numbers, finding)


def _template_sequence(rows: tuple[Row, ...], anchors: list[_Anchor]) -> list[Row]:
    """The rows in printed order: the single （六） row replaces its three sub-rows when the
    report prints it instead of them."""
    named = {a.row.name for a in anchors}
    plain = [r for r in rows if r is not S3_COLLAPSED_OTHER]
    collapsed = S3_COLLAPSED_OTHER in rows and S3_COLLAPSED_OTHER.name in named
    if collapsed and not named & set(S3_OTHER_SUBROWS):
        at = [r.name for r in plain].index(S3_OTHER_SUBROWS[0])
        return [*plain[:at], S3_COLLAPSED_OTHER, *plain[at + len(S3_OTHER_SUBROWS) :]]
    return plain


def _read_aligned(
    result: ReaderResult,
    part: str,
    lines: list[list[Cell]],
    rows: tuple[Row, ...],
    flat: list[Cell],
    anchors: list[_Anchor],
) -> dict[str, _Anchor]:
    """Rows on lines, where some labels float away from their numbers (PDF text, PDF-to-
    markdown). A row printed beside its label is a fixed point; the unlabelled number rows
    between two fixed points fill the template rows between them, in order, when the counts
    agree. They are trusted only when the missing rows' labels also stand in that gap."""
    sequence = _template_sequence(rows, anchors)
    index = {r.name: i for i, r in enumerate(sequence)}
    fixed, loose, owned = _fixed_points(result, part, flat, anchors, index)
    seen = {anchor.row.name: anchor for anchor, _ in fixed}
    for anchor, inline in fixed:
        result.row_cells[anchor.row.name] = [c for c in inline if c.kind != "empty"]
        _place(result, part, anchor.row, inline, anchor.line, False, set())
    floating: list[tuple[int, list[Cell]]] = []
    for number, line in enumerate(lines):
        cells = [c for c in line if c.kind != "text" and id(c) not in owned]
        if sum(c.kind in ("number", "blank") for c in cells) >= 3:
            floating.append((number, cells))
    bounds = [(-1, -1), *((index[a.row.name], a.line) for a, _ in fixed), (len(sequence), 1 << 30)]
    for (i, line_a), (j, line_b) in zip(bounds, bounds[1:], strict=False):
        missing = sequence[i + 1 : j]
        if not missing:
            continue
        between = [(n, cells) for n, cells in floating if line_a < n < line_b]
        labelled = {a.row.name for a in loose if line_a < a.line < line_b}
        _fill_gap(result, part, missing, between, labelled, seen)
    return seen


def _fixed_points(
    result: ReaderResult,
    part: str,
    flat: list[Cell],
    anchors: list[_Anchor],
    index: dict[str, int],
) -> tuple[list[tuple[_Anchor, list[Cell]]], list[_Anchor], set[int]]:
    """The labels printed beside their values, in template order (each with the values on
    its line), the labels that float without values, and the cells (by ``id``) the fixed
    points and the labels out of order own. A label printed twice, or out of template
    order, cannot be a fixed point: a finding says so."""
    owned: set[int] = set()
    fixed: list[tuple[_Anchor, list[Cell]]] = []
    loose: list[_Anchor] = []
    seen: set[str] = set()
    last = -1
    for k, anchor in enumerate(anchors):
        inline = _values_on_line(flat, anchors, k)
        name = anchor.row.name
        if name not in index or not any(c.kind in ("number", "blank") for c in inline):
            loose.append(anchor)
            continue
        owned.update(map(id, inline))
        if name in seen or index[name] <= last:
            result.findings.append(
                Finding(
                    f"{part}.row_order",
                    list(anchor.row.keys),
                    f"「{anchor.row.label}」一行重复或不在模板顺序的位置上，未采用",
                )
            )
            continue
        fixed.append((anchor, inline))
        seen.add(name)
        last = index[name]
    return fixed, loose, owned


def _fill_gap(
    result: ReaderResult,
    part: str,
    missing: list[Row],
    between: list[tuple[int, list[Cell]]],
    labelled: set[str],
    seen: dict[str, _Anchor],
) -> None:
    """The template rows ``missing`` between two fixed points, filled in order from the
    unlabelled number lines ``between`` them when the counts agree; trusted only when every
    missing row's label (``labelled``) also stands in the gap."""
    if len(between) != len(missing):
        if between:
            keys = [k for row in missing for k in row.keys]
            _unplaced(
                result,
                f"{part}.row_cells",
                keys,
                f"「{missing[0].label}」等 {len(missing)} 行没有标签，"
                f"而其间有 {len(between)} 行数字，无法对应",
            )
        return
    trusted = all(row.name in labelled for row in missing)
    for row, (number, cells) in zip(missing, between, strict=True):
        result.row_cells[row.name] = [c for c in cells if c.kind != "empty"]
        _place(result, part, row, cells, number, False, set())
        seen.setdefault(row.name, _Anchor(row, -1, number))
        if not trusted:
            for key in row.keys:
                result.candidates[key].certain = False
            result.findings.append(
                Finding(
                    f"{part}.row_order",
                    list(row.keys),
                    f"「{row.label}」一行的数字旁没有标签，按模板行序对齐，请核对",
                )
            )


_CUT_LIMIT = 6  # cuts looked for in a row; more than this and the row is not weighed at all
_BLANK_LIMIT = 36  # readings with dropped blanks weighed in a row (their places among zeros)


# The collapsed （六） row stands for its three sub-rows: their row total is its own.
_COLLAPSED_SHAPE = next(r for r in S3_ROWS if r.name == S3_OTHER_SUBROWS[0]).keys


def _chooser(row: Row) -> Chooser | None:
    """The sums within ``row`` that choose its run-together cut (``splits.chooser``)."""
    return chooser(_COLLAPSED_SHAPE if row is S3_COLLAPSED_OTHER else row.keys)


def _opens(row: Row) -> bool:
    """Whether several readings of ``row`` that its row total admits are left to the sums
    beyond it to weigh (part 三's column identities; ``splits.confirm``)."""
    choose = _chooser(row)
    return choose is not None and choose.row_total and weighed_beyond(row.keys)


@lru_cache(maxsize=4096)
def _readings(
    tokens: tuple[str, ...], n: int, choose: Chooser | None
) -> tuple[tuple, tuple, tuple | None]:
    """The digits' cuts into ``n`` cells (two at most); the cuts the row's own sums admit;
    and where its last cell is the total of the others, the readings with dropped blanks
    that total admits. The last two are complete or ``None`` (too many to weigh). Reports
    print the same digit strings over and over (``1000001``)."""
    anyhow = tuple(map(tuple, cuts(list(tokens), n, limit=2)))
    if choose is None:
        return anyhow, (), ()
    if len(anyhow) == 1:
        admitted = anyhow if choose.holds(list(anyhow[0])) else ()
    else:
        admitted = tuple(map(tuple, choose.cuts(list(tokens), _CUT_LIMIT + 1)))
        if len(admitted) > _CUT_LIMIT:
            return anyhow, (), None
    if not choose.row_total:
        return anyhow, admitted, ()
    blanks = blank_readings(list(tokens), n, _BLANK_LIMIT)
    return anyhow, admitted, None if blanks is None else tuple(map(tuple, blanks))


def _place_cut(result: ReaderResult, part: str, row: Row, seq: list[Cell]) -> bool:
    """Cells whose borders were lost (digits run together), as ``splits`` says: read them
    when the digits allow one reading only; propose the one reading the row's identity
    allows, for other identities to confirm; in part 三, leave the readings to the column
    identities when several fit. Returns False when the cells are not run-together digits."""
    numbers = [c for c in seq if c.kind != "empty"]
    if not numbers or not all(c.kind == "number" and c.text.isdigit() for c in numbers):
        return False
    n = len(row.keys)
    tokens = [c.text for c in numbers]
    printed = " ".join(tokens)
    only = forced(tokens, n)
    if only is not None:
        _fill_cut(result, row, numbers, only, certain=True)
        result.forced[part] = result.forced.get(part, 0) + 1
        return True
    choose = _chooser(row)
    anyhow, admitted, blanks = _readings(tuple(tokens), n, choose)
    if blanks is None:
        why = "符合勾稽关系的读法太多，无法确定"
        _unplaced(result, f"{part}.run_together", list(row.keys), _glued(row, printed, why))
        return True
    found = [list(r) for r in (anyhow if choose is None else (*admitted, *blanks))]
    if not found and len(anyhow) == 1 and choose is not None:
        found = [list(anyhow[0])]  # its own identity breaks: the finding will say so
    if not found:
        if choose is None or sum(len(t) for t in tokens) < n:
            return False
        why = "没有一种拆分符合勾稽关系（报告本身可能有误）"
        _unplaced(result, f"{part}.run_together", list(row.keys), _glued(row, printed, why))
    elif len(found) > 1:
        _several_readings(result, part, row, numbers, found, printed)
    elif choose is None:
        # No identity to choose or confirm it, and the digits could be fewer cells.
        _fill_cut(result, row, numbers, found[0], certain=False)
        cut = "、".join(map(show, found[0]))
        why = f"可拆为 {cut}，但也可能漏掉了空白单元格，本行没有勾稽关系可以验证，请核对"
        result.findings.append(
            Finding(f"{part}.run_together", list(row.keys), _glued(row, printed, why))
        )
    else:
        # The digits' only reading into this row's cells confirms nothing by itself, and
        # the one reading its identity admits was chosen by it: others are left to confirm.
        alone = tuple(found[0]) in anyhow and len(anyhow) == 1
        chosen_by = frozenset() if alone else choose.rules
        _fill_cut(result, row, numbers, found[0], certain=False)
        result.cuts.append(Cut(part, row.label, row.keys, found[0], printed, chosen_by))
    return True


def _glued(row: Row, printed: str, why: str) -> str:
    return f"「{row.label}」的数字粘连为「{printed}」，{why}"


def _several_readings(
    result: ReaderResult,
    part: str,
    row: Row,
    numbers: list[Cell],
    found: list[list],
    printed: str,
) -> None:
    """A row that several readings fit: unplaced, its readings kept for the reviewer, and
    where the column identities can weigh it, left open for them (``splits.confirm``)."""
    options = "；或 ".join("、".join(map(show, cut)) for cut in found[:3])
    why = f"有多种拆分都符合勾稽关系：{options}"
    finding = _unplaced(result, f"{part}.run_together", list(row.keys), _glued(row, printed, why))
    result.alternatives.update(
        {
            key: sorted({cut[i] for cut in found}, key=lambda v: -1 if v is None else v)
            for i, key in enumerate(row.keys)
        }
    )
    if _opens(row):
        _open(result, row, numbers, found, printed, finding)


def _open(
    result: ReaderResult,
    row: Row,
    numbers: list[Cell],
    found: list[list],
    printed: str,
    finding: Finding,
) -> None:
    """A part 三 row that several readings fit, for ``splits.confirm`` to weigh with the
    column identities (the reader's ``finding`` on it is withdrawn if they decide it)."""
    spans = [_spans(numbers, reading) for reading in found]
    rules = _chooser(row).rules
    result.open_rows.append(Open(row.label, row.keys, found, spans, printed, finding, rules))


def _weigh_blanks(result: ReaderResult, row: Row, numbers: list[Cell], finding: Finding) -> None:
    """A row whose numbers are fewer than its cells: its readings with the missing cells
    blank that its own identity admits, when there are few, are left to the column
    identities as for run-together digits (part 四's 15 cells, one row, leave too many
    places for the blanks and no identity beyond them)."""
    if not _opens(row) or not all(c.kind == "number" and c.text.isdigit() for c in numbers):
        return
    found = blank_readings([c.text for c in numbers], len(row.keys), _BLANK_LIMIT)
    if found:
        printed = " ".join(c.text for c in numbers)
        _open(result, row, numbers, [list(r) for r in found], printed, finding)


def _fill_cut(
    result: ReaderResult, row: Row, numbers: list[Cell], cut: list[int], certain: bool
) -> None:
    """Candidates for a row's cut, each spanning its own digits."""
    for key, value, span in zip(row.keys, cut, _spans(numbers, cut), strict=True):
        result.candidates[key] = Candidate(key, value, span, certain)


def _spans(numbers: list[Cell], cut: list[int]) -> list[tuple[int, int]]:
    """Where each value of a cut of ``numbers``' digits is printed."""
    out = []
    cells = iter(numbers)
    cell, offset = next(cells), 0
    for value in cut:
        if value is None:  # a dropped blank: nothing printed, between the digits
            out.append((cell.start + offset, cell.start + offset))
            continue
        if offset >= len(cell.text):
            cell, offset = next(cells), 0
        width = len(str(value))
        out.append((cell.start + offset, cell.start + offset + width))
        offset += width
    return out


def _read_rows(
    result: ReaderResult, part: str, lines: list[list[Cell]], rows: tuple[Row, ...]
) -> dict[str, _Anchor]:
    flat = [c for line in lines for c in line]
    anchors = _find_anchors(flat, rows)
    row_layout = _is_row_layout(lines)
    if row_layout and part == "s3":
        return _read_aligned(result, part, lines, rows, flat, anchors)
    # A row's label may also stand in a heading or a header: keep the labels with values.
    has_cells = [
        any(c.kind != "empty" for c in _values_after(flat, anchors, k)) for k in range(len(anchors))
    ]
    with_values = {a.row.name for a, has in zip(anchors, has_cells, strict=True) if has}
    kept = [k for k, a in enumerate(anchors) if a.row.name not in with_values or has_cells[k]]
    anchors = [anchors[k] for k in kept]
    lines_with_text = {c.line for c in flat if c.kind == "text"}
    seen: dict[str, _Anchor] = {}
    duplicated: set[str] = set()
    for k, anchor in enumerate(anchors):
        name = anchor.row.name
        seq = _values_after(flat, anchors, k)  # anew: a dropped label moved this row's end
        if name in seen:
            # A second label for the same row: keep the first unless it had no cells.
            if not any(c.kind != "empty" for c in seq):
                continue
            duplicated.add(name)
            continue
        seen[name] = anchor
        result.row_cells[name] = [c for c in seq if c.kind != "empty"]
        if anchor.row is S3_COLLAPSED_OTHER:
            if any(c.kind != "empty" for c in seq):
                _place(result, part, anchor.row, seq, anchor.line, row_layout, lines_with_text)
            continue
        if not seq and k + 1 < len(anchors) and anchors[k + 1].line == anchor.line:
            # The next row's label follows this one's at once, on the same line: nothing was
            # printed in it (a crawl drops blank cells altogether, as a pipe table shows them
            # empty). On a line of its own, a label's numbers may have wrapped elsewhere.
            at = flat[anchor.cell_index].end
            for key in anchor.row.keys:
                result.candidates[key] = Candidate(key, None, (at, at), True)
            continue
        _place(result, part, anchor.row, seq, anchor.line, row_layout, lines_with_text)
    for name in duplicated:
        row = next(r for r in rows if r.name == name)
        _unplaced(
            result,
            f"{part}.row_duplicate",
            list(row.keys),
            f"「{row.label}」一行在表中出现了不止一次",
        )
    return seen


def _missing(result: ReaderResult, part: str, rows: tuple[Row, ...], found: dict) -> None:
    for row in rows:
        if row.name in found or row.keys[0] in result.candidates:
            continue
        message = f"表中未找到「{row.label}」一行"
        _unplaced(result, f"{part}.row_missing", list(row.keys), message, read=False)


def read_s2(view: str, region: tuple[int, int], result: ReaderResult) -> None:
    lines = tokenize(view, *region)
    found = _read_rows(result, "s2", lines, S2_ROWS)
    _check_stock_columns(lines, result)
    _missing(result, "s2", S2_ROWS, found)


def _check_stock_columns(lines: list[list[Cell]], result: ReaderResult) -> None:
    """Where the header of 第二十条第（一）项 names its columns, they must be in template order."""
    header = compact("".join(c.text for line in lines for c in line if c.kind == "text"))
    positions = []
    for labels in S2_STOCK_COLUMN_LABELS.values():
        at = min((header.find(lb) for lb in labels if lb in header), default=-1)
        positions.append(at)
    if all(p >= 0 for p in positions) and positions != sorted(positions):
        keys = [k for row in S2_ROWS[:2] for k in row.keys]
        for key in keys:
            if key in result.candidates:
                result.candidates[key].certain = False
        result.findings.append(
            Finding(
                "s2.column_order",
                keys,
                "第二十条第（一）项的列顺序与模板不同（制发、废止、现行有效）",
            )
        )


def read_s3(view: str, region: tuple[int, int], result: ReaderResult) -> None:
    lines = tokenize(view, *region)
    found = _read_rows(result, "s3", lines, (*S3_ROWS, S3_COLLAPSED_OTHER))
    collapsed = S3_COLLAPSED_OTHER.keys[0] in result.candidates
    subrows_found = any(name in found for name in S3_OTHER_SUBROWS)
    if collapsed and not subrows_found:
        _expand_collapsed_other(result)
    for key in S3_COLLAPSED_OTHER.keys:
        result.candidates.pop(key, None)
        result.alternatives.pop(key, None)
    result.findings = [
        f for f in result.findings if not any(k.startswith("s3.other_collapsed.") for k in f.keys)
    ]
    _missing(result, "s3", S3_ROWS, found)


def _expand_collapsed_other(result: ReaderResult) -> None:
    """The single （六）其他处理 row: three non-negative sub-rows that sum to a printed 0 are
    each 0; any other printed figure cannot be split, so the sub-rows wait for a person."""
    collapsed = [result.candidates[k] for k in S3_COLLAPSED_OTHER.keys]
    rows = [r for r in S3_ROWS if r.name in S3_OTHER_SUBROWS]
    all_zero = all(c.value == 0 and c.certain for c in collapsed)
    for row in rows:
        for key, source in zip(row.keys, collapsed, strict=True):
            if all_zero:
                result.candidates[key] = Candidate(key, 0, source.span, True)
            else:
                result.candidates[key] = Candidate(key, None, source.span, False)
    if all_zero:
        result.notes.append("（六）其他处理印为合并的一行且全为 0，三个子项均记为 0")
    else:
        printed = "、".join("空" if c.value is None else str(c.value) for c in collapsed)
        result.findings.append(
            Finding(
                "s3.collapsed_other",
                [k for row in rows for k in row.keys],
                f"（六）其他处理只印了合并的一行（{printed}），无法拆分到三个子项",
            )
        )


# A line of running text (a table's labels are shorter), where part 四's numbers have ended.
_PROSE_LINE = re.compile(r"(?:[一-龥][^一-龥\n|]{0,3}){15,}")


def read_s4(view: str, region: tuple[int, int], result: ReaderResult) -> None:
    """Part 四 has no row labels: its 15 cells are read in template order."""
    lines = tokenize(view, *region)
    seq: list[Cell] = []
    started = False
    for line in lines:
        has_value = any(c.kind in ("number", "blank") for c in line)
        if started and any(_PROSE_LINE.search(c.text) for c in line if c.kind == "text"):
            break
        if not has_value:
            if started and all(c.kind == "empty" for c in line):
                seq.extend(line)  # a lone "|" between values: an empty cell
            continue
        started = True
        first = next(i for i, c in enumerate(line) if c.kind != "text")
        seq.extend(c for c in line[first:] if c.kind != "text")
    result.row_cells["s4"] = [c for c in seq if c.kind != "empty"]
    window = _window(seq, len(S4_KEYS))
    glued = window is None or any(c.glued for c in window)
    if glued and _place_cut(result, "s4", S4_ROW, seq):
        return
    if window is None:
        numbers = sum(1 for c in seq if c.kind != "empty")
        _unplaced(
            result,
            "s4.cells",
            list(S4_KEYS),
            f"第四部分读到 {numbers} 个数（应为 15 个），无法确定各数所属的列",
        )
        return
    for key, cell in zip(S4_KEYS, window, strict=True):
        value = cell.value if cell.kind == "number" else None
        result.candidates[key] = Candidate(
            key, value, (cell.start, cell.end), cell.note is None, note=cell.note
        )
    for cell_key, cell in zip(S4_KEYS, window, strict=True):
        if cell.note:
            result.findings.append(Finding("s4.cell_note", [cell_key], f"第四部分：{cell.note}"))


def read(view: str, sections: Sections) -> ReaderResult:
    """Candidates for all 200 keys (``certain`` or not) and the reader's own findings."""
    result = ReaderResult()
    parts = {"s2": read_s2, "s3": read_s3, "s4": read_s4}
    for part, reader in parts.items():
        region = sections.regions.get(part)
        if part == "s2" and sections.template == "pre2021":
            keys = [k for row in S2_ROWS for k in row.keys]
            _unplaced(
                result,
                "s2.pre2021_template",
                keys,
                "第二部分为 2019 年版表格（本年新制作/本年新公开/对外公开总数量），与现行模板字段不对应，未填",
                read=False,
            )
            continue
        if region is None:
            keys = [k for k in FIELD_KEYS if k.startswith(part + ".")]
            message = f"未找到{PARTS[part].name}的表格"
            _unplaced(result, f"{part}.table_missing", keys, message, read=False)
            continue
        reader(view, region, result)
    return result
