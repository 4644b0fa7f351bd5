"""Every action, registered: importing anything of this package imports each service
module first, and each adds its actions to the registry (lambdas/actions/registry.py)."""

from itest.lambdas.actions import aws_api, dynamodb, http, lambda_, listener, logs, s3, wait

__all__ = ["aws_api", "dynamodb", "http", "lambda_", "listener", "logs", "s3", "wait"]
