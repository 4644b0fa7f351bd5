"""Starting scenario executions, at most N at a time, and following them to the end.

Progress is read from the results table (the run record and its newest step
record: two consistent reads per run, whatever its length); DescribeExecution,
whose bucket refills at only 15 calls per second for the whole account, is
called through a token bucket well under that: when the table says a run is
over, and now and then for runs that could end without the table knowing
(timed out, aborted, a crashed task).
A throttled call is never fatal while polling: that run is simply looked at
again later, and the whole loop slows down.

On a local AWS (`LOCAL_PACE`) the ends are found otherwise: one ListExecutions of
the state machine's executions, newest first down to the oldest run followed, says
which followed runs ended, however many there are: those that SUCCEEDED are settled
as listed, the others described once (their error and cause); progress is read for the
display only, at a bounded rate in all, one Query a read (the newest step; the run's
status only until its first step: the listing, not the status, says it ended).
With 50 runs each read in turn, a run's end was seen seconds late; the listing sees
it within a poll. A listing costs the local AWS per execution it lists, so it comes
every poll while few run, and less often when many do: executions listed per second
stay under a bound in all.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from itest.cli.aws import ClientFactory, backoff, call_throttled, is_throttle
from itest.cli.errors import Interrupted
from itest.cli.run_ids import new_run_id
from itest.cli.target import Target
from itest.lambdas.statuses import FINAL_STATUSES

if TYPE_CHECKING:
    from itest.cli.scenarios import LoadedScenario
    from itest.lambdas.scenario.models import Scenario

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
DESCRIBE_RATE = 4.0  # DescribeExecution calls per second at most (AWS refills 15/s per account)
POLL_SECONDS = 0.5  # the first poll of a run, and the pace polling slows down from
LOCAL_PACE = {"poll_seconds": 0.1, "describe_rate": 50.0, "progress_rate": 5.0,
              "list_ends": True, "listed_rate": 200.0}  # fmt: skip
"""A local AWS has no account-wide throttles: look 5 times as often, the ends by one
listing per poll while it lists at most 20 executions (more: at most 200 executions
listed a second, 50 runs every 0.26 s), and read progress (for the display only) at
most 5 times a second in all: every read is a request to the one process that runs
the scenarios (50 runs polled every 0.1 s took more CPU than their steps; 50 runs
listed every 0.1 s, a tenth of its CPU)."""
LISTING_MARGIN = 2
"""A local AWS's listing: executions in its page beyond the runs this CLI started since
the oldest it follows (others' runs; more pages are read if others started more)."""
LAST_RUNS = 5
"""A local AWS's listing comes every poll, whatever it lists, while at most this many of
the runs followed are left: the command ends with them, and a listing of 50 executions
costs the local AWS about twice a DescribeExecution (50 runs at --parallel 50: the last
run's end was seen 0.13 s late on average with a listing every 0.26 s)."""
GRACE_SECONDS = 120  # how long past a scenario's own timeout the CLI keeps waiting for it


@dataclass(frozen=True)
class StartedRun:
    """One execution: its run id is its name."""

    scenario: str
    run_id: str
    execution_arn: str
    start_date: datetime | None = None  # as StartExecution answered, when this CLI started it


@dataclass(frozen=True)
class Progress:
    """What the results table says of a run: its status and its latest step."""

    status: str | None = None  # None until Prepare wrote the run record
    total_steps: int = 0
    step_index: int | None = None
    step_name: str | None = None
    step_status: str | None = None
    attempts: int = 0


class Stage(StrEnum):
    """Where a scenario is on its way: queued, running, then done, timeout or not_started."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    TIMEOUT = "timeout"  # the wait ended first
    NOT_STARTED = "not_started"  # still queued when the wait (or the suite) ended


@dataclass
class Tracked:
    """One scenario on its way."""

    item: LoadedScenario
    vars: dict[str, str] | None = None  # its own vars (its target's and --var); else the run's
    state: Stage = Stage.QUEUED
    run: StartedRun | None = None
    execution: dict[str, Any] = field(default_factory=dict)  # the last DescribeExecution
    progress: Progress = field(default_factory=Progress)
    started: float = 0.0  # clock() when started
    finished: float = 0.0
    next_poll: float = 0.0
    next_describe: float = 0.0
    describe_every: float = 5.0
    reason: str | None = None  # why it never started (not_started)
    record: dict[str, Any] | None = None  # the run's whole record, read as it ended (done)

    @property
    def name(self) -> str:
        return self.item.label


class TokenBucket:
    """Client-side rate limit that halves on a throttle and recovers slowly (AIMD)."""

    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        self.max_rate = self.rate = rate
        self.tokens = rate
        self.clock = clock
        self.last = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(max(self.rate, 1.0), self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        self.rate = min(self.max_rate, self.rate + 0.05)
        return True

    def throttled(self) -> None:
        self.rate = max(0.5, self.rate / 2)
        self.tokens = 0


def upload(
    aws: ClientFactory,
    target: Target,
    scenario: Scenario,
    *,
    label: str | None = None,
    uploaded: dict[str, dict[str, str]] | None = None,
) -> dict[str, str]:
    """Put the normalized scenario in the bucket: at `scenarios/<name>/<label>.json`,
    the label defaulting to the content's hash (a fixed label gives a key a pipeline
    can name; the bucket's versioning keeps what it replaced). A key in `uploaded`
    (the refs put so far, by key) is not put again."""
    from itest.lambdas.scenario_store import scenario_key

    body = scenario.to_json().encode()
    key = scenario_key(scenario.name, label or hashlib.sha256(body).hexdigest())
    if uploaded is not None and key in uploaded:
        return uploaded[key]
    aws.client("s3").put_object(
        Bucket=target.bucket, Key=key, Body=body, ContentType="application/json"
    )
    ref = {"bucket": target.bucket, "key": key}
    if uploaded is not None:
        uploaded[key] = ref
    return ref


def upload_all(
    aws: ClientFactory, target: Target, scenarios: list[Scenario], *, label: str | None = None
) -> list[dict[str, str]]:
    """Each scenario's ref, in order, every distinct object put once (a matrix's
    variants run the same scenario: one object, not one a variant)."""
    uploaded: dict[str, dict[str, str]] = {}
    return [upload(aws, target, one, label=label, uploaded=uploaded) for one in scenarios]


def start(
    aws: ClientFactory,
    target: Target,
    scenario: Scenario,
    overrides: dict[str, str],
    *,
    ref: dict[str, str] | None = None,
    prefix: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> StartedRun:
    """Start one execution named by a fresh run id starting with `prefix` (the
    scenario's name by default), uploading the scenario unless given."""
    ref = ref or upload(aws, target, scenario)
    run_id = new_run_id(prefix or scenario.name)
    started = call_throttled(
        lambda: aws.client("stepfunctions").start_execution(
            stateMachineArn=target.state_machine_arn,
            name=run_id,
            input=json.dumps({"scenario": ref, "vars": overrides}),
        ),
        what="StartExecution",
        sleep=sleep,
    )
    return StartedRun(scenario.name, run_id, started["executionArn"], started.get("startDate"))


def execution_of(described: dict[str, Any]) -> dict[str, Any]:
    """What a report keeps of a DescribeExecution answer."""
    return {
        k: described[k] for k in ("status", "startDate", "stopDate", "error", "cause")
        if k in described
    }


def recent_executions(
    sfn: Any, target: Target, runs: list[StartedRun], *, page_size: int
) -> tuple[dict[str, dict[str, Any]], int]:
    """Those of `runs` that ListExecutions lists, by ARN, whatever their status, and
    how many executions it listed: newest first, pages of `page_size`, further pages
    only while one could still hold one of them (started no later than the page's
    oldest). Runs whose start date is unknown are not looked for."""
    wanted = {run.execution_arn for run in runs if run.start_date is not None}
    if not wanted:
        return {}, 0
    since = min(run.start_date for run in runs if run.start_date is not None)
    found: dict[str, dict[str, Any]] = {}
    listed = 0
    token: dict[str, str] = {}
    while True:
        page = sfn.list_executions(stateMachineArn=target.state_machine_arn,
                                   maxResults=min(page_size, 1000), **token)  # fmt: skip
        executions = page["executions"]
        listed += len(executions)
        found.update((e["executionArn"], e) for e in executions if e["executionArn"] in wanted)
        if len(found) == len(wanted) or not executions or executions[-1]["startDate"] < since:
            return found, listed
        if not page.get("nextToken"):
            return found, listed
        token = {"nextToken": page["nextToken"]}


def read_progress(
    dynamodb: Any, table: str, run_id: str, total_steps: int, *, newest_only: bool = False
) -> Progress:
    """The run's status and latest step from the results table (two small reads
    whatever the step), or with `newest_only` (who follows knows the end otherwise)
    one read: the latest step, the status only until there is one."""
    from itest.lambdas.results.store import read_newest, read_progress

    read = read_newest if newest_only else read_progress
    found = read(run_id, table=table, dynamodb=dynamodb)
    step = found["step"]
    if found["status"] is None and step is None:
        return Progress()
    return Progress(
        status=found["status"],
        total_steps=total_steps,
        step_index=step["index"] if step else None,
        step_name=step["name"] if step else None,
        step_status=step["status"] if step else None,
        attempts=step["attempts"] if step else 0,
    )


class Scheduler:
    """Start scenarios at most `parallel` at a time and follow them until each ends."""

    def __init__(
        self,
        aws: ClientFactory,
        target: Target,
        *,
        parallel: int,
        timeout: float | None = None,
        on_update: Callable[[Tracked], None] = lambda tracked: None,
        follow_hint: Callable[[str], str] = lambda arn: f"itest status {arn}",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        poll_seconds: float = POLL_SECONDS,
        describe_rate: float = DESCRIBE_RATE,
        progress_rate: float | None = None,
        list_ends: bool = False,
        listed_rate: float | None = None,
    ) -> None:
        self.aws = aws
        self.list_ends = list_ends  # one listing per poll finds the ends (a local AWS)
        self.listed_rate = listed_rate  # executions listed per second in all, if bounded
        self.next_listing = 0.0
        self.start_dates: list[datetime] = []  # of the runs started here (the listing's page)
        self.poll_seconds = poll_seconds
        self.progress_rate = progress_rate  # progress reads per second in all, if bounded
        self.following = 0  # runs being polled
        self.target = target
        self.parallel = max(1, parallel)
        self.timeout = timeout
        self.on_update = on_update
        self.follow_hint = follow_hint
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.describes = TokenBucket(describe_rate, clock)
        self.describe_runs = True  # False: who follows the runs settles them (a suite's)
        self.slowdown = 1.0  # grows when AWS throttles the table or DescribeExecution

    def run(self, tracked: list[Tracked], overrides: dict[str, str]) -> list[Tracked]:
        """Each scenario uploaded as its turn comes, then started and followed; `tracked`
        is updated. (Not all uploaded first: the local AWS starts on the first runs while
        the others are uploaded; 50 uploads took 0.15 s before anything ran.)

        Raises:
            Interrupted: Ctrl-C; the message lists what was left running.
        """
        queue = deque(tracked)
        uploaded: dict[str, dict[str, str]] = {}  # each distinct object put once

        def admit(running: list[Tracked]) -> None:
            while queue and len(running) < self.parallel:
                one = queue.popleft()
                ref = upload(self.aws, self.target, one.item.scenario, uploaded=uploaded)
                self._start(one, ref, overrides)
                running.append(one)

        return self.follow(tracked, admit, lambda: list(queue))

    def follow(
        self,
        tracked: list[Tracked],
        admit: Callable[[list[Tracked]], None],
        waiting: Callable[[], list[Tracked]],
        next_admit: Callable[[list[Tracked]], float] = lambda running: math.inf,
    ) -> list[Tracked]:
        """Poll the running runs until each ends. `admit(running)` adds the runs that
        began (started here, or by a suite execution), and settles runs itself if it
        wants to, no later than `next_admit(running)` (a clock time); `waiting()` says
        which have not begun yet; at the timeout those are `not_started`.

        Raises:
            Interrupted: Ctrl-C; the message lists what was left running.
        """
        running: list[Tracked] = []
        deadline = self.clock() + self.timeout if self.timeout else None
        try:
            while True:
                admit(running)
                self.following = len(running)
                if self._listing() and running and self.next_listing <= self.clock():
                    self._settle_ended(running)
                for one in running:
                    if one.state == Stage.RUNNING and one.next_poll <= self.clock():
                        self._poll(one)
                running = [one for one in running if one.state == Stage.RUNNING]
                now = self.clock()
                if deadline is not None and now >= deadline:
                    self._give_up(running, waiting())
                    break
                if not running and not waiting():
                    break
                due = min((one.next_poll for one in running), default=now)
                due = min(due, next_admit(running))
                if self._listing():
                    due = min(due, self.next_listing)
                self.sleep(min(max(due - now, 0.4 * self.poll_seconds), 5.0))
        except KeyboardInterrupt:
            raise Interrupted(_interrupted_message(tracked, self.follow_hint)) from None
        return tracked

    def _start(self, one: Tracked, ref: dict[str, str], overrides: dict[str, str]) -> None:
        given = one.vars if one.vars is not None else overrides
        one.run = start(self.aws, self.target, one.item.scenario, given, ref=ref,
                        prefix=one.item.run_prefix, sleep=self.sleep)
        if one.run.start_date is not None:
            self.start_dates.append(one.run.start_date)
        self.begin(one)

    def begin(self, one: Tracked) -> None:
        """`one` (its execution known) is running from now: poll it."""
        one.state = Stage.RUNNING
        one.started = now = self.clock()
        self.following += 1
        if self.following == 1:  # the first run followed: the first listing a poll later
            self.next_listing = now + self.poll_seconds
        one.next_poll = now + self._jitter(self._paced(self.poll_seconds))
        one.next_describe = now + self._jitter(one.describe_every)
        self.on_update(one)

    def _poll(self, one: Tracked) -> None:
        assert one.run is not None
        now = self.clock()
        progress = self._read(one)
        if progress is None:
            self._throttled(one)
            return
        self.slowdown = max(1.0, self.slowdown * 0.9)  # recover once AWS answers again
        if progress != one.progress:
            one.progress = progress
            self.on_update(one)
        over = progress.status in FINAL_STATUSES
        if self.describe_runs and not self.list_ends and (over or now >= one.next_describe):
            self._describe(one, closing=over)
        if one.state == Stage.RUNNING and now - one.started > _patience(one):
            one.state = Stage.TIMEOUT
            one.finished = now
            self.on_update(one)
            return
        if one.state == Stage.RUNNING:
            # 0.5 s at first (on AWS), then slower for long runs: a 5-minute poll needs
            # no 1 s updates
            every = min(self.poll_seconds * (1 + (now - one.started) / 7.5), 5.0) * self.slowdown
            if over and (self.list_ends or not self.describe_runs):
                every = 5.0  # the verdict is in; the listing (or who follows the runs) settles it
            one.next_poll = now + self._jitter(self._paced(every))

    def _listing(self) -> bool:
        """Whether this loop lists the running executions to find the ends."""
        return self.list_ends and self.describe_runs

    def _settle_ended(self, running: list[Tracked]) -> None:
        """One listing of the state machine's executions, newest first down to the
        oldest followed run, settles the followed runs that SUCCEEDED as it lists them;
        the other ends (an error and a cause to read), and runs it does not list, are
        described; the rest are RUNNING as listed."""
        followed = [one for one in running if one.state == Stage.RUNNING and one.run]
        runs = [one.run for one in followed if one.run]
        since = min((run.start_date for run in runs if run.start_date is not None), default=None)
        mine = sum(date >= since for date in self.start_dates) if since is not None else 0
        page = mine + LISTING_MARGIN  # this CLI's runs the listing reaches, and a few others
        try:
            listed, count = recent_executions(self.aws.client("stepfunctions"), self.target,
                                              runs, page_size=page)  # fmt: skip
        except Exception as error:
            if not is_throttle(error):
                raise
            self.slowdown = min(self.slowdown * 2, 8.0)
            self.next_listing = self.clock() + backoff(3, cap=30.0, rng=self.rng)
            return
        succeeded = []
        for one in followed:
            assert one.run is not None
            found = listed.get(one.run.execution_arn)
            if found is None or found["status"] not in ("RUNNING", "SUCCEEDED"):
                self._describe(one, closing=True)
            elif found["status"] == "RUNNING":
                one.execution = execution_of(found)  # since when
            else:
                succeeded.append((one, execution_of(found)))
        if succeeded:
            self.settle_all(succeeded)  # their records in one read
        left = sum(one.state == Stage.RUNNING for one in followed)
        self.next_listing = self.clock() + self._listing_every(count, left) * self.slowdown

    def _listing_every(self, listed: int, left: int) -> float:
        """Seconds to the next listing: a poll, or longer when a listing of `listed`
        executions that often would list more than `listed_rate` a second, unless at
        most LAST_RUNS of the runs followed are `left`."""
        if not self.listed_rate or left <= LAST_RUNS:
            return self.poll_seconds
        return max(self.poll_seconds, listed / self.listed_rate)

    def _paced(self, seconds: float) -> float:
        """`seconds` between two progress reads of a run, or longer when the runs followed
        would read more often than `progress_rate` allows in all."""
        if not self.progress_rate:
            return seconds
        return max(seconds, self.following / self.progress_rate)

    def _describe(self, one: Tracked, *, closing: bool) -> None:
        assert one.run is not None
        now = self.clock()
        if not self.describes.take():
            one.next_describe = now + self._jitter(1.0)
            return
        try:
            described = self.aws.client("stepfunctions").describe_execution(
                executionArn=one.run.execution_arn
            )
        except Exception as error:
            if not is_throttle(error):
                raise
            self.describes.throttled()
            self._throttled(one)
            return
        if described["status"] in TERMINAL:
            self.settle(one, execution_of(described))
            return
        one.execution = execution_of(described)
        # Cleanup has written the verdict: the execution ends within a state or two
        closing_every = 2 * self.poll_seconds
        one.describe_every = closing_every if closing else min(one.describe_every * 2, 30.0)
        one.next_describe = now + self._jitter(one.describe_every)

    def _read(self, one: Tracked) -> Progress | None:
        """`one`'s progress from the results table; None when AWS throttled the read."""
        assert one.run is not None
        try:
            return read_progress(
                self.aws.client("dynamodb"),
                self.target.results_table,
                one.run.run_id,
                len(one.item.scenario.steps),
                newest_only=self._listing(),  # the listing finds the end
            )
        except Exception as error:
            if not is_throttle(error):
                raise
            return None

    def settle(self, one: Tracked, execution: dict[str, Any]) -> None:
        """`one`'s execution ended as `execution` (execution_of) says (see settle_all)."""
        self.settle_all([(one, execution)])

    def settle_all(self, ends: list[tuple[Tracked, dict[str, Any]]]) -> None:
        """Each run ended as its execution (execution_of) says: their whole records are
        read once, together (for their reports: one BatchGetItem per 100 items), and
        each verdict shown from its record (a run may have ended between two progress
        reads: with 50 runs, each is read every 10 s). A read that AWS throttles (or
        fails for a moment) leaves the records to their reports, which read them after
        the other runs: it is never fatal while they are followed."""
        from itest.lambdas.errors import TransientError
        from itest.lambdas.results.store import read_runs

        steps = {one.run.run_id: len(one.item.scenario.steps) for one, _ in ends if one.run}
        try:
            records = read_runs(steps, table=self.target.results_table,
                                dynamodb=self.aws.client("dynamodb"))  # fmt: skip
        except TransientError:
            records = {}
        for one, execution in ends:
            assert one.run is not None
            one.execution = execution
            one.state = Stage.DONE
            one.finished = self.clock()
            one.record = records.get(one.run.run_id)
            if one.record is not None:
                one.progress = replace(one.progress, status=one.record["status"])
            self.on_update(one)

    def _throttled(self, one: Tracked) -> None:
        self.slowdown = min(self.slowdown * 2, 8.0)
        one.next_poll = self.clock() + backoff(3, cap=30.0, rng=self.rng) * self.slowdown

    def _give_up(self, running: list[Tracked], queued: list[Tracked]) -> None:
        now = self.clock()
        for one in running:
            one.state, one.finished = Stage.TIMEOUT, now
            self.on_update(one)
        for one in queued:
            one.state = Stage.NOT_STARTED
            one.reason = one.reason or "not started: the wait timed out before its turn"
            self.on_update(one)

    def _jitter(self, seconds: float) -> float:
        """±25 %: runs started together do not poll together."""
        return seconds * self.rng.uniform(0.75, 1.25)


def _patience(one: Tracked) -> float:
    return one.item.scenario.timeout_seconds + GRACE_SECONDS


def _interrupted_message(tracked: list[Tracked], hint: Callable[[str], str]) -> str:
    running = [one for one in tracked if one.state == Stage.RUNNING and one.run]
    queued = sum(one.state == Stage.QUEUED for one in tracked)
    lines = ["interrupted"]
    if running:
        lines[0] += f": {len(running)} execution(s) left running; follow them with:"
        lines += [f"  {hint(one.run.execution_arn)}" for one in running if one.run]
    if queued:
        lines.append(f"{queued} scenario(s) not started")
    return "\n".join(lines)
