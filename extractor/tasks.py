"""What gouji asks an LLM: one task per part, each with a response model and a prompt file;
which tasks a document needs, what each is shown, and what came back.

Response models are built from ``template`` so their field names are the SCHEMA.md key
segments: flattening an answer with dots gives the flat keys (``s3.granted.total``).
A prompt's version is the hash of its file, recorded in every record it helps produce.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, create_model

from .errors import UNAVAILABLE, LLMError
from .template import PARTS, S3_COLUMN_LABELS, S3_COLUMNS, S3_ROWS, S4_COLUMNS, S4_GROUPS

if TYPE_CHECKING:
    from .llm import Usage
    from .reader import ReaderResult
    from .sections import Sections

Count = int | None
# Every field is required (null where the cell is blank): an answer that leaves one out is a
# schema error and re-asked, never read as "no value".
_COUNT = Field(ge=0)


class ResponseModel(BaseModel):
    """A response model whose JSON schema leaves out pydantic's field titles ("New Received"):
    the name and the Chinese description already say it, and every title costs tokens on
    every request."""

    @classmethod
    def model_json_schema(cls, *args, **kwargs) -> dict:
        schema = super().model_json_schema(*args, **kwargs)
        for holder in (schema, *schema.get("$defs", {}).values()):
            for field_schema in holder.get("properties", {}).values():
                field_schema.pop("title", None)
        return schema


class StockRow(ResponseModel):
    """第二十条第（一）项的一行。"""

    issued: Count = Field(ge=0, description="本年制发件数")
    repealed: Count = Field(ge=0, description="本年废止件数")
    in_force: Count = Field(ge=0, description="现行有效件数")


class Part2(ResponseModel):
    """二、主动公开政府信息情况。"""

    rules: StockRow = Field(description="规章")
    normative: StockRow = Field(description="行政规范性文件")
    licensing: Count = Field(ge=0, description="行政许可 本年处理决定数量")
    punishment: Count = Field(ge=0, description="行政处罚 本年处理决定数量")
    coercion: Count = Field(ge=0, description="行政强制 本年处理决定数量")
    fees: float | None = Field(ge=0, description="行政事业性收费 本年收费金额（万元）")


ApplicantRow = create_model(
    "ApplicantRow",
    __base__=ResponseModel,
    __doc__="一行的 7 列：六类申请人和总计。",
    **{c: (Count, Field(ge=0, description=S3_COLUMN_LABELS[c])) for c in S3_COLUMNS},
)
Part3 = create_model(
    "Part3",
    __base__=ResponseModel,
    __doc__="三、收到和处理政府信息公开申请情况：25 行。",
    **{row.name: (ApplicantRow, Field(description=row.label)) for row in S3_ROWS},
)
Group4 = create_model(
    "Group4",
    __base__=ResponseModel,
    __doc__="一组：结果维持、结果纠正、其他结果、尚未审结、总计。",
    **{c: (Count, _COUNT) for c in S4_COLUMNS},
)
Part4 = create_model(
    "Part4",
    __base__=ResponseModel,
    __doc__="四、政府信息公开行政复议、行政诉讼情况。",
    **{g: (Group4, Field()) for g in S4_GROUPS},
)


class ProseClaim(ResponseModel):
    metric: str = Field(description="这个数字说的是什么")
    value: float = Field(description="数值")
    unit: str = Field(description="单位；没有时为空字符串")
    qualifier: Literal["exact", "at_least", "about"]
    quote: str = Field(description="从原文逐字复制、包含数字和单位的一段")


class ProseClaims(ResponseModel):
    """正文中陈述数量、金额或比例的数字。"""

    claims: list[ProseClaim]


class Meta(ResponseModel):
    """报告的发布机关和年度。"""

    agency: str | None
    year: int | None = Field(ge=1990, le=2100)


def flatten(prefix: str, answer: dict) -> dict:
    """``{"granted": {"total": 5}}`` under ``s3`` → ``{"s3.granted.total": 5}``."""
    out: dict = {}
    for name, value in answer.items():
        key = f"{prefix}.{name}"
        if isinstance(value, dict):
            out.update(flatten(key, value))
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class Task:
    name: str  # "s2", "s3", "s4", "claims" or "meta"
    model: type[BaseModel]

    @cached_property
    def prompt(self) -> str:
        return resources.files("gouji_prompts").joinpath(f"{self.name}.md").read_text("utf-8")

    @cached_property
    def version(self) -> str:
        return hashlib.sha256(self.prompt.encode("utf-8")).hexdigest()[:12]

    @cached_property
    def schema_digest(self) -> str:
        """Names the response model's shape in cache keys: a changed model is a new question."""
        schema = json.dumps(self.model.model_json_schema(), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(schema.encode("utf-8")).hexdigest()[:16]

    def render(self, text: str) -> str:
        return self.prompt.replace("{text}", text)


TASKS: dict[str, Task] = {
    "s2": Task("s2", Part2),
    "s3": Task("s3", Part3),
    "s4": Task("s4", Part4),
    "claims": Task("claims", ProseClaims),
    "meta": Task("meta", Meta),
}


def prompt_versions() -> dict[str, str]:
    return {name: task.version for name, task in TASKS.items()}


# ---- a document's questions and answers -------------------------------------------------
_LLM_TEXT_LIMIT = 30_000


def select(mode: str, found: Sections, result: ReaderResult, report_meta: dict) -> list[str]:
    """The tasks to ask: all of them in ``verify``; in ``fallback`` only the parts where the
    reader left a field uncertain, the claims, and meta where the reader found none."""
    parts = [p for p in PARTS if not (p == "s2" and found.template == "pre2021")]
    if mode == "fallback":
        doubtful = {k.split(".", 1)[0] for k, c in result.candidates.items() if not c.certain}
        doubtful |= {k.split(".", 1)[0] for f in result.findings for k in f.keys}
        parts = [p for p in parts if p in doubtful]
    tasks = [*parts, "claims"]
    if mode == "verify" or None in report_meta.values():
        tasks.append("meta")
    return tasks


# A sentence that states a figure has a digit or a Chinese numeral before a unit.
_STATES_A_NUMBER = re.compile(
    r"\d|[一二两三四五六七八九十百千万][余多]?[条件次个篇期场项家份处人成]"
)
_SENTENCE = re.compile(r"[^。；;！!？?\n]+[。；;！!？?]?")


def text_for(task: str, view: str, found: Sections) -> str:
    """What one task is shown: its part of the report, not the whole of it."""
    if task in found.regions:
        start, end = found.regions[task]
        return view[start:end]
    if task == "claims":
        # Only the sentences that hold a number: the rest of the prose cannot be a claim.
        prose = (view[a:b] for a, b in found.prose_spans(len(view)))
        sentences = (m.group() for text in prose for m in _SENTENCE.finditer(text))
        return "\n".join(s.strip() for s in sentences if _STATES_A_NUMBER.search(s))[
            :_LLM_TEXT_LIMIT
        ]
    if task == "meta":
        return view[:400]
    return view[:_LLM_TEXT_LIMIT]


@dataclass(frozen=True)
class Failure:
    """One task the LLM could not answer, and why."""

    task: str
    error: LLMError

    def __str__(self) -> str:
        return f"{self.task}: {self.error}"  # as the record's llm.errors shows it


@dataclass
class Asked:
    """What the LLM answered for one document, task by task."""

    usage: Usage
    answers: dict[str, dict] = field(default_factory=dict)  # task → flat keys → values
    failures: list[Failure] = field(default_factory=list)

    @property
    def tasks(self) -> list[str]:
        """Every task asked, answered or not."""
        return [*self.answers, *(f.task for f in self.failures)]

    def table_fields(self) -> dict:
        """The answered tables' values, by flat key."""
        return {k: v for t in PARTS for k, v in self.answers.get(t, {}).items()}

    def claims(self) -> list[dict]:
        return self.answers.get("claims", {}).get("claims", [])

    @property
    def unavailable(self) -> bool:
        """Some task went unanswered because the endpoint did not answer."""
        return any(isinstance(f.error, UNAVAILABLE) for f in self.failures)
