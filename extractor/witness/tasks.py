"""What gouji asks an LLM: the tables as printed, and the prose's figures with the meta.

The tables come back as their rows in printed order, each row one string — the first
characters of its printed label, then its cells as printed, each after a bar — and the
prose's figures as printed with their units; gouji finds each in the source and maps the
rows to template keys itself. A true answer to a full report is a few hundred tokens, and
the room an answer is given (``answer_tokens``) is what a true one needs: a model that
loops is cut there. One request asks every table and the prose where it fits the context,
else the tables apart, then one table at a time (``plan``). The instructions name the
template's rows and spell the answer's form out in the prompt itself, so every
structured-output mode shows them to the model, and no descriptive text stands where a
value goes: an answer that copies the instructions into its values is no witness
(``Task.copied``). A prompt's version is the hash of its file and of those rows, recorded
in every record it helps produce.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, create_model

from ..errors import UNAVAILABLE, LLMContextExceeded, LLMError
from ..inputs.text import compact
from ..reading.reader import first_label_at
from ..template import (
    HEADERS,
    PARTS,
    S2_KEYS,
    S2_ROWS,
    S2_STOCK_COLUMN_LABELS,
    S3_COLLAPSED_OTHER,
    S3_COLUMN_LABELS,
    S3_KEYS,
    S3_ROWS,
    S4_COLUMN_LABELS,
    S4_GROUP_LABELS,
    S4_KEYS,
)

if TYPE_CHECKING:
    from ..model import Usage
    from ..reading.reader import ReaderResult
    from ..reading.sections import Sections


class ResponseModel(BaseModel):
    """A response model whose JSON schema leaves out pydantic's titles but its own name:
    every title costs tokens on every request."""

    @classmethod
    def model_json_schema(cls, *args, **kwargs) -> dict:
        schema = super().model_json_schema(*args, **kwargs)
        for holder in (schema, *schema.get("$defs", {}).values()):
            if holder is not schema:  # the top one's title and description name the tool
                holder.pop("title", None)
                holder.pop("description", None)
            for field_schema in holder.get("properties", {}).values():
                field_schema.pop("title", None)
        return schema


class ClosedModel(ResponseModel):
    """A response model as strict structured output wants its schema (every field is
    required, and no other key may come), the schema instructor sends in every mode; an
    answer with a key more is still read."""

    model_config = ConfigDict(json_schema_extra={"additionalProperties": False})


def _short(label: str) -> str:
    """A row label up to its first clause (1.申请人无正当理由逾期不补正、行政机关不再处理…):
    enough to know the row by, at a fraction of the tokens."""
    head, comma, _ = label[2:].partition("、")
    return label[:2] + head if comma else label


def _describe(part: str) -> str:
    """The template's rows of one table, in Chinese, for the prompt."""
    head = f"- {part} {PARTS[part].label}："
    if part == "s2":
        stock = "、".join(labels[-1] for labels in S2_STOCK_COLUMN_LABELS.values())
        rows = [row.label for row in S2_ROWS]
        return f"{head}{'、'.join(rows[:2])}各 3 格（{stock}），{'、'.join(rows[2:])}各 1 格（收费为万元）。"
    if part == "s3":
        columns = "、".join(S3_COLUMN_LABELS.values())
        rows = "；".join(_short(row.label) for row in S3_ROWS)
        return f"{head}每行 {len(S3_COLUMN_LABELS)} 格（{columns}），行依次为 {rows}。"
    return (
        f"{head}共 {len(S4_KEYS)} 格，{'、'.join(S4_GROUP_LABELS.values())}三组，"
        f'每组为{"、".join(S4_COLUMN_LABELS.values())}；行无标签时 label 为 ""。'
    )


PROSE = "prose"  # the prose's claims with the report's agency and year
TEXT, PAGE = "text", "page"  # what a task is shown: the report's text, or its pages as images
# The prompt file's blocks, in order: the two openings (text, page images), the tables', the
# prose's.
_BLOCKS = (TEXT, PAGE, "tables", PROSE)


def split_row(row: str) -> tuple[str, list[str]]:
    """A table row as the witness writes it (``本年新收|64|0||2``): the first characters of
    its printed label, and its cells as printed."""
    label, *cells = row.split("|")
    return label.strip(), [cell.strip() for cell in cells]


_CJK = re.compile("[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Task:
    """One kind of request: some of the tables and/or the prose, asked together, shown the
    report's text or (``PAGE``) the images of its table pages."""

    units: tuple[str, ...]  # table parts ("s2", "s3", "s4") and/or PROSE, in that order
    source: str = TEXT
    prompt_file: str = "report"

    @property
    def name(self) -> str:
        units = "+".join(self.units)
        return units if self.source == TEXT else f"{self.source}:{units}"

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(u for u in self.units if u != PROSE)

    @cached_property
    def model(self) -> type[BaseModel]:
        """Each table a list of rows written as strings, the prose's claims as the short
        quotes that state them: an answer of a few hundred tokens, whose every value is
        read back in the source by gouji."""
        fields: dict = {part: (list[str], ...) for part in self.parts}
        if PROSE in self.units:
            fields["agency"] = (str | None, ...)
            fields["year"] = (int | None, ...)
            fields["claims"] = (list[str], ...)
        return create_model("Answer", __base__=ClosedModel, __doc__="按要求回答。", **fields)

    @cached_property
    def schema(self) -> dict:
        return self.model.model_json_schema()

    @cached_property
    def prompt(self) -> str:
        blocks = dict(zip(_BLOCKS, _prompt_blocks(self.prompt_file), strict=True))
        out = [blocks[self.source]]
        if self.parts:
            out.append(blocks["tables"].replace("{tables}", "\n".join(map(_describe, self.parts))))
        if PROSE in self.units:
            out.append(blocks[PROSE])
        return "\n".join(out)

    @cached_property
    def version(self) -> str:
        return prompt_version(self.prompt_file)

    @cached_property
    def schema_digest(self) -> str:
        """Names the response model's shape in cache keys: a changed model is a new question."""
        schema = json.dumps(self.schema, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(schema.encode("utf-8")).hexdigest()[:16]

    def render(self, text: str) -> str:
        return f"{self.prompt}\n\n{text}" if text else self.prompt

    def messages(self, text: str, images: tuple[str, ...] = ()) -> list[dict]:
        """The request's one user message: the instructions and the text, or the
        instructions and the page images (``data:`` URLs), OpenAI's ``image_url`` parts."""
        if not images:
            return [{"role": "user", "content": self.render(text)}]
        parts = [{"type": "text", "text": self.render(text)}]
        parts += [{"type": "image_url", "image_url": {"url": url}} for url in images]
        return [{"role": "user", "content": parts}]

    def copied(self, answer: dict, text: str) -> str | None:
        """A string of the answer that is the prompt's own wording, not the report's (a
        cell, the agency or a claim): the model copied its instructions, and the answer is
        no witness. Row labels are not weighed: the prompt names the template's rows."""
        said = compact(self.prompt)
        shown = compact(text)
        strings = [cell for part in self.parts for row in answer.get(part, [])
                   for cell in split_row(row)[1]]  # fmt: skip
        if PROSE in self.units:
            strings += [answer.get("agency") or "", *answer.get("claims", [])]
        for string in strings:
            flat = compact(string)
            if len(flat) >= 4 and _CJK.search(flat) and flat in said and flat not in shown:
                return string
        return None


def _prompt_blocks(prompt_file: str) -> list[str]:
    text = resources.files("gouji_prompts").joinpath(f"{prompt_file}.md").read_text("utf-8")
    return [block.strip() for block in text.split("\n---\n")]


@functools.cache
def task_named(name: str) -> Task:
    """A task by its name: its units joined by ``+`` (``s2+s3+s4+prose``), after
    ``page:`` when it is shown the pages' images."""
    source, _, units = name.rpartition(":")
    return Task(tuple(units.split("+")), source or TEXT)


@functools.cache
def prompt_version(prompt_file: str) -> str:
    """The hash of the prompt file and of the template's rows as the prompt describes them:
    a changed description is a new prompt too."""
    text = resources.files("gouji_prompts").joinpath(f"{prompt_file}.md").read_text("utf-8")
    text += "\n".join(map(_describe, PARTS))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def prompt_versions() -> dict[str, str]:
    return {"report": prompt_version("report")}


def estimate_tokens(text: str) -> int:
    """A tokenizer-free, cautious estimate: a Chinese character or a digit is about a token
    (open models' tokenizers split digits), other text about three characters a token."""
    heavy = len(_HEAVY.findall(text))
    return heavy + (len(text) - heavy) // 3 + 1


_HEAVY = re.compile("[\u4e00-\u9fff0-9]")


@dataclass(frozen=True)
class Request:
    """One request of a plan: the task, the text it is shown, and the answer's token room."""

    task: Task
    text: str
    prompt_tokens: int  # estimated: instructions, text and answer schema
    max_tokens: int  # what the answer may use: what a true one needs, at most the client's cap


# What any request costs besides its prompt and schema: the message wrapper, and the
# sentence around the schema in the JSON modes.
_OVERHEAD = 80
# The cells and rows a witness writes per table (part 三 perhaps its single （六） row too).
_ANSWER_CELLS = {"s2": len(S2_KEYS), "s3": len(S3_KEYS) + len(S3_COLUMN_LABELS), "s4": len(S4_KEYS)}
_ANSWER_ROWS = {"s2": len(S2_ROWS), "s3": len(S3_ROWS) + 1, "s4": len(S4_GROUP_LABELS)}
_FIGURE = re.compile(r"[0-9—/]")


def _text(tables: dict[str, str], lines: list[str]) -> str:
    blocks = []
    if tables:
        blocks.append("表格文字：\n" + "\n\n".join(tables.values()))
    if lines:
        blocks.append("正文（开头和含数字的句子）：\n" + "\n".join(lines))
    return "\n\n".join(blocks)


def answer_tokens(tables: dict[str, str], lines: list[str]) -> int:
    """What a true answer to these tables and lines takes, with a quarter to spare: per
    table its printed figures (a digit a token), a bar per cell, and per row its label's
    first characters and quotes; per line of prose the short quotes of the figures it
    states; the agency and the year. An answer running past it is cut there, so a model
    that loops costs no more than a true answer would."""
    size = 16
    for part, text in tables.items():
        size += len(_FIGURE.findall(text)) + _ANSWER_CELLS[part] // 3 + 6 * _ANSWER_ROWS[part]
    if lines:
        size += 40 + sum(14 * max(1, len(_STATES_A_NUMBER.findall(line))) for line in lines)
    return size * 5 // 4 + 48


def fits(
    tables: dict[str, str], lines: list[str], context: int, cap: int, thinking: int = 0
) -> Request | None:
    """The request for these tables' texts and these prose lines, when its prompt and the
    room its answer needs (``answer_tokens``, and ``thinking`` for a model that reasons
    first; at most ``cap``) fit the context."""
    task = task_named("+".join((*tables, *([PROSE] if lines else []))))
    text = _text(tables, lines)
    schema = json.dumps(task.schema, ensure_ascii=False, indent=2)
    # The schema twice over: a tool's parameters or a system message, and the request's own.
    used = estimate_tokens(task.render(text)) + 2 * estimate_tokens(schema) + _OVERHEAD
    room = min(cap, answer_tokens(tables, lines) + thinking)
    return Request(task, text, used, room) if used + room <= context else None


def plan(
    tables: dict[str, str], lines: list[str], context: int, cap: int, thinking: int = 0
) -> tuple[list[Request], list[str], int]:
    """The fewest requests that fit the context: the tables and the prose in one; else the
    tables in one (or one per table) and the prose's lines in as few as fit, in order.
    Returns the requests, the tables too large to ask at all, and the lines too long to ask
    alone."""
    whole = fits(tables, lines, context, cap, thinking)
    if whole is not None:
        return [whole], [], 0
    requests: list[Request] = []
    too_large: list[str] = []
    together = fits(tables, [], context, cap, thinking) if tables else None
    if together is not None:
        requests.append(together)
    else:
        for part, text in tables.items():
            one = fits({part: text}, [], context, cap, thinking)
            if one is None:
                too_large.append(part)
            else:
                requests.append(one)
    chunk: list[str] = []
    dropped = 0
    for line in lines:
        if fits({}, [*chunk, line], context, cap, thinking) is not None:
            chunk.append(line)
            continue
        if chunk:
            requests.append(fits({}, chunk, context, cap, thinking))
        chunk = [line]
        if fits({}, chunk, context, cap, thinking) is None:
            dropped, chunk = dropped + 1, []
    if chunk:
        requests.append(fits({}, chunk, context, cap, thinking))
    return requests, too_large, dropped


# ---- a document's questions and answers -------------------------------------------------
def _parts_to_ask(mode: str, found: Sections, result: ReaderResult) -> list[str]:
    """The tables to ask about: those the sections found (a witness's rows can be grounded
    only in a table's printed cells); in ``fallback`` only those where the reader left a
    field uncertain."""
    parts = [p for p in PARTS if p in found.regions]
    if found.template == "pre2021":
        parts = [p for p in parts if p != "s2"]
    if mode == "fallback":
        doubtful = {k.split(".", 1)[0] for k, c in result.candidates.items() if not c.certain}
        doubtful |= {k.split(".", 1)[0] for f in result.findings for k in f.keys}
        parts = [p for p in parts if p in doubtful]
    return parts


# A sentence that states a figure: a number with its unit or measure word after it (not a
# date's, a phone number's or a code's digits), or a Chinese numeral before a unit.
_STATES_A_NUMBER = re.compile(
    r"(?<![\d\-/:.])\d+(?:\.\d+)?\s*(?:%|[万亿]|[一-龥](?<![年月日号时分]))"
    r"|[一二两三四五六七八九十百千万][余多]?[条件次个篇期场项家份处人成]"
)
# What the claims never are (addresses, telephone numbers, web and mail addresses): digits
# inside them state no figure, so a sentence holding only those is not sent.
_CONTACT = re.compile(
    r"(?:联系|通讯|通信|办公)地址[^，,。；;]*|(?:联系|咨询)?电话[:：]?[\d\-－—()（） ]{7,}"
    r"|(?:https?://|www\.)[\w./:%?=&#-]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\d{3,4}-\d{7,8}"
)
_SENTENCE = re.compile(r"[^。；;！!？?\n]+[。；;！!？?]?")
_OPENING = 120  # the title and the opening lines, where the agency and the year are named


def prose_lines(view: str, found: Sections) -> list[str]:
    """The opening, then the prose's sentences after it that state a figure: the rest of
    the prose cannot be a claim."""
    lines = [view[:_OPENING].strip()]
    for a, b in found.prose_spans(len(view)):
        for m in _SENTENCE.finditer(view, max(a, _OPENING), b):
            if _STATES_A_NUMBER.search(_CONTACT.sub("", m.group())):
                lines.append(m.group().strip())
    return lines


_ROWS = {"s2": S2_ROWS, "s3": (*S3_ROWS, S3_COLLAPSED_OTHER), "s4": ()}
_PIPE = re.compile(r"[ \t]*\|[ \t]*")
_PADDING = re.compile(r" {2,}")
_LETTER = re.compile(r"[^\W\d_]")
# A row label's number (一、 （一） 1.), which the label patterns leave out.
_ORDINAL = re.compile(
    r"(?:[一二三四五六七八九十]{1,2}、|\([一二三四五六七八九十]{1,2}\)|\d{1,2}[.、])\s*$"
)


@functools.cache
def _headers(part: str) -> re.Pattern[str]:
    """The template's headers over one table's cells, but those that are also part of a
    row's label there (三's 其他 and 总计)."""
    labels = [row.label for row in _ROWS[part]]
    own = [h for h in HEADERS[part] if not any(re.search(h, label) for label in labels)]
    return re.compile("|".join(sorted(own, key=len, reverse=True)))


def _label_start(line: str, rows: tuple) -> int | None:
    """Where in ``line`` (view text) the first template row label begins, if it names one:
    a crawled page prints a table's headers and rows on one line."""
    found = first_label_at(compact(line), rows)
    if found is None:
        return None
    at = [at for at, ch in enumerate(line) if not ch.isspace()][found]
    ordinal = _ORDINAL.search(line, 0, at)
    return ordinal.start() if ordinal else at


def _table_text(view: str, part: str, region: tuple[int, int], cells: list) -> str:
    """A table's text from its first row label (part 四: its first cell; its rows are read
    in template order, their labels unused) to the reader's last cell in it: a witness's
    rows are grounded only in those cells. Between them, the template's headers are left
    out, and a line without a cell is sent only when it has words (a label broken over
    lines, a group's heading) it does not repeat: headers, page footers, markdown rules,
    padding and the prose after a table cost tokens for nothing."""
    start, end = min(c.start for c in cells), max(c.end for c in cells)
    if part != "s4":
        first_cell, at = start, region[0]
        # Where no label is printed before the cells, the first cell's line is sent whole.
        start = view.rfind("\n", region[0], first_cell) + 1 or region[0]
        for line in view[region[0] : first_cell].splitlines(keepends=True):
            offset = _label_start(line, _ROWS[part])
            if offset is not None:
                start = at + offset
                break
            at += len(line)
    starts = sorted(c.start for c in cells)
    kept: list[str] = []
    seen: set[str] = set()
    at = start
    for line in view[start:end].split("\n"):
        holds_cell = bisect_left(starts, at + len(line)) > bisect_left(starts, at)
        at += len(line) + 1
        line = _headers(part).sub("", line)
        flat = compact(line)
        if not holds_cell and (not _LETTER.search(flat) or flat in seen):
            continue
        seen.add(flat)
        # The room around a pipe and a run of spaces say no more than one character does,
        # nor a markdown row's outer pipes than its inner ones.
        line = _PADDING.sub(" ", _PIPE.sub("|", line))
        if len(line) > 1 and line[0] == line[-1] == "|":
            line = line[1:-1]
        kept.append(line)
    return "\n".join(kept)


def _cells_of(result: ReaderResult, part: str) -> list:
    """The value cells the reader found in one table (``row_cells`` is keyed by row)."""
    s2 = {row.name for row in S2_ROWS}
    return [
        cell
        for name, cells in result.row_cells.items()
        if ("s4" if name == "s4" else "s2" if name in s2 else "s3") == part
        for cell in cells
    ]


def table_texts(mode: str, view: str, found: Sections, result: ReaderResult) -> dict[str, str]:
    """The text of each table to ask about (``_parts_to_ask``) that the reader found cells
    in, by part."""
    texts = {}
    for part in _parts_to_ask(mode, found, result):
        cells = _cells_of(result, part)
        if cells:
            texts[part] = _table_text(view, part, found.regions[part], cells)
    return texts


def requests_for(
    texts: dict[str, str], lines: list[str], context: int, cap: int, thinking: int = 0
) -> tuple[list[Request], list[Failure]]:
    """The requests for these tables and prose lines, each within the context (``plan``),
    and what could not be asked."""
    requests, too_large, dropped = plan(texts, lines, context, cap, thinking)
    failures = [
        Failure(part, LLMContextExceeded(f"这张表的请求超出上下文 {context} 个 token"))
        for part in too_large
    ]
    if dropped:
        message = f"{dropped} 句单独提问也超出上下文 {context} 个 token"
        failures.append(Failure(PROSE, LLMContextExceeded(message)))
    return requests, failures


@dataclass(frozen=True)
class Failure:
    """One task the LLM could not answer (or that could not be asked), and why."""

    task: str
    error: LLMError

    def __str__(self) -> str:
        return f"{self.task}: {self.error}"  # as the record's llm.errors shows it


@dataclass
class Asked:
    """What the LLM answered for one document, request by request."""

    usage: Usage
    requests: list[Request] = field(default_factory=list)
    tables: dict[str, list] = field(default_factory=dict)  # part → rows as printed
    claims: list[str] = field(default_factory=list)  # the quotes that state a figure
    modes: set[str] = field(default_factory=set)  # the structured-output modes that answered
    meta: dict = field(default_factory=lambda: {"meta.agency": None, "meta.year": None})
    failures: list[Failure] = field(default_factory=list)

    def add(self, request: Request, answer: dict) -> None:
        self.tables.update({part: answer[part] for part in request.task.parts})
        if PROSE in request.task.units:
            self.claims += answer["claims"]
            for key in ("agency", "year"):
                if self.meta[f"meta.{key}"] is None:  # the first request's opening names them
                    self.meta[f"meta.{key}"] = answer[key]

    def record(self) -> dict:
        """How the report was asked, for the record's ``llm`` block."""
        return {
            "prompt_versions": {r.task.prompt_file: r.task.version for r in self.requests},
            "asked": [
                {"task": r.task.name, "prompt_tokens": r.prompt_tokens, "max_tokens": r.max_tokens}
                for r in self.requests
            ],
            "usage": self.usage.to_dict(),
            "errors": [str(f) for f in self.failures],
        }

    @property
    def unavailable(self) -> bool:
        """Some task went unanswered because the endpoint did not answer."""
        return any(isinstance(f.error, UNAVAILABLE) for f in self.failures)
