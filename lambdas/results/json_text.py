"""Arbitrary JSON kept as text, so that floats, nulls and empty maps survive DynamoDB."""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def loads(text: str | None, default: Any) -> Any:
    return default if text is None else json.loads(text)
