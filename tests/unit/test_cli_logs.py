"""`itest logs` pieces: Lambda line parsing, history events as lines, --since, task discovery."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from itest.cli.errors import BadInput
from itest.cli.history import EventReader, Position, new_events
from itest.cli.logs import (
    LogLine,
    LogReader,
    _task_functions,
    follow,
    parse_lambda_message,
    parse_since,
)

RUN = "orders-20261121T232100-ab12cd"
T0 = datetime(2026, 11, 21, 23, 21, tzinfo=UTC)


def test_text_format_line_with_a_json_message():
    line = (f"[INFO]\t2026-11-21T23:21:00.123Z\treq-1\t"
            f'{{"event": "step", "run_id": "{RUN}", "index": 1, "step": "order stored", '
            f'"attempt": 2, "outcome": "retry", "reason": null}}\n')
    level, step, text, fields = parse_lambda_message(line)
    assert (level, step) == ("INFO", "order stored")
    assert text == "step attempt=2 outcome=retry reason=null"
    assert fields["run_id"] == RUN


def test_json_format_line_with_structured_fields():
    line = json.dumps({
        "timestamp": "2026-11-21T23:21:00Z", "level": "WARNING", "requestId": "r",
        "message": {"event": "cleanup.failed", "run_id": RUN, "scenario": "orders",
                    "step": "create order", "error": "AccessDenied"},
    })
    assert parse_lambda_message(line)[:3] == (
        "WARNING", "create order", "cleanup.failed error=AccessDenied")


def test_plain_line_is_kept_as_it_is():
    assert parse_lambda_message("[ERROR]\t2026\treq\tboom " + RUN) == (
        "ERROR", None, "boom " + RUN, {})
    assert parse_lambda_message("just text")[2] == "just text"


def test_since_accepts_ages_and_times():
    now = 1_000_000.0
    assert parse_since("30s", now) == now - 30
    assert parse_since("10m", now) == now - 600
    assert parse_since("2h", now) == now - 7200
    assert parse_since("1d", now) == now - 86400
    assert parse_since("2026-11-21T23:21:00Z", now) == T0.timestamp()
    with pytest.raises(BadInput, match="--since"):
        parse_since("ten minutes", now)


def test_task_functions_include_the_map_iteration():
    definition = {"States": {
        "Prepare": {"Type": "Task", "Parameters": {"FunctionName": "arn:prepare"}},
        "RunSteps": {"Type": "Map", "ItemProcessor": {"States": {
            "Action": {"Type": "Task", "Parameters": {"FunctionName": "arn:action"}},
            "Backoff": {"Type": "Wait"}}}},
        "Passed": {"Type": "Succeed"},
    }}
    assert _task_functions(definition) == [("Prepare", "arn:prepare"), ("Action", "arn:action")]


def event(id_: int, kind: str, **details) -> dict:
    key = {
        "TaskStateEntered": "stateEnteredEventDetails",
        "WaitStateEntered": "stateEnteredEventDetails",
        "FailStateEntered": "stateEnteredEventDetails",
        "TaskStateExited": "stateExitedEventDetails",
        "MapIterationStarted": "mapIterationStartedEventDetails",
        "TaskFailed": "taskFailedEventDetails",
        "ExecutionFailed": "executionFailedEventDetails",
    }.get(kind)
    found = {"id": id_, "type": kind, "timestamp": T0 + timedelta(seconds=id_)}
    if key:
        found[key] = details
    return found


HISTORY = [
    event(1, "ExecutionStarted"),
    event(2, "TaskStateEntered", name="Prepare", input="{}"),
    event(3, "TaskStateExited", name="Prepare", output=json.dumps(
        {"steps": [{"index": 0, "name": "create"}, {"index": 1, "name": "poll"}]})),
    event(4, "MapIterationStarted", name="RunSteps", index=1),
    event(5, "TaskStateEntered", name="Action", input=json.dumps({"index": 1, "name": "poll",
                                                                  "attempt": 0})),
    event(6, "WaitStateEntered", name="Backoff",
          input=json.dumps({"index": 1, "name": "poll", "attempt": 1, "wait_seconds": 4})),
    event(7, "TaskFailed", error="Lambda.Unknown",
          cause=json.dumps({"errorMessage": "boom", "errorType": "Crash"})),
    event(8, "MapStateExited"),
    event(9, "ExecutionFailed", error="ScenarioFailed", cause="step 'poll' failed"),
]


def test_history_events_become_lines_with_step_names():
    reader = EventReader()
    lines = [line for e in HISTORY if (line := reader.read(e))]
    assert lines == [
        (None, "INFO", "execution started"),
        (None, "INFO", "Prepare started"),
        ("poll", "INFO", "step 2 started"),
        ("poll", "INFO", "Action: attempt 1"),
        ("poll", "INFO", "Backoff: waiting 4s before the next attempt"),
        ("poll", "ERROR", "task failed: Lambda.Unknown: boom"),
        (None, "ERROR", "execution failed: ScenarioFailed: step 'poll' failed"),
    ]


class Pages:
    """GetExecutionHistory, newest first in pages of 3 (as AWS with reverseOrder)."""

    def __init__(self, events: list[dict], *, reverse: bool = True) -> None:
        self.events = events
        self.reverse = reverse
        self.calls = 0

    def get_execution_history(self, *, executionArn, reverseOrder, maxResults, nextToken=None):
        self.calls += 1
        ordered = sorted(self.events, key=lambda e: e["id"], reverse=self.reverse)
        start = int(nextToken or 0)
        page = {"events": ordered[start:start + 3]}
        if start + 3 < len(ordered):
            page["nextToken"] = str(start + 3)
        return page


def test_new_events_reads_only_down_to_what_was_seen():
    pages = Pages(HISTORY)
    assert [e["id"] for e in new_events(pages, "arn")] == list(range(1, 10))
    assert pages.calls == 3
    pages.calls = 0
    assert [e["id"] for e in new_events(pages, "arn", after=7)] == [8, 9]
    assert pages.calls == 1


def test_new_events_when_the_server_ignores_reverse_order():
    pages = Pages(HISTORY, reverse=False)  # oldest first (the local AWS, unpaged)
    assert [e["id"] for e in new_events(pages, "arn", after=7)] == [8, 9]


def test_position_describes_where_a_run_is():
    assert Position("Backoff", 1, "poll", 2, 4).describe() == (
        "Backoff, step 2 'poll', waiting 4s before attempt 3")
    assert Position("Action", 0, "create", 0).describe() == "Action, step 1 'create', attempt 1"
    assert Position("Cleanup").describe() == "Cleanup"


class ScriptedReader(LogReader):
    """A reader whose polls return scripted history and Lambda lines (no AWS)."""

    def __init__(self, polls: list[tuple[list[LogLine], list[LogLine], bool]]) -> None:
        self.since, self.held, self.ended = 0.0, [], False
        self.polls = iter(polls)
        self.lambda_lines: list[LogLine] = []

    def _history(self) -> list[LogLine]:
        history, self.lambda_lines, self.ended = next(self.polls, ([], [], True))
        return history

    def _lambda(self) -> list[LogLine]:
        return self.lambda_lines


def test_following_keeps_time_order_when_a_history_event_comes_a_poll_late():
    def line(when: float, source: str) -> LogLine:
        return LogLine(when, source, None, "INFO", f"at {when}")

    # poll 1 (at 9.8): the history is read, then a Lambda line logged at 10.0;
    # poll 2 (at 10.5): a history event of 9.5 that was not in poll 1's read, and a
    # Lambda line of 11.0 (after the poll's time: it waits for the last poll)
    reader = ScriptedReader([([], [line(10.0, "action")], False),
                             ([line(9.5, "states")], [line(11.0, "cleanup")], True)])
    clock = iter([9.8, 10.5])
    emitted: list[LogLine] = []
    follow(reader, emitted.extend, keep_following=True, drains=0,
           sleep=lambda _: None, clock=lambda: next(clock))
    assert [(x.timestamp, x.source) for x in emitted] == [
        (9.5, "states"), (10.0, "action"), (11.0, "cleanup")]
