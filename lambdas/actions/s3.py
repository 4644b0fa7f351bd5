"""``s3.*``: objects as text or JSON.

``get_object`` of a missing object is an error (retried under ``retry``);
``head_object`` answers ``exists: false`` instead, so a scenario can check that
something is gone.
"""

from __future__ import annotations

import json
from typing import Any

from itest.lambdas.actions.body import json_or_none
from itest.lambdas.actions.registry import action
from itest.lambdas.aws import aws_errors, plain, target_client
from itest.lambdas.errors import ActionError
from itest.lambdas.validation import Strict
from pydantic import Field, model_validator


class ObjectParams(Strict):
    """The ``with`` of ``s3.get_object`` and ``s3.delete_object``."""

    bucket: str = Field(min_length=1)
    key: str = Field(min_length=1)


class ListObjectsParams(Strict):
    """The ``with`` of ``s3.list_objects``."""

    bucket: str = Field(min_length=1)
    prefix: str = ""
    limit: int = Field(default=1000, gt=0, le=10000, description="most keys returned")


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
    """Result ``{body, json, metadata, content_type, size}``; ``body`` is the text
    (UTF-8, undecodable bytes replaced), ``json`` None when the body is not JSON.

    Raises:
        ActionError: no such object or bucket, access denied.
    """
    with aws_errors(f"s3.get_object s3://{params.bucket}/{params.key}"):
        response = target_client("s3").get_object(Bucket=params.bucket, Key=params.key)
        body = response["Body"].read().decode("utf-8", errors="replace")
    return {
        "body": body,
        "json": json_or_none(body),
        "metadata": response.get("Metadata", {}),
        "content_type": response.get("ContentType"),
        "size": response.get("ContentLength"),
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
        response = target_client("s3").put_object(
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
        target_client("s3").delete_object(Bucket=params.bucket, Key=params.key)
    return {"bucket": params.bucket, "key": params.key}


@action("s3.head_object", params=ObjectParams)
def head_object(params: ObjectParams) -> dict[str, Any]:
    """Result ``{exists, size, content_type, etag, last_modified, metadata}``;
    a missing object gives ``exists: false`` and nulls, not an error.

    Raises:
        ActionError: no such bucket, access denied.
    """
    from botocore.exceptions import ClientError

    what = f"s3.head_object s3://{params.bucket}/{params.key}"
    with aws_errors(what):
        try:
            response = target_client("s3").head_object(Bucket=params.bucket, Key=params.key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey"):
                raise
            if not _bucket_exists(params.bucket):
                raise ActionError(f"{what}: NoSuchBucket: the bucket does not exist") from exc
            return {
                "exists": False,
                "size": None,
                "content_type": None,
                "etag": None,
                "last_modified": None,
                "metadata": {},
            }
    return {
        "exists": True,
        "size": response.get("ContentLength"),
        "content_type": response.get("ContentType"),
        "etag": response.get("ETag"),
        "last_modified": plain(response.get("LastModified")),
        "metadata": response.get("Metadata", {}),
    }


@action("s3.list_objects", params=ListObjectsParams)
def list_objects(params: ListObjectsParams) -> dict[str, Any]:
    """Result ``{keys, objects: [{key, size, etag, last_modified}], count}`` in key
    order, every page read up to ``limit`` keys.

    Raises:
        ActionError: no such bucket, access denied.
    """
    objects: list[dict[str, Any]] = []
    with aws_errors(f"s3.list_objects s3://{params.bucket}/{params.prefix}"):
        pages = target_client("s3").get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=params.bucket, Prefix=params.prefix):
            objects += [
                {
                    "key": item["Key"],
                    "size": item.get("Size"),
                    "etag": item.get("ETag"),
                    "last_modified": plain(item.get("LastModified")),
                }
                for item in page.get("Contents", [])
            ]
            if len(objects) >= params.limit:
                break
    objects = objects[: params.limit]
    return {"keys": [o["key"] for o in objects], "objects": objects, "count": len(objects)}


def _bucket_exists(bucket: str) -> bool:
    """HEAD answers a bare 404 for a missing bucket too: tell the two apart."""
    from botocore.exceptions import ClientError

    try:
        target_client("s3").head_bucket(Bucket=bucket)
    except ClientError:
        return False
    return True
