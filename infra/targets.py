"""What the tests may touch: typed permissions, from props or `cdk.json` context.

Scenarios act on the services under test through one role of their own, the
*target role* (:class:`TargetRole`, output `TargetRoleArn`): Action and Cleanup
(Assert for secrets, Prepare for listeners) assume it for every call to a
target, and it is granted exactly what is declared here, with CDK's `grant_*`
methods, and the listeners' grants (infra/listeners.py), and nothing else;
the functions' own roles keep the orchestrator's bucket and table and nothing
of the targets. `itest:targetRoleArn` names an existing
role instead (another account's: cross-account targets are that one setting).

A wildcard action, a `*` in a resource (but at its end after a `/` or a name
prefix: `.../prefix/*`, `table/itest-run-*`) and the
privileged actions (`iam:*`, `sts:*`, `states:*`, `lambda:UpdateFunction*`,
`lambda:AddPermission`: a scenario could widen its own role or rewrite the
orchestrator) are refused with a message naming the statement;
`itest:allowPrivilegedStatements` allows the privileged ones.

Context (`itest:targets` in cdk.json, or `-c itest:targets='{...}'`):

    {"tables":     {"orders": "read_write", "audit": "read"},   # or a list: read_write
     "buckets":    {"receipts": "read_write"},
     "queues":     {"orders-events": "read"},                   # read = receive/delete
     "functions":  ["orders-processor"],                        # invoke
     "secrets":    ["orders/api-token"],                        # Secrets Manager ids
     "parameters": ["/orders/api-token"],                       # SSM parameter names
     "buses":      ["default", "orders"],                       # EventBridge listeners
     "topics":     ["arn:aws:sns:eu-west-1:123456789012:receipts"],  # SNS listeners
     "log_groups": ["/aws/lambda/orders-processor"],            # logs.match / logs.absent
     "statements": [{"actions": ["events:PutEvents"],
                     "resources": ["arn:aws:events:eu-west-1:123456789012:event-bus/orders"]}]}

Names or ARNs are accepted everywhere a resource is named.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

Access = Literal["read", "write", "read_write"]
_ACCESS = get_args(Access)
_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")
_SECRET_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")
_NAMED = (
    "tables", "buckets", "queues", "functions", "secrets", "parameters", "buses", "topics",
    "log_groups",
)  # fmt: skip
"""The keys that name resources, each one (no wildcards)."""
_PRIVILEGED = re.compile(r"^(iam|sts|states):|^lambda:(UpdateFunction|AddPermission)")


class TargetConfigError(ValueError):
    """The target permissions are malformed or too broad; the message lists every problem."""


@dataclass(frozen=True, kw_only=True)
class Statement:
    """An extra IAM statement for `aws.<service>.<operation>` steps: explicit actions on
    explicit ARNs (a trailing `*` inside an ARN, e.g. `.../prefix/*`, is allowed)."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]

    def problems(self, where: str, *, allow_privileged: bool = False) -> list[str]:
        found = []
        if not self.actions:
            found.append(f"{where}: no actions")
        if not self.resources:
            found.append(f"{where}: no resources")
        for action in self.actions:
            if not _ACTION.match(action):
                found.append(
                    f"{where}: action {action!r} is not one explicit 'service:Operation' "
                    "(no wildcards: name each operation the scenarios call)"
                )
            elif _PRIVILEGED.match(action) and not allow_privileged:
                found.append(
                    f"{where}: action {action!r} is privileged (IAM, STS, Step Functions, "
                    "Lambda code or permissions): a scenario could widen its own role; set "
                    "itest:allowPrivilegedStatements to allow it"
                )
        for resource in self.resources:
            if not resource.startswith("arn:") or resource.split(":")[2:3] in ([""], ["*"]):
                found.append(
                    f"{where}: resource {resource!r} is not an ARN of one service "
                    "(a bare '*' would let the tests touch everything)"
                )
            elif "*" in resource[:-1] or resource[-2:] in (":*",):
                found.append(
                    f"{where}: resource {resource!r} has a '*' other than at its end after a "
                    "'/' or a name prefix (.../prefix/*, table/itest-run-*): name the bucket, "
                    "table, role... itself"
                )
        return found


@dataclass(frozen=True, kw_only=True)
class TargetPermissions:
    """What the Action and Cleanup functions may touch; empty by default."""

    tables: Mapping[str, Access] = field(default_factory=dict)
    buckets: Mapping[str, Access] = field(default_factory=dict)
    queues: Mapping[str, Access] = field(default_factory=dict)
    functions: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()
    buses: tuple[str, ...] = ()
    """Event buses scenarios may listen on (infra/listeners.py)."""
    topics: tuple[str, ...] = ()
    """SNS topics scenarios may listen to."""
    log_groups: tuple[str, ...] = ()
    """Log groups `logs.match` and `logs.absent` may search (FilterLogEvents)."""
    statements: tuple[Statement, ...] = ()
    allow_privileged_statements: bool = False
    """`itest:allowPrivilegedStatements`: statements may name IAM, STS, Step Functions and
    Lambda code/permission actions."""

    def __post_init__(self) -> None:
        problems = [
            p
            for i, s in enumerate(self.statements)
            for p in s.problems(
                f"statements[{i}]", allow_privileged=self.allow_privileged_statements
            )
        ]
        for kind in ("tables", "buckets", "queues"):
            for name, access in getattr(self, kind).items():
                if access not in _ACCESS:
                    problems.append(f"{kind}.{name}: access {access!r} is not one of {_ACCESS}")
        for kind in _NAMED:
            for name in getattr(self, kind):
                if not isinstance(name, str) or not name or "*" in name:
                    problems.append(f"{kind}: {name!r} must name one resource (no wildcards)")
        if problems:
            raise TargetConfigError("target permissions: " + "; ".join(problems))

    @property
    def reads_secrets(self) -> bool:
        return bool(self.secrets or self.parameters)

    @property
    def empty(self) -> bool:
        return not any(getattr(self, kind) for kind in (*_NAMED, "statements"))

    @classmethod
    def from_context(cls, raw: Any, *, allow_privileged: bool = False) -> TargetPermissions:
        """Parse the `itest:targets` context value (a mapping, or its JSON text).

        Raises:
            TargetConfigError: unknown keys, wrong shapes, wildcards.
        """
        import json

        if raw is None:
            return cls()
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError as e:
                raise TargetConfigError(f"itest:targets is not JSON: {e}") from None
        if not isinstance(raw, dict):
            raise TargetConfigError(f"itest:targets must be a mapping, got {type(raw).__name__}")
        known = {f for f in cls.__dataclass_fields__} - {"allow_privileged_statements"}
        if unknown := sorted(set(raw) - known):
            raise TargetConfigError(
                f"itest:targets: unknown key(s) {', '.join(unknown)} "
                f"(known: {', '.join(sorted(known))})"
            )
        try:
            return cls(
                tables=_accesses(raw.get("tables"), "tables"),
                buckets=_accesses(raw.get("buckets"), "buckets"),
                queues=_accesses(raw.get("queues"), "queues"),
                functions=_names(raw.get("functions"), "functions"),
                secrets=_names(raw.get("secrets"), "secrets"),
                parameters=_names(raw.get("parameters"), "parameters"),
                buses=_names(raw.get("buses"), "buses"),
                topics=_names(raw.get("topics"), "topics"),
                log_groups=_names(raw.get("log_groups"), "log_groups"),
                statements=tuple(
                    Statement(
                        actions=_names(s.get("actions"), f"statements[{i}].actions"),
                        resources=_names(s.get("resources"), f"statements[{i}].resources"),
                    )
                    if isinstance(s, dict)
                    else _fail(f"statements[{i}] must be {{actions, resources}}, got {s!r}")
                    for i, s in enumerate(_list(raw.get("statements"), "statements"))
                ),
                allow_privileged_statements=allow_privileged,
            )
        except TypeError as e:
            raise TargetConfigError(f"itest:targets: {e}") from None


def _fail(message: str) -> Any:
    raise TargetConfigError(f"itest:targets: {message}")


def _list(raw: Any, where: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        _fail(f"{where} must be a list, got {raw!r}")
    return raw


def _names(raw: Any, where: str) -> tuple[str, ...]:
    items = _list(raw, where)
    if bad := [x for x in items if not isinstance(x, str)]:
        _fail(f"{where} must be strings, got {bad!r}")
    return tuple(items)


def _accesses(raw: Any, where: str) -> dict[str, Access]:
    """A list means read_write for each; a mapping gives each its access."""
    if isinstance(raw, list):
        return {name: "read_write" for name in _names(raw, where)}
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        _fail(f"{where} must be a list of names or a mapping name -> access, got {raw!r}")
    return {str(name): cast(Access, access) for name, access in raw.items()}


class Targets(Construct):
    """The declared targets as CDK references; `grant` hands them to a function.

    Attributes:
        tables, buckets, queues: (reference, access) pairs.
        functions, secrets, parameters, log_groups: references.
        statements: the extra IAM statements.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, permissions: TargetPermissions
    ) -> None:
        super().__init__(scope, construct_id)
        self.permissions = permissions
        stack = Stack.of(self)
        self.tables = [
            (
                dynamodb.Table.from_table_arn(self, f"Table{i}", name)
                if name.startswith("arn:")
                else dynamodb.Table.from_table_name(self, f"Table{i}", name),
                access,
            )
            for i, (name, access) in enumerate(permissions.tables.items())
        ]
        self.buckets = [
            (
                s3.Bucket.from_bucket_arn(self, f"Bucket{i}", name)
                if name.startswith("arn:")
                else s3.Bucket.from_bucket_name(self, f"Bucket{i}", name),
                access,
            )
            for i, (name, access) in enumerate(permissions.buckets.items())
        ]
        self.queues = [
            (
                sqs.Queue.from_queue_arn(
                    self,
                    f"Queue{i}",
                    name
                    if name.startswith("arn:")
                    else stack.format_arn(service="sqs", resource=name),
                ),
                access,
            )
            for i, (name, access) in enumerate(permissions.queues.items())
        ]
        self.functions = [
            lambda_.Function.from_function_arn(self, f"Function{i}", name)
            if name.startswith("arn:")
            else lambda_.Function.from_function_name(self, f"Function{i}", name)
            for i, name in enumerate(permissions.functions)
        ]
        self.secrets = [
            _secret(self, f"Secret{i}", name) for i, name in enumerate(permissions.secrets)
        ]
        self.parameters = [
            ssm.StringParameter.from_string_parameter_arn(self, f"Parameter{i}", name)
            if name.startswith("arn:")
            else ssm.StringParameter.from_string_parameter_name(self, f"Parameter{i}", name)
            for i, name in enumerate(permissions.parameters)
        ]
        self.log_groups = [
            logs.LogGroup.from_log_group_arn(self, f"LogGroup{i}", name)
            if name.startswith("arn:")
            else logs.LogGroup.from_log_group_name(self, f"LogGroup{i}", name)
            for i, name in enumerate(permissions.log_groups)
        ]
        self.statements = [
            iam.PolicyStatement(actions=list(s.actions), resources=list(s.resources))
            for s in permissions.statements
        ]

    def grant(self, grantee: iam.IGrantable) -> None:
        """Everything declared: data, invocations, secrets and the extra statements."""
        for table, access in self.tables:
            {
                "read": table.grant_read_data,
                "write": table.grant_write_data,
                "read_write": table.grant_read_write_data,
            }[access](grantee)
        for bucket, access in self.buckets:
            if access in ("read", "read_write"):
                bucket.grant_read(grantee)
            if access in ("write", "read_write"):
                bucket.grant_put(grantee)
                bucket.grant_delete(grantee)
        for queue, access in self.queues:
            if access in ("read", "read_write"):
                queue.grant_consume_messages(grantee)
            if access in ("write", "read_write"):
                queue.grant_send_messages(grantee)
        for fn in self.functions:
            fn.grant_invoke(grantee)
        for group in self.log_groups:
            group.grant(grantee, "logs:FilterLogEvents")
        for statement in self.statements:
            grantee.grant_principal.add_to_principal_policy(statement)
        for secret in self.secrets:
            secret.grant_read(grantee)
        for parameter in self.parameters:
            parameter.grant_read(grantee)


def _secret(scope: Construct, construct_id: str, name: str) -> secretsmanager.ISecret:
    if not name.startswith("arn:"):
        return secretsmanager.Secret.from_secret_name_v2(scope, construct_id, name)
    if _SECRET_SUFFIX.search(name):
        return secretsmanager.Secret.from_secret_complete_arn(scope, construct_id, name)
    return secretsmanager.Secret.from_secret_partial_arn(scope, construct_id, name)


class TargetRole(Construct):
    """The one role scenario actions run in (output `TargetRoleArn`).

    Created and granted the declared targets, trusting only the given function
    roles; or, with `existing_role_arn`, an existing role (another account's)
    that those functions may assume, whose own policies say what it may touch.

    Attributes:
        role_arn: the ARN the functions assume (`TARGET_ROLE_ARN`).
        role: the created role (None for an existing one).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        targets: Targets,
        assumed_by: list[iam.IRole],
        existing_role_arn: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role: iam.Role | None = None
        if existing_role_arn:
            if not targets.permissions.empty:
                raise TargetConfigError(
                    "itest:targetRoleArn names an existing role: its own policies say what the "
                    "tests may touch, so itest:targets must be empty"
                )
            self.role_arn = existing_role_arn
        else:
            self.role = iam.Role(
                self,
                "Role",
                assumed_by=iam.CompositePrincipal(
                    *(iam.ArnPrincipal(role.role_arn) for role in assumed_by)
                ),
                description="itest: what scenario steps and cleanups may touch (itest:targets)",
            )
            targets.grant(self.role)
            self.role_arn = self.role.role_arn

    def grant_assume(self, grantee: iam.IGrantable) -> None:
        """`sts:AssumeRole` on this role, and nothing else of the targets."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[self.role_arn])
        )
