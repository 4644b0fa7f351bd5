"""Deploy a synthesized CDK cloud assembly to the local AWS.

What `cdk deploy` does, within what moto supports: publish the stack's file
assets the way cdk-assets does, adapt the template to moto's CloudFormation,
create or update the stack, then give each state machine to the *executing*
Step Functions backend (moto's CloudFormation puts it in the other one).
"""

from __future__ import annotations

import copy
import io
import json
import logging
import re
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from itest.cli.local.errors import DeployError
from itest.cli.local.fn_sub import fn_sub

if TYPE_CHECKING:
    from itest.cli.local.server import LocalAws

log = logging.getLogger(__name__)

STACK_TIMEOUT_SECONDS = 120.0

# Resource types left out of the local stack, and why. Anything else moto's
# CloudFormation cannot create is skipped by moto with a warning; deploy()
# names those too (see _report_skipped).
DROPPED_TYPES = {
    # CDK's usage analytics: nothing to create.
    "AWS::CDK::Metadata": "CDK analytics only",
    # moto has no model for these; they change nothing a local run can observe.
    "AWS::CloudWatch::Alarm": "no alarms fire locally",
    "AWS::CloudWatch::CompositeAlarm": "no alarms fire locally",
    "AWS::S3::BucketPolicy": "moto does not enforce bucket policies",
    "AWS::SNS::TopicPolicy": "moto does not enforce topic policies",
    "AWS::KMS::KeyPolicy": "moto does not enforce key policies",
    "AWS::SQS::QueuePolicy": "moto does not enforce queue policies",
    "AWS::Lambda::EventInvokeConfig": "async invocation settings do not apply locally",
}
# Custom resources run CDK's Node.js providers (auto-delete objects, log
# retention, ...) and answer through a URL moto builds for Docker
# (host.docker.internal): locally the stack would wait for them forever.
CUSTOM_RESOURCE = re.compile(r"^(Custom::.+|AWS::CloudFormation::CustomResource)$")

_PSEUDO_STATIC = {"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}

# Fn::GetAtt values of the resources a state machine definition refers to,
# from the physical id moto reports ({id}) and its last / or : segment ({name}).
_ATTRIBUTES = {
    ("AWS::Lambda::Function", "Arn"): "arn:{partition}:lambda:{region}:{account}:function:{id}",
    ("AWS::DynamoDB::Table", "Arn"): "arn:{partition}:dynamodb:{region}:{account}:table/{id}",
    ("AWS::S3::Bucket", "Arn"): "arn:{partition}:s3:::{id}",
    ("AWS::IAM::Role", "Arn"): "arn:{partition}:iam::{account}:role/{id}",
    ("AWS::Logs::LogGroup", "Arn"): "arn:{partition}:logs:{region}:{account}:log-group:{id}:*",
    ("AWS::SQS::Queue", "Arn"): "arn:{partition}:sqs:{region}:{account}:{name}",
    ("AWS::SQS::Queue", "QueueName"): "{name}",
    ("AWS::SNS::Topic", "TopicArn"): "{id}",
    ("AWS::SNS::Topic", "TopicName"): "{name}",
    ("AWS::StepFunctions::StateMachine", "Arn"): "{id}",
    ("AWS::StepFunctions::StateMachine", "Name"): "{name}",
}


def deploy(
    aws: LocalAws, assembly_dir: Path, stack_name: str, *, without_cloudformation: bool = False
) -> dict[str, str]:
    """Deploy `stack_name` from a synthesized cloud assembly; return its outputs.

    `without_cloudformation`: make the resources as moto's CloudFormation would,
    without it (cli/local/direct_stack.py), when the template allows; for a
    local AWS that never redeploys (a private one).

    Raises:
        DeployError: unknown stack, unsupported asset or template construct,
            or a stack that did not reach *_COMPLETE (with the failure reasons).
    """
    assembly_dir = Path(assembly_dir)
    manifest = json.loads((assembly_dir / "manifest.json").read_text())
    artifact = _stack_artifact(manifest, assembly_dir, stack_name)
    properties = artifact["properties"]
    name = properties.get("stackName", stack_name)
    template = json.loads((assembly_dir / properties["templateFile"]).read_text())
    local_template = prepare_template(template)
    for asset_manifest in _asset_manifests(manifest, assembly_dir, artifact):
        publish_assets(aws, asset_manifest)
    _register_inline_code(aws, local_template)
    made = None
    if without_cloudformation:
        from itest.cli.local import direct_stack

        stack_id = f"arn:aws:cloudformation:{aws.region}:{aws.account_id}:stack/{name}/{uuid4()}"
        made = direct_stack.create(aws, name, stack_id, local_template)
    if made is None:
        _create_or_update(aws, name, local_template)
        resources = stack_resources(aws, name)
        _report_skipped(local_template, resources)
        resolver = stack_resolver(aws, name, local_template, resources)
    else:
        resources, outputs = made
        resolver = local_resolver(aws, name, stack_id, local_template, resources)
    _version_buckets(aws, local_template, resources)
    _start_state_machines(aws, local_template, resources, resolver)
    return stack_outputs(aws, name) if made is None else outputs


def stack_outputs(aws: LocalAws, stack_name: str) -> dict[str, str]:
    stack = aws.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


# -- the assembly ---------------------------------------------------------------


def _stack_artifact(
    manifest: dict[str, Any], assembly_dir: Path, stack_name: str
) -> dict[str, Any]:
    stacks = {
        artifact_id: artifact
        for artifact_id, artifact in manifest.get("artifacts", {}).items()
        if artifact.get("type") == "aws:cloudformation:stack"
    }
    for artifact_id, artifact in stacks.items():
        if stack_name in (artifact_id, artifact["properties"].get("stackName")):
            return artifact
    known = ", ".join(sorted(stacks)) or "none"
    raise DeployError(f"stack {stack_name!r} is not in {assembly_dir} (stacks: {known})")


def _asset_manifests(
    manifest: dict[str, Any], assembly_dir: Path, artifact: dict[str, Any]
) -> list[Path]:
    artifacts = manifest.get("artifacts", {})
    return [
        assembly_dir / artifacts[dep]["properties"]["file"]
        for dep in artifact.get("dependencies", [])
        if artifacts.get(dep, {}).get("type") == "cdk:asset-manifest"
    ]


def publish_assets(aws: LocalAws, manifest_path: Path) -> None:
    """Upload an asset manifest's file assets like cdk-assets, bootstrap bucket included,
    and register them as code the local AWS may run.

    Raises:
        DeployError: a Docker image asset or an asset built by a command.
    """
    manifest = json.loads(manifest_path.read_text())
    if images := manifest.get("dockerImages"):
        raise DeployError(f"Docker image assets cannot be deployed locally: {', '.join(images)}")
    s3 = aws.client("s3")
    buckets: set[str] = set()
    for asset_id, asset in manifest.get("files", {}).items():
        source = asset["source"]
        if "path" not in source:
            raise DeployError(f"asset {asset_id} is built by a command; only paths deploy locally")
        body = _asset_bytes(manifest_path.parent / source["path"], source.get("packaging", "file"))
        for destination in asset["destinations"].values():
            bucket = _substitute_pseudo(destination["bucketName"], aws)
            if bucket not in buckets:
                _ensure_bucket(s3, bucket)
                buckets.add(bucket)
            key = _substitute_pseudo(destination["objectKey"], aws)
            s3.put_object(Bucket=bucket, Key=key, Body=body)
        aws.register_code(body)  # the local AWS runs a deployed template's code, no other


def _register_inline_code(aws: LocalAws, template: dict[str, Any]) -> None:
    """The template's inline function code (`Code.ZipFile`) is the deployed template's
    code too: register the zip moto's CloudFormation will make of it."""
    from itest.cli.local.lambda_runner import inline_code_zip

    for resource in template["Resources"].values():
        source = ((resource.get("Properties") or {}).get("Code") or {}).get("ZipFile")
        if resource["Type"] == "AWS::Lambda::Function" and isinstance(source, str):
            aws.register_code(inline_code_zip(source))


def _asset_bytes(path: Path, packaging: str) -> bytes:
    if packaging == "file":
        return path.read_bytes()
    if packaging != "zip":
        raise DeployError(f"unsupported asset packaging {packaging!r} for {path}")
    if path.is_file():  # already an archive
        return path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            archive.write(file, file.relative_to(path).as_posix())
    return buffer.getvalue()


def _ensure_bucket(s3: Any, bucket: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        s3.create_bucket(Bucket=bucket)


def _substitute_pseudo(text: str, aws: LocalAws) -> str:
    return (
        text.replace("${AWS::AccountId}", aws.account_id)
        .replace("${AWS::Region}", aws.region)
        .replace("${AWS::Partition}", "aws")
    )


# -- the template -----------------------------------------------------------------


def prepare_template(template: dict[str, Any]) -> dict[str, Any]:
    """A copy of `template` that moto's CloudFormation can create.

    Drops the CDK bootstrap check (the `BootstrapVersion` SSM parameter and the
    `Rules` that assert it: there is no bootstrap stack locally), the resource
    types in DROPPED_TYPES and custom resources, with every `DependsOn` on them.

    Raises:
        DeployError: a resource that stays refers to a dropped one.
    """
    prepared = copy.deepcopy(template)
    prepared.pop("Rules", None)
    parameters = prepared.get("Parameters", {})
    parameters.pop("BootstrapVersion", None)
    if not parameters:
        prepared.pop("Parameters", None)
    resources = prepared["Resources"]
    dropped = {
        logical_id: resource["Type"]
        for logical_id, resource in resources.items()
        if resource["Type"] in DROPPED_TYPES or CUSTOM_RESOURCE.match(resource["Type"])
    }
    for logical_id, resource_type in dropped.items():
        del resources[logical_id]
        log.info("local deploy leaves out %s (%s)", logical_id, resource_type)
    for logical_id, resource in resources.items():
        depends_on = resource.get("DependsOn")
        if isinstance(depends_on, str):
            depends_on = [depends_on]
        if depends_on is not None:
            kept = [d for d in depends_on if d not in dropped]
            if kept:
                resource["DependsOn"] = kept
            else:
                del resource["DependsOn"]
        if used := _references(resource) & set(dropped):
            raise DeployError(
                f"{logical_id} refers to {', '.join(sorted(used))}, which cannot be "
                f"deployed locally ({', '.join(dropped[u] for u in sorted(used))})"
            )
    for key, output in list(prepared.get("Outputs", {}).items()):
        if _references(output) & set(dropped):
            del prepared["Outputs"][key]
    _drop_unused_conditions(prepared)
    return prepared


def _references(node: Any) -> set[str]:
    """Logical ids a template fragment refers to through Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value.split(".")[0] if isinstance(value, str) else value[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text)}
            found |= _references(value)
    return found


def _drop_unused_conditions(template: dict[str, Any]) -> None:
    conditions = template.get("Conditions")
    if not conditions:
        return
    used = json.dumps({k: v for k, v in template.items() if k != "Conditions"})
    for name in list(conditions):
        if f'"{name}"' not in used:
            del conditions[name]
    if not conditions:
        del template["Conditions"]


# -- the stack ------------------------------------------------------------------------


def _create_or_update(aws: LocalAws, name: str, template: dict[str, Any]) -> None:
    from botocore.config import Config
    from botocore.exceptions import ClientError
    from botocore.parsers import ResponseParserError

    # one attempt: a retried create_stack would only report the stack it half made
    cfn = aws.client("cloudformation", config=Config(retries={"total_max_attempts": 1}))
    body = json.dumps(template)
    capabilities = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
    try:
        cfn.describe_stacks(StackName=name)
        exists = True
    except ClientError:
        exists = False
    try:
        if exists:
            cfn.update_stack(StackName=name, TemplateBody=body, Capabilities=capabilities)
        else:
            cfn.create_stack(StackName=name, TemplateBody=body, Capabilities=capabilities)
    except (ClientError, ResponseParserError) as e:
        # moto answers a resource's failure in JSON, which the XML parser rejects
        reason = re.search(r'"message": "(.*?)"', str(e))
        raise DeployError(
            f"local CloudFormation could not deploy stack {name}: "
            f"{reason.group(1) if reason else e}"
        ) from e
    deadline = time.monotonic() + STACK_TIMEOUT_SECONDS
    while True:
        status = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        if not status.endswith("_IN_PROGRESS"):
            break
        if time.monotonic() > deadline:
            raise DeployError(
                f"local stack {name} still {status} after {STACK_TIMEOUT_SECONDS:.0f}s"
            )
        time.sleep(0.2)
    if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        raise DeployError(f"local stack {name} ended {status}: {_failure_reasons(cfn, name)}")


def _failure_reasons(cfn: Any, name: str) -> str:
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    reasons = [
        f"{e['LogicalResourceId']} {e['ResourceStatus']}: {e.get('ResourceStatusReason', '?')}"
        for e in events
        if e["ResourceStatus"].endswith("_FAILED")
    ]
    return "; ".join(reasons) or "no reason given"


def stack_resources(aws: LocalAws, name: str) -> dict[str, tuple[str, str]]:
    """logical id -> (type, physical id) of what the local stack really holds."""
    cfn = aws.client("cloudformation")
    pages = cfn.get_paginator("list_stack_resources").paginate(StackName=name)
    return {
        r["LogicalResourceId"]: (r["ResourceType"], r["PhysicalResourceId"])
        for page in pages
        for r in page["StackResourceSummaries"]
    }


def _report_skipped(template: dict[str, Any], resources: dict[str, tuple[str, str]]) -> None:
    for logical_id, resource in template["Resources"].items():
        if logical_id not in resources:
            log.warning(
                "moto's CloudFormation did not create %s (%s)", logical_id, resource["Type"]
            )


def _version_buckets(
    aws: LocalAws, template: dict[str, Any], resources: dict[str, tuple[str, str]]
) -> None:
    """Turn on the versioning a bucket declares (moto's CloudFormation ignores it): a
    running execution reads the scenario version it started with."""
    s3 = aws.client("s3")
    for logical_id, resource in template["Resources"].items():
        versioning = (resource.get("Properties") or {}).get("VersioningConfiguration") or {}
        bucket = resource["Type"] == "AWS::S3::Bucket" and logical_id in resources
        if bucket and versioning.get("Status") == "Enabled":
            s3.put_bucket_versioning(
                Bucket=resources[logical_id][1], VersioningConfiguration={"Status": "Enabled"}
            )


# -- state machines ---------------------------------------------------------------------


def _start_state_machines(
    aws: LocalAws,
    template: dict[str, Any],
    resources: dict[str, tuple[str, str]],
    resolver: Resolver,
) -> None:
    """Create (or update) each state machine in the executing Step Functions backend.

    Same name, hence the same ARN as the one moto's CloudFormation made, which
    is what the stack's outputs already say.
    """
    sfn = aws.client("stepfunctions")
    existing = {m["stateMachineArn"] for m in _list_state_machines(sfn)}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::StepFunctions::StateMachine":
            continue
        if logical_id not in resources:
            raise DeployError(f"moto's CloudFormation did not create state machine {logical_id}")
        arn = resources[logical_id][1]
        props = resource["Properties"]
        config = {
            "definition": state_machine_definition(resolver, props),
            "roleArn": resolver.resolve(props["RoleArn"]),
            "tracingConfiguration": {
                "enabled": bool((props.get("TracingConfiguration") or {}).get("Enabled"))
            },
        }
        if logging_config := props.get("LoggingConfiguration"):
            config["loggingConfiguration"] = _camel(resolver.resolve(logging_config))
        if arn in existing:
            sfn.update_state_machine(stateMachineArn=arn, **config)
            continue
        created = sfn.create_state_machine(
            name=arn.rsplit(":", 1)[1],
            type=props.get("StateMachineType", "STANDARD"),
            **config,
        )["stateMachineArn"]
        if created != arn:
            raise DeployError(f"{logical_id}: executing state machine {created} is not {arn}")


def stack_resolver(
    aws: LocalAws,
    stack_name: str,
    template: dict[str, Any],
    resources: dict[str, tuple[str, str]],
) -> Resolver:
    """A Resolver for a deployed local stack: its resources, pseudo parameters and defaults."""
    stack = aws.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    return local_resolver(aws, stack_name, stack["StackId"], template, resources)


def local_resolver(
    aws: LocalAws,
    stack_name: str,
    stack_id: str,
    template: dict[str, Any],
    resources: dict[str, tuple[str, str]],
) -> Resolver:
    """A Resolver for a stack made on the local AWS: its resources, pseudo parameters
    and defaults."""
    pseudo = {
        "AWS::Region": aws.region,
        "AWS::AccountId": aws.account_id,
        "AWS::StackName": stack_name,
        "AWS::StackId": stack_id,
    }
    parameters = {
        name: str(spec["Default"])
        for name, spec in template.get("Parameters", {}).items()
        if "Default" in spec
    }
    return Resolver(resources, pseudo, parameters)


def _list_state_machines(sfn: Any) -> list[dict[str, Any]]:
    pages = sfn.get_paginator("list_state_machines").paginate()
    return [m for page in pages for m in page["stateMachines"]]


def state_machine_definition(resolver: Resolver, props: dict[str, Any]) -> str:
    """The ASL JSON text of an AWS::StepFunctions::StateMachine's properties.

    Raises:
        DeployError: the definition lives in S3, or a construct cannot be resolved.
    """
    if "DefinitionString" in props:
        definition = resolver.resolve(props["DefinitionString"])
    elif "Definition" in props:
        definition = json.dumps(resolver.resolve(props["Definition"]))
    else:
        raise DeployError("only DefinitionString or Definition state machines deploy locally")
    for key, value in resolver.resolve(props.get("DefinitionSubstitutions", {})).items():
        definition = definition.replace(f"${{{key}}}", str(value))
    return definition


def _camel(node: Any) -> Any:
    """CloudFormation's PascalCase property names to the Step Functions API's camelCase."""
    if isinstance(node, list):
        return [_camel(item) for item in node]
    if isinstance(node, dict):
        return {k[:1].lower() + k[1:]: _camel(v) for k, v in node.items()}
    return node


class Resolver:
    """Resolve Ref, Fn::GetAtt, Fn::Join and Fn::Sub against a deployed local stack."""

    def __init__(
        self,
        resources: dict[str, tuple[str, str]],
        pseudo: dict[str, str],
        parameters: dict[str, str] | None = None,
    ) -> None:
        """`resources`: logical id -> (type, physical id); `pseudo`: AWS::Region,
        AWS::AccountId, AWS::StackName, AWS::StackId (Partition and URLSuffix default)."""
        self.resources = resources
        self.pseudo = {**_PSEUDO_STATIC, **pseudo}
        self.parameters = parameters or {}

    def resolve(self, node: Any) -> Any:
        """Raises: DeployError naming the first construct it does not know."""
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref":
                return self.ref(value)
            if key == "Fn::GetAtt":
                logical_id, attribute = value.split(".", 1) if isinstance(value, str) else value
                return self.get_att(logical_id, attribute)
            if key == "Fn::Join":
                separator, items = value
                return separator.join(str(self.resolve(item)) for item in self.resolve(items))
            if key == "Fn::Sub":
                return self.sub(value)
            if key.startswith("Fn::"):
                raise DeployError(f"{key} is not supported in a locally deployed definition")
        return {key: self.resolve(value) for key, value in node.items()}

    def ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.resources[name][1]
        raise DeployError(f"Ref to {name}, which the local stack does not have")

    def get_att(self, logical_id: str, attribute: str) -> str:
        if logical_id not in self.resources:
            raise DeployError(f"Fn::GetAtt of {logical_id}, which the local stack does not have")
        resource_type, physical_id = self.resources[logical_id]
        pattern = _ATTRIBUTES.get((resource_type, attribute))
        if pattern is None:
            raise DeployError(f"Fn::GetAtt {resource_type}.{attribute} is not supported locally")
        return pattern.format(
            partition=self.pseudo["AWS::Partition"],
            region=self.pseudo["AWS::Region"],
            account=self.pseudo["AWS::AccountId"],
            id=physical_id,
            name=re.split(r"[/:]", physical_id)[-1],
        )

    def sub(self, value: str | list[Any]) -> str:
        return fn_sub(value, self.resolve, self.ref, self.get_att)
