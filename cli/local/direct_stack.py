"""A private local AWS's stack, made without moto's CloudFormation.

moto's CloudFormation imports the models of every service it knows (EC2's load
megabytes of instance data) and answers through its API: on a private local
AWS, which lives for one `itest run --local`, that was about a second of every
run. The orchestrator's template uses a handful of resource types; `create`
makes them as moto's CloudFormation does (the same model classes'
`create_from_cloudformation_json`, the same generated names, the same Ref and
Fn:: semantics) importing only their services. A template with another type, a
condition or another intrinsic function returns None: the caller deploys it
through CloudFormation, as before.

The private local AWS then has no CloudFormation stack of the orchestrator
(nothing updates it, and it goes with the run); the background one (`itest
local up`) deploys through CloudFormation, whose stack a redeploy updates.
"""

from __future__ import annotations

import importlib
import random
import string
from typing import TYPE_CHECKING, Any

from itest.cli.local.errors import DeployError
from itest.cli.local.fn_sub import fn_sub

if TYPE_CHECKING:
    from itest.cli.local.server import LocalAws

# The types `create` makes, and moto's model class of each.
MODELS: dict[str, tuple[str, str]] = {
    "AWS::IAM::Role": ("moto.iam.models", "Role"),
    "AWS::IAM::Policy": ("moto.iam.models", "InlinePolicy"),
    "AWS::Logs::LogGroup": ("moto.logs.models", "LogGroup"),
    "AWS::Lambda::LayerVersion": ("moto.awslambda.models", "LayerVersion"),
    "AWS::Lambda::Function": ("moto.awslambda.models", "LambdaFunction"),
    "AWS::Lambda::Permission": ("moto.awslambda.models", "Permission"),
    "AWS::S3::Bucket": ("moto.s3.models", "FakeBucket"),
    "AWS::DynamoDB::Table": ("moto.dynamodb.models.table", "Table"),
    "AWS::Events::Rule": ("moto.events.models", "Rule"),
    "AWS::CloudWatch::Dashboard": ("moto.cloudwatch.models", "Dashboard"),
}
# Made by deploy.py in the executing Step Functions backend; named here as moto would.
STATE_MACHINE = "AWS::StepFunctions::StateMachine"
_FUNCTIONS = {"Fn::GetAtt", "Fn::Join", "Fn::Sub", "Fn::Select", "Fn::Split"}


def create(
    aws: LocalAws, stack_name: str, stack_id: str, template: dict[str, Any]
) -> tuple[dict[str, tuple[str, str]], dict[str, str]] | None:
    """Make the template's resources; (logical id -> (type, physical id), outputs), or
    None when the template needs CloudFormation (nothing is made then).

    Raises:
        DeployError: a resource could not be made (naming it and why).
    """
    from itest.cli.local.moto_imports import import_without_package

    if not _supported(template):
        return None
    import_without_package("moto.cloudformation.exceptions")  # what the models raise
    stack = _Stack(aws, stack_name, stack_id, template)
    for logical_id in _dependency_order(template["Resources"]):
        stack.resource(logical_id)
    resources = {
        logical_id: (resource["Type"], _physical_id(stack.resource(logical_id)))
        for logical_id, resource in template["Resources"].items()
    }
    outputs = template.get("Outputs", {})
    values = {key: str(stack.clean(output["Value"])) for key, output in outputs.items()}
    return resources, values


def _physical_id(made: Any) -> str:
    """What CloudFormation would list as the resource's physical id."""
    return str(getattr(made, "physical_resource_id", None) or getattr(made, "arn", ""))


def _supported(template: dict[str, Any]) -> bool:
    if set(template) - {"AWSTemplateFormatVersion", "Description", "Resources", "Outputs",
                        "Parameters", "Metadata"}:  # fmt: skip
        return False
    types = {resource["Type"] for resource in template["Resources"].values()}
    if types - set(MODELS) - {STATE_MACHINE}:
        return False
    if any(set(r) - {"Type", "Properties", "DependsOn", "Metadata", "DeletionPolicy",
                     "UpdateReplacePolicy"} for r in template["Resources"].values()):  # fmt: skip
        return False
    return _functions(template) <= _FUNCTIONS


def _functions(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(_functions(item) for item in node)) if node else set()
    if isinstance(node, dict):
        found = {key for key in node if key.startswith("Fn::")}
        return found.union(*(_functions(value) for value in node.values()))
    return set()


def _dependency_order(resources: dict[str, Any]) -> list[str]:
    """moto's order: each resource after its DependsOn (Refs are made when first used)."""
    ordered: list[str] = []
    left = dict(resources)

    def visit(logical_id: str) -> None:
        depends_on = left.pop(logical_id).get("DependsOn", [])
        for dependency in [depends_on] if isinstance(depends_on, str) else depends_on:
            if dependency in left:
                visit(dependency)
        ordered.append(logical_id)

    while left:
        visit(next(iter(left)))
    return ordered


def random_suffix() -> str:
    """What moto's CloudFormation appends to a generated name."""
    return "".join(random.choice(string.digits + string.ascii_uppercase) for _ in range(12))


def generated_name(resource_type: str, stack_name: str, logical_id: str) -> str:
    """The physical name moto's CloudFormation gives a resource the template does not name."""
    if resource_type == "AWS::S3::Bucket":
        right = f"-{logical_id}-{random_suffix()}"
        return f"{stack_name[: 63 - len(right)]}{right}".lower()
    if resource_type == "AWS::IAM::Policy":
        return f"{stack_name[:5]}-{logical_id[:4]}-{random_suffix()}"
    return f"{stack_name}-{logical_id}-{random_suffix()}"


class _Stack:
    """The resources made so far, made on first use as moto's ResourceMap does."""

    def __init__(
        self, aws: LocalAws, stack_name: str, stack_id: str, template: dict[str, Any]
    ) -> None:
        self.aws = aws
        self.stack_name = stack_name
        self.stack_id = stack_id
        self.template = template
        self.made: dict[str, Any] = {}
        self.pseudo = {
            "AWS::StackName": stack_name,
            "AWS::StackId": stack_id,
            "AWS::Region": aws.region,
            "AWS::AccountId": aws.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.parameters = {
            name: spec["Default"]
            for name, spec in template.get("Parameters", {}).items()
            if "Default" in spec
        }

    def resource(self, logical_id: str) -> Any:
        if logical_id not in self.made:
            self.made[logical_id] = self._make(logical_id)
        return self.made[logical_id]

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name not in self.template["Resources"]:
            raise DeployError(f"Ref to {name}, which the template does not have")
        made = self.resource(name)
        return getattr(made, "physical_resource_id", made)

    def _make(self, logical_id: str) -> Any:
        resource = self.template["Resources"][logical_id]
        resource_type = resource["Type"]
        cleaned = self.clean({**resource, "Properties": resource.get("Properties", {})})
        if resource_type == STATE_MACHINE:
            name = self._name(resource_type, logical_id, cleaned, "StateMachineName")
            return _StateMachine(name, self.aws.region, self.aws.account_id)
        module, class_name = MODELS[resource_type]
        model = getattr(importlib.import_module(module), class_name)
        name = self._name(resource_type, logical_id, cleaned, model.cloudformation_name_type())
        try:
            made = model.create_from_cloudformation_json(
                name, cleaned, self.aws.account_id, self.aws.region,
                LogicalId=logical_id, StackId=self.stack_id, ResourceType=resource_type,
            )  # fmt: skip
        except Exception as error:
            raise DeployError(f"local deploy could not create {logical_id}: {error}") from error
        made.cf_resource_type = resource_type
        made.logical_resource_id = logical_id
        return made

    def _name(
        self, resource_type: str, logical_id: str, cleaned: dict[str, Any], name_property: str
    ) -> str:
        named = cleaned["Properties"].get(name_property) if name_property else None
        return named or generated_name(resource_type, self.stack_name, logical_id)

    def clean(self, node: Any) -> Any:
        """moto's `clean_json`: intrinsic functions resolved, None-valued keys left out."""
        if isinstance(node, list):
            return [self.clean(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "Ref" in node:
            return self.ref(node["Ref"])
        if "Fn::GetAtt" in node:
            value = node["Fn::GetAtt"]
            logical_id, attribute = value.split(".", 1) if isinstance(value, str) else value
            if logical_id not in self.template["Resources"]:
                raise DeployError(f"Fn::GetAtt of {logical_id}, which the template does not have")
            return self.resource(logical_id).get_cfn_attribute(attribute)
        if "Fn::Join" in node:
            separator, items = node["Fn::Join"]
            return separator.join(str(item) for item in self.clean(items))
        if "Fn::Split" in node:
            separator, text = node["Fn::Split"]
            return self.clean(text).split(separator)
        if "Fn::Select" in node:
            index, items = node["Fn::Select"]
            return self.clean(items)[int(index)]
        if "Fn::Sub" in node:
            return self._sub(node["Fn::Sub"])
        cleaned = {}
        for key, value in node.items():
            value = self.clean(value)
            if value is not None:
                cleaned[key] = value
        return cleaned

    def _sub(self, value: str | list[Any]) -> str:
        def get_att(logical_id: str, attribute: str) -> Any:
            return self.clean({"Fn::GetAtt": [logical_id, attribute]})

        return fn_sub(value, self.clean, self.ref, get_att)


class _StateMachine:
    """A state machine's name and ARN, before deploy.py creates it in the executing backend
    (moto's CloudFormation would put it in the other one)."""

    def __init__(self, name: str, region: str, account_id: str) -> None:
        self.name = name
        self.physical_resource_id = f"arn:aws:states:{region}:{account_id}:stateMachine:{name}"

    def get_cfn_attribute(self, attribute: str) -> str:
        if attribute == "Arn":
            return self.physical_resource_id
        if attribute == "Name":
            return self.name
        raise DeployError(f"Fn::GetAtt {STATE_MACHINE}.{attribute} is not supported locally")
