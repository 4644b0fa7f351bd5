"""What a scenario's listeners need (lambdas/listeners.py), in one place.

A listener is a temporary SQS queue fed by a temporary EventBridge rule or SNS
subscription, named `<prefix><run digest>-<listener>`. They are granted to the target role
(infra/targets.py), never to the functions' own roles: it may create and
delete only queues and rules under the stack's prefix, only on the
buses and topics declared in `itest:targets` (`buses`, `topics`), and
subscribe only such queues to those topics (`sns:Endpoint` condition). With
no bus and no topic declared nothing is granted.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Arn, ArnFormat, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

PREFIX_MAX = 27
"""Prefix, 12-character run digest, `-` and a listener name of at most 24 stay within
EventBridge's 64-character rule names (SQS allows 80)."""


def listener_prefix(stack_name: str) -> str:
    """`<stack name>-listen-`, the stack name cut so the whole stays <= PREFIX_MAX."""
    suffix = "-listen-"
    return stack_name[: PREFIX_MAX - len(suffix)] + suffix


class ListenerAccess(Construct):
    """The grants listeners need: manage (Prepare creates, Cleanup deletes), receive (Action).

    Attributes:
        prefix: the name prefix of every listener resource (`LISTENER_PREFIX`).
        queue_arn, rule_arns, topic_arns: what the grants name.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        buses: Sequence[str] = (),
        topics: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.prefix = prefix
        self.queue_arn = stack.format_arn(
            service="sqs", resource=f"{prefix}*", arn_format=ArnFormat.NO_RESOURCE_NAME
        )
        self.rule_arns = [self._rule_arn(stack, bus) for bus in buses]
        self.topic_arns = [
            name
            if name.startswith("arn:")
            else stack.format_arn(
                service="sns", resource=name, arn_format=ArnFormat.NO_RESOURCE_NAME
            )
            for name in topics
        ]

    @property
    def enabled(self) -> bool:
        return bool(self.rule_arns or self.topic_arns)

    def _rule_arn(self, stack: Stack, bus: str) -> str:
        """Rules under the prefix on one bus (the default bus's rules have no bus part)."""
        if bus.startswith("arn:"):
            parts = Arn.split(bus, ArnFormat.SLASH_RESOURCE_NAME)
            name = parts.resource_name or "default"
            partition, region, account = parts.partition, parts.region, parts.account
        else:
            name, partition, region, account = bus, None, None, None
        path = f"{self.prefix}*" if name == "default" else f"{name}/{self.prefix}*"
        return stack.format_arn(
            service="events",
            resource="rule",
            resource_name=path,
            partition=partition,
            region=region,
            account=account,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    def grant_manage(self, grantee: iam.IGrantable) -> None:
        """Create and delete the run's queues, and the rules or subscriptions feeding them."""
        if not self.enabled:
            return
        principal = grantee.grant_principal
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "sqs:CreateQueue",
                    "sqs:DeleteQueue",
                    "sqs:GetQueueAttributes",
                    "sqs:SetQueueAttributes",
                    "sqs:GetQueueUrl",
                ],
                resources=[self.queue_arn],
            )
        )
        if self.rule_arns:
            principal.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=[
                        "events:PutRule",
                        "events:PutTargets",
                        "events:RemoveTargets",
                        "events:DeleteRule",
                    ],
                    resources=self.rule_arns,
                )
            )
        if self.topic_arns:
            principal.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["sns:Subscribe"],
                    resources=self.topic_arns,
                    conditions={
                        "StringLike": {"sns:Endpoint": self.queue_arn},
                        "StringEquals": {"sns:Protocol": "sqs"},
                    },
                )
            )
            principal.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["sns:ListSubscriptionsByTopic", "sns:Unsubscribe"],
                    resources=self.topic_arns,
                )
            )

    def grant_receive(self, grantee: iam.IGrantable) -> None:
        """Move what the run's queues caught into the results table."""
        if not self.enabled:
            return
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage"],
                resources=[self.queue_arn],
            )
        )

    def nag_findings(self) -> list[str]:
        """The cdk-nag IAM5 findings these grants produce: the prefix wildcards."""
        stack = Stack.of(self)
        return [f"Resource::{_finding(stack, arn)}" for arn in (self.queue_arn, *self.rule_arns)]


def _finding(stack: Stack, arn: str) -> str:
    """How cdk-nag writes an ARN built by `format_arn`: pseudo parameters in `<...>`."""
    resolved = stack.resolve(arn)
    if isinstance(resolved, str):
        return resolved
    parts = resolved["Fn::Join"][1]
    return "".join(part if isinstance(part, str) else f"<{part['Ref']}>" for part in parts)
