"""Scenarios uploaded by the CLI, read from S3 and kept per container.

Keys are content addressed (``scenarios/<name>/<sha256>.json``), so a cached
scenario never goes stale; Prepare still reads afresh to validate what runs.
"""

from __future__ import annotations

import os
from typing import Any, TypedDict

from itest.lambdas.aws import client
from itest.lambdas.errors import StateError
from itest.lambdas.model import Scenario, load_scenario

_cache: dict[tuple[str, str], Scenario] = {}


class ScenarioRef(TypedDict):
    bucket: str
    key: str


def scenario_ref(raw: Any) -> ScenarioRef:
    """``{"bucket", "key"}`` from a payload; bucket defaults to ``SCENARIO_BUCKET``.

    Raises:
        StateError: no key, or no bucket anywhere.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("key"), str):
        raise StateError(f'expected "scenario": {{"bucket": ..., "key": ...}}, got {raw!r}')
    bucket = raw.get("bucket") or os.environ.get("SCENARIO_BUCKET")
    if not bucket:
        raise StateError("the scenario reference names no bucket and SCENARIO_BUCKET is not set")
    return {"bucket": bucket, "key": raw["key"]}


def load(ref: ScenarioRef, *, fresh: bool = False) -> Scenario:
    """The validated scenario at ``ref``.

    Raises:
        StateError: the object cannot be read.
        ScenarioError: it is not a valid scenario.
    """
    cache_key = (ref["bucket"], ref["key"])
    if fresh or cache_key not in _cache:
        from botocore.exceptions import BotoCoreError, ClientError

        source = f"s3://{ref['bucket']}/{ref['key']}"
        try:
            body = client("s3").get_object(Bucket=ref["bucket"], Key=ref["key"])["Body"].read()
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise StateError(
                f"cannot read {source}: {error.get('Code')}: {error.get('Message')}"
            ) from exc
        except BotoCoreError as exc:
            raise StateError(f"cannot read {source}: {exc}") from exc
        _cache[cache_key] = load_scenario(body.decode("utf-8", errors="replace"), source=source)
    return _cache[cache_key]
