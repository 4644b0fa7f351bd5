"""Listeners on the local AWS: how soon `listener.receive` passes after an event is
put, and what listener resources are left after many runs (the goal is none).

    python bench/listeners.py [--runs 20]

1. latency: a scenario puts an EventBridge event (`aws.events.put_events`) and
   the next step, `listener.receive` with `retry: {interval_seconds: 1}`,
   waits for it; the time from the put step's end to the receive step's end,
   from the run's record, median and worst of `--runs`;
2. leftovers: `--runs` runs through the state machine, four at a time, in
   turn passing (the shipped listener example), failing (the one failing on
   purpose) and stopped (StopExecution three seconds after the start, during a
   long `listener.absent`: the after-any-end cleanup removes its listener),
   then the queues, rules and subscriptions under the stack's listener prefix,
   once every run's verdict is settled.

Everything runs in this process on a private local AWS (as `itest run --local`).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "Itest-listen-"
EXAMPLES = [
    ROOT / "scenarios" / "orders-events.yaml",
    ROOT / "scenarios" / "orders-event-never-fails-on-purpose.yaml",
]
LATENCY = """
name: listener-latency
timeout_seconds: 60
listeners:
  mine:
    eventbridge:
      pattern: {source: [bench.latency], detail: {run: ["{{ run_id }}"]}}
steps:
  - name: put
    action: aws.events.put_events
    with:
      Entries:
        - {Source: bench.latency, DetailType: tick, Detail: '{"run": "{{ run_id }}"}'}
  - name: receive
    action: listener.receive
    with: {listener: mine}
    expect:
      - {path: detail.run, equals: "{{ run_id }}"}
    retry: {timeout_seconds: 30, interval_seconds: 1}
"""
STOPPED = """
name: listener-stopped
timeout_seconds: 120
listeners:
  mine:
    eventbridge:
      pattern: {source: [bench.stopped]}
steps:
  - name: never
    action: listener.absent
    with: {listener: mine, seconds: 60}
"""


def run_all(local: Any, paths: list[Path], parallel: int) -> list[dict[str, Any]]:
    """Start `parallel` runs at a time, each as the CLI would; their records."""
    from itest.cli import scheduler
    from itest.lambdas.results.store import read_run
    from itest.lambdas.scenario.loading import load_scenario_file

    aws, target, target_vars = local
    sfn, records = aws.client("stepfunctions"), []
    for at in range(0, len(paths), parallel):
        started = []
        for path in paths[at : at + parallel]:
            scenario = load_scenario_file(path)
            run = scheduler.start(aws, target, scenario, target_vars)
            started.append((run.run_id, run.execution_arn, scenario.name == "listener-stopped"))
        if any(stop for *_, stop in started):
            time.sleep(3)
        for run_id, arn, stop in started:
            if stop:
                sfn.stop_execution(executionArn=arn, cause="bench: stopped")
            while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                time.sleep(0.3)
            record = None
            while record is None or record["status"] == "running":  # cleanup settles it
                time.sleep(0.3)
                record = read_run(
                    run_id, table=target.results_table, dynamodb=aws.client("dynamodb")
                )
            records.append(record)
    return records


def leftovers(aws: Any) -> dict[str, int]:
    queues = aws.client("sqs").list_queues(QueueNamePrefix=PREFIX).get("QueueUrls", [])
    rules = aws.client("events").list_rules(NamePrefix=PREFIX)["Rules"]
    subscriptions = [
        s
        for s in aws.client("sns").list_subscriptions()["Subscriptions"]
        if f":{PREFIX}" in s["Endpoint"]
    ]
    return {"queues": len(queues), "rules": len(rules), "subscriptions": len(subscriptions)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    from itest.cli.local.orchestrator import local_orchestrator
    from itest.lambdas.timestamps import epoch

    with tempfile.TemporaryDirectory() as folder:
        latency_file = Path(folder) / "listener-latency.yaml"
        latency_file.write_text(LATENCY)
        stopped_file = Path(folder) / "listener-stopped.yaml"
        stopped_file.write_text(STOPPED)
        with local_orchestrator([*EXAMPLES]) as (orchestrator, served):
            local = (orchestrator.aws, orchestrator.target, served.vars_for(EXAMPLES[0]))
            delays = []
            for record in run_all(local, [latency_file] * args.runs, parallel=1):
                put, receive = record["steps"]
                assert receive["status"] == "passed", record["reason"]
                delays.append(epoch(receive["ended_at"]) - epoch(put["ended_at"]))
            kinds = [*EXAMPLES, stopped_file]
            mixed = [kinds[i % 3] for i in range(args.runs)]
            records = run_all(local, mixed, parallel=4)
            verdicts = [r["status"] for r in records]
            left = leftovers(orchestrator.aws)
    print("| measure | result |\n|---|---|")
    print(
        f"| event put → `listener.receive` passed, median of {args.runs} | "
        f"{statistics.median(delays):.2f} s (worst {max(delays):.2f} s) |"
    )
    print(
        f"| listener resources left after {args.runs} runs "
        f"({verdicts.count('passed')} passed, {verdicts.count('failed')} failed, "
        f"{verdicts.count('error')} stopped) | "
        f"{left['queues']} queues, {left['rules']} rules, {left['subscriptions']} subscriptions |"
    )


if __name__ == "__main__":
    main()
