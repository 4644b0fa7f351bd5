"""The local AWS's server CPU per request, by kind: what its request path costs.

    python bench/request_cpu.py [--requests 400] [--running 50]

Starts a local AWS in this process, with a DynamoDB table and a state machine
with `--running` executions waiting, then sends `--requests` requests of each
kind the engine and the CLI send most (GetItem, PutItem, ListExecutions of the
running executions, DescribeExecution) on one kept connection, as an SDK
would. For each request it reads the CPU time of the server thread that
answered it (head, environ, front door, moto's parsing, acting and answer,
the write), and prints the median and mean per kind. Single requests on a
quiet connection: compare kinds and versions, not the burst's totals
(bench/peers.py, bench/profile.py). Everything targets 127.0.0.1.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests of each kind")
    parser.add_argument("--running", type=int, default=50, help="executions listed")
    args = parser.parse_args()

    from itest.cli.local import keep_alive
    from itest.cli.local.server import local_aws

    seconds: dict[str, list[float]] = {}
    measuring: list[str] = []  # the kind being sent, while one is
    handle = keep_alive.KeepAliveHandler.handle_one_request

    def timed(self: Any) -> None:
        started = time.thread_time()
        try:
            handle(self)
        finally:
            if measuring:
                seconds.setdefault(measuring[0], []).append(time.thread_time() - started)

    keep_alive.KeepAliveHandler.handle_one_request = timed
    try:
        with local_aws() as aws:
            requests = _requests(aws, args.running)
            host, port = aws.endpoint_url.removeprefix("http://").split(":")
            connection = http.client.HTTPConnection(host, int(port), timeout=30)
            for kind, (target, body) in requests.items():
                for _ in range(args.requests):
                    measuring.append(kind)
                    connection.request("POST", "/", body=body, headers=_headers(aws, target))
                    answer = connection.getresponse()
                    answer.read()
                    measuring.clear()
                    if answer.status != 200:
                        raise SystemExit(f"{kind}: {answer.status}")
            connection.close()
    finally:
        keep_alive.KeepAliveHandler.handle_one_request = handle
    print(f"server CPU per request, {args.requests} of each ({args.running} executions running)\n")
    print("| request | median | mean |\n|---|---|---|")
    for kind, times in seconds.items():
        median, mean = statistics.median(times), statistics.fmean(times)
        print(f"| {kind} | {median * 1000:.3f} ms | {mean * 1000:.3f} ms |")


def _requests(aws: Any, running: int) -> dict[str, tuple[str, bytes]]:
    """The requests of each kind, after making what they read."""
    sys.path.insert(0, str(ROOT))
    from tests.aws.tables import create_pk_sk_table

    dynamodb, sfn = aws.client("dynamodb"), aws.client("stepfunctions")
    create_pk_sk_table(dynamodb, "results")
    step = {"pk": {"S": "run-1"}, "sk": {"S": "step#0003"}, "status": {"S": "passed"},
            "index": {"N": "3"}, "name": {"S": "post 3"}, "action": {"S": "http"},
            "started_at": {"S": "2026-11-30T05:45:59.473Z"}, "attempts": {"N": "1"},
            "duration_ms": {"N": "12"}, "captures": {"M": {"id": {"S": "abc"}}},
            "output": {"S": "x" * 300}}  # fmt: skip
    dynamodb.put_item(TableName="results", Item=step)
    waits = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}}
    machine = sfn.create_state_machine(
        name="waits", definition=json.dumps(waits), roleArn="arn:aws:iam::123456789012:role/r"
    )["stateMachineArn"]
    executions = [
        sfn.start_execution(stateMachineArn=machine, name=f"run-{i}")["executionArn"]
        for i in range(running)
    ]
    kinds = {
        "GetItem": ("DynamoDB_20120810.GetItem",
                    {"TableName": "results", "Key": {"pk": step["pk"], "sk": step["sk"]}}),
        "PutItem (a step's record)": ("DynamoDB_20120810.PutItem",
                                      {"TableName": "results", "Item": step}),
        f"ListExecutions ({running} running)": ("AWSStepFunctions.ListExecutions",
                                                {"stateMachineArn": machine,
                                                 "statusFilter": "RUNNING"}),
        "DescribeExecution": ("AWSStepFunctions.DescribeExecution",
                              {"executionArn": executions[0]}),
    }  # fmt: skip
    return {kind: (target, json.dumps(body).encode()) for kind, (target, body) in kinds.items()}


def _headers(aws: Any, target: str) -> dict[str, str]:
    """What an SDK sends (the front door checks the key id and the token)."""
    service = "states" if target.startswith("AWSStepFunctions") else "dynamodb"
    key = aws.credentials["AWS_ACCESS_KEY_ID"]
    return {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": target,
        "X-Amz-Date": "20261130T000000Z",
        "X-Amz-Security-Token": aws.credentials["AWS_SESSION_TOKEN"],
        "Authorization": f"AWS4-HMAC-SHA256 Credential={key}/20261130/us-east-1/{service}/"
        "aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
        "User-Agent": "Boto3/1.40 md/Botocore#1.40 ua/2.1 os/linux lang/python#3.11 Botocore/1.40",
        "amz-sdk-invocation-id": "0f3c5f8e-8d83-4c56-9a8c-0b8d1d4f7d2e",
        "amz-sdk-request": "attempt=1",
    }


if __name__ == "__main__":
    main()
