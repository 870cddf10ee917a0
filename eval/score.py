"""Compare an extraction record with a gold file (the format of ../shared/gold)."""

from __future__ import annotations

from dataclasses import dataclass, field

from gouji.status import FieldStatus
from gouji.template import FIELD_KEYS


def same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) < 1e-9


def claim_found(gold_claim: dict, claims: list[dict], by_quote: bool = False) -> bool:
    """A gold claim is found when an extracted claim has its value and unit and overlaps
    its span (quotes may start at a different word of the same clause). ``by_quote``: the
    document's text is not the one the gold's spans index (a scan read by OCR), so one
    quote, spaces aside, must hold the other instead."""
    g0, g1 = gold_claim["span"]
    quote = "".join(gold_claim["quote"].split())

    def near(c: dict) -> bool:
        if by_quote:
            other = "".join(c["quote"].split())
            return quote in other or other in quote
        return c["span"][0] < g1 and g0 < c["span"][1]

    return any(
        same(c["value"], gold_claim["value"]) and c["unit"] == gold_claim["unit"] and near(c)
        for c in claims
    )


@dataclass
class Score:
    right: int = 0
    accepted: int = 0
    accepted_wrong: list[tuple[str, object, object]] = field(default_factory=list)
    claims_found: int = 0
    claims_gold: int = 0
    claims_extracted: int = 0
    claims_matched: int = 0


def score(record: dict, gold: dict) -> Score:
    s = Score()
    for key in FIELD_KEYS:
        value, expected = record["fields"].get(key), gold["fields"][key]
        ok = same(value, expected)
        s.right += ok
        if record["field_status"].get(key) == FieldStatus.ACCEPTED:
            s.accepted += 1
            if not ok:
                s.accepted_wrong.append((key, value, expected))
    gold_claims = gold.get("claims", [])
    s.claims_gold = len(gold_claims)
    s.claims_found = sum(claim_found(g, record["claims"]) for g in gold_claims)
    s.claims_extracted = len(record["claims"])
    s.claims_matched = sum(claim_found(c, gold_claims) for c in record["claims"])
    return s
