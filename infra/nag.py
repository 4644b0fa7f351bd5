"""cdk-nag suppressions, written as the metadata cdk-nag reads.

Writing the metadata directly (what `NagSuppressions.add_resource_suppressions`
does) keeps cdk-nag a test dependency: synthesizing never loads it. Every
suppression says why the finding is accepted; tests/infra runs the
AwsSolutions pack over the stack and fails on any unsuppressed error.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import CfnResource
from constructs import IConstruct


@dataclass(frozen=True)
class Suppression:
    """One rule suppressed, optionally only for some findings (`applies_to`), with a reason.

    `applies_to` entries are finding strings (`Action::s3:List*`) or regexes
    written as cdk-nag expects (`/^Resource::.*:\\*$/g`), which match findings
    that name resources by hashed logical ids.
    """

    rule: str
    reason: str
    applies_to: tuple[str, ...] = ()

    def metadata(self) -> dict[str, object]:
        entry: dict[str, object] = {"id": self.rule, "reason": self.reason}
        if self.applies_to:
            entry["applies_to"] = [
                {"regex": a} if a.startswith("/") else a for a in self.applies_to
            ]
        return entry


def suppress(scope: IConstruct, *suppressions: Suppression) -> None:
    """Suppress on every CloudFormation resource at or under `scope`."""
    for node in scope.node.find_all():
        if not isinstance(node, CfnResource):
            continue
        existing = node.get_metadata("cdk_nag") or {}
        rules = list(existing.get("rules_to_suppress", []))
        rules += [s.metadata() for s in suppressions]
        node.add_metadata("cdk_nag", {**existing, "rules_to_suppress": rules})


# Findings every Lambda role and the state machine role has, and why they are fine.
LOG_STREAMS = Suppression(
    "AwsSolutions-IAM5",
    "CreateLogStream/PutLogEvents on the function's own log group; log stream names "
    "are chosen by Lambda at run time, so the stream part of the ARN is a wildcard.",
    (r"/^Resource::<.+Logs[0-9A-F]{8}\.Arn>:\*$/g",),
)
XRAY = Suppression(
    "AwsSolutions-IAM5",
    "X-Ray's PutTraceSegments/PutTelemetryRecords/GetSampling* support no resource-level "
    "permissions (telemetry, not data); CDK adds them for active tracing.",
    ("Resource::*",),
)
