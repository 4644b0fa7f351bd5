"""The app's context (cdk.json or `-c key=value`) read into typed props; the keys are
listed in infra/app.py."""

from __future__ import annotations

import json
from typing import Any

DEFAULT_STACK_NAME = "Itest"
"""The orchestrator stack's name when `itest:stackName` is not set."""


class ContextError(ValueError):
    """A context value is malformed; the message names the key."""


def props_from_context(get: Any):  # -> OrchestratorProps
    """OrchestratorProps from `get(key)` (the app's `try_get_context`)."""
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_logs as logs
    from itest.infra.handlers import HandlerSettings
    from itest.infra.stack import OrchestratorProps
    from itest.infra.storage import StorageSettings
    from itest.infra.targets import TargetPermissions

    fields: dict[str, Any] = {}
    if (seconds := _int(get("itest:maxExecutionSeconds"), "itest:maxExecutionSeconds")) is not None:
        fields["max_execution_seconds"] = seconds
    fields["targets"] = TargetPermissions.from_context(
        get("itest:targets"), allow_privileged=flag(get("itest:allowPrivilegedStatements"))
    )
    fields["target_role_arn"] = get("itest:targetRoleArn") or None
    handler_fields: dict[str, Any] = {}
    if (days := _int(get("itest:logRetentionDays"), "itest:logRetentionDays")) is not None:
        handler_fields["log_retention"] = _retention(logs, days)
    if architecture := get("itest:architecture"):
        choices = {"x86_64": lambda_.Architecture.X86_64, "arm64": lambda_.Architecture.ARM_64}
        if architecture not in choices:
            raise ContextError(f"itest:architecture must be one of {sorted(choices)}")
        handler_fields["architecture"] = choices[architecture]
    if flag(get("itest:hostDependencies")):
        handler_fields["host_dependencies"] = True
    fields["handlers"] = HandlerSettings(**handler_fields)
    if (ttl := _int(get("itest:resultsTtlDays"), "itest:resultsTtlDays")) is not None:
        fields["storage"] = StorageSettings(results_ttl_days=ttl)
    fields["alarm_topic_arn"] = get("itest:alarmTopicArn") or None
    key = "itest:suiteMaxConcurrency"
    if (concurrency := _int(get(key), key)) is not None:
        if concurrency > 10_000:  # a distributed Map's most child executions at once
            raise ContextError(f"{key} must be at most 10000, got {concurrency}")
        fields["suite_max_concurrency"] = concurrency
    fields["runner_trusted_account"] = get("itest:runnerTrustedAccount") or None
    return OrchestratorProps(**fields)


def _int(value: Any, key: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ContextError(f"{key} must be a whole number, got {value!r}") from None
    if number <= 0:
        raise ContextError(f"{key} must be positive, got {number}")
    return number


def flag(value: Any) -> bool:
    """A switch: true from cdk.json, or `true`/`1` as text from `-c`."""
    return value in (True, "true", "1")


def json_value(value: Any, key: str) -> Any:
    """Context given with `-c` arrives as text; from cdk.json, as JSON already."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as e:
            raise ContextError(f"{key} is not JSON: {e}") from None
    return value


_RETENTION = {
    1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS",
    30: "ONE_MONTH", 60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS",
    150: "FIVE_MONTHS", 180: "SIX_MONTHS", 365: "ONE_YEAR", 400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS", 1096: "THREE_YEARS", 1827: "FIVE_YEARS",
    2192: "SIX_YEARS", 2557: "SEVEN_YEARS", 2922: "EIGHT_YEARS", 3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}  # fmt: skip


def _retention(logs: Any, days: int) -> Any:
    if days not in _RETENTION:
        raise ContextError(
            f"itest:logRetentionDays: CloudWatch Logs allows {sorted(_RETENTION)}, not {days}"
        )
    return getattr(logs.RetentionDays, _RETENTION[days])
