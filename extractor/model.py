"""The data that flows between steps: candidates, findings and claims."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

Value = int | float | None


@dataclass
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
        return asdict(self)


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
        out = asdict(self)
        out["span"] = list(self.span)
        return out
