"""Fixture handler: the Action iteration contract of docs/engine.md, in miniature.

Each call is one attempt; a step needs `needed` attempts (default 2) to pass,
so every step goes through the Choice → Wait(SecondsPath) → Action loop once.
"""

import os

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    attempt = event["attempt"] + 1
    TABLE.put_item(
        Item={"pk": event["run_id"], "sk": f"step#{event['index']:04d}", "attempts": attempt}
    )
    print(f"step {event['name']} attempt {attempt}")
    outcome = "passed" if attempt >= event.get("needed", 2) else "retry"
    return {**event, "attempt": attempt, "outcome": outcome, "wait_seconds": 1}
