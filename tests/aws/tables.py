"""DynamoDB tables for the local-AWS tests."""

from __future__ import annotations

import http.client
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from itest.cli.local.server import LocalAws


def create_pk_sk_table(dynamodb: Any, name: str) -> str:
    """A table keyed like the results table infra creates (pk, sk strings); its name."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def dynamodb_request(
    connection: http.client.HTTPConnection, aws: LocalAws, target: str, body: dict[str, Any]
) -> http.client.HTTPResponse:
    """Send one DynamoDB request as an SDK would (no SDK: the bytes it gets are the server's)."""
    return json_request(connection, aws, "dynamodb", f"DynamoDB_20120810.{target}", body)


def json_request(
    connection: http.client.HTTPConnection,
    aws: LocalAws,
    service: str,
    target: str,
    body: dict[str, Any],
) -> http.client.HTTPResponse:
    """Send one JSON-protocol request (`X-Amz-Target: target`) to `service` as an SDK would."""
    key = aws.credentials["AWS_ACCESS_KEY_ID"]
    connection.request(
        "POST",
        "/",
        body=json.dumps(body),
        headers={
            "Authorization": f"AWS4-HMAC-SHA256 Credential={key}/20261130/us-east-1/{service}/aws4",
            "X-Amz-Security-Token": aws.credentials["AWS_SESSION_TOKEN"],
            "X-Amz-Target": target,
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    return connection.getresponse()
