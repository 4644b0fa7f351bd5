"""Run ids: the execution names the CLI gives, `<scenario>-<yyyymmddThhmmss>-<6 hex>`
(docs/engine.md), made and read back here only."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

EXECUTION_NAME_MAX = 80
_RUN_ID = re.compile(r"^(?P<scenario>.+)-\d{8}T\d{6}-[0-9a-f]{6}$")


def new_run_id(scenario_name: str, now: datetime | None = None) -> str:
    """Sortable, readable, unique, a valid execution name (the scenario name cut to fit)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    suffix = f"-{stamp}-{secrets.token_hex(3)}"
    return scenario_name[: EXECUTION_NAME_MAX - len(suffix)] + suffix


def scenario_of(run_id: str) -> str:
    """The scenario name a run id starts with (the run id itself when it is not one the
    CLI made: an execution started from the console)."""
    match = _RUN_ID.match(run_id)
    return match.group("scenario") if match else run_id
