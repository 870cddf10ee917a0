"""What each reviewer did — decisions, colleagues' decisions overridden, their own
overridden — as the audit and the 数据 page both show it."""

from __future__ import annotations

from gouji.storage.review import ReviewerCounts


def counts_rows(counts: dict[str, ReviewerCounts]) -> list[dict]:
    """One row per reviewer, for a table (names stay plain text there)."""
    return [
        {
            "复核人": name,
            "决定": c.decisions,
            "改写他人的决定": c.overrides,
            "被他人改写": c.overridden,
        }
        for name, c in counts.items()
    ]
