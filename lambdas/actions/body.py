"""Response bodies as results: JSON when they are JSON."""

from __future__ import annotations

import json
from typing import Any


def json_or_none(text: str) -> Any:
    """A response body parsed as JSON; None when it is blank or not JSON."""
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None
