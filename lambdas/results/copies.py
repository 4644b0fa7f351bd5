"""Big step results kept whole in the scenario bucket, summarized in their record."""

from __future__ import annotations

import os
from typing import Any

from itest.lambdas.aws import client, engine_errors
from itest.lambdas.bucket_layout import RESULTS_PREFIX
from itest.lambdas.masking import mask
from itest.lambdas.results.json_text import dumps
from itest.lambdas.results.summaries import summarize

RESULT_LIMIT = 32 * 1024
"""The most of a step's result stored in its record; a bigger one is kept whole in the
bucket (``results/<run_id>/<index>.json``) and the record holds a summary of it."""


def store_result(run_id: str, index: int, result: Any) -> tuple[str, str | None]:
    """The ``result_json`` of a step record, and where the whole result is kept when
    that is only a summary (``s3://<SCENARIO_BUCKET>/results/<run_id>/<index>.json``;
    every attempt overwrites it); masked, whatever the caller passed."""
    result = mask(result)
    text = dumps(result)
    if len(text.encode()) <= RESULT_LIMIT:
        return text, None
    bucket = os.environ.get("SCENARIO_BUCKET")
    ref = None
    if bucket:
        key = f"{RESULTS_PREFIX}{run_id}/{index}.json"
        with engine_errors(f"storing the result of step {index}"):
            client("s3").put_object(
                Bucket=bucket, Key=key, Body=text.encode(), ContentType="application/json"
            )
        ref = f"s3://{bucket}/{key}"
    return summarize(result, RESULT_LIMIT), ref
