"""A synthesized CDK app deployed to the local AWS runs like on AWS (cli/local/deploy.py).

The fixture app (local_fixtures/app.py) is synthesized once per session, through
the assembly cache, into a temporary cache directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from itest.cli.local.cache import cached_assembly, sources_key
from itest.cli.local.deploy import (
    DeployError,
    Resolver,
    deploy,
    prepare_template,
    stack_resolver,
    stack_resources,
    state_machine_definition,
)

if TYPE_CHECKING:

    from itest.cli.local.server import LocalAws

FIXTURES = Path(__file__).parent / "local_fixtures"


def _synth(outdir: Path) -> None:
    env = {
        **os.environ,
        "CDK_OUTDIR": str(outdir),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    subprocess.run([sys.executable, "app.py"], cwd=FIXTURES, env=env, check=True)


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ITEST_CACHE_DIR", str(tmp_path_factory.mktemp("itest-cache")))
        return cached_assembly(_synth, sources_key([FIXTURES]))


@pytest.fixture(scope="module")
def tiny(aws: LocalAws, assembly: Path) -> dict[str, str]:
    return deploy(aws, assembly, "ItestLocalTiny")


def _run(aws: LocalAws, arn: str, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    sfn = aws.client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))
    deadline = time.monotonic() + 60
    while (result := sfn.describe_execution(executionArn=execution["executionArn"]))[
        "status"
    ] == "RUNNING":
        assert time.monotonic() < deadline, "execution still running after 60 s"
        time.sleep(0.1)
    return result


@pytest.mark.e2e
def test_the_engine_shape_runs_to_success(aws: LocalAws, tiny: dict[str, str]) -> None:
    result = _run(aws, tiny["StateMachineArn"], "run-1", {"steps": [{"name": "a"}, {"name": "b"}]})

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert json.loads(result["output"]) == [
        {
            "run_id": "run-1",
            "index": i,
            "name": n,
            "attempt": 2,
            "outcome": "passed",
            "wait_seconds": 1,
        }
        for i, n in enumerate("ab")
    ]
    items = aws.client("dynamodb").scan(TableName=tiny["TableName"])["Items"]
    assert sorted((i["sk"]["S"], i["attempts"]["N"]) for i in items) == [
        ("step#0000", "2"),
        ("step#0001", "2"),
    ]
    history = aws.client("stepfunctions").get_execution_history(
        executionArn=result["executionArn"]
    )["events"]
    assert sum(e["type"] == "WaitStateEntered" for e in history) == 2


@pytest.mark.e2e
def test_handler_logs_are_in_the_functions_log_group(aws: LocalAws, tiny: dict[str, str]) -> None:
    _run(aws, tiny["StateMachineArn"], "run-logs", {"steps": [{"name": "logged"}]})

    group = f"/aws/lambda/{tiny['FunctionName']}"
    events = aws.client("logs").filter_log_events(logGroupName=group)["events"]
    assert "step logged attempt 2" in [e["message"] for e in events]


def test_definition_is_the_templates_resolved_like_moto_cloudformation_does(
    aws: LocalAws, tiny: dict[str, str], assembly: Path
) -> None:
    from moto.stepfunctions.models import stepfunctions_backends

    arn = tiny["StateMachineArn"]
    template = prepare_template(json.loads((assembly / "ItestLocalTiny.template.json").read_text()))
    resources = stack_resources(aws, "ItestLocalTiny")
    (logical_id,) = [
        k for k, (t, _) in resources.items() if t == "AWS::StepFunctions::StateMachine"
    ]
    resolver = stack_resolver(aws, "ItestLocalTiny", template, resources)
    expected = state_machine_definition(resolver, template["Resources"][logical_id]["Properties"])

    executing = aws.client("stepfunctions").describe_state_machine(stateMachineArn=arn)
    by_moto_cloudformation = stepfunctions_backends[aws.account_id][
        aws.region
    ].describe_state_machine(arn)

    assert executing["definition"] == expected
    assert by_moto_cloudformation.definition == expected
    assert executing["roleArn"] == by_moto_cloudformation.roleArn
    assert (
        json.loads(expected)["States"]["RunSteps"]["ItemProcessor"]["States"]["Act"]["Parameters"][
            "FunctionName"
        ]
        == f"arn:aws:lambda:{aws.region}:{aws.account_id}:function:{tiny['FunctionName']}"
    )


def test_deploying_again_updates_in_place(
    aws: LocalAws, tiny: dict[str, str], assembly: Path
) -> None:
    assert deploy(aws, assembly, "ItestLocalTiny") == tiny
    machines = aws.client("stepfunctions").list_state_machines()["stateMachines"]
    assert [m["stateMachineArn"] for m in machines].count(tiny["StateMachineArn"]) == 1


@pytest.mark.e2e
def test_a_production_shaped_stack_deploys_and_runs(aws: LocalAws, assembly: Path) -> None:
    outputs = deploy(aws, assembly, "ItestLocalProdLike")

    result = _run(aws, outputs["StateMachineArn"], "greet", {})

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert json.loads(result["output"]) == {"greeting": "hello from the layer"}
    types = {t for t, _ in stack_resources(aws, "ItestLocalProdLike").values()}
    assert {"AWS::KMS::Key", "AWS::Lambda::LayerVersion", "AWS::CloudWatch::Dashboard"} <= types
    assert (
        not {"AWS::CloudWatch::Alarm", "AWS::S3::BucketPolicy", "Custom::S3AutoDeleteObjects"}
        & types
    )
    logs = aws.client("logs")
    (group,) = [  # the function's LoggingConfig.LogGroup, not /aws/lambda/<name>
        g["logGroupName"]
        for g in logs.describe_log_groups()["logGroups"]
        if g["logGroupName"].startswith("ItestLocalProdLike-Logs")
    ]
    assert "hello from the layer" in [
        e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]
    ]


def test_an_unknown_stack_names_the_known_ones(aws: LocalAws, assembly: Path) -> None:
    with pytest.raises(DeployError, match="ItestLocalProdLike, ItestLocalTiny"):
        deploy(aws, assembly, "Nope")


def test_a_resource_failure_is_reported_with_its_reason(aws: LocalAws, tmp_path: Path) -> None:
    manifest = {
        "artifacts": {
            "Broken": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "Broken.template.json"},
            }
        }
    }
    function = {
        "Code": {"S3Bucket": "no-such-bucket", "S3Key": "code.zip"},
        "Handler": "index.handler",
        "Runtime": "python3.12",
        "Role": "arn:aws:iam::123456789012:role/none",
    }
    template = {"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": function}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "Broken.template.json").write_text(json.dumps(template))

    with pytest.raises(DeployError, match=r"stack Broken: .*NoSuchBucket"):
        deploy(aws, tmp_path, "Broken")


# -- template preparation and resolution, without a server ---------------------------------


def test_prepare_template_drops_what_moto_cannot_create() -> None:
    template = {
        "Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>"}},
        "Rules": {"CheckBootstrapVersion": {}},
        "Conditions": {"CDKMetadataAvailable": {"Fn::Equals": ["a", "a"]}},
        "Resources": {
            "Meta": {"Type": "AWS::CDK::Metadata", "Condition": "CDKMetadataAvailable"},
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Policy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": {"Ref": "Bucket"}},
            },
            "AutoDelete": {"Type": "Custom::S3AutoDeleteObjects", "DependsOn": ["Policy"]},
            "Table": {"Type": "AWS::DynamoDB::Table", "DependsOn": ["Policy", "Bucket"]},
        },
        "Outputs": {"Deleted": {"Value": {"Fn::GetAtt": ["AutoDelete", "Id"]}}},
    }

    prepared = prepare_template(template)

    assert prepared == {
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Table": {"Type": "AWS::DynamoDB::Table", "DependsOn": ["Bucket"]},
        },
        "Outputs": {},
    }
    assert "Rules" in template  # the original is left alone


def test_prepare_template_refuses_a_reference_to_a_dropped_resource() -> None:
    template = {
        "Resources": {
            "Alarm": {"Type": "AWS::CloudWatch::Alarm"},
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Environment": {"Fn::Sub": "${Alarm.Arn}"}},
            },
        }
    }
    with pytest.raises(DeployError, match=r"Fn refers to Alarm.*AWS::CloudWatch::Alarm"):
        prepare_template(template)


RESOLVER = Resolver(
    {
        "Fn": ("AWS::Lambda::Function", "my-fn"),
        "Table": ("AWS::DynamoDB::Table", "my-table"),
        "Queue": ("AWS::SQS::Queue", "http://127.0.0.1:1/123456789012/my-queue"),
    },
    {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::StackName": "S"},
    {"Stage": "dev"},
)


def test_resolver_joins_subs_refs_and_arns() -> None:
    node = {
        "Fn::Join": [
            "|",
            [
                {"Ref": "Fn"},
                {"Fn::GetAtt": ["Table", "Arn"]},
                {"Fn::GetAtt": "Queue.Arn"},
                {"Fn::Sub": "${AWS::StackName}-${Stage}-${Fn.Arn}-${!Literal}"},
                {"Fn::Sub": ["${X}:${AWS::Partition}", {"X": {"Ref": "Table"}}]},
            ],
        ]
    }

    assert RESOLVER.resolve(node) == "|".join(
        [
            "my-fn",
            "arn:aws:dynamodb:us-east-1:123456789012:table/my-table",
            "arn:aws:sqs:us-east-1:123456789012:my-queue",
            "S-dev-arn:aws:lambda:us-east-1:123456789012:function:my-fn-${Literal}",
            "my-table:aws",
        ]
    )


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"Fn::ImportValue": "Shared"}, "Fn::ImportValue is not supported"),
        ({"Ref": "Missing"}, "Ref to Missing"),
        ({"Fn::GetAtt": ["Table", "StreamArn"]}, "AWS::DynamoDB::Table.StreamArn"),
    ],
)
def test_resolver_names_what_it_cannot_resolve(node: dict[str, Any], message: str) -> None:
    with pytest.raises(DeployError, match=message):
        RESOLVER.resolve(node)
