"""``logs.match`` and ``logs.absent``: CloudWatch Logs events of a log group, by filter pattern.

``logs.match`` reads the events matching ``filter_pattern`` since ``since``
(default: the run's start) with FilterLogEvents, every page up to ``limit``.
CloudWatch makes an event searchable seconds (sometimes minutes) after it was
written: use ``retry``. A JSON pattern (``{ $.level = "ERROR" }``) is also
applied here (lambdas/log_patterns.py): the local AWS ignores JSON patterns.

``logs.absent`` has ``listener.absent``'s window: a Wait state of ``seconds``,
checked at its start and at its end; an event matching the pattern (and all of
``expect``, when given) fails the step, naming it.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from itest.lambdas.actions.registry import RunScope, action
from itest.lambdas.actions.wait import MAX_WAIT_SECONDS
from itest.lambdas.aws import aws_errors, target_client
from itest.lambdas.expressions import has_template
from itest.lambdas.log_patterns import PatternError, compile_json_pattern, is_json_pattern
from itest.lambdas.validation import Strict
from pydantic import Field, field_validator

MAX_EVENTS = 10_000


class MatchParams(Strict):
    """The ``with`` of ``logs.match``."""

    log_group: str = Field(min_length=1, description="log group name or ARN")
    filter_pattern: str = Field(default="", description="CloudWatch filter pattern ('' = all)")
    since: str | float | None = Field(
        default=None, description="ISO 8601 time or epoch seconds; default: the run's start"
    )
    limit: int = Field(default=1000, ge=1, le=MAX_EVENTS, description="at most this many events")

    @field_validator("filter_pattern")
    @classmethod
    def _pattern(cls, pattern: str) -> str:
        if is_json_pattern(pattern) and not has_template(pattern):
            try:
                compile_json_pattern(pattern)
            except PatternError as exc:
                raise ValueError(f"invalid JSON filter pattern: {exc}") from None
        return pattern

    @field_validator("since")
    @classmethod
    def _since(cls, since: str | float | None) -> str | float | None:
        if isinstance(since, str) and not has_template(since):
            try:
                datetime.fromisoformat(since)
            except ValueError:
                raise ValueError(
                    f"expected an ISO 8601 time (2026-11-21T23:21:00Z) or epoch seconds, "
                    f"got {since!r}"
                ) from None
        return since


class AbsentParams(MatchParams):
    """The ``with`` of ``logs.absent``."""

    seconds: float = Field(
        gt=0, le=MAX_WAIT_SECONDS, description="the window; rounded up to whole seconds"
    )


def _events(params: MatchParams, scope: RunScope) -> list[dict[str, Any]]:
    """Matching events, oldest first, each ``{message, timestamp, log_stream, json?}``."""
    since = params.since
    start = (
        datetime.fromisoformat(since).timestamp()
        if isinstance(since, str)
        else since
        if since is not None
        else scope.run_started
    )
    kwargs: dict[str, Any] = {"filterPattern": params.filter_pattern}
    group = params.log_group
    kwargs["logGroupIdentifier" if group.startswith("arn:") else "logGroupName"] = group
    if start is not None:
        kwargs["startTime"] = max(0, math.floor(float(start) * 1000))
    pattern = params.filter_pattern
    keep = compile_json_pattern(pattern) if is_json_pattern(pattern) else None
    found: list[dict[str, Any]] = []
    with aws_errors(f"logs.filter_log_events {group}"):
        for page in target_client("logs").get_paginator("filter_log_events").paginate(**kwargs):
            for event in page.get("events", []):
                parsed = _json(event.get("message", ""))
                if keep is not None and not keep(parsed):
                    continue
                entry = {
                    "message": event.get("message", ""),
                    "timestamp": _iso(event.get("timestamp", 0)),
                    "log_stream": event.get("logStreamName"),
                }
                if isinstance(parsed, dict | list):
                    entry["json"] = parsed
                found.append(scope.mask(entry))
                if len(found) >= params.limit:
                    return found
    return found


@action("logs.match", params=MatchParams, scoped=True)
def match(params: MatchParams, scope: RunScope) -> dict[str, Any]:
    """``{events: [{message, timestamp, log_stream, json?}], count}``."""
    events = _events(params, scope)
    return {"events": events, "count": len(events)}


@action("logs.absent", params=AbsentParams, scoped=True, expect="none", waits=True)
def absent(params: AbsentParams, scope: RunScope) -> dict[str, Any]:
    """Candidates: the matching events since ``since`` (default: the run's start)."""
    events = _events(params, scope)
    return {"candidates": events, "seconds": math.ceil(params.seconds), "count": len(events)}


def _iso(millis: int) -> str:
    from itest.lambdas.timestamps import iso

    return iso(millis / 1000)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
