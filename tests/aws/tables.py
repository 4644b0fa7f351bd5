"""DynamoDB tables for the local-AWS tests."""

from __future__ import annotations

from typing import Any


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
