"""The data that flows between steps (candidates, findings, claims, the LLM's usage), and
how a value is shown to a person (``show``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .rules import RULES
from .template import Value


def show(value: Value) -> str:
    """A value as a person reads it: 空 for a blank, 2.5 rather than 2.500, 7 rather than 7.0."""
    if value is None:
        return "空"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass(slots=True)
class Candidate:
    """One witness's value for one field, with where it was read (a view span)."""

    key: str
    value: Value
    span: tuple[int, int] | None
    certain: bool
    witness: str = "reader"
    note: str | None = None
    # False where no table or row was found for the key: a null that was not read, rather
    # than a value the reader could not place.
    read: bool = True


@dataclass
class Finding:
    """A check that objects: the rule, every key it involves, and a sentence for a reviewer."""

    rule: str  # an id of rules.RULES
    keys: list[str]
    message: str

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise KeyError(f"rule {self.rule!r} is not in the registry (rules.py)")

    def to_dict(self) -> dict:
        return {"rule": self.rule, "keys": list(self.keys), "message": self.message}


@dataclass
class Claim:
    """A number the prose states. ``span`` indexes the raw text; ``quote`` is raw[span]."""

    metric: str
    value: int | float
    unit: str
    qualifier: str  # exact, at_least, about
    quote: str
    span: tuple[int, int]
    witness: list[str] = field(default_factory=lambda: ["reader"])

    def to_dict(self) -> dict:
        return {
            "metric": self.metric,
            "value": self.value,
            "unit": self.unit,
            "qualifier": self.qualifier,
            "quote": self.quote,
            "span": list(self.span),
            "witness": list(self.witness),
        }


@dataclass
class Usage:
    """What one document (or a run) cost at the LLM endpoint."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    requests: int = 0  # answers received (each re-ask is one more)
    retries: int = 0  # transport retries
    failures: int = 0  # transport attempts that failed
    cache_hits: int = 0
    estimated: int = 0  # answers without a usage block: their tokens are estimated

    def add(self, other: Usage) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def to_dict(self) -> dict:
        return asdict(self)
