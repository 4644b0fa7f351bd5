"""``s3.*``: objects as text or JSON; a missing object is an error (retried under ``retry``)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field, model_validator

from lambdas.actions import action
from lambdas.aws import aws_errors, client
from lambdas.validation import Strict


class ObjectParams(Strict):
    """The ``with`` of ``s3.get_object`` and ``s3.delete_object``."""

    bucket: str = Field(min_length=1)
    key: str = Field(min_length=1)


class PutObjectParams(ObjectParams):
    """The ``with`` of ``s3.put_object``: ``body`` (text) or ``json`` (any value)."""

    body: str | None = None
    json_: Any = Field(default=None, alias="json")
    content_type: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_body(self) -> PutObjectParams:
        if ("json_" in self.model_fields_set) == (self.body is not None):
            raise ValueError("give exactly one of 'body' or 'json'")
        return self


@action("s3.get_object", params=ObjectParams)
def get_object(params: ObjectParams) -> dict[str, Any]:
    """Result ``{body, json, metadata, content_type}``; ``json`` None when the body is not JSON.

    Raises:
        ActionError: no such object or bucket, access denied.
    """
    with aws_errors(f"s3.get_object s3://{params.bucket}/{params.key}"):
        response = client("s3").get_object(Bucket=params.bucket, Key=params.key)
        body = response["Body"].read().decode("utf-8", errors="replace")
    try:
        parsed = json.loads(body) if body.strip() else None
    except ValueError:
        parsed = None
    return {
        "body": body,
        "json": parsed,
        "metadata": response.get("Metadata", {}),
        "content_type": response.get("ContentType"),
    }


@action("s3.put_object", params=PutObjectParams)
def put_object(params: PutObjectParams) -> dict[str, Any]:
    """Result ``{bucket, key, etag}``.

    Raises:
        ActionError: the write failed.
    """
    if "json_" in params.model_fields_set:
        body, content_type = json.dumps(params.json_), params.content_type or "application/json"
    else:
        body, content_type = params.body or "", params.content_type or "text/plain"
    with aws_errors(f"s3.put_object s3://{params.bucket}/{params.key}"):
        response = client("s3").put_object(
            Bucket=params.bucket,
            Key=params.key,
            Body=body.encode(),
            ContentType=content_type,
            Metadata=params.metadata,
        )
    return {"bucket": params.bucket, "key": params.key, "etag": response.get("ETag")}


@action("s3.delete_object", params=ObjectParams)
def delete_object(params: ObjectParams) -> dict[str, Any]:
    """Result ``{bucket, key}``; deleting a missing object is fine (S3 semantics).

    Raises:
        ActionError: no such bucket, access denied.
    """
    with aws_errors(f"s3.delete_object s3://{params.bucket}/{params.key}"):
        client("s3").delete_object(Bucket=params.bucket, Key=params.key)
    return {"bucket": params.bucket, "key": params.key}
