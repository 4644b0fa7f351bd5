"""A run's listeners: temporary SQS queues that catch EventBridge events and SNS messages.

Prepare creates one queue per listener declared in the scenario, fed by a
temporary EventBridge rule (the pattern, the queue as target, the queue's
policy letting only that rule send) or by a temporary SNS subscription (with
the optional filter policy; the policy lets only that topic send). Names are
``<LISTENER_PREFIX><digest of the run id>-<listener>``: derived, never stored,
so any cleanup (Cleanup, or a later one knowing only the run id) finds and
removes them, and concurrent runs never share one. Listeners are made, read
and removed in the target role (they live on the targets' buses and topics),
which the stack lets create and delete only resources under that prefix.

What a queue receives is moved into the results table (its own partition per
listener, :mod:`itest.lambdas.results.messages`: one item per event, keyed by the
event's own id so a redelivery is stored once) before it is deleted from the queue: every
later step sees everything the listener captured so far.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypedDict

from itest.lambdas.aws import aws_errors, target_client
from itest.lambdas.errors import ActionError
from itest.lambdas.results import messages

PREFIX_ENV = "LISTENER_PREFIX"
DEFAULT_PREFIX = "itest-listen-"
TARGET_ID = "itest-listener"
MAX_BATCHES = 50
"""At most 500 messages moved per drain; the rest wait for the next attempt."""
_NOT_FOUND = {
    "ResourceNotFoundException",
    "NotFound",
    "NotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
}


class Captured(TypedDict):
    """One message a listener caught: when it reached the queue, and the message."""

    arrived: float  # epoch seconds (SQS SentTimestamp)
    message: Any


def prefix() -> str:
    return os.environ.get(PREFIX_ENV) or DEFAULT_PREFIX


def resource_name(run_id: str, name: str) -> str:
    """The queue's and the rule's name: the stack's prefix, the run, the listener."""
    digest = hashlib.sha256(run_id.encode()).hexdigest()[:12]
    return f"{prefix()}{digest}-{name}"


def create(run_id: str, name: str, spec: dict[str, Any]) -> None:
    """The queue, and the rule or subscription feeding it (``spec`` is rendered).

    Raises:
        ActionError: AWS refused a call (the message names it).
    """
    queue = resource_name(run_id, name)
    sqs = target_client("sqs")
    with aws_errors(f"listener {name!r}: sqs.create_queue"):
        url = sqs.create_queue(QueueName=queue, Attributes={"SqsManagedSseEnabled": "true"})[
            "QueueUrl"
        ]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
    if "eventbridge" in spec:
        source = spec["eventbridge"]
        events = target_client("events")
        with aws_errors(f"listener {name!r}: events.put_rule"):
            rule_arn = events.put_rule(
                Name=queue,
                EventBusName=source.get("bus") or "default",
                EventPattern=json.dumps(source["pattern"]),
                State="ENABLED",
                Description=f"itest listener {name!r} of run {run_id}"[:512],
            )["RuleArn"]
        _allow(url, queue_arn, "events.amazonaws.com", rule_arn, name)
        with aws_errors(f"listener {name!r}: events.put_targets"):
            failed = events.put_targets(
                Rule=queue,
                EventBusName=source.get("bus") or "default",
                Targets=[{"Id": TARGET_ID, "Arn": queue_arn}],
            ).get("FailedEntries")
        if failed:
            raise ActionError(f"listener {name!r}: events.put_targets: {failed[0]}")
    else:
        source = spec["sns"]
        _allow(url, queue_arn, "sns.amazonaws.com", source["topic"], name)
        attributes = {}
        if source.get("filter"):
            attributes["FilterPolicy"] = json.dumps(source["filter"])
            attributes["FilterPolicyScope"] = (
                "MessageBody" if source.get("filter_scope") == "body" else "MessageAttributes"
            )
        with aws_errors(f"listener {name!r}: sns.subscribe"):
            target_client("sns").subscribe(
                TopicArn=source["topic"],
                Protocol="sqs",
                Endpoint=queue_arn,
                Attributes=attributes,
                ReturnSubscriptionArn=True,
            )


def _allow(url: str, queue_arn: str, service: str, source_arn: str, name: str) -> None:
    """Only that rule (or topic) may send to the queue."""
    statement = {
        "Sid": "ItestListener",
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}},
    }
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    with aws_errors(f"listener {name!r}: sqs.set_queue_attributes"):
        target_client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})


def remove(run_id: str, name: str, spec: dict[str, Any]) -> None:
    """Delete what :func:`create` made; what is already gone is fine (idempotent).

    Raises:
        ActionError: a deletion AWS refused.
    """
    queue = resource_name(run_id, name)
    if "eventbridge" in spec:
        events, bus = target_client("events"), spec["eventbridge"].get("bus") or "default"
        with _gone_is_fine(f"listener {name!r}: events.remove_targets"):
            events.remove_targets(Rule=queue, EventBusName=bus, Ids=[TARGET_ID])
        with _gone_is_fine(f"listener {name!r}: events.delete_rule"):
            events.delete_rule(Name=queue, EventBusName=bus)
    if "sns" in spec:
        sns = target_client("sns")
        with _gone_is_fine(f"listener {name!r}: sns.unsubscribe"):
            pages = sns.get_paginator("list_subscriptions_by_topic").paginate(
                TopicArn=spec["sns"]["topic"]
            )
            for page in pages:
                for subscription in page.get("Subscriptions", []):
                    if subscription.get("Endpoint", "").endswith(f":{queue}"):
                        sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
    sqs = target_client("sqs")
    with _gone_is_fine(f"listener {name!r}: sqs.delete_queue"):
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=queue)["QueueUrl"])


@contextmanager
def _gone_is_fine(what: str) -> Iterator[None]:
    from botocore.exceptions import ClientError

    with aws_errors(what):
        try:
            yield
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _NOT_FOUND:
                raise


def drain(run_id: str, name: str, kind: str, *, mask: Callable[[Any], Any], thorough: bool) -> int:
    """Move what the listener's queue holds into the results table; how many moved.

    The first receive long polls (one second; it returns as soon as there is a
    message), so that every SQS server is asked, not a sample. ``thorough``
    (an absence check): long polls until one comes back empty; otherwise the
    rest are short polls until one comes back empty (what they miss, the next
    attempt sees). Each batch is stored before it is deleted from the queue.

    Raises:
        ActionError: the queue is missing or a call failed.
    """
    sqs, moved = target_client("sqs"), 0
    with aws_errors(f"listener {name!r}"):
        url = sqs.get_queue_url(QueueName=resource_name(run_id, name))["QueueUrl"]
        for batch_number in range(MAX_BATCHES):
            batch = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1 if thorough or batch_number == 0 else 0,
                AttributeNames=["SentTimestamp"],
            ).get("Messages", [])
            if not batch:
                break
            for message in batch:
                key, body = _unwrap(kind, message)
                arrived = int(message.get("Attributes", {}).get("SentTimestamp") or 0) / 1000
                messages.write_message(run_id, name, key, arrived=arrived, message=mask(body))
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
                ],
            )
            moved += len(batch)
    return moved


def captured(run_id: str, name: str) -> list[Captured]:
    """Everything the listener caught in this run, oldest first."""
    return [
        {"arrived": arrived, "message": message}
        for arrived, message in messages.read_messages(run_id, name)
    ]


def _unwrap(kind: str, message: dict[str, Any]) -> tuple[str, Any]:
    """(the event's own id, the message as a step sees it).

    EventBridge: the event itself. SNS: ``{message, subject, attributes,
    message_id}``, ``message`` parsed when it is JSON.
    """
    body = _json(message.get("Body") or "")
    if kind == "eventbridge":
        event_id = body.get("id") if isinstance(body, dict) else None
        return str(event_id or message["MessageId"]), body
    envelope = body if isinstance(body, dict) else {}
    text = envelope.get("Message", message.get("Body"))
    parsed = _json(text) if isinstance(text, str) else text
    attributes = {
        key: value.get("Value") if isinstance(value, dict) else value
        for key, value in (envelope.get("MessageAttributes") or {}).items()
    }
    message_id = envelope.get("MessageId") or message["MessageId"]
    return str(message_id), {
        "message": text if parsed is None else parsed,
        "subject": envelope.get("Subject"),
        "attributes": attributes,
        "message_id": message_id,
    }


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text or None
