"""The scheduler against stub AWS clients on a fake clock: parallel limit, throttling,
timeouts, Ctrl-C. No test sleeps: `sleep` advances the fake clock."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from itest.cli.aws import call_throttled
from itest.cli.errors import InfraError, Interrupted
from itest.cli.scenarios import LoadedScenario
from itest.cli.scheduler import (
    DESCRIBE_RATE,
    LISTING_MARGIN,
    LOCAL_PACE,
    Scheduler,
    StartedRun,
    Tracked,
    recent_executions,
)
from itest.cli.target import Target
from itest.lambdas.scenario.loading import load_scenario

TARGET = Target("arn:aws:states:eu-west-1:111122223333:stateMachine:itest", "bucket", "results")


def throttle(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                       operation)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class FakeAws:
    """S3, Step Functions and the results table, as far as the scheduler uses them.

    Each execution takes `duration` fake seconds. DescribeExecution is held to
    AWS's token bucket (`describe_burst` calls, refilled at `describe_refill`
    per second): above it the stub raises ThrottlingException, as AWS does.
    """

    region = "eu-west-1"

    def __init__(self, clock: Clock, *, duration: float = 30.0, describe_burst: float = 15,
                 describe_refill: float = 15.0, failing: frozenset[str] = frozenset()) -> None:
        self.clock = clock
        self.duration = duration
        self.failing = failing
        self.executions: dict[str, dict[str, Any]] = {}
        self.bucket = self.burst = describe_burst
        self.refill = describe_refill
        self.last_refill = clock()
        self.describe_calls: list[float] = []
        self.throttled = 0
        self.throttle_next: dict[str, int] = {}
        self.max_running = 0
        self.progress_calls: list[float] = []
        self.status_reads = 0  # GetItems of a run record's status
        self.puts: list[str] = []  # keys put in the bucket
        self.record_reads: list[list[str]] = []  # run ids whose whole records were read, a read
        self.list_calls: list[float] = []
        self.listed: list[tuple[float, int]] = []  # (when, executions in the page)
        self.page_size = 1000  # ListExecutions' longest page here, whatever maxResults asks
        self.durations: dict[str, float] = {}  # by scenario, where not `duration`

    def client(self, service: str) -> FakeAws:
        return self

    def _maybe_throttle(self, operation: str) -> None:
        if self.throttle_next.get(operation, 0) > 0:
            self.throttle_next[operation] -= 1
            self.throttled += 1
            raise throttle(operation)

    # s3
    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        self.puts.append(kwargs["Key"])
        return {}

    # stepfunctions
    def start_execution(self, *, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:
        self._maybe_throttle("StartExecution")
        arn = stateMachineArn.replace(":stateMachine:", ":execution:") + ":" + name
        self.executions[arn] = {"name": name, "start": self.clock()}
        running = sum(not self._ended(e) for e in self.executions.values())
        self.max_running = max(self.max_running, running)
        return {"executionArn": arn, "startDate": self.clock()}

    def describe_execution(self, *, executionArn: str) -> dict[str, Any]:
        self._maybe_throttle("DescribeExecution")
        now = self.clock()
        self.bucket = min(self.burst, self.bucket + (now - self.last_refill) * self.refill)
        self.last_refill = now
        if self.bucket < 1:
            self.throttled += 1
            raise throttle("DescribeExecution")
        self.bucket -= 1
        self.describe_calls.append(now)
        execution = self.executions[executionArn]
        if not self._ended(execution):
            return {"status": "RUNNING"}
        failed = execution["name"].split("-")[0] in self.failing
        return {"status": "FAILED" if failed else "SUCCEEDED"}

    def list_executions(self, *, stateMachineArn: str, maxResults: int,
                        nextToken: str | None = None) -> dict[str, Any]:  # fmt: skip
        """Every execution, newest first, as Step Functions lists them."""
        self._maybe_throttle("ListExecutions")
        self.list_calls.append(self.clock())
        newest = sorted(self.executions.items(), key=lambda item: -item[1]["start"])
        start, size = int(nextToken or 0), min(maxResults, self.page_size)
        page: dict[str, Any] = {"executions": [self._listed(arn, e)
                                               for arn, e in newest[start:start + size]]}
        self.listed.append((self.clock(), len(page["executions"])))
        if start + size < len(newest):
            page["nextToken"] = str(start + size)
        return page

    def _listed(self, arn: str, execution: dict[str, Any]) -> dict[str, Any]:
        listed = {"executionArn": arn, "status": "RUNNING", "startDate": execution["start"]}
        if self._ended(execution):
            failed = execution["name"].split("-")[0] in self.failing
            listed |= {"status": "FAILED" if failed else "SUCCEEDED",
                       "stopDate": execution["start"] + self._duration(execution)}  # fmt: skip
        return listed

    def _ended(self, execution: dict[str, Any]) -> bool:
        return self.clock() >= execution["start"] + self._duration(execution)

    def _duration(self, execution: dict[str, Any]) -> float:
        return self.durations.get(execution["name"].split("-")[0], self.duration)

    # dynamodb
    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.status_reads += 1
        return {"Item": {"status": {"S": self._status(kwargs["Key"]["pk"]["S"])}}}

    def _status(self, run_id: str) -> str:
        execution = next(e for e in self.executions.values() if e["name"] == run_id)
        if self._ended(execution):
            return "failed" if run_id.split("-")[0] in self.failing else "passed"
        return "running"

    def batch_get_item(self, *, RequestItems: dict[str, Any]) -> dict[str, Any]:
        """Whole runs' records (read by key): here each run has its run record only."""
        self._maybe_throttle("BatchGetItem of records")
        (table, request), = RequestItems.items()
        assert request["ConsistentRead"] and len(request["Keys"]) <= 100
        run_ids = sorted({key["pk"]["S"] for key in request["Keys"]})
        self.record_reads.append(run_ids)
        return {"Responses": {table: [
            {"pk": {"S": run_id}, "sk": {"S": "run"}, "status": {"S": self._status(run_id)},
             "steps_json": {"S": '["a"]'}} for run_id in run_ids]}}  # fmt: skip

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self._maybe_throttle("Query")
        self.progress_calls.append(self.clock())  # every progress read has one Query
        return {"Items": [
            {"sk": {"S": "step#0000"}, "status": {"S": "pending"}, "name": {"S": "a"},
             "attempts": {"N": "1"}},
        ]}


def scenarios(count: int, timeout_seconds: int = 600) -> list[Tracked]:
    tracked = []
    for i in range(count):
        text = (f"name: s{i}\ntimeout_seconds: {timeout_seconds}\n"
                "steps:\n  - {name: a, action: http, with: {url: 'http://x'}}\n")
        scenario = load_scenario(text, source=f"s{i}.yaml")
        tracked.append(Tracked(LoadedScenario(Path(f"s{i}.yaml"), scenario)))
    return tracked


def scheduler(aws: FakeAws, clock: Clock, **kwargs: Any) -> Scheduler:
    return Scheduler(aws, TARGET, clock=clock, sleep=clock.sleep, rng=random.Random(7), **kwargs)


def test_parallel_limits_running_executions_and_all_finish():
    clock = Clock()
    aws = FakeAws(clock, failing=frozenset({"s3"}))
    tracked = scheduler(aws, clock, parallel=4).run(scenarios(10), {})
    assert aws.max_running == 4
    assert [t.state for t in tracked] == ["done"] * 10
    assert {t.name: t.execution["status"] for t in tracked}["s3"] == "FAILED"
    assert sum(t.execution["status"] == "SUCCEEDED" for t in tracked) == 9


def test_fifty_at_once_stay_under_the_describe_execution_refill_rate():
    """--parallel 50 with AWS's DescribeExecution bucket: never throttled, and the
    calls per second stay well under its 15/s refill."""
    clock = Clock()
    aws = FakeAws(clock, duration=120.0)
    tracked = scheduler(aws, clock, parallel=50).run(scenarios(60), {})
    assert [t.state for t in tracked] == ["done"] * 60
    assert aws.throttled == 0
    calls = aws.describe_calls
    for start in calls:  # any one-second window: at most a full bucket plus a second's refill
        assert sum(start <= t < start + 1 for t in calls) <= 2 * DESCRIBE_RATE < 15
    # progress came from the table: about one DescribeExecution per run at the end,
    # plus a few safety checks while it ran (backing off to one per 30 s)
    assert len(calls) < 60 * 6


def test_on_a_local_aws_fifty_runs_share_a_bounded_progress_rate():
    """Each progress read is work for the local AWS that runs the scenarios: fifty runs
    read at most about `progress_rate` times a second in all, one run alone as often."""
    rate = LOCAL_PACE["progress_rate"]
    clock = Clock()
    aws = FakeAws(clock, duration=20.0)
    tracked = scheduler(aws, clock, parallel=50, **LOCAL_PACE).run(scenarios(50), {})

    assert [t.state for t in tracked] == ["done"] * 50
    # while they run (at its end, a run whose verdict no read saw yet is read once more)
    calls = [t for t in aws.progress_calls if t < 1000.0 + aws.duration]
    for start in calls:  # any one-second window (jitter, and the first reads of the last
        # runs started meeting the second ones of the first: not 3 times the rate)
        assert sum(start <= t < start + 1 for t in calls) <= 2.5 * rate
    alone = FakeAws(clock, duration=2.0)
    scheduler(alone, clock, parallel=1, **LOCAL_PACE).run(scenarios(1), {})
    first, second = alone.progress_calls[:2]
    assert second - first < 1.25 * 1.25 / rate  # its pace and the jitter: every 0.2 s


def test_on_a_local_aws_one_listing_finds_every_end_soon():
    """With 50 runs followed, each run's end is seen within a listing's interval (one
    listing of the executions, newest first down to the oldest followed, finds them all:
    every 0.26 s for 50); those that SUCCEEDED are settled as listed, and only the failed
    one is described (its error and cause)."""
    clock = Clock()
    aws = FakeAws(clock, duration=20.0, failing=frozenset({"s7"}),
                  describe_burst=1000)  # a local AWS does not throttle  # fmt: skip
    tracked = scheduler(aws, clock, parallel=50, **LOCAL_PACE).run(scenarios(50), {})

    assert [t.state for t in tracked] == ["done"] * 50
    assert {t.name: t.execution["status"] for t in tracked}["s7"] == "FAILED"
    every = (50 + LISTING_MARGIN) / LOCAL_PACE["listed_rate"]
    for one in tracked:
        assert one.finished - (one.started + aws.duration) <= 1.2 * every
    assert len(aws.describe_calls) == 1  # s7, the FAILED one
    assert {t.execution["stopDate"] for t in tracked if t.name != "s7"}  # as listed
    assert len(aws.list_calls) <= aws.duration * LOCAL_PACE["listed_rate"] / 50 + 3  # a page each


@pytest.mark.parametrize("runs", [1, 5, 20])
def test_on_a_local_aws_few_runs_are_listed_every_poll(runs: int):
    """Up to 20 runs, a listing every poll (0.1 s): a run's end is not seen later for
    the bound on the executions listed."""
    clock = Clock()
    aws = FakeAws(clock, duration=3.0, describe_burst=1000)
    tracked = scheduler(aws, clock, parallel=runs, **LOCAL_PACE).run(scenarios(runs), {})

    poll = LOCAL_PACE["poll_seconds"]
    for one in tracked:
        assert one.state == "done"
        assert one.finished - (one.started + aws.duration) <= 1.5 * poll
    starts = [t for t, _ in aws.listed if t < 1000.0 + aws.duration - 0.5]
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(starts) if b > a}
    assert max(gaps) <= 1.5 * poll  # a poll, and the loop's shortest sleep at most


@pytest.mark.parametrize("runs", [50, 200])
def test_on_a_local_aws_executions_listed_a_second_are_bounded(runs: int):
    """A listing costs the local AWS per execution listed: whatever the number of runs,
    at most about `listed_rate` executions are listed a second, in all pages."""
    rate = LOCAL_PACE["listed_rate"]
    clock = Clock()
    aws = FakeAws(clock, duration=10.0, describe_burst=10_000)
    tracked = scheduler(aws, clock, parallel=runs, **LOCAL_PACE).run(scenarios(runs), {})

    assert [t.state for t in tracked] == ["done"] * runs
    for start, _ in aws.listed:  # any one-second window: the rate, and one listing more
        assert sum(n for t, n in aws.listed if start <= t < start + 1) <= rate + runs


def test_on_a_local_aws_the_last_runs_are_listed_every_poll():
    """The command ends with its last runs: while at most LAST_RUNS are left, a listing
    every poll, not every 0.26 s for the 50 executions it lists; the last run's end is
    seen within a poll. While more run, the bound on executions listed a second holds."""
    clock = Clock()
    aws = FakeAws(clock, duration=20.0, describe_burst=1000)
    aws.durations = {f"s{i}": 20.0 + 0.5 * (i - 44) for i in range(45, 50)}  # 6 ends apart
    tracked = scheduler(aws, clock, parallel=50, **LOCAL_PACE).run(scenarios(50), {})

    poll = LOCAL_PACE["poll_seconds"]
    last = next(one for one in tracked if one.name == "s49")
    assert last.finished - (last.started + aws.durations["s49"]) <= 1.5 * poll
    many = [(t, n) for t, n in aws.listed if t < 1000.0 + aws.duration]  # 50 running
    for start, _ in many:
        assert sum(n for t, n in many if start <= t < start + 1) <= LOCAL_PACE["listed_rate"] + 50
    tail = [t for t, _ in aws.listed if t > 1000.0 + aws.duration + 0.5]  # 4 runs or fewer
    assert max(b - a for a, b in itertools.pairwise(tail)) <= 1.5 * poll


def test_on_a_local_aws_a_run_ended_between_two_reads_shows_its_verdict():
    """The listing finds the end; the progress last read was before the verdict: the
    whole record read for the report gives it, so the display ends on passed or failed,
    not on an error; no progress is read after a run's end, and its record once."""
    from itest.cli.progress import describe

    clock = Clock()
    aws = FakeAws(clock, duration=20.0, failing=frozenset({"s3"}), describe_burst=1000)
    shown: dict[str, str] = {}

    def update(one: Tracked) -> None:
        if one.state == "done":
            shown[one.name] = describe(one)[0]

    tracked = scheduler(aws, clock, parallel=50, on_update=update, **LOCAL_PACE).run(
        scenarios(50), {}
    )
    assert shown.pop("s3") == "failed"
    assert set(shown.values()) == {"passed"}
    read = [run_id for ids in aws.record_reads for run_id in ids]  # each once, in few reads
    assert sorted(read) == sorted(t.run.run_id for t in tracked if t.run)
    assert len(aws.record_reads) <= len(aws.list_calls)  # one read a listing, at most
    assert len(aws.record_reads) < 50 / 2  # runs that end together are read together
    assert {t.record["status"] for t in tracked if t.record} == {"passed", "failed"}
    last_end = max(t.finished for t in tracked)
    assert not [t for t in aws.progress_calls if t >= last_end]


def test_on_a_local_aws_a_run_left_at_the_timeout_is_running_as_listed():
    clock = Clock()
    aws = FakeAws(clock, duration=1000.0)
    (one,) = scheduler(aws, clock, parallel=1, timeout=20, **LOCAL_PACE).run(scenarios(1), {})
    assert one.state == "timeout"
    assert one.execution == {"status": "RUNNING", "startDate": 1000.0}
    assert aws.describe_calls == []


def test_a_throttled_listing_slows_down_and_still_finds_the_ends():
    clock = Clock()
    aws = FakeAws(clock, duration=5.0)
    aws.throttle_next = {"ListExecutions": 2}
    tracked = scheduler(aws, clock, parallel=3, **LOCAL_PACE).run(scenarios(3), {})
    assert [t.state for t in tracked] == ["done"] * 3
    assert aws.throttled == 2


def test_throttled_describe_and_query_slow_down_and_still_finish():
    clock = Clock()
    aws = FakeAws(clock, duration=10.0)
    aws.throttle_next = {"DescribeExecution": 3, "Query": 3}
    tracked = scheduler(aws, clock, parallel=5).run(scenarios(5), {})
    assert [t.state for t in tracked] == ["done"] * 5
    assert aws.throttled == 6
    polls = [s for s in clock.sleeps if s < 5]
    assert len(set(polls)) > len(polls) / 2  # jittered, not lock-step


def test_a_throttled_read_of_an_ended_run_s_record_leaves_it_to_the_report():
    clock = Clock()
    aws = FakeAws(clock, duration=5.0)
    aws.throttle_next = {"BatchGetItem of records": 1}
    tracked = scheduler(aws, clock, parallel=3, **LOCAL_PACE).run(scenarios(3), {})
    assert [t.state for t in tracked] == ["done"] * 3
    assert aws.throttled == 1
    assert [t.record for t in tracked] == [None] * 3  # they ended together: one read


def test_a_throttle_from_start_execution_is_retried_with_backoff():
    clock = Clock()
    aws = FakeAws(clock, duration=5.0)
    aws.throttle_next = {"StartExecution": 3}
    tracked = scheduler(aws, clock, parallel=2).run(scenarios(2), {})
    assert [t.state for t in tracked] == ["done", "done"]
    assert aws.throttled == 3


def test_call_throttled_gives_up_with_one_line():
    sleeps: list[float] = []

    def always() -> None:
        raise throttle("StartExecution")

    with pytest.raises(InfraError, match="kept throttling StartExecution after 5 tries"):
        call_throttled(always, what="StartExecution", attempts=5, sleep=sleeps.append,
                       rng=random.Random(1))
    assert len(sleeps) == 4
    caps = [0.5 * 2**i for i in range(4)]
    assert all(0 <= s <= cap for s, cap in zip(sleeps, caps, strict=True))


def test_other_errors_are_not_retried():
    calls = []

    def denied() -> None:
        calls.append(1)
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "X")

    with pytest.raises(ClientError):
        call_throttled(denied, what="X", sleep=lambda s: None)
    assert calls == [1]


def test_timeout_leaves_runs_running_and_queued_ones_unstarted():
    clock = Clock()
    aws = FakeAws(clock, duration=1000.0)
    tracked = scheduler(aws, clock, parallel=2, timeout=60).run(scenarios(3), {})
    assert [t.state for t in tracked] == ["timeout", "timeout", "not_started"]
    assert tracked[2].run is None
    assert clock.now - 1000.0 < 70


def test_a_run_past_its_own_timeout_is_given_up():
    clock = Clock()
    aws = FakeAws(clock, duration=10_000.0)
    (one,) = scheduler(aws, clock, parallel=1).run(scenarios(1, timeout_seconds=30), {})
    assert one.state == "timeout"
    assert 150 <= one.finished - one.started < 160  # 30 s + 120 s of grace


def test_ctrl_c_while_waiting_names_what_is_left_running():
    clock = Clock()
    aws = FakeAws(clock, duration=1000.0)

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    sched = Scheduler(aws, TARGET, parallel=1, clock=clock, sleep=interrupt,
                      follow_hint=lambda arn: f"itest status {arn}")
    with pytest.raises(Interrupted) as caught:
        sched.run(scenarios(2), {})
    message = caught.value.message
    assert message.startswith("interrupted: 1 execution(s) left running")
    assert "itest status arn:aws:states:eu-west-1:111122223333:execution:itest:s0-" in message
    assert "1 scenario(s) not started" in message
    assert caught.value.exit_code == 3


def test_progress_updates_report_the_current_step():
    clock = Clock()
    aws = FakeAws(clock, duration=20.0)
    seen: list[tuple[str, int | None, str | None]] = []
    scheduler(aws, clock, parallel=1,
              on_update=lambda t: seen.append((t.state, t.progress.step_index,
                                               t.progress.step_status))).run(scenarios(1), {})
    assert ("running", 0, "pending") in seen
    assert seen[-1][0] == "done"


def test_progress_lines_name_the_step_and_attempt():
    from itest.cli.progress import describe
    from itest.cli.scheduler import Progress

    (one,) = scenarios(1)
    assert describe(one) == ("queued", "")
    one.state = "running"
    assert describe(one) == ("running", "preparing")
    one.progress = Progress("running", 3, 1, "order stored", "pending", 4)
    assert describe(one) == ("running", "step 2/3 order stored (polling, attempt 4)")
    one.state, one.progress = "done", Progress("failed", 3, 1, "order stored", "failed", 4)
    assert describe(one) == ("failed", "")
    one.state = "timeout"
    assert describe(one) == ("timeout", "")


@pytest.mark.parametrize("local", [False, True])
def test_a_progress_read_is_one_query_where_a_listing_finds_the_ends(local: bool):
    """On AWS the run record's status says the run is over (then it is described);
    on a local AWS the listing says so, and each progress read is one Query."""
    clock = Clock()
    aws = FakeAws(clock, duration=20.0, describe_burst=1000)
    pace = LOCAL_PACE if local else {}
    tracked = scheduler(aws, clock, parallel=5, **pace).run(scenarios(5), {})

    assert [t.state for t in tracked] == ["done"] * 5
    assert aws.progress_calls
    assert aws.status_reads == (0 if local else len(aws.progress_calls))
    assert {t.progress.step_name for t in tracked} == {"a"}  # the step was shown


def test_a_matrix_s_variants_put_their_one_scenario_once():
    """Variants run the same scenario (their values go in the input's vars): one object."""
    clock = Clock()
    aws = FakeAws(clock, duration=5.0)
    first, other = scenarios(2)
    variants = [Tracked(first.item, vars={"qty": str(n)}) for n in range(3)]
    tracked = scheduler(aws, clock, parallel=4).run([*variants, other], {})

    assert [t.state for t in tracked] == ["done"] * 4
    assert len(aws.puts) == len(set(aws.puts)) == 2
    assert len({t.run.run_id for t in tracked if t.run}) == 4


def test_each_scenario_is_uploaded_as_its_turn_comes():
    """The first runs start while the others are still to upload (the local AWS works on
    them meanwhile); a run waiting for its turn is uploaded when it comes."""
    clock = Clock()
    aws = FakeAws(clock, duration=5.0)
    calls: list[str] = []
    put, start = aws.put_object, aws.start_execution
    aws.put_object = lambda **kwargs: (calls.append("put"), put(**kwargs))[1]  # type: ignore[method-assign]
    aws.start_execution = lambda **kwargs: (calls.append("start"), start(**kwargs))[1]  # type: ignore[method-assign]
    tracked = scheduler(aws, clock, parallel=2).run(scenarios(4), {})

    assert [t.state for t in tracked] == ["done"] * 4
    assert calls == ["put", "start"] * 4


def test_the_live_table_is_laid_out_by_its_redraws_only():
    """A change shows at the next redraw: 100 updates lay the table out no more."""
    from itest.cli.progress import LiveProgress
    from rich.text import Text

    tracked = scenarios(3)
    live = LiveProgress(tracked)
    laid_out: list[int] = []
    live.live.get_renderable = lambda: laid_out.append(1) or Text("")
    for _ in range(100):
        live.update(tracked[0])
    assert laid_out == []


@pytest.mark.parametrize(("rows", "per_second"), [(1, 4.0), (10, 4.0), (20, 2.0), (50, 1.0),
                                                   (500, 1.0)])  # fmt: skip
def test_a_long_live_table_is_redrawn_less_often(rows: int, per_second: float):
    from itest.cli.progress import LiveProgress, refreshes_per_second

    assert refreshes_per_second(rows) == per_second
    assert LiveProgress(scenarios(rows)).live.refresh_per_second == per_second


def started(aws: FakeAws, clock: Clock, name: str, at: float) -> StartedRun:
    clock.now = at
    arn = aws.start_execution(stateMachineArn=TARGET.state_machine_arn, name=name, input="{}")
    return StartedRun("s", name, arn["executionArn"], arn["startDate"])


def test_the_listing_pages_past_others_runs_down_to_the_oldest_followed():
    """Others' executions started since come first: more pages are read while one could
    still hold a run looked for, none past the oldest of them."""
    clock = Clock()
    aws = FakeAws(clock, duration=1.0, failing=frozenset({"bad"}))
    for i in range(20):
        started(aws, clock, f"older-{i}", 900.0 + i)
    mine = [started(aws, clock, f"mine-{i}", 1000.0 + i) for i in range(3)]
    failed = started(aws, clock, "bad-0", 1003.0)
    for i in range(30):
        started(aws, clock, f"other-{i}", 1010.0 + i)
    still = started(aws, clock, "mine-3", 1050.0)
    clock.now = 1050.5
    found, listed = recent_executions(aws, TARGET, [*mine, failed, still], page_size=5)
    assert {arn: e["status"] for arn, e in found.items()} == {
        **{run.execution_arn: "SUCCEEDED" for run in mine},
        failed.execution_arn: "FAILED", still.execution_arn: "RUNNING"}  # fmt: skip
    assert listed == 35  # 7 pages of 5: down to mine-0, no older one
    assert len(aws.list_calls) == 7


def test_runs_without_a_start_date_are_described():
    """(A run whose start date is unknown cannot bound the listing: not looked for.)"""
    clock = Clock()
    aws = FakeAws(clock, duration=1.0)
    run = started(aws, clock, "mine-0", 1000.0)
    clock.now = 2000.0
    undated = StartedRun("s", "mine-0", run.execution_arn)
    assert recent_executions(aws, TARGET, [undated], page_size=5) == ({}, 0)
    assert aws.list_calls == []
    (one,) = scenarios(1)
    one.run, one.state = undated, "running"
    sched = scheduler(aws, clock, parallel=1, **LOCAL_PACE)
    sched._settle_ended([one])
    assert one.state == "done" and one.execution["status"] == "SUCCEEDED"
    assert len(aws.describe_calls) == 1
