"""The one timestamp format of records, reports and templates: ISO 8601, UTC, "Z"."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: float | datetime) -> str:
    """Epoch seconds or an aware datetime as ISO 8601 UTC with milliseconds, e.g.
    ``2026-11-21T23:21:00.123Z``."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch(text: str) -> float:
    """The inverse of :func:`iso` (any ISO 8601 text with an offset or "Z").

    Raises:
        ValueError: not ISO 8601.
    """
    return datetime.fromisoformat(text).timestamp()
