"""`itest logs`: one execution's Lambda log lines and state machine events, in time order.

Lambda lines come from the handlers' CloudWatch log groups (found from the
state machine's tasks and each function's LoggingConfig), filtered on the run
id, which is the execution name: every handler log line carries it. The
quoted filter pattern `"<run id>"` matches the same lines on AWS and on the
local AWS. State machine lines come from the execution history, which has
every state and error whatever the state machine's own log level.
"""

from __future__ import annotations

import bisect
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from itest.cli.aws import call_throttled
from itest.cli.history import EventReader, new_events
from itest.lambdas.timestamps import iso

if TYPE_CHECKING:
    from itest.cli.connect import Orchestrator

POLL_SECONDS = 2.0
DRAIN_POLLS = 2  # after the end, CloudWatch may still deliver the last Lambda lines
TERMINAL_EVENTS = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}
)
# Fields every handler line repeats; the line shows the rest.
_CONTEXT_FIELDS = frozenset(
    {
        "run_id", "execution_arn", "scenario", "step", "index", "level", "timestamp", "time",
        "requestId", "request_id", "logger", "location", "function_name", "function_arn",
        "function_request_id", "function_memory_size", "cold_start", "xray_trace_id",
        "service", "sampling_rate", "message", "event",
    }
)
_TEXT_FORMAT = re.compile(r"^\[(?P<level>[A-Z]+)\]\t\S+\t\S*\t(?P<body>.*)$", re.DOTALL)
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")


@dataclass(frozen=True)
class LogLine:
    timestamp: float  # epoch seconds
    source: str  # "states" or the handler's state: prepare, action, assert, cleanup
    step: str | None
    level: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "timestamp": iso(self.timestamp),
            "source": self.source,
            "step": self.step,
            "level": self.level,
            "message": self.message,
            "fields": self.fields,
        }

    def as_text(self) -> str:
        level = "" if self.level == "INFO" else f"{self.level} "
        step = self.step or "-"
        return f"{iso(self.timestamp)}  {self.source:<8} {step:<24} {level}{self.message}"


def parse_since(text: str, now: float) -> float:
    """`30s`, `10m`, `2h`, `1d` ago, or an ISO 8601 time; epoch seconds.

    Raises:
        BadInput: neither.
    """
    from itest.cli.errors import BadInput

    if match := _DURATION.match(text.strip()):
        amount, unit = float(match.group(1)), match.group(2)
        return now - amount * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(
            f"--since {text!r}: expected e.g. 30s, 10m, 2h, 1d or an ISO 8601 time"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def log_groups(orchestrator: Orchestrator) -> dict[str, str]:
    """Log group -> source name, for every Lambda function a Task state of the machine invokes."""
    sfn = orchestrator.aws.client("stepfunctions")
    lam = orchestrator.aws.client("lambda")
    definition = json.loads(
        sfn.describe_state_machine(stateMachineArn=orchestrator.target.state_machine_arn)[
            "definition"
        ]
    )
    groups: dict[str, str] = {}
    for state, function in _task_functions(definition):
        config = lam.get_function_configuration(FunctionName=function)
        group = (config.get("LoggingConfig") or {}).get("LogGroup") or (
            f"/aws/lambda/{config['FunctionName']}"
        )
        groups.setdefault(group, state.lower())
    return groups


def _task_functions(definition: dict[str, Any]) -> list[tuple[str, str]]:
    """(state name, FunctionName) of every Lambda task, nested Map and Parallel included."""
    found: list[tuple[str, str]] = []
    for name, state in definition.get("States", {}).items():
        function = (state.get("Parameters") or {}).get("FunctionName")
        if state.get("Type") == "Task" and isinstance(function, str):
            found.append((name, function))
        nested = [state.get("ItemProcessor"), state.get("Iterator"), *state.get("Branches", [])]
        for branch in nested:
            if branch:
                found += _task_functions(branch)
    return found


def parse_lambda_message(message: str) -> tuple[str, str | None, str, dict[str, Any]]:
    """(level, step, text, fields) of one Lambda log line: Lambda's text format
    (`[LEVEL]\\ttime\\trequest id\\tmessage`) or JSON format, with a JSON or plain message."""
    level = "INFO"
    body = message.rstrip("\n")
    if match := _TEXT_FORMAT.match(body):
        level, body = match.group("level"), match.group("body")
    data: Any = None
    if body.lstrip().startswith("{"):
        try:
            data = json.loads(body)
        except ValueError:
            data = None
    if not isinstance(data, dict):
        return level, None, body, {}
    if isinstance(data.get("message"), dict):  # Lambda's JSON log format around a JSON message
        data = {**data, **data["message"]}
    level = str(data.get("level") or level).upper()
    step = data.get("step") if isinstance(data.get("step"), str) else None
    message = data.get("message")
    head = data.get("event") or (message if isinstance(message, str) else "")
    rest = {k: v for k, v in data.items() if k not in _CONTEXT_FIELDS}
    pairs = " ".join(f"{k}={_short(v)}" for k, v in rest.items())
    return level, step, f"{head} {pairs}".strip(), data


class LogReader:
    """Reads new lines on every call to `poll`; each line is returned once."""

    def __init__(self, orchestrator: Orchestrator, arn: str, run_id: str, since: float) -> None:
        self.orchestrator = orchestrator
        self.arn = arn
        self.run_id = run_id
        self.since = since
        self.groups = log_groups(orchestrator)
        self.events = EventReader()
        self.last_event = 0
        self.start_ms = {group: int(since * 1000) for group in self.groups}
        self.seen: set[str] = set()
        self.held: list[LogLine] = []  # read, newer than the last poll's `until`
        self.ended = False

    def poll(self, *, until: float | None = None) -> list[LogLine]:
        """The new lines in time order; with ``until``, only those up to that time (the
        rest wait for a later poll): the history is read before the Lambda logs, so a
        history event after ``until`` may come in the next poll, before a Lambda line
        already read."""
        lines = self.held + self._history() + self._lambda()
        kept = sorted((x for x in lines if x.timestamp >= self.since), key=lambda x: x.timestamp)
        cut = len(kept) if until is None else bisect.bisect_right(
            kept, until, key=lambda line: line.timestamp
        )
        self.held = kept[cut:]
        return kept[:cut]

    def _history(self) -> list[LogLine]:
        sfn = self.orchestrator.aws.client("stepfunctions")
        lines = []
        for event in new_events(sfn, self.arn, after=self.last_event):
            self.last_event = max(self.last_event, event["id"])
            self.ended |= event["type"] in TERMINAL_EVENTS
            read = self.events.read(event)
            if read:
                step, level, message = read
                when = event["timestamp"].timestamp()
                lines.append(LogLine(when, "states", step, level, message))
        return lines

    def _lambda(self) -> list[LogLine]:
        from botocore.exceptions import ClientError

        logs = self.orchestrator.aws.client("logs")
        lines = []
        for group, source in self.groups.items():
            request: dict[str, Any] = {
                "logGroupName": group,
                "filterPattern": f'"{self.run_id}"',
                "startTime": self.start_ms[group],
            }
            while True:
                try:
                    page = call_throttled(
                        lambda r=request: logs.filter_log_events(**r), what="FilterLogEvents"
                    )
                except ClientError as error:
                    if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                        break  # no invocation has logged yet
                    raise
                for event in page.get("events", []):
                    key = f"{group}/{event.get('logStreamName')}/{event['eventId']}"
                    if key in self.seen or self.run_id not in event["message"]:
                        continue
                    self.seen.add(key)
                    self.start_ms[group] = max(self.start_ms[group], event["timestamp"])
                    level, step, text, data = parse_lambda_message(event["message"])
                    when = event["timestamp"] / 1000
                    lines.append(LogLine(when, source, step, level, text, data))
                if not page.get("nextToken"):
                    break
                request = {**request, "nextToken": page["nextToken"]}
        return lines


def follow(
    reader: LogReader,
    emit: Callable[[list[LogLine]], None],
    *,
    keep_following: bool,
    drains: int = DRAIN_POLLS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    rng: random.Random | None = None,
) -> None:
    """Emit what there is; with `keep_following`, poll until the execution ends, then
    `drains` more times (CloudWatch delivers the last Lambda lines late; the local AWS not)."""
    rng = rng or random.Random()
    while True:
        emit(reader.poll(until=clock() if keep_following else None))
        if not keep_following:
            return
        if reader.ended:
            if drains == 0:
                emit(reader.poll())
                return
            drains -= 1
        sleep(POLL_SECONDS * rng.uniform(0.8, 1.2))


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:197] + "..."
