"""The leak suite: every attempt in tests/e2e/leaks.py runs through the local state
machine, then every output is searched for any 8-character window of any secret.

Outputs: the results table (raw items), whole results in the bucket, the execution's
history and output, every log group of the local AWS, the CLI's table, JSON and
JUnit (rendered by the CLI's own code from the same records), and what the other
origin of a redirect was sent.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.e2e import leaks

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def attempts(local: Any) -> dict[str, dict[str, Any]]:
    """Every attempt started at once and followed to its end, with its outputs."""
    from itest.cli import scheduler
    from itest.cli.connect import Orchestrator
    from itest.cli.render import render
    from itest.cli.reports import Outcome, status
    from itest.lambdas.scenario.loading import load_scenario

    aws, target, _ = local
    sfn, s3 = aws.client("stepfunctions"), aws.client("s3")
    with leaks.leak_target(aws) as (vars_, received):
        runs = {}
        for attempt in leaks.CORPUS:
            scenario = load_scenario(json.dumps(attempt.scenario()), source=attempt.name)
            started = scheduler.start(aws, target, scenario, vars_)
            runs[attempt.name] = {
                "attempt": attempt, "run_id": started.run_id, "arn": started.execution_arn
            }
        deadline = time.monotonic() + 240
        for run in runs.values():
            while sfn.describe_execution(executionArn=run["arn"])["status"] == "RUNNING":
                assert time.monotonic() < deadline, run["run_id"]
                time.sleep(0.5)
    orchestrator = Orchestrator(aws, target, "private", aws.endpoint_url)
    for run in runs.values():
        places: dict[str, str] = {}
        items = aws.client("dynamodb").query(
            TableName=target.results_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": run["run_id"]}},
        )["Items"]
        places["results table"] = json.dumps(items)
        listed = s3.list_objects_v2(Bucket=target.bucket, Prefix=f"results/{run['run_id']}/")
        places["bucket results"] = "".join(
            s3.get_object(Bucket=target.bucket, Key=o["Key"])["Body"].read().decode()
            for o in listed.get("Contents", [])
        )
        pages = sfn.get_paginator("get_execution_history").paginate(executionArn=run["arn"])
        places["execution history"] = json.dumps(
            [e for p in pages for e in p["events"]], default=str
        )
        places["execution output"] = json.dumps(
            sfn.describe_execution(executionArn=run["arn"]), default=str
        )
        outcome = Outcome([status(orchestrator, run["arn"])])
        for fmt in ("table", "json", "junit"):
            places[f"CLI {fmt}"] = render(outcome, fmt)
        run["places"] = places
        run["report"] = json.loads(places["CLI json"])["runs"][0]
        run["bucket_results"] = len(listed.get("Contents", []))
    logs = aws.client("logs")
    lines = [
        event["message"]
        for group in logs.get_paginator("describe_log_groups").paginate()
        for log_group in group["logGroups"]
        for page in logs.get_paginator("filter_log_events").paginate(
            logGroupName=log_group["logGroupName"]
        )
        for event in page["events"]
    ]
    return {"runs": runs, "logs": "\n".join(lines), "received": received}


def test_the_corpus_is_big_enough() -> None:
    assert len({a.name for a in leaks.CORPUS}) == len(leaks.CORPUS) >= 25


@pytest.mark.parametrize("name", [a.name for a in leaks.CORPUS])
def test_no_window_of_a_secret_in_any_output(attempts: dict[str, Any], name: str) -> None:
    run = attempts["runs"][name]
    expected = run["attempt"].status
    ended = run["report"]["status"]
    assert ended in ("passed", "failed") if expected == "any" else ended == expected, run["report"]
    found = {where: leaks.occurrences(text) for where, text in run["places"].items()}
    assert {where: hits for where, hits in found.items() if hits} == {}


def test_no_window_of_a_secret_in_any_log_group(attempts: dict[str, Any]) -> None:
    logs = attempts["logs"]
    assert all(run["run_id"] in logs for run in attempts["runs"].values())  # lines are there
    assert leaks.occurrences(logs) == []
    assert '"event": "cleanup.failed"' in logs or "cleanup.failed" in logs


def test_the_attempts_really_showed_something_masked(attempts: dict[str, Any]) -> None:
    """Not a vacuous pass: most attempts put a secret where a value is shown, and it
    is shown as ***; the big ones went to the bucket; the redirect's other origin
    got the request without the secret."""
    runs = attempts["runs"]
    masked = [n for n, r in runs.items() if "***" in r["places"]["results table"]]
    assert len(masked) >= 22, sorted(set(runs) - set(masked))
    big = runs["big-result-in-s3"]
    assert big["bucket_results"] == 1, json.dumps(big["report"]["steps"][0])[:1500]
    reason = runs["cleanup-error-long-reason"]["report"]["reason"]
    assert "cleanup: 1 of 1 failed" in reason
    landed = attempts["received"].requests
    assert landed, "the 307 and 302 redirects reached the other origin"
    assert any(r["headers"].get("X-Plain") == "kept" for r in landed)
    assert not [r for r in landed if leaks.occurrences(json.dumps(r))]
    total = sum(len(leaks.occurrences(t)) for r in runs.values() for t in r["places"].values())
    print(f"leak attempts: {len(runs)}; occurrences found: {total}")
