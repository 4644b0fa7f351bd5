"""What makes the stack deployable to a production account, checked by properties."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from tests.infra.conftest import state_machine

# Actions allowed on Resource "*": telemetry calls that support no resource-level permissions
TELEMETRY = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(template) -> list[tuple[str, dict[str, Any]]]:
    return [
        (logical_id, statement)
        for logical_id, policy in template.find_resources("AWS::IAM::Policy").items()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _role_actions(template, handler: str) -> set[str]:
    """Every action the role of `itest.lambdas.handlers.<handler>` holds."""
    functions = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": f"itest.lambdas.handlers.{handler}"}}
    )
    ((_, fn),) = functions.items()
    role = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    actions: set[str] = set()
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions |= set(_listed(statement["Action"]))
    return actions


def _role_resources(template, handler: str) -> str:
    functions = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": f"itest.lambdas.handlers.{handler}"}}
    )
    ((_, fn),) = functions.items()
    role = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    return json.dumps(
        [
            p["Properties"]["PolicyDocument"]
            for p in template.find_resources("AWS::IAM::Policy").values()
            if {"Ref": role} in p["Properties"]["Roles"]
        ]
    )


# -- least privilege ---------------------------------------------------------------


def test_no_wildcard_action_and_no_star_resource_on_data(template):
    for logical_id, statement in _statements(template):
        actions = _listed(statement["Action"])
        for action in actions:
            assert action != "*" and not action.endswith(":*"), (logical_id, action)
        if "*" in _listed(statement["Resource"]):
            assert set(actions) <= TELEMETRY, (logical_id, actions)


def test_no_managed_policies_on_the_orchestrator_roles(template):
    for logical_id, role in template.find_resources("AWS::IAM::Role").items():
        assert "ManagedPolicyArns" not in role["Properties"], logical_id


def test_prepare_reads_scenarios_and_writes_the_run_record_only(template):
    actions = _role_actions(template, "prepare")
    assert "dynamodb:PutItem" in actions and "s3:GetObject*" in actions
    assert not {"dynamodb:GetItem", "dynamodb:Query", "s3:PutObject"} & actions
    assert (
        not {"secretsmanager:GetSecretValue", "lambda:InvokeFunction", "sqs:ReceiveMessage"}
        & actions
    )
    assert "scenarios/*" in _role_resources(template, "prepare")


TARGET_NAMES = (
    "table/orders",
    "table/audit",
    ":s3:::receipts",
    "orders-events",
    "function:orders-processor",
    "secret:orders/api-token",
    "parameter/orders/api-token",
    "event-bus/orders",
    "log-group:/aws/lambda/orders-processor:*",
)


def _target_role_policies(template) -> list[dict[str, Any]]:
    roles = template.find_resources("AWS::IAM::Role")
    (role_id,) = [rid for rid in roles if rid.startswith("TargetRole")]
    return [
        p["Properties"]["PolicyDocument"]
        for p in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]


def test_the_target_role_gets_the_declared_targets_and_nothing_of_the_orchestrator(template):
    documents = _target_role_policies(template)
    actions = {a for d in documents for s in d["Statement"] for a in _listed(s["Action"])}
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "s3:PutObject", "lambda:InvokeFunction"} <= (
        actions
    )
    assert {"secretsmanager:GetSecretValue", "ssm:GetParameter", "events:PutEvents"} <= actions
    assert "logs:FilterLogEvents" in actions
    text = json.dumps(documents)
    for name in TARGET_NAMES:
        assert name in text, name
    for orchestrator in ("StorageBucket", "StorageResults", "StorageTable"):
        assert orchestrator not in text, orchestrator
    assert "TargetRoleArn" in template.to_json()["Outputs"]


@pytest.mark.parametrize("handler", ["prepare", "action", "assert_", "cleanup"])
def test_the_functions_hold_nothing_of_the_targets(template, handler):
    actions = _role_actions(template, handler)
    resources = _role_resources(template, handler)
    assert not {"lambda:InvokeFunction", "events:PutEvents"} & actions
    assert not {"secretsmanager:GetSecretValue", "ssm:GetParameter"} & actions
    for name in TARGET_NAMES:
        assert name not in resources, (handler, name)
    assert "sts:AssumeRole" in actions and "TargetRole" in resources  # they act through it


def _handler_statements(template, handler: str) -> list[dict[str, Any]]:
    return json.loads(_role_resources(template, handler))


def test_listeners_touch_only_prefixed_queues_and_rules_on_declared_buses_and_topics(template):
    statements = [s for doc in _target_role_policies(template) for s in doc["Statement"]]
    by_action = {a: s for s in statements for a in _listed(s["Action"])}
    queue = json.dumps(by_action["sqs:CreateQueue"]["Resource"])
    assert ":Itest-listen-*" in queue
    assert by_action["sqs:DeleteQueue"] is by_action["sqs:CreateQueue"]
    rules = json.dumps(by_action["events:PutRule"]["Resource"])
    assert ":rule/Itest-listen-*" in rules  # the default bus
    assert "arn:aws:events:eu-west-1:123456789012:rule/orders/Itest-listen-*" in rules
    subscribe = by_action["sns:Subscribe"]
    assert ":receipts" in json.dumps(subscribe["Resource"])
    assert "Itest-listen-*" in json.dumps(subscribe["Condition"]["StringLike"]["sns:Endpoint"])
    assert subscribe["Condition"]["StringEquals"] == {"sns:Protocol": "sqs"}
    receive = by_action["sqs:ReceiveMessage"]
    assert {"sqs:DeleteMessage", "sqs:GetQueueUrl"} <= set(_listed(receive["Action"]))
    for handler in ("prepare", "action", "assert_", "cleanup"):  # none on the functions' roles
        held = _role_actions(template, handler)
        assert not {"sqs:CreateQueue", "sqs:ReceiveMessage", "events:PutRule"} & held, handler
        assert not {"sns:Subscribe"} & held, handler
    prefixes = {
        fn["Properties"]["Environment"]["Variables"]["LISTENER_PREFIX"]
        for fn in template.find_resources("AWS::Lambda::Function").values()
        if "LISTENER_PREFIX" in fn["Properties"].get("Environment", {}).get("Variables", {})
    }
    assert prefixes == {"Itest-listen-"}


def test_no_listener_grant_without_a_declared_bus_or_topic():
    from aws_cdk import App
    from aws_cdk.assertions import Template
    from itest.infra.stack import OrchestratorStack

    template = Template.from_stack(OrchestratorStack(App(), "Bare"))
    actions = {
        a
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        # the suite's role manages the one rule Step Functions' `.sync` uses, not a listener
        if "StepFunctionsGetEventsForStepFunctionsExecutionRule" not in json.dumps(s["Resource"])
        for a in _listed(s["Action"])
    }
    assert not {"sqs:CreateQueue", "events:PutRule", "sns:Subscribe"} & actions


WRITES = ("Put", "Delete", "Update", "Write", "Batch", "Send", "Invoke", "Abort", "Create")


def test_no_statement_gives_a_function_write_to_both_targets_and_orchestrator_storage(template):
    """The issue's number: statements whose role can write to a target and the
    orchestrator's bucket or table (through any role a function holds). Goal: 0."""
    functions = template.find_resources("AWS::Lambda::Function").values()
    function_roles = {fn["Properties"]["Role"]["Fn::GetAtt"][0] for fn in functions}
    both = []
    for logical_id, policy in template.find_resources("AWS::IAM::Policy").items():
        if not {r["Ref"] for r in policy["Properties"]["Roles"]} & function_roles:
            continue
        writes = [
            s
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
            if any(w in a.split(":")[1] for a in _listed(s["Action"]) for w in WRITES)
        ]
        text = json.dumps(writes)
        if any(n in text for n in TARGET_NAMES) and "Storage" in text:
            both.append(logical_id)
    assert both == []


def test_only_action_writes_whole_results(template):
    assert "results/*" in _role_resources(template, "action")
    for handler in ("prepare", "assert_", "cleanup"):
        assert "results/*" not in _role_resources(template, handler)


def test_each_function_has_its_own_role(template):
    roles = {
        json.dumps(fn["Properties"]["Role"])
        for fn in template.find_resources("AWS::Lambda::Function").values()
    }
    assert len(roles) == 4


def test_runner_role_can_run_scenarios_and_nothing_else(template):
    (policy,) = [
        p
        for p in template.find_resources("AWS::IAM::Policy").values()
        if "Runner" in json.dumps(p["Properties"]["Roles"])
    ]
    actions = {
        a for s in policy["Properties"]["PolicyDocument"]["Statement"] for a in _listed(s["Action"])
    }
    assert {
        "states:StartExecution",
        "states:DescribeExecution",
        "s3:PutObject",
        "dynamodb:Query",
        "cloudformation:DescribeStacks",
        "logs:FilterLogEvents",
    } <= actions
    assert not {"dynamodb:PutItem", "s3:DeleteObject", "lambda:InvokeFunction"} & actions
    assert "RunnerRoleArn" in template.to_json()["Outputs"]


# -- packaging -----------------------------------------------------------------------


def test_functions_share_one_dependency_layer(template):
    template.resource_count_is("AWS::Lambda::LayerVersion", 1)
    template.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": ["python3.12"], "CompatibleArchitectures": ["x86_64"]},
    )
    for fn in template.find_resources("AWS::Lambda::Function").values():
        assert len(fn["Properties"]["Layers"]) == 1


def _asset_dir(synth, code: dict[str, Any]) -> Path:
    """The staged directory of an asset, from its S3 key and the stack's asset manifest."""
    manifest = json.loads((synth.outdir / "Itest.assets.json").read_text())
    asset_hash = code["S3Key"].removesuffix(".zip")
    return synth.outdir / manifest["files"][asset_hash]["source"]["path"]


def test_code_asset_is_the_package_alone_and_the_layer_has_lambda_wheels(synth, template):
    (fn, *_) = template.find_resources("AWS::Lambda::Function").values()
    code = _asset_dir(synth, fn["Properties"]["Code"])
    assert sorted(p.name for p in code.iterdir()) == ["itest"]
    assert sorted(p.name for p in (code / "itest").iterdir()) == ["lambdas"]  # a namespace
    assert (code / "itest" / "lambdas" / "handlers.py").is_file()
    assert not list(code.rglob("__pycache__"))
    (layer_resource,) = template.find_resources("AWS::Lambda::LayerVersion").values()
    layer = _asset_dir(synth, layer_resource["Properties"]["Content"]) / "python"
    for package in ("pydantic", "pydantic_core", "requests", "jsonschema"):
        assert (layer / package).is_dir(), package
    assert list((layer / "pydantic_core").glob("*cpython-312-x86_64-linux-gnu.so"))
    assert not (layer / "boto3").exists()  # the runtime has it
    assert not (layer / "yaml").exists()  # scenarios arrive as JSON


def test_layer_hash_follows_requirements_and_platform(tmp_path):
    from itest.infra.packaging import Target, layer_hash

    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pydantic==2.14.3\n")
    x86 = Target(python_version="3.12", architecture="x86_64")
    arm = Target(python_version="3.12", architecture="arm64")
    first = layer_hash(requirements, x86)
    assert first == layer_hash(requirements, x86)
    assert first != layer_hash(requirements, arm)
    requirements.write_text("pydantic==2.14.4\n")
    assert first != layer_hash(requirements, x86)
    assert "manylinux2014_aarch64" in arm.pip_args(requirements, tmp_path)


def test_a_failing_pip_says_what_to_do(tmp_path, monkeypatch):
    from itest.infra import packaging

    monkeypatch.setenv("ITEST_CACHE_DIR", str(tmp_path))
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("this-package-does-not-exist-itest==0.0.0\n")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    with pytest.raises(packaging.LayerBuildError, match="ITEST_BUNDLING=docker"):
        packaging.build_layer(
            requirements, packaging.Target(python_version="3.12", architecture="x86_64"), tmp_path
        )


# -- observability ---------------------------------------------------------------------


def test_every_function_and_the_state_machine_log_with_retention(template):
    # four handlers, the scenario state machine and the suite state machine
    template.resource_count_is("AWS::Logs::LogGroup", 6)
    template.all_resources_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})
    template.all_resources_properties(
        "AWS::Lambda::Function",
        {
            "LoggingConfig": {"LogFormat": "JSON", "LogGroup": Match.any_value()},
            "TracingConfig": {"Mode": "Active"},
        },
    )


def test_state_machine_logs_every_event_without_execution_data_and_traces(template):
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": False},
            "TracingConfiguration": {"Enabled": True},
        },
    )


def test_handlers_pass_the_execution_arn_to_every_log_line(template):
    _, machine = state_machine(template)
    text = json.dumps(machine["Properties"]["DefinitionString"])
    # Prepare, the Map's items (Action), Assert and Cleanup
    assert text.count('\\"execution_arn.$\\":\\"$$.Execution.Id\\"') == 4
    assert '\\"started_at.$\\":\\"$$.Execution.StartTime\\"' in text


def test_alarm_on_failed_or_timed_out_executions(template):
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "Metrics": Match.array_with(
                [
                    Match.object_like(
                        {
                            "MetricStat": Match.object_like(
                                {
                                    "Metric": Match.object_like(
                                        {
                                            "MetricName": "ExecutionsFailed",
                                            "Namespace": "AWS/States",
                                        }
                                    )
                                }
                            )
                        }
                    )
                ]
            ),
        },
    )


def test_dashboard_shows_executions_failures_and_duration_by_scenario(template):
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for text in (
        "ExecutionsStarted",
        "ExecutionsFailed",
        "ExecutionTime",
        "ScenarioDuration",
        "Duration by scenario",
        "Itest/Itest,Scenario",
    ):
        assert text in body, text


def test_handlers_know_the_limits_and_where_metrics_go(template):
    env = {
        fn["Properties"]["Handler"]: fn["Properties"]["Environment"]["Variables"]
        for fn in template.find_resources("AWS::Lambda::Function").values()
    }
    assert env["itest.lambdas.handlers.prepare"]["MAX_TIMEOUT_SECONDS"] == "3600"
    assert env["itest.lambdas.handlers.cleanup"]["METRICS_NAMESPACE"] == "Itest/Itest"
    assert {v["RESULTS_TTL_DAYS"] for v in env.values()} == {"30"}


# -- storage -------------------------------------------------------------------------------


def test_bucket_is_private_encrypted_versioned_with_old_versions_expiring(template):
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                                "Status": "Enabled",
                            }
                        )
                    ]
                )
            },
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )
    template.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Retain"})


def test_results_table_on_demand_with_pitr_and_ttl(template):
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
        },
    )


# -- checks by other tools ---------------------------------------------------------------------


def test_cdk_nag_aws_solutions_has_no_unacknowledged_finding(synth):
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    violations = [
        f"{v['ruleName']} at {[c['constructPath'] for c in v['violatingConstructs']]}"
        for plugin in report["pluginReports"]
        for v in plugin["violations"]
    ]
    assert violations == []
    assert synth.returncode == 0, synth.output[-3000:]


def test_cdk_nag_ran_and_recorded_each_acknowledgment_with_its_reason(synth):
    resources = synth.template_json()["Resources"].values()
    acknowledged = [
        rule
        for resource in resources
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    rules = {rule["id"].split("[")[0] for rule in acknowledged}
    assert {"AwsSolutions-S1", "AwsSolutions-L1", "AwsSolutions-IAM5"} <= rules
    for rule in acknowledged:
        assert len(rule["reason"]) > 80, rule


def test_template_passes_cfn_lint_without_errors(synth):
    done = subprocess.run(
        ["cfn-lint", "--format", "parseable", str(synth.outdir / "Itest.template.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [line for line in done.stdout.splitlines() if ":E" in line]
    assert done.returncode & 2 == 0 and not errors, done.stdout + done.stderr


ASL_VALIDATOR = "asl-validator@4.0.0"


def _asl_validator() -> Path:
    """npm's asl-validator, installed once into the itest cache."""
    from itest.infra.build_cache import cache_root

    prefix = cache_root() / "npm" / ASL_VALIDATOR.replace("@", "-")
    binary = prefix / "node_modules" / ".bin" / "asl-validator"
    if binary.is_file():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the ASL validator (asl-validator) cannot run")
    done = subprocess.run(
        [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", ASL_VALIDATOR],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.skip(f"npm could not install {ASL_VALIDATOR}: {done.stderr[-500:]}")
    return binary


@pytest.mark.parametrize("start_at", ["Prepare", "Concurrency"], ids=["scenario", "suite"])
def test_state_machine_definition_passes_the_asl_validator(template, tmp_path, start_at):
    _, machine = state_machine(template, start_at)
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:itest-handler"
    definition = "".join(
        p if isinstance(p, str) else "aws" if p == {"Ref": "AWS::Partition"} else arn for p in parts
    )
    path = tmp_path / "definition.json"
    path.write_text(definition)
    done = subprocess.run(
        [str(_asl_validator()), "--json-path", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr


# -- configuration from context -------------------------------------------------------------


def _props(context: dict[str, Any]):
    from itest.infra.context import props_from_context

    return props_from_context(context.get)


def test_context_configures_the_stack():
    props = _props(
        {
            "itest:maxExecutionSeconds": "900",
            "itest:resultsTtlDays": 7,
            "itest:targets": json.dumps({"tables": ["orders"], "secrets": ["s"]}),
            "itest:architecture": "arm64",
            "itest:logRetentionDays": 90,
        }
    )
    assert props.max_execution_seconds == 900
    assert props.storage.results_ttl_days == 7
    assert props.targets.tables == {"orders": "read_write"}
    assert props.targets.reads_secrets
    assert props.handlers.architecture.name == "arm64"


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (
            {"statements": [{"actions": ["s3:*"], "resources": ["arn:aws:s3:::b/*"]}]},
            "no wildcards",
        ),
        ({"statements": [{"actions": ["*"], "resources": ["arn:aws:s3:::b"]}]}, "no wildcards"),
        ({"statements": [{"actions": ["s3:GetObject"], "resources": ["*"]}]}, "bare"),
        ({"statements": [{"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::*"]}]}, "'\\*'"),
        (
            {"statements": [{"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::b*/x"]}]},
            "other than at its end",
        ),
        (
            {
                "statements": [
                    {"actions": ["iam:PutRolePolicy"], "resources": ["arn:aws:iam::1:role/x"]}
                ]
            },
            "privileged",
        ),
        (
            {
                "statements": [
                    {"actions": ["sts:AssumeRole"], "resources": ["arn:aws:iam::1:role/x"]}
                ]
            },
            "privileged",
        ),
        (
            {
                "statements": [
                    {
                        "actions": ["lambda:UpdateFunctionCode"],
                        "resources": ["arn:aws:lambda:r:1:function:f"],
                    }
                ]
            },
            "privileged",
        ),
        (
            {
                "statements": [
                    {
                        "actions": ["lambda:AddPermission"],
                        "resources": ["arn:aws:lambda:r:1:function:f"],
                    }
                ]
            },
            "privileged",
        ),
        (
            {
                "statements": [
                    {
                        "actions": ["states:StartExecution"],
                        "resources": ["arn:aws:states:r:1:stateMachine:m"],
                    }
                ]
            },
            "privileged",
        ),
        ({"tables": {"orders": "admin"}}, "access 'admin'"),
        ({"buckets": ["*"]}, "no wildcards"),
        ({"streams": ["t"]}, "unknown key"),
        ({"topics": ["*"]}, "no wildcards"),
        ({"buses": ["orders*"]}, "no wildcards"),
        ({"log_groups": ["/aws/lambda/*"]}, "no wildcards"),
    ],
)
def test_broad_or_malformed_targets_are_refused(targets, message):
    from itest.infra.targets import TargetConfigError

    with pytest.raises(TargetConfigError, match=message):
        _props({"itest:targets": targets})


def test_privileged_statements_need_the_switch_and_a_trailing_path_is_fine():
    statements = {
        "statements": [
            {"actions": ["iam:GetRole"], "resources": ["arn:aws:iam::123456789012:role/app"]},
            {"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::b/prefix/*"]},
            {
                "actions": ["dynamodb:CreateTable"],
                "resources": ["arn:aws:dynamodb:eu-west-1:123456789012:table/itest-example-*"],
            },
        ]
    }
    props = _props({"itest:targets": statements, "itest:allowPrivilegedStatements": "true"})
    assert props.targets.statements[0].actions == ("iam:GetRole",)


def test_cross_account_targets_are_one_setting():
    from aws_cdk import App
    from aws_cdk.assertions import Template
    from itest.infra.handlers import HandlerSettings
    from itest.infra.stack import OrchestratorProps, OrchestratorStack
    from itest.infra.targets import TargetConfigError, TargetPermissions

    arn = "arn:aws:iam::210987654321:role/itest-targets"
    host = HandlerSettings(host_dependencies=True)
    stack = OrchestratorStack(
        App(), "Itest", props=OrchestratorProps(target_role_arn=arn, handlers=host)
    )
    template = Template.from_stack(stack)
    assert template.to_json()["Outputs"]["TargetRoleArn"]["Value"] == arn
    assert not [r for r in template.find_resources("AWS::IAM::Role") if r.startswith("TargetRole")]
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Action": "sts:AssumeRole", "Resource": arn})]
                )
            }
        },
    )
    with pytest.raises(TargetConfigError, match="itest:targets must be empty"):
        OrchestratorStack(
            App(),
            "Itest",
            props=OrchestratorProps(
                target_role_arn=arn,
                targets=TargetPermissions(tables={"orders": "read"}),
                handlers=host,
            ),
        )


def test_bad_context_values_name_their_key():
    from itest.infra.context import ContextError

    with pytest.raises(ContextError, match="itest:maxExecutionSeconds"):
        _props({"itest:maxExecutionSeconds": "an hour"})
    with pytest.raises(ContextError, match="itest:logRetentionDays"):
        _props({"itest:logRetentionDays": 31})
