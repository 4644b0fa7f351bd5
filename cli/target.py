"""Finding the deployed orchestrator: state machine, scenario bucket, results table."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass

from itest.cli.aws import ClientFactory
from itest.cli.errors import InfraError


@dataclass(frozen=True)
class Target:
    """The resources the CLI talks to."""

    state_machine_arn: str
    bucket: str
    results_table: str
    suite_state_machine_arn: str | None = None
    """The suite state machine (`--suite`); unknown when found by --state-machine-arn."""


def from_outputs(outputs: dict[str, str]) -> Target:
    """The orchestrator stack's outputs, as CDK names them (infra/stack.py)."""
    try:
        return Target(
            outputs["StateMachineArn"], outputs["BucketName"], outputs["ResultsTableName"],
            outputs.get("SuiteStateMachineArn"),
        )
    except KeyError as missing:
        raise InfraError(f"the stack has no output {missing}: is it an itest stack?") from None


def find_target(aws: ClientFactory, *, stack: str, state_machine_arn: str | None) -> Target:
    """From an explicit state machine ARN, else from the CloudFormation stack's outputs.

    Raises:
        InfraError: no such stack or state machine, or not an itest one.
    """
    from botocore.exceptions import ClientError

    if state_machine_arn:
        return from_state_machine(aws, state_machine_arn)
    try:
        described = aws.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError as error:
        if "does not exist" not in str(error):
            raise
        where = f" in {aws.region}" if aws.region else ""
        raise InfraError(
            f"no CloudFormation stack '{stack}'{where}: deploy it (cdk deploy), "
            "or pass --stack, --state-machine-arn or ITEST_STATE_MACHINE_ARN"
        ) from None
    return from_outputs({o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])})


def from_state_machine(aws: ClientFactory, arn: str) -> Target:
    """The bucket and table are in the environment of the function the first state calls.

    Raises:
        InfraError: no such state machine, or not an itest one.
    """
    from botocore.exceptions import ClientError

    try:
        described = aws.client("stepfunctions").describe_state_machine(stateMachineArn=arn)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("StateMachineDoesNotExist",
                                                                 "InvalidArn"):
            raise
        raise InfraError(f"no state machine {arn}") from None
    definition = json.loads(described["definition"])
    if child := _child_machine(definition):  # a suite: the scenario state machine it runs
        return dataclasses.replace(from_state_machine(aws, child), suite_state_machine_arn=arn)
    first = definition["States"][definition["StartAt"]]
    function = first.get("Parameters", {}).get("FunctionName")
    if not function:
        raise InfraError(f"{arn} does not look like an itest state machine")
    config = aws.client("lambda").get_function_configuration(FunctionName=function)
    env = config.get("Environment", {}).get("Variables", {})
    try:
        return Target(arn, env["SCENARIO_BUCKET"], env["RESULTS_TABLE"])
    except KeyError:
        raise InfraError(f"{arn} does not look like an itest state machine") from None


def _child_machine(definition: dict) -> str | None:
    """The state machine whose executions a suite's Map starts (infra/suite.py), if any."""
    for state in definition.get("States", {}).values():
        for inner in state.get("ItemProcessor", {}).get("States", {}).values():
            if arn := inner.get("Parameters", {}).get("StateMachineArn"):
                return str(arn)
    return None


@dataclass(frozen=True)
class ExecutionArn:
    """`arn:<partition>:states:<region>:<account>:execution:<state machine>:<name>`."""

    arn: str
    partition: str
    region: str
    account: str
    state_machine: str
    name: str

    @property
    def state_machine_arn(self) -> str:
        return (
            f"arn:{self.partition}:states:{self.region}:{self.account}"
            f":stateMachine:{self.state_machine}"
        )


RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")  # an execution name as itest makes them


def execution_arn_of(state_machine_arn: str, run_id: str) -> str:
    """The ARN of the execution named `run_id` on that state machine.

    Raises:
        BadInput: `run_id` is neither a run id nor an execution ARN.
    """
    from itest.cli.errors import BadInput

    if not RUN_ID.fullmatch(run_id):
        raise BadInput(
            f"{run_id!r} is neither a run id (e.g. orders-happy-path-20261122T004027-35f2f1) "
            "nor an execution ARN (arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME)"
        )
    head, _, machine = state_machine_arn.rpartition(":stateMachine:")
    return f"{head}:execution:{machine}:{run_id}"


_CONSOLE_DOMAINS = {
    "aws": "console.aws.amazon.com",
    "aws-us-gov": "console.amazonaws-us-gov.com",
    "aws-cn": "console.amazonaws.cn",
}


def parse_execution_arn(arn: str) -> ExecutionArn:
    """Raises:
    BadInput: `arn` is not a Step Functions execution ARN.
    """
    from itest.cli.errors import BadInput

    parts = arn.split(":")
    if len(parts) != 8 or parts[:3] != ["arn", parts[1], "states"] or parts[5] != "execution":
        raise BadInput(
            f"{arn!r} is not an execution ARN "
            "(arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME)"
        )
    _, partition, _, region, account, _, machine, name = parts
    return ExecutionArn(arn, partition, region, account, machine, name)


def console_url(arn: str) -> str | None:
    """The execution's page in the Step Functions console (None for an unknown partition)."""
    parsed = parse_execution_arn(arn)
    domain = _CONSOLE_DOMAINS.get(parsed.partition)
    if domain is None:
        return None
    return (
        f"https://{parsed.region}.{domain}/states/home?region={parsed.region}"
        f"#/v2/executions/details/{arn}"
    )
