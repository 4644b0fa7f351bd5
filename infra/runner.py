"""The role a release pipeline (or a person) assumes to run `itest run --wait`."""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from itest.infra.storage import RunStorage


def runner_role_name(stack_name: str, region: str = Aws.REGION) -> str:
    """Deterministic, so a pipeline in another stack (or account) can name it before it exists."""
    return f"{stack_name}-runner-{region}"


class RunnerRole(Construct):
    """Exactly what the CLI does: find the stack, upload scenarios, start and watch
    executions, read results and logs. Trusts principals of `trusted_account`
    (this account by default) that are themselves allowed to assume it.

    Attributes:
        role: the role; its ARN is the stack output `RunnerRoleArn`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        storage: RunStorage,
        log_groups: list[logs.ILogGroup],
        trusted_account: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            role_name=runner_role_name(stack.stack_name),
            assumed_by=iam.AccountPrincipal(trusted_account)
            if trusted_account
            else iam.AccountRootPrincipal(),
            description="itest CLI: upload scenarios, run them, read their results",
        )
        storage.bucket.grant_put(self.role, f"{storage.scenarios_prefix}*")
        # whole step results the records point to
        storage.bucket.grant_read(self.role, f"{storage.results_prefix}*")
        storage.table.grant_read_data(self.role)
        state_machine.grant_start_execution(self.role)
        state_machine.grant(self.role, "states:DescribeStateMachine")
        state_machine.grant_execution(
            self.role,
            "states:DescribeExecution",
            "states:GetExecutionHistory",
            "states:StopExecution",
        )
        for group in log_groups:
            group.grant_read(self.role)
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=["cloudformation:DescribeStacks"],
            resource_arns=[stack.stack_id],
        )
