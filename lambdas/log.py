"""One JSON line per event on the ``itest`` logger, masked with the invocation's secrets.

Every line carries the invocation's fields (:func:`bind`: run id, execution
ARN, scenario, step), so one execution's lines can be found across the four
functions. With Lambda's JSON log format (``AWS_LAMBDA_LOG_FORMAT=JSON``, how
the stack deploys them) the fields become top-level keys of the runtime's JSON
line; otherwise (text format, the local runner) the message is the JSON object.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

from itest.lambdas.masking import mask

logger = logging.getLogger("itest")
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())

_bound: dict[str, Any] = {}
# LogRecord attributes a field may not overwrite (logging raises KeyError)
_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def bind(**fields: Any) -> None:
    """Set the fields every following line carries (None values are left out);
    replaces what the previous invocation bound."""
    _bound.clear()
    _bound.update({k: v for k, v in fields.items() if v is not None})


def log_event(event: str, **fields: Any) -> None:
    """Log ``{"event": ..., **bound, **fields}`` as one line (Logs Insights can query it),
    every secret the invocation knows masked (lambdas/masking.py)."""
    data = mask({"event": event, **_bound, **fields})
    text = mask(json.dumps(data, ensure_ascii=False, default=str))  # what str() rendered
    if os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON":
        extra = {(f"{k}_" if k in _RESERVED else k): v for k, v in json.loads(text).items()}
        logger.info(event, extra=extra)
    else:
        logger.info(text)


SCENARIO_DURATION = "ScenarioDuration"
SCENARIO_FAILED = "ScenarioFailed"
SCENARIO_DIMENSION = "Scenario"
"""The metrics the Cleanup handler emits per scenario, and their dimension (the stack's
dashboard searches for them: infra/observability.py)."""


def emit_metrics(
    namespace: str, dimensions: dict[str, str], metrics: dict[str, tuple[float, str]]
) -> None:
    """Write CloudWatch metrics as one embedded-metric-format line on stdout.

    CloudWatch extracts the metrics from the log line: no API call, no client.
    ``metrics`` maps a name to ``(value, unit)``; the bound fields ride along
    as properties (searchable, not dimensions).
    """
    line = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [sorted(dimensions)],
                    "Metrics": [{"Name": n, "Unit": unit} for n, (_, unit) in metrics.items()],
                }
            ],
        },
        **_bound,
        **dimensions,
        **{name: value for name, (value, _) in metrics.items()},
    }
    sys.stdout.write(json.dumps(line, default=str) + "\n")
    sys.stdout.flush()
