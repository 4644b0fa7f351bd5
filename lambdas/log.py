"""One JSON line per event on the ``itest`` logger; callers pass masked values only."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

logger = logging.getLogger("itest")
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())


def log_event(event: str, **fields: Any) -> None:
    """Log ``{"event": ..., **fields}`` as one line (CloudWatch Insights can query it)."""
    logger.info(json.dumps({"event": event, **fields}, ensure_ascii=False, default=str))
