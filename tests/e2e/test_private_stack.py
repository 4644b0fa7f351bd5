"""A private local AWS makes the orchestrator's stack without moto's CloudFormation
(cli/local/direct_stack.py): the same resources as moto's CloudFormation makes of it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e

# one local AWS per process: each deploy runs in a child of its own
DEPLOYED = """
import json, sys
from itest.cli.local.orchestrator import started_orchestrator
from tests.e2e.test_private_stack import described
with started_orchestrator(private=sys.argv[1] == "private") as orchestrator:
    print(json.dumps(described(orchestrator.aws, orchestrator.outputs)))
    print(json.dumps(sorted(sys.modules)))
"""


def deployed(how: str) -> tuple[Any, list[str]]:
    """What a local AWS deployed `how` (private, or through CloudFormation) holds, and the
    modules its process imported."""
    child = subprocess.run(
        [sys.executable, "-c", DEPLOYED, how], cwd=ROOT, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr
    *_, resources, modules = child.stdout.strip().splitlines()
    return json.loads(resources), json.loads(modules)


def described(aws: Any, outputs: dict[str, str]) -> Any:
    """The deployed orchestrator as its APIs describe it, names made comparable
    (CloudFormation's random suffixes left out)."""
    lam, iam, sfn, events = (aws.client(s) for s in ("lambda", "iam", "stepfunctions", "events"))
    functions = {
        f["FunctionName"]: {
            **{k: v for k, v in f.items() if k not in ("LastModified", "RevisionId")},
            "Policy": _statements(lam, f["FunctionName"]),
        }
        for f in lam.list_functions()["Functions"]
    }
    roles = {
        role["RoleName"]: {
            "assume": role["AssumeRolePolicyDocument"],
            "policies": {
                policy: iam.get_role_policy(RoleName=role["RoleName"], PolicyName=policy)[
                    "PolicyDocument"
                ]
                for policy in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
            },
        }
        for role in iam.list_roles()["Roles"]
    }
    table = aws.client("dynamodb").describe_table(TableName=outputs["ResultsTableName"])["Table"]
    machines = {
        m["name"]: {
            k: v
            for k, v in sfn.describe_state_machine(stateMachineArn=m["stateMachineArn"]).items()
            if k not in ("creationDate", "ResponseMetadata")
        }
        for m in sfn.list_state_machines()["stateMachines"]
    }
    rules = {
        rule["Name"]: {
            "rule": rule,
            "targets": events.list_targets_by_rule(Rule=rule["Name"])["Targets"],
        }
        for rule in events.list_rules()["Rules"]
    }
    everything = {
        "outputs": outputs,
        "functions": functions,
        "layers": lam.list_layers()["Layers"],
        "roles": roles,
        "log_groups": [
            {k: v for k, v in group.items() if k != "creationTime"}
            for group in aws.client("logs").describe_log_groups()["logGroups"]
        ],
        "table": {k: table.get(k) for k in ("KeySchema", "AttributeDefinitions", "TableArn",
                                             "BillingModeSummary", "TableStatus")},
        "bucket_versioning": aws.client("s3").get_bucket_versioning(
            Bucket=outputs["BucketName"]).get("Status"),
        "state_machines": machines,
        "rules": rules,
        "dashboards": [d["DashboardName"] for d in
                       aws.client("cloudwatch").list_dashboards()["DashboardEntries"]],
    }  # fmt: skip
    text = json.dumps(everything, sort_keys=True, default=str)
    text = re.sub(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", "UUID", text)  # ids, stack id
    text = re.sub(r"-[0-9A-Z]{12}\b", "-SUFFIX", text)  # names CloudFormation generates
    text = re.sub(r"-[0-9a-z]{12}\b", "-suffix", text)  # ...a bucket's, lower case
    text = re.sub(r'"CreatedDate": "[^"]*"', '"CreatedDate": "DATE"', text)
    return json.loads(text)


def _statements(lam: Any, name: str) -> Any:
    try:
        return json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]
    except lam.exceptions.ResourceNotFoundException:
        return None


def test_the_private_stack_is_what_cloudformation_makes():
    through_cloudformation, _ = deployed("cloudformation")
    private, modules = deployed("private")

    assert private == through_cloudformation
    # ...without importing moto's CloudFormation, nor EC2 (which it imports)
    assert "moto.cloudformation.parsing" not in modules
    assert "moto.ec2" not in modules
