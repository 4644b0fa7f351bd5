"""Finding the deployed orchestrator: state machine, scenario bucket, results table."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cli.aws import ClientFactory
from cli.errors import InfraError


@dataclass(frozen=True)
class Target:
    """The three resources the CLI talks to."""

    state_machine_arn: str
    bucket: str
    results_table: str


def from_outputs(outputs: dict[str, str]) -> Target:
    """The orchestrator stack's outputs, as CDK names them (infra/stack.py)."""
    try:
        return Target(
            outputs["StateMachineArn"], outputs["BucketName"], outputs["ResultsTableName"]
        )
    except KeyError as missing:
        raise InfraError(f"the stack has no output {missing}: is it an itest stack?") from None


def find_target(aws: ClientFactory, *, stack: str, state_machine_arn: str | None) -> Target:
    """From an explicit state machine ARN, else from the CloudFormation stack's outputs."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if state_machine_arn:
            return _from_state_machine(aws, state_machine_arn)
        described = aws.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError as error:
        raise InfraError(f"cannot find the itest stack '{stack}': {error}") from None
    except BotoCoreError as error:
        raise InfraError(f"cannot reach AWS: {error}") from None
    return from_outputs({o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])})


def _from_state_machine(aws: ClientFactory, arn: str) -> Target:
    """The bucket and table are in the environment of the function the first state calls."""
    described = aws.client("stepfunctions").describe_state_machine(stateMachineArn=arn)
    definition = json.loads(described["definition"])
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
