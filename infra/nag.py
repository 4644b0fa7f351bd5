"""cdk-nag acknowledgments (suppressions), through CDK's own `Validations`.

cdk-nag 3 runs as a CDK policy-validation plugin; acknowledging a rule is
`Validations.of(construct).acknowledge(...)`, part of aws-cdk-lib, so
synthesizing never loads cdk-nag. Every acknowledgment carries the reason a
reviewer needs; wildcard findings are acknowledged one by one
(`AwsSolutions-IAM5[<finding>]`), never a whole rule for a whole role.
tests/infra runs the AwsSolutions pack over the stack (`-c itest:nag=true`).
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule: str, reason: str, *findings: str) -> None:
    """Acknowledge `rule` at and under `scope`: only `findings` of it when given."""
    ids = [f"{rule}[{finding}]" for finding in findings] or [rule]
    Validations.of(scope).acknowledge(*(Acknowledgment(id=i, reason=reason) for i in ids))


def arn_ref(construct: IConstruct, attribute: str = "Arn") -> str:
    """How cdk-nag names `Fn::GetAtt [<resource>, Arn]` in a finding: `<LogicalId.Arn>`."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    assert isinstance(resource, CfnResource), f"{construct.node.path} has no CfnResource"
    logical_id = Stack.of(resource).resolve(resource.logical_id)
    return f"<{logical_id}.{attribute}>"
