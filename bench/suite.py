"""A suite as one execution vs the CLI's own scheduling, on the local AWS.

    python bench/suite.py [--scenarios 100] [--parallel 10] [--steps 2]

N generated scenarios (each `--steps` HTTP steps against one loopback service,
127.0.0.1, in this process) run on one private local AWS three ways, each with
at most `--parallel` scenarios at once:

- `run`: `itest run --wait` as today, the CLI starting and following every run;
- `run --suite`: one suite execution starts them, the CLI follows its children
  and reports them the same way;
- `pipeline`: one suite execution started and watched as CodePipeline's invoke
  action does (DescribeExecution of the suite every 2 s), nobody following the
  children.

After a warm-up (`--parallel` scenarios, so that every Lambda worker has started),
it prints each one's wall time (from the first upload to the last report) and
the Step Functions calls the client made (DescribeExecution, ListExecutions,
StartExecution), counted on the client, which is what AWS throttles per
account, and the client's time inside AWS calls (Step Functions, DynamoDB, S3).
moto's interpreter polls `.sync:2` children itself, server-side, every 0.5 s (AWS
uses events instead): those calls are not counted. Every call targets
127.0.0.1 and each way is bounded (`--timeout`).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import service  # the loopback HTTP service peers.py uses

COUNTED = ("DescribeExecution", "ListExecutions", "StartExecution")


def write_scenarios(folder: Path, count: int, steps: int) -> None:
    """`count` scenarios of `steps` POSTs each, every one expected to pass."""
    for i in range(count):
        lines = [f"name: bench-{i:04d}", "steps:"]
        for n in range(steps):
            lines += [
                f"  - name: post {n}",
                "    action: http",
                f"    with: {{method: POST, url: '{{{{ vars.url }}}}/items', json: {{n: {n}}}}}",
                "    expect: [{path: status, equals: 201}]",
            ]
        (folder / f"bench-{i:04d}.yaml").write_text("\n".join(lines) + "\n")


class Calls:
    """Step Functions calls made through one client, by operation, and the time the
    client spent in calls of any service (Step Functions, DynamoDB, S3)."""

    def __init__(self, clients: list[Any]) -> None:
        self.counts: Counter[str] = Counter()
        self.seconds = 0.0
        self.by_op: Counter[str] = Counter()
        for client in clients:
            client.meta.events.register("before-call", self._before)
            client.meta.events.register("after-call", self._after)

    def _before(self, model: Any, context: dict, **kwargs: Any) -> None:
        if model.name in COUNTED:
            self.counts[model.name] += 1
        context["bench_began"] = time.monotonic()
        context["bench_op"] = model.name

    def _after(self, context: dict, **kwargs: Any) -> None:
        if "bench_began" in context:
            spent = time.monotonic() - context["bench_began"]
            self.seconds += spent
            self.by_op[context["bench_op"]] += spent

    def take(self) -> tuple[dict[str, int], float, str]:
        """The calls counted, the seconds in calls and the three costliest operations,
        since the last take."""
        slowest = ", ".join(f"{op} {t:.1f} s" for op, t in self.by_op.most_common(3))
        taken = {name: self.counts[name] for name in COUNTED}, self.seconds, slowest
        self.counts.clear()
        self.by_op.clear()
        self.seconds = 0.0
        return taken


def run_cli(orchestrator: Any, loaded: list, url: str, *, suite: bool, parallel: int,
            timeout: float) -> tuple[float, Counter[str]]:
    from itest.cli import commands

    began = time.monotonic()
    outcome = commands.run_on(orchestrator, loaded, {"url": url}, wait=True, suite=suite,
                              parallel=parallel, timeout=timeout)
    wall = time.monotonic() - began
    statuses = Counter(report.status for report in outcome.reports)
    return wall, statuses


def run_pipeline(orchestrator: Any, loaded: list, url: str, *, parallel: int,
                 timeout: float) -> tuple[float, Counter[str]]:
    """As CodePipeline's invoke action: upload, start the suite, describe it every 2 s."""
    from itest.cli import suites
    from itest.cli.scheduler import upload

    aws, target = orchestrator.aws, orchestrator.target
    began = time.monotonic()
    items = [suites.item(one.run_prefix, upload(aws, target, one.scenario), {"url": url}, None)
             for one in loaded]
    key = suites.upload_list(aws, target, items)
    sfn = aws.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=suites.suite_machine(target),
                              input=json.dumps(suites.suite_input(key, parallel)))["executionArn"]
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        if time.monotonic() - began > timeout:
            raise SystemExit(f"the suite did not end in {timeout} s")
        time.sleep(2.0)
    wall = time.monotonic() - began
    lines = json.loads(described.get("output") or "{}").get("results", [])
    statuses = Counter("passed" if line["passed"] else "failed" for line in lines)
    if described["status"] != "SUCCEEDED":
        statuses[described["status"]] += 1
    return wall, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenarios", type=int, default=100)
    parser.add_argument("--parallel", type=int, default=10)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=1200.0, help="per way, seconds")
    args = parser.parse_args()

    from itest.cli.connect import Orchestrator
    from itest.cli.local.orchestrator import local_orchestrator
    from itest.cli.scenarios import load

    with tempfile.TemporaryDirectory() as scratch, service() as url:
        folder = Path(scratch)
        write_scenarios(folder, args.scenarios, args.steps)
        loaded = load((folder,))
        with local_orchestrator([]) as (local, _):
            aws, target = local.aws, local.target
            orchestrator = Orchestrator(aws, target, "private", aws.endpoint_url)
            # warm up: the Lambda workers start once, before anything is timed
            run_cli(orchestrator, loaded[: args.parallel], url, suite=False,
                    parallel=args.parallel, timeout=args.timeout)
            calls = Calls([aws.client(name) for name in ("stepfunctions", "dynamodb", "s3")])
            rows = []
            for way, runner in (
                ("run", lambda: run_cli(orchestrator, loaded, url, suite=False,
                                        parallel=args.parallel, timeout=args.timeout)),
                ("run --suite", lambda: run_cli(orchestrator, loaded, url, suite=True,
                                                parallel=args.parallel, timeout=args.timeout)),
                ("pipeline", lambda: run_pipeline(orchestrator, loaded, url,
                                                  parallel=args.parallel, timeout=args.timeout)),
            ):
                calls.take()
                wall, statuses = runner()
                counted, in_calls, slowest = calls.take()
                rows.append((way, wall, counted, in_calls))
                print(f"{way}: {wall:.1f} s, {counted}, {in_calls:.1f} s in calls (the most: "
                      f"{slowest}), {dict(statuses)}", flush=True)
    print(f"\n{args.scenarios} scenarios of {args.steps} steps, at most {args.parallel} at once")
    print(f"{'way':<12} {'wall s':>8} {'in calls s':>10} " + " ".join(f"{c:>17}" for c in COUNTED))
    for way, wall, counted, in_calls in rows:
        print(f"{way:<12} {wall:>8.1f} {in_calls:>10.1f} "
              + " ".join(f"{counted[c]:>17}" for c in COUNTED))


if __name__ == "__main__":
    main()
