"""The data that flows between steps: candidates, findings and claims."""

from __future__ import annotations

from dataclasses import dataclass, field

Value = int | float | None


@dataclass(slots=True)
class Candidate:
    """One witness's value for one field, with where it was read (a view span)."""

    key: str
    value: Value
    span: tuple[int, int] | None
    certain: bool
    witness: str = "reader"
    note: str | None = None


@dataclass
class Finding:
    """A check that objects: the rule, every key it involves, and a sentence for a reviewer."""

    rule: str
    keys: list[str]
    message: str

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
